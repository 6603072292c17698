// EMA and SWA (see weight_averaging.h).
#include "frontend/train/weight_averaging.h"

#include "base/error.h"

namespace pg {
namespace {

// The value the optimizer graph assigns to param p this step.
Tensor new_value(Graph& g, const ParamSpec& p) {
    for (const StateUpdate& u : g.updates())
        if (u.state == p.node) return {&g, u.value};
    throw InternalError(fmt::format("no optimizer update for '{}'", p.name));
}

Tensor scalar_const(Graph& g, double v) { return {&g, build::constant(g, v, {})}; }

// swa_take, zeroed once swa_count reached SWA_MAX_SNAPSHOTS (the records' "SWA of 7 snapshots":
// the first N snapshots the schedule offers are summed, later ones skipped).
Tensor swa_take_capped(Graph& g, const RecipeSettings& r, const Tensor& take, const Tensor& count) {
    if (r.swa_max_snapshots <= 0) return take;
    const double cap = static_cast<double>(r.swa_max_snapshots);
    Tensor room(&g, build::binary(g, Op::Lt, count.id(), scalar_const(g, cap).id()));
    return take * room.cast(take.dtype());
}

}  // namespace

void add_weight_averaging(ParamSet& ps, const RecipeSettings& r, const std::vector<ParamSpec>& model_params) {
    if (!r.ema && !r.swa) return;
    Graph& g = ps.graph();
    Tensor step = runtime_scalar(g, "step");  // 1-based
    Tensor first(&g, build::binary(g, Op::Le, step.id(), scalar_const(g, 1.0).id()));
    Tensor take = runtime_scalar(g, "swa_take");
    if (r.swa) {
        Tensor count = ps.add("swa_count", {}, Init::zeros(), "state");
        take = swa_take_capped(g, r, take, count);
        g.add_update(count.id(), (count + take).id());
    }
    for (const ParamSpec& p : model_params) {
        Tensor old(&g, p.node);
        Tensor next = new_value(g, p).cast(DType::f32);
        if (r.ema) {
            // The shadow starts as the initial weights: at step 1 the previous value is the weight.
            Tensor ema = ps.add(p.name + ".ema", p.shape, Init::zeros(), "state");
            Tensor prev(&g, build::select(g, first.broadcast_to(p.shape).id(), old.cast(DType::f32).id(), ema.id()));
            g.add_update(ema.id(), (r.ema_decay * prev + (1.0 - r.ema_decay) * next).id());
        }
        if (r.swa) {
            Tensor sum = ps.add(p.name + ".swa_sum", p.shape, Init::zeros(), "state");
            g.add_update(sum.id(), (sum + take * next).id());
        }
    }
}

std::map<std::string, HostTensor> averaged_weights(const RecipeSettings& r, const std::vector<ParamSpec>& model_params,
                                                   std::map<std::string, HostTensor> state) {
    const bool swa = r.swa && state.count("swa_count") && state.at("swa_count").get(0) > 0;
    if (!r.ema && !swa) return state;
    for (const ParamSpec& p : model_params) {
        HostTensor avg;
        if (r.ema) {
            avg = state.at(p.name + ".ema");
        } else {
            const HostTensor& sum = state.at(p.name + ".swa_sum");
            const double n = state.at("swa_count").get(0);
            avg = HostTensor(DType::f32, p.shape);
            for (int64_t i = 0; i < avg.numel(); ++i) avg.set(i, sum.get(i) / n);
        }
        state[p.name] = avg.to(p.dtype);
    }
    return state;
}

}  // namespace pg
