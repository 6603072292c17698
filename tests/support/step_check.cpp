// One training step against the interpreter (see step_check.h).
#include "tests/support/step_check.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "frontend/train/step_runner.h"
#include "frontend/train/trainer.h"
#include "graph/interpreter.h"
#include "tests/support/skewed_batches.h"

namespace pg::testing {
namespace {

// The interpreter's step: returns the mean loss; `state` (every param and accumulator by name)
// is advanced in place.
double interpret_step(const TrainingGraphs& graphs, Feeds& state, const SkewedBatches& batches, const Feeds& scalars,
                      int64_t seq_len) {
    double loss = 0;
    for (int64_t m = 0; m < graphs.micro_steps; ++m) {
        Feeds feeds = state;
        feeds["ids"] = HostTensor(DType::i32, {graphs.micro_rows, seq_len});
        feeds["targets"] = feeds["ids"];
        batches.fill(0, m, feeds["ids"], feeds["targets"]);
        const Graph& g = *graphs.micro.graph;
        std::vector<HostTensor> out = interpret_all(g, feeds);
        loss += out[0].get(0) / static_cast<double>(graphs.micro_steps);
        for (size_t u = 0; u < g.updates().size(); ++u) state[g[g.updates()[u].state].name] = out[1 + u];
    }
    Feeds feeds = state;
    feeds.insert(scalars.begin(), scalars.end());
    const Graph& g = *graphs.optimizer.graph;
    std::vector<HostTensor> out = interpret_all(g, feeds);
    for (size_t u = 0; u < g.updates().size(); ++u) state[g[g.updates()[u].state].name] = out[u];
    return loss;
}

std::string kind_of(const ParamSpec& p) {
    return p.group == "state" ? p.name.substr(p.name.rfind('.') + 1) : p.group;
}

}  // namespace

std::string StepCheckResult::summary() const {
    std::string s = fmt::format("loss {:.1e}; worst by kind:", loss_error);
    for (const auto& [kind, err] : worst) s += fmt::format(" {} {:.1e}", kind, err);
    return s;
}

double step_tolerance(const std::string& kind) { return kind == "embed" || kind == "scalar" ? 2e-3 : 1e-4; }

StepCheckResult check_step_against_interpreter(const std::string& backend, const Hyperparams& h) {
    std::unique_ptr<Session> session = open_session(backend);
    StepRunner runner(h, *session);
    Feeds state;
    for (const auto& [name, value] : runner.graphs().optimizer.params->initialize(1337)) state[name] = value;
    for (const ParamSpec& p : runner.state_specs()) runner.set_state(p.name, state.at(p.name));
    SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 1, 7);

    runner.set_scalars(0, 1.0);
    runner.run(batches.source(0));
    Feeds scalars;
    auto scalar = [](double v) { return HostTensor::from_doubles(DType::f32, {}, {v}); };
    scalars["step"] = scalar(1);
    scalars["lr.embed"] = scalar(h.tied_embed_lr);
    scalars["lr.scalar"] = scalar(h.scalar_lr);
    scalars["lr.matrix"] = scalar(h.matrix_lr);
    scalars["muon_momentum"] = scalar(muon_momentum(h, 0));
    double ref_loss = interpret_step(runner.graphs(), state, batches, scalars, h.train_seq_len);

    StepCheckResult r;
    r.loss_error = std::fabs(runner.loss() - ref_loss) / std::fabs(ref_loss);
    CHECK(r.loss_error <= 1e-5);  // fp32 forward of ~200 ops against fp64
    for (const ParamSpec& p : runner.state_specs()) {
        double err = max_rel_error(runner.get_state(p.name), state.at(p.name));
        std::string kind = kind_of(p);
        r.worst[kind] = std::max(r.worst[kind], err);
        INFO(backend, ": ", p.name, " (", kind, ") after one step");
        CHECK(err <= step_tolerance(kind));
    }
    return r;
}

}  // namespace pg::testing
