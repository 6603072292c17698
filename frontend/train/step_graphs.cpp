// Trainer graphs (see step_graphs.h).
#include "frontend/train/step_graphs.h"

#include "base/env.h"
#include "base/error.h"
#include "frontend/optim/adam.h"
#include "frontend/optim/muon.h"
#include "frontend/train/guard_outputs.h"
#include "graph/autodiff.h"

namespace pg {

PG_KNOB({.name = "PG_MUON_NS_DTYPE", .kind = env::KnobKind::String, .default_value = "bf16",
         .doc = "dtype of Muon's Newton-Schulz iterations (the baseline's bf16, or f32)", .affects_codegen = true,
         .choices = {"bf16", "f32"}});

namespace {

// torch.nn.utils.clip_grad_norm_: g *= min(1, max_norm / (‖g‖ + 1e-6)) over all grads at once.
std::vector<Tensor> clip_by_global_norm(Graph& g, const std::vector<Tensor>& grads, double max_norm) {
    Tensor total;
    for (const Tensor& gr : grads) {
        Tensor s = gr.cast(DType::f32).square().sum_all();
        total = total.defined() ? total + s : s;
    }
    Tensor norm = total.sqrt();
    Tensor ratio = Tensor(&g, build::constant(g, max_norm, {})) / (norm + 1e-6);
    Tensor scale = Tensor(&g, build::binary(g, Op::Min, ratio.id(), build::constant(g, 1.0, {})));
    std::vector<Tensor> out;
    for (const Tensor& gr : grads) out.push_back(gr * scale.cast(gr.dtype()));
    return out;
}

}  // namespace

namespace {

// The optimizer updates of every model param in `ps` given its gradient: Adam for the embedding and
// scalar groups, Muon for block matrices, after optional global-norm clipping.
void add_optimizer(ParamSet& ps, const Hyperparams& h, const std::vector<ParamSpec>& model_params,
                   std::vector<Tensor> grads) {
    if (h.grad_clip_norm > 0) grads = clip_by_global_norm(ps.graph(), grads, h.grad_clip_norm);
    auto group = [&](const char* name, std::vector<std::string>& names, std::vector<Tensor>& gs) {
        for (size_t i = 0; i < model_params.size(); ++i)
            if (model_params[i].group == name) {
                names.push_back(model_params[i].name);
                gs.push_back(grads[i]);
            }
    };
    AdamConfig adam{h.beta1, h.beta2, h.adam_eps};
    for (const char* name : {"embed", "scalar"}) {
        std::vector<std::string> names;
        std::vector<Tensor> gs;
        group(name, names, gs);
        if (!names.empty()) adam_update(ps, names, gs, std::string("lr.") + name, adam);
    }
    std::vector<std::string> names;
    std::vector<Tensor> gs;
    group("matrix", names, gs);
    MuonConfig muon{static_cast<int>(h.muon_backend_steps), parse_dtype(env::get("PG_MUON_NS_DTYPE"))};
    if (!names.empty()) muon_update(ps, names, gs, "lr.matrix", muon);
}

// The model's mean loss over [rows, seq_len] int32 inputs, and its gradients.
std::vector<Tensor> loss_and_gradients(ModelGraph& m, const Hyperparams& h, int64_t rows) {
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {rows, h.train_seq_len}, DType::i32);
    Tensor targets = input(g, "targets", {rows, h.train_seq_len}, DType::i32);
    Tensor loss = plant_nan_scalar(g, gpt_loss(*m.params, h.model, ids, targets));
    g.set_output("loss", loss.id());
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : m.params->specs()) wrt.push_back(p.node);
    std::vector<Tensor> grads;
    for (NodeId id : gradients(g, loss.id(), wrt)) grads.emplace_back(&g, id);
    return grads;
}

ModelGraph new_model_graph() {
    ModelGraph m;
    m.graph = std::make_unique<Graph>();
    m.params = std::make_unique<ParamSet>(*m.graph);
    return m;
}

}  // namespace

std::string grad_acc_name(const std::string& param) { return param + ".grad_acc"; }

namespace {

ModelGraph build_micro_step(const Hyperparams& h, int64_t rows, int64_t micro_steps) {
    ModelGraph m = new_model_graph();
    std::vector<Tensor> grads = loss_and_gradients(m, h, rows);
    std::vector<ParamSpec> model_params = m.params->specs();
    std::vector<Tensor> accumulated;
    for (size_t i = 0; i < model_params.size(); ++i) {
        const ParamSpec& p = model_params[i];
        Tensor acc = m.params->add(grad_acc_name(p.name), p.shape, Init::zeros(), "gradacc");
        Tensor next = acc + grads[i].cast(DType::f32) * (1.0 / static_cast<double>(micro_steps));
        m.graph->add_update(acc.id(), next.id());
        accumulated.push_back(next);
    }
    add_grad_square_output(*m.graph, accumulated);
    return m;
}

ModelGraph build_optimizer_step(const Hyperparams& h) {
    // The model's parameters are declared by building its forward graph once (names, shapes, init);
    // only the optimizer updates, fed by the accumulated gradients, are live in this graph.
    ModelGraph m = new_model_graph();
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {1, h.train_seq_len}, DType::i32);
    gpt_loss(*m.params, h.model, ids, ids);
    std::vector<ParamSpec> model_params = m.params->specs();
    std::vector<Tensor> grads;
    for (const ParamSpec& p : model_params) {
        Tensor acc = m.params->add(grad_acc_name(p.name), p.shape, Init::zeros(), "gradacc");
        grads.push_back(acc.cast(p.dtype));
        g.add_update(acc.id(), build::constant(g, 0.0, p.shape, DType::f32));  // ready for the next step
    }
    add_optimizer(*m.params, h, model_params, grads);
    return m;
}

}  // namespace

TrainingGraphs build_training_graphs(const Hyperparams& h) {
    TrainingGraphs t;
    t.micro_steps = h.grad_accum_steps();
    t.micro_rows = h.rows_per_step() / t.micro_steps;
    PG_CHECK(t.micro_rows >= 1 && t.micro_rows * t.micro_steps == h.rows_per_step(),
             "TRAIN_BATCH_TOKENS={} gives {} sequences of TRAIN_SEQ_LEN={} per step, which {} micro-steps cannot "
             "split evenly; use a multiple of {} tokens",
             h.train_batch_tokens, h.rows_per_step(), h.train_seq_len, t.micro_steps,
             h.train_seq_len * t.micro_steps * h.world_size);
    t.micro = build_micro_step(h, t.micro_rows, t.micro_steps);
    t.optimizer = build_optimizer_step(h);
    for (const ParamSpec& p : t.optimizer.params->specs()) {
        if (p.group == "gradacc") continue;
        t.state_specs.push_back(p);
        if (p.group != "state") t.model_specs.push_back(p);
    }
    return t;
}

ModelGraph build_eval_graph(const GptConfig& cfg, int64_t rows, int64_t seq_len) {
    ModelGraph m;
    m.graph = std::make_unique<Graph>();
    m.params = std::make_unique<ParamSet>(*m.graph);
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {rows, seq_len}, DType::i32);
    Tensor targets = input(g, "targets", {rows, seq_len}, DType::i32);
    g.set_output("losses", gpt_token_losses(*m.params, cfg, ids, targets).id());
    return m;
}

}  // namespace pg
