// Trainer graphs (see step_graphs.h).
#include "frontend/train/step_graphs.h"

#include <map>

#include "base/env.h"
#include "base/error.h"
#include "frontend/models/registry.h"
#include "frontend/optim/adam.h"
#include "frontend/optim/muon.h"
#include "frontend/optim/muon_bank.h"
#include "frontend/train/weight_averaging.h"
#include "frontend/train/guard_outputs.h"
#include "graph/autodiff.h"

namespace pg {

PG_KNOB({.name = "PG_MUON_NS_DTYPE", .kind = env::KnobKind::String, .default_value = "bf16",
         .doc = "dtype of Muon's Newton-Schulz iterations (the baseline's bf16, or f32)", .affects_codegen = true,
         .choices = {"bf16", "f32"}});

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

bool parallel_muon(const Hyperparams& h) { return h.world_size > 1 && h.muon_sharding == "records"; }

namespace {

MuonConfig muon_config(const Hyperparams& h) {
    return {static_cast<int>(h.muon_backend_steps), parse_dtype(env::get("PG_MUON_NS_DTYPE")),
            ns_coefficients(h.recipe.ns_coefficients), h.recipe.muon_wd, h.recipe.muon_eq_r};
}

std::vector<ParamSpec> matrix_specs(const std::vector<ParamSpec>& model_params) {
    std::vector<ParamSpec> out;
    for (const ParamSpec& p : model_params)
        if (p.group == "matrix") out.push_back(p);
    return out;
}

// Muon dealt across the ranks as the baseline (PG_MUON_SHARDING=baseline): matrix i belongs to rank
// i mod W, which alone computes its momentum and Newton-Schulz; its new weight and momentum are
// broadcast from there into every other rank's copies, which store them as they arrive.
void sharded_muon_update(ParamSet& ps, const Hyperparams& h, const std::vector<std::string>& names,
                         const std::vector<Tensor>& grads, const MuonConfig& muon) {
    std::vector<std::string> mine;
    std::vector<Tensor> my_grads;
    for (size_t i = 0; i < names.size(); ++i)
        if (static_cast<int>(i % static_cast<size_t>(h.world_size)) == h.rank) {
            mine.push_back(names[i]);
            my_grads.push_back(grads[i]);
        }
    if (!mine.empty()) muon_update(ps, mine, my_grads, "lr.matrix", muon);
    Graph& g = ps.graph();
    for (size_t i = 0; i < names.size(); ++i) {
        const int owner = static_cast<int>(i % static_cast<size_t>(h.world_size));
        const std::string momentum = muon_momentum_name(names[i]);
        if (owner != h.rank) {  // this rank's copies receive the owner's values in place
            Tensor p = ps.get(names[i]);
            Tensor buf = ps.add(momentum, p.shape(), Init::zeros(), "state");
            g.add_update(p.id(), p.id());
            g.add_update(buf.id(), buf.id());
        }
        g.set_update_collective(ps.get(names[i]).id(), UpdateCollective::Broadcast, owner);
        g.set_update_collective(ps.get(momentum).id(), UpdateCollective::Broadcast, owner);
    }
}

// The optimizer updates of every model param in `ps` given its gradient: Adam for the embedding and
// scalar groups, Muon for block matrices, after optional global-norm clipping.
void add_optimizer(ParamSet& ps, const Hyperparams& h, const std::vector<ParamSpec>& model_params,
                   std::vector<Tensor> grads) {
    // Parallel Muon clips in the last micro-step, before the gradients leave the rank.
    if (h.grad_clip_norm > 0 && !parallel_muon(h)) grads = clip_by_global_norm(ps.graph(), grads, h.grad_clip_norm);
    auto group = [&](const char* name, std::vector<std::string>& names, std::vector<Tensor>& gs) {
        for (size_t i = 0; i < model_params.size(); ++i)
            if (model_params[i].group == name) {
                names.push_back(model_params[i].name);
                gs.push_back(grads[i]);
            }
    };
    for (const char* name : {"embed", "scalar"}) {
        AdamConfig adam{h.beta1, h.beta2, h.adam_eps, name == std::string("embed") ? h.recipe.embed_wd : h.recipe.adam_wd};
        std::vector<std::string> names;
        std::vector<Tensor> gs;
        group(name, names, gs);
        if (!names.empty()) adam_update(ps, names, gs, std::string("lr.") + name, adam);
    }
    std::vector<std::string> names;
    std::vector<Tensor> gs;
    group("matrix", names, gs);
    const MuonConfig muon = muon_config(h);
    if (parallel_muon(h)) {
        for (const MuonBank& b : muon_banks(matrix_specs(model_params), h.world_size))
            apply_bank_updates(ps, b, "lr.matrix", muon);
    } else if (h.muon_sharding == "baseline" && h.world_size > 1) {
        sharded_muon_update(ps, h, names, gs, muon);
    } else if (!names.empty()) {
        muon_update(ps, names, gs, "lr.matrix", muon);
    }
}

// The model's mean loss over [rows, seq_len] int32 inputs, and its gradients.
std::vector<Tensor> loss_and_gradients(ModelGraph& m, const Hyperparams& h, int64_t rows) {
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {rows, h.train_seq_len}, DType::i32);
    Tensor targets = input(g, "targets", {rows, h.train_seq_len}, DType::i32);
    Tensor loss = plant_nan_scalar(g, model_loss(*m.params, h.model, ids, targets));
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

// Parallel Muon's last micro-step: the banks' accumulated gradients go to their reduce-scatters
// (the accumulators of bank members are not stored: the optimizer only zeroes them), the others
// to the all-reduce; with GRAD_CLIP_NORM all are first clipped by this rank's local norm, as the
// records clip before communicating (pgolf-spec §4.3).
void sync_parallel_muon(ModelGraph& m, const Hyperparams& h, const std::vector<ParamSpec>& model_params,
                        const std::vector<Tensor>& accs, std::vector<Tensor> accumulated) {
    if (h.grad_clip_norm > 0) accumulated = clip_by_global_norm(*m.graph, accumulated, h.grad_clip_norm);
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < model_params.size(); ++i) index[model_params[i].name] = i;
    std::vector<bool> banked(model_params.size(), false);
    for (const MuonBank& b : muon_banks(matrix_specs(model_params), h.world_size)) {
        std::vector<Tensor> members;
        for (const std::string& name : b.params) {
            members.push_back(accumulated[index.at(name)]);
            banked[index.at(name)] = true;
        }
        scatter_bank_gradients(*m.params, b, members);
    }
    for (size_t i = 0; i < model_params.size(); ++i)
        if (!banked[i]) m.graph->add_update(accs[i].id(), accumulated[i].id(), UpdateCollective::AllReduceAvg);
}

ModelGraph build_micro_step(const Hyperparams& h, int64_t rows, int64_t micro_steps, bool sync) {
    ModelGraph m = new_model_graph();
    std::vector<Tensor> grads = loss_and_gradients(m, h, rows);
    std::vector<ParamSpec> model_params = m.params->specs();
    std::vector<Tensor> accs, accumulated;
    for (size_t i = 0; i < model_params.size(); ++i) {
        const ParamSpec& p = model_params[i];
        accs.push_back(m.params->add(grad_acc_name(p.name), p.shape, Init::zeros(), "gradacc"));
        accumulated.push_back(accs[i] + grads[i].cast(DType::f32) * (1.0 / static_cast<double>(micro_steps)));
    }
    add_grad_square_output(*m.graph, accumulated);
    if (sync && parallel_muon(h)) {
        sync_parallel_muon(m, h, model_params, accs, accumulated);
        return m;
    }
    for (size_t i = 0; i < model_params.size(); ++i)
        m.graph->add_update(accs[i].id(), accumulated[i].id(),
                            sync ? UpdateCollective::AllReduceAvg : UpdateCollective::None);
    return m;
}

// Parallel Muon's middle graph: momentum and Newton-Schulz on this rank's share of every bank,
// the updates all-gathered.
ModelGraph build_muon_shard_step(const Hyperparams& h, const std::vector<ParamSpec>& model_params) {
    ModelGraph m = new_model_graph();
    const MuonConfig muon = muon_config(h);
    for (const MuonBank& b : muon_banks(matrix_specs(model_params), h.world_size))
        orthogonalize_bank_shard(*m.params, b, h.rank, muon);
    return m;
}

ModelGraph build_optimizer_step(const Hyperparams& h) {
    // The model's parameters are declared by building its forward graph once (names, shapes, init);
    // only the optimizer updates, fed by the accumulated gradients, are live in this graph.
    ModelGraph m = new_model_graph();
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {1, h.train_seq_len}, DType::i32);
    model_loss(*m.params, h.model, ids, ids);
    std::vector<ParamSpec> model_params = m.params->specs();
    std::vector<Tensor> grads;
    for (const ParamSpec& p : model_params) {
        Tensor acc = m.params->add(grad_acc_name(p.name), p.shape, Init::zeros(), "gradacc");
        grads.push_back(acc.cast(p.dtype));
        g.add_update(acc.id(), build::constant(g, 0.0, p.shape, DType::f32));  // ready for the next step
    }
    add_optimizer(*m.params, h, model_params, grads);
    add_weight_averaging(*m.params, h.recipe, model_params);
    return m;
}

}  // namespace

bool loop_switch_enabled(const Hyperparams& h) {
    return h.model.variant.num_loops > 0 && h.recipe.enable_looping_at > 0;
}

TrainingGraphs build_training_graphs(const Hyperparams& h) {
    TrainingGraphs t;
    t.micro_steps = h.grad_accum_steps();
    t.micro_rows = h.rows_per_step() / t.micro_steps;
    PG_CHECK(t.micro_rows >= 1 && t.micro_rows * t.micro_steps == h.rows_per_step(),
             "TRAIN_BATCH_TOKENS={} gives {} sequences of TRAIN_SEQ_LEN={} per step, which {} micro-steps cannot "
             "split evenly; use a multiple of {} tokens",
             h.train_batch_tokens, h.rows_per_step(), h.train_seq_len, t.micro_steps,
             h.train_seq_len * t.micro_steps * h.world_size);
    t.micro = build_micro_step(h, t.micro_rows, t.micro_steps, false);
    // PG_COMM=nccl|mpi runs a real engine even for one rank (runtime/comm/world.h): it syncs too.
    if (h.world_size > 1 || env::get("PG_COMM") != "auto")
        t.micro_sync = build_micro_step(h, t.micro_rows, t.micro_steps, true);
    if (loop_switch_enabled(h)) {
        Hyperparams plain = h;
        plain.model.looping = false;
        t.micro_preloop = build_micro_step(plain, t.micro_rows, t.micro_steps, false);
        if (t.micro_sync.graph) t.micro_preloop_sync = build_micro_step(plain, t.micro_rows, t.micro_steps, true);
    }
    t.optimizer = build_optimizer_step(h);
    for (const ParamSpec& p : t.optimizer.params->specs()) {
        if (p.group == "gradacc") continue;
        t.state_specs.push_back(p);
        if (p.group != "state") t.model_specs.push_back(p);
    }
    if (parallel_muon(h)) {
        t.muon_shard = build_muon_shard_step(h, t.model_specs);
        for (const ParamSpec& p : t.muon_shard.params->specs())
            if (p.group == "state") t.state_specs.push_back(p);  // this rank's momentum shards
    }
    return t;
}

WindowStep window_step(int64_t rows, int64_t seq_len) {
    WindowStep w;
    w.m.graph = std::make_unique<Graph>();
    w.m.params = std::make_unique<ParamSet>(*w.m.graph);
    w.ids = input(*w.m.graph, "ids", {rows, seq_len}, DType::i32);
    w.targets = input(*w.m.graph, "targets", {rows, seq_len}, DType::i32);
    return w;
}

ModelGraph build_eval_graph(const GptConfig& train_cfg, int64_t rows, int64_t seq_len, bool with_log_probs) {
    GptConfig cfg = train_cfg;
    cfg.qat_bits = 0;  // late QAT fake-quantises the training forward pass only, as the records
    auto [m, ids, targets] = window_step(rows, seq_len);
    Graph& g = *m.graph;
    if (!with_log_probs) {
        g.set_output("losses", model_token_losses(*m.params, cfg, ids, targets).id());
        return std::move(m);  // a structured binding is not moved implicitly
    }
    Tensor logits = gpt_logits(*m.params, cfg, ids);
    g.set_output("losses", cross_entropy(logits, targets.reshape({rows * seq_len}), cfg.logit_softcap).id());
    g.set_output("log_probs", gpt_log_probs(cfg, logits).id());
    return std::move(m);  // a structured binding is not moved implicitly
}

}  // namespace pg
