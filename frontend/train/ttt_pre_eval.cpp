// Pre-quantisation AdamW test-time training (see ttt_pre_eval.h).
#include "frontend/train/ttt_pre_eval.h"

#include <cmath>
#include <numbers>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/ttt_sgd.h"
#include "runtime/executable.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "PREQUANT_TTT_EPOCHS", .kind = KnobKind::Int, .default_value = "6",
         .doc = "ttt_pre_eval (non-record): passes of AdamW over the validation stream (#1539's lineage: 6; 21 later)"});
PG_KNOB({.name = "PREQUANT_TTT_LR", .kind = KnobKind::Float, .default_value = "5e-4",
         .doc = "ttt_pre_eval (non-record): peak AdamW learning rate, cosine down to PREQUANT_TTT_MIN_LR"});
PG_KNOB({.name = "PREQUANT_TTT_MIN_LR", .kind = KnobKind::Float, .default_value = "5e-5",
         .doc = "ttt_pre_eval (non-record): the cosine's floor"});
PG_KNOB({.name = "PREQUANT_TTT_FREEZE_BLOCKS", .kind = KnobKind::Int, .default_value = "2",
         .doc = "ttt_pre_eval (non-record): the first N blocks are not trained"});
PG_KNOB({.name = "PREQUANT_TTT_BATCH_SEQS", .kind = KnobKind::Int, .default_value = "1",
         .doc = "ttt_pre_eval (non-record): sequences of the evaluation length per AdamW step"});
PG_KNOB({.name = "PREQUANT_TTT_EPS", .kind = KnobKind::Float, .default_value = "1e-8",
         .doc = "ttt_pre_eval (non-record): AdamW epsilon (torch's default)"});

PreEvalTttConfig pre_eval_ttt_config_from_settings() {
    PreEvalTttConfig c;
    c.epochs = env::get_int("PREQUANT_TTT_EPOCHS");
    c.lr = env::get_float("PREQUANT_TTT_LR");
    c.min_lr = env::get_float("PREQUANT_TTT_MIN_LR");
    c.freeze_blocks = env::get_int("PREQUANT_TTT_FREEZE_BLOCKS");
    c.batch_seqs = env::get_int("PREQUANT_TTT_BATCH_SEQS");
    c.adam.eps = env::get_float("PREQUANT_TTT_EPS");
    PG_CHECK(c.epochs >= 1, "PREQUANT_TTT_EPOCHS={} must be at least 1", c.epochs);
    PG_CHECK(c.lr > 0, "PREQUANT_TTT_LR={} must be positive", c.lr);
    PG_CHECK(c.min_lr >= 0 && c.min_lr <= c.lr, "PREQUANT_TTT_MIN_LR={} must be between 0 and PREQUANT_TTT_LR={}",
             c.min_lr, c.lr);
    PG_CHECK(c.freeze_blocks >= 0, "PREQUANT_TTT_FREEZE_BLOCKS={} must be 0 or more", c.freeze_blocks);
    PG_CHECK(c.batch_seqs >= 1, "PREQUANT_TTT_BATCH_SEQS={} must be at least 1", c.batch_seqs);
    PG_CHECK(c.adam.eps > 0, "PREQUANT_TTT_EPS={} must be positive", c.adam.eps);
    return c;
}

double pre_eval_ttt_lr(const PreEvalTttConfig& cfg, int64_t step, int64_t steps) {
    const double t = static_cast<double>(step) / static_cast<double>(steps);
    return cfg.min_lr + (cfg.lr - cfg.min_lr) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
}

namespace {

// AdamW on the unfrozen weights (build_ttt_weight_step), lr "ttt_lr".
ModelGraph build_pre_eval_step(const GptConfig& model, int64_t rows, int64_t seq_len, const PreEvalTttConfig& cfg) {
    PG_CHECK(cfg.freeze_blocks <= model.num_layers, "PREQUANT_TTT_FREEZE_BLOCKS={} is more than the model's {} blocks",
             cfg.freeze_blocks, model.num_layers);
    return build_ttt_weight_step(model, rows, seq_len, cfg.freeze_blocks,
                                 [&](ParamSet& ps, const std::vector<std::string>& names, std::vector<Tensor> grads) {
                                     adam_update(ps, names, grads, "ttt_lr", cfg.adam);
                                 });
}

}  // namespace

void train_pre_eval_ttt(Session& session, const GptConfig& model, int64_t seq_len, std::span<const uint16_t> stream,
                        const PreEvalTttConfig& cfg) {
    const auto targets = static_cast<int64_t>(stream.size()) - 1;
    const int64_t sequences = targets > seq_len ? (targets - seq_len - 1) / seq_len + 1 : 0;  // starts < targets - S
    const int64_t per_epoch = sequences / cfg.batch_seqs;  // a partial last batch is left out
    PG_CHECK(per_epoch >= 1,
             "the validation stream ({} targets) holds {} sequences of {} tokens, fewer than "
             "PREQUANT_TTT_BATCH_SEQS={}: lower it",
             targets, sequences, seq_len, cfg.batch_seqs);
    ModelGraph step = build_pre_eval_step(model, cfg.batch_seqs, seq_len, cfg);
    std::unique_ptr<Executable> exe = compile_executable(session, *step.graph);
    zero_optimizer_state(*exe, *step.params);  // fresh moments, whatever the session held
    HostTensor ids(DType::i32, {cfg.batch_seqs, seq_len}), next(DType::i32, {cfg.batch_seqs, seq_len});
    const int64_t steps = cfg.epochs * per_epoch;
    for (int64_t s = 0; s < steps; ++s) {
        fill_sequences(stream, (s % per_epoch) * cfg.batch_seqs * seq_len, ids.numel(), ids, next);
        exe->set("ids", ids);
        exe->set("targets", next);
        exe->set_scalar("ttt_lr", pre_eval_ttt_lr(cfg, s, steps));
        exe->set_scalar("step", static_cast<double>(s + 1));
        exe->run();
    }
}

}  // namespace pg
