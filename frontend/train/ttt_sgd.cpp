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

namespace {

bool in_frozen_block(const std::string& name, int64_t freeze_blocks) {
    for (int64_t i = 0; i < freeze_blocks; ++i)
        if (name.starts_with(fmt::format("blocks.{}.", i))) return true;
    return false;
}

}  // namespace

ModelGraph build_ttt_weight_step(const GptConfig& model, int64_t rows, int64_t seq_len, int64_t freeze_blocks,
                                 const TttUpdate& update) {
    auto [m, ids, targets] = window_step(rows, seq_len);
    Graph& g = *m.graph;
    Tensor loss = gpt_loss(*m.params, model, ids, targets);
    g.set_output("loss", loss.id());
    std::vector<std::string> names;
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : m.params->specs())
        if (!in_frozen_block(p.name, freeze_blocks)) {
            names.push_back(p.name);
            wrt.push_back(p.node);
        }
    std::vector<Tensor> grads;
    for (NodeId id : gradients(g, loss.id(), wrt)) grads.emplace_back(&g, id);
    update(*m.params, names, std::move(grads));
    return std::move(m);  // a structured binding is not moved implicitly
}

void fill_sequences(std::span<const uint16_t> stream, int64_t first, int64_t count, HostTensor& ids,
                    HostTensor& targets) {
    auto* x = reinterpret_cast<int32_t*>(ids.data());
    auto* y = reinterpret_cast<int32_t*>(targets.data());
    for (int64_t i = 0; i < count; ++i) {
        x[i] = stream[static_cast<size_t>(first + i)];
        y[i] = stream[static_cast<size_t>(first + i + 1)];
    }
}

ModelGraph build_ttt_sgd_step(const GptConfig& model, int64_t rows, int64_t seq_len, const TttSgdConfig& cfg) {
    PG_CHECK(cfg.freeze_blocks <= model.num_layers, "TTT_FREEZE_BLOCKS={} is more than the model's {} blocks",
             cfg.freeze_blocks, model.num_layers);
    return build_ttt_weight_step(model, rows, seq_len, cfg.freeze_blocks,
                                 [&](ParamSet& ps, const std::vector<std::string>& names, std::vector<Tensor> grads) {
                                     if (cfg.grad_clip > 0) grads = clip_by_global_norm(ps.graph(), grads, cfg.grad_clip);
                                     sgd_momentum_update(ps, names, grads, "ttt_lr", cfg.momentum);
                                 });
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

void zero_optimizer_state(Executable& exe, const ParamSet& step) {
    for (const ParamSpec& p : step.specs())
        if (p.group == "state") exe.set(p.name, HostTensor(DType::f32, p.shape));
}

void TttSgdTrainer::reset_momentum() { zero_optimizer_state(*exe_, *step_.params); }

void TttSgdTrainer::train(std::span<const uint16_t> stream, int64_t first_token, int64_t sequences, double lr,
                          int64_t steps) {
    PG_ASSERT(sequences <= rows_, "{} training sequences for a step of {}", sequences, rows_);
    if (sequences == 0) return;
    fill_sequences(stream, first_token, sequences * seq_len_, ids_, targets_);
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
