// Score-first chunked SGD test-time training (see ttt_sgd.h).
#include "frontend/train/ttt_sgd.h"

#include <fmt/format.h>

#include "base/env.h"
#include "base/error.h"
#include "frontend/eval/ttt_chunks.h"
#include "frontend/optim/sgd.h"
#include "frontend/train/evaluator.h"
#include "graph/autodiff.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "TTT_CHUNK_TOKENS", .kind = KnobKind::Int, .default_value = "32768",
         .doc = "ttt_sgd: validation tokens per chunk (scored, then trained on)"});
PG_KNOB({.name = "TTT_EPOCHS", .kind = KnobKind::Int, .default_value = "3", .doc = "ttt_sgd: SGD steps per chunk"});
PG_KNOB({.name = "TTT_LR", .kind = KnobKind::Float, .default_value = "0.002",
         .doc = "ttt_sgd: peak learning rate (cosine over chunks; the records: 0.002 sp1024, 0.005 sp8192)"});
PG_KNOB({.name = "TTT_MOMENTUM", .kind = KnobKind::Float, .default_value = "0.9", .doc = "ttt_sgd: SGD momentum"});
PG_KNOB({.name = "TTT_FREEZE_BLOCKS", .kind = KnobKind::Int, .default_value = "0",
         .doc = "ttt_sgd: the first N blocks are not trained (PR #461 froze 2)"});
PG_KNOB({.name = "TTT_GRAD_CLIP", .kind = KnobKind::Float, .default_value = "1.0",
         .doc = "ttt_sgd: global gradient-norm clip (0: none)"});

TttSgdConfig ttt_sgd_config_from_settings() {
    TttSgdConfig c{env::get_int("TTT_CHUNK_TOKENS"), env::get_int("TTT_EPOCHS"),         env::get_float("TTT_LR"),
                   env::get_float("TTT_MOMENTUM"),   env::get_int("TTT_FREEZE_BLOCKS"), env::get_float("TTT_GRAD_CLIP")};
    PG_CHECK(c.epochs >= 1, "TTT_EPOCHS={} must be at least 1", c.epochs);
    PG_CHECK(c.lr > 0, "TTT_LR={} must be positive", c.lr);
    PG_CHECK(c.momentum >= 0 && c.momentum < 1, "TTT_MOMENTUM={} must be in [0, 1)", c.momentum);
    PG_CHECK(c.freeze_blocks >= 0, "TTT_FREEZE_BLOCKS={} must be 0 or more", c.freeze_blocks);
    PG_CHECK(c.grad_clip >= 0, "TTT_GRAD_CLIP={} must be 0 (off) or positive", c.grad_clip);
    return c;
}

TrainableParams ttt_trainable_params(const ParamSet& ps, int64_t freeze_blocks) {
    auto frozen = [&](const std::string& name) {
        for (int64_t i = 0; i < freeze_blocks; ++i)
            if (name.starts_with(fmt::format("blocks.{}.", i))) return true;
        return false;
    };
    TrainableParams out;
    for (const ParamSpec& p : ps.specs())
        if (!frozen(p.name)) {
            out.names.push_back(p.name);
            out.nodes.push_back(p.node);
        }
    return out;
}

ModelGraph build_ttt_sgd_step(const GptConfig& model, int64_t rows, int64_t seq_len, const TttSgdConfig& cfg) {
    PG_CHECK(cfg.freeze_blocks <= model.num_layers, "TTT_FREEZE_BLOCKS={} is more than the model's {} blocks",
             cfg.freeze_blocks, model.num_layers);
    ModelGraph m;
    m.graph = std::make_unique<Graph>();
    m.params = std::make_unique<ParamSet>(*m.graph);
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {rows, seq_len}, DType::i32);
    Tensor targets = input(g, "targets", {rows, seq_len}, DType::i32);
    Tensor loss = gpt_loss(*m.params, model, ids, targets);
    g.set_output("loss", loss.id());
    const TrainableParams trained = ttt_trainable_params(*m.params, cfg.freeze_blocks);
    std::vector<Tensor> grads;
    for (NodeId id : gradients(g, loss.id(), trained.nodes)) grads.emplace_back(&g, id);
    if (cfg.grad_clip > 0) grads = clip_by_global_norm(g, grads, cfg.grad_clip);
    sgd_momentum_update(*m.params, trained.names, grads, "ttt_lr", cfg.momentum);
    return m;
}

TttSgdTrainer::TttSgdTrainer(Session& session, const GptConfig& model, int64_t seq_len, const TttSgdConfig& cfg)
    : rows_(cfg.chunk_tokens / seq_len),
      seq_len_(seq_len),
      step_(build_ttt_sgd_step(model, rows_, seq_len, cfg)),
      exe_(compile_executable(session, *step_.graph)),
      ids_(DType::i32, {rows_, seq_len}),
      targets_(DType::i32, {rows_, seq_len}) {
    reset_momentum();
}

void TttSgdTrainer::reset_momentum() {
    for (const ParamSpec& p : step_.params->specs())
        if (p.group == "state") exe_->set(p.name, HostTensor(DType::f32, p.shape));
}

void TttSgdTrainer::train(std::span<const uint16_t> stream, int64_t first_token, int64_t sequences, double lr,
                          int64_t steps) {
    PG_ASSERT(sequences <= rows_, "{} training sequences for a step of {}", sequences, rows_);
    if (sequences == 0) return;
    auto* x = reinterpret_cast<int32_t*>(ids_.data());
    auto* y = reinterpret_cast<int32_t*>(targets_.data());
    for (int64_t i = 0; i < sequences * seq_len_; ++i) {
        x[i] = stream[static_cast<size_t>(first_token + i)];
        y[i] = stream[static_cast<size_t>(first_token + i + 1)];
    }
    exe_->set("ids", ids_);
    exe_->set("targets", targets_);
    exe_->set_scalar("ttt_lr", lr);
    for (int64_t e = 0; e < steps; ++e) exe_->run();
}

eval::BpbAccumulator evaluate_ttt_sgd(Evaluator& ev, Session& session, const GptConfig& model,
                                      const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                      const eval::ByteLuts& luts, const TttSgdConfig& cfg,
                                      const std::function<void(int64_t, int64_t)>& on_chunk) {
    const std::vector<eval::TttChunk> chunks = eval::plan_ttt_chunks(plan, cfg.chunk_tokens);
    TttSgdTrainer trainer(session, model, plan.seq_len, cfg);
    auto train = [&](int64_t c, const eval::TttChunk& chunk) {
        trainer.train(stream, chunk.first_token, chunk.train_sequences,
                      eval::ttt_chunk_lr(cfg.lr, c, static_cast<int64_t>(chunks.size())), cfg.epochs);
    };
    eval::BpbAccumulator acc;
    const auto n = static_cast<int64_t>(chunks.size());
    for (int64_t c = 0; c < n; ++c) {
        const eval::TttChunk& chunk = chunks[static_cast<size_t>(c)];
        eval::WindowPlan part = plan;
        part.windows.assign(plan.windows.begin() + static_cast<std::ptrdiff_t>(chunk.first_window),
                            plan.windows.begin() + static_cast<std::ptrdiff_t>(chunk.end_window));
        acc.merge(ev.evaluate(part, stream, luts));
        train(c, chunk);
        if (on_chunk) on_chunk(c + 1, n);
    }
    return acc;
}

}  // namespace pg
