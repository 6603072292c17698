// Phased global SGD test-time training (see ttt_phased.h).
#include "frontend/train/ttt_phased.h"

#include "base/env.h"
#include "base/error.h"
#include "frontend/eval/ttt_chunks.h"
#include "frontend/eval/ttt_phases.h"
#include "frontend/train/evaluator.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "TTT_PHASE_DOCS", .kind = KnobKind::String, .default_value = "2000",
         .doc = "ttt_phased: cumulative document counts after which global SGD trains on everything scored so "
                "far (2000: PR #1610's phased TTT; 666,1333,2000: PR #1626's multi-phase form)"});
PG_KNOB({.name = "TTT_PHASE_LR", .kind = KnobKind::Float, .default_value = "0.005",
         .doc = "ttt_phased: peak SGD learning rate of each phase, cosine over its chunks (PR #1626: 0.001)"});
PG_KNOB({.name = "TTT_PHASE_EPOCHS", .kind = KnobKind::Int, .default_value = "3",
         .doc = "ttt_phased: SGD steps per chunk in each phase (PR #1626: 1)"});
PG_KNOB({.name = "TTT_PHASE_SCORING", .kind = KnobKind::String, .default_value = "lora",
         .doc = "ttt_phased: how the stream is scored between phases: lora (batched LoRA TTT, LORA_TTT_*: the "
                "records) or sliding (the base model's sliding window, in stream order)"});

TttPhasedConfig ttt_phased_config_from_settings() {
    TttPhasedConfig c{ttt_sgd_config_from_settings(), eval::parse_phase_docs(env::get("TTT_PHASE_DOCS"))};
    c.sgd.lr = env::get_float("TTT_PHASE_LR");
    c.sgd.epochs = env::get_int("TTT_PHASE_EPOCHS");
    PG_CHECK(c.sgd.lr > 0, "TTT_PHASE_LR={} must be positive", c.sgd.lr);
    PG_CHECK(c.sgd.epochs >= 1, "TTT_PHASE_EPOCHS={} must be at least 1", c.sgd.epochs);
    const std::string scoring = env::get("TTT_PHASE_SCORING");
    PG_CHECK(scoring == "lora" || scoring == "sliding", "TTT_PHASE_SCORING={}: use lora or sliding", scoring);
    c.scoring = scoring == "lora" ? PhaseScoring::Lora : PhaseScoring::Sliding;
    return c;
}

namespace {

// Global SGD on targets 1..last_target: chunks of C tokens, all but the last trained.
void train_phase(TttSgdTrainer& trainer, std::span<const uint16_t> stream, int64_t last_target, int64_t seq_len,
                 const TttSgdConfig& cfg) {
    trainer.reset_momentum();
    const int64_t chunks = (last_target + cfg.chunk_tokens - 1) / cfg.chunk_tokens;
    for (int64_t c = 0; c + 1 < chunks; ++c)
        trainer.train(stream, c * cfg.chunk_tokens, cfg.chunk_tokens / seq_len, eval::ttt_chunk_lr(cfg.lr, c, chunks),
                      cfg.epochs);
}

eval::WindowPlan window_range(const eval::WindowPlan& plan, size_t first, size_t end) {
    eval::WindowPlan part = plan;
    part.windows.assign(plan.windows.begin() + static_cast<std::ptrdiff_t>(first),
                        plan.windows.begin() + static_cast<std::ptrdiff_t>(end));
    return part;
}

}  // namespace

eval::BpbAccumulator evaluate_ttt_phased(Evaluator& ev, Session& session, const GptConfig& model,
                                         const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                         const eval::ByteLuts& luts, uint16_t bos_id, const TttPhasedConfig& cfg,
                                         const std::function<void(int64_t, int64_t)>& on_phase) {
    eval::plan_ttt_chunks(plan, cfg.sgd.chunk_tokens);  // the TTT_CHUNK_TOKENS check
    const std::vector<eval::TttPhase> phases =
        eval::plan_ttt_phases(plan, eval::split_documents(stream, bos_id), cfg.phase_docs);
    std::unique_ptr<TttSgdTrainer> trainer;
    if (!phases.empty()) trainer = std::make_unique<TttSgdTrainer>(session, model, plan.seq_len, cfg.sgd);
    eval::BpbAccumulator acc;
    size_t first = 0;
    const auto n = static_cast<int64_t>(phases.size()) + 1;
    for (size_t k = 0; k < phases.size(); ++k) {
        acc.merge(ev.evaluate(window_range(plan, first, phases[k].end_window), stream, luts));
        train_phase(*trainer, stream, phases[k].last_target, plan.seq_len, cfg.sgd);
        first = phases[k].end_window;
        if (on_phase) on_phase(static_cast<int64_t>(k) + 1, n);
    }
    acc.merge(ev.evaluate(window_range(plan, first, plan.windows.size()), stream, luts));
    if (on_phase) on_phase(n, n);
    return acc;
}

TttLoraResult evaluate_ttt_phased_lora(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                       int64_t seq_len, std::span<const uint16_t> stream, const eval::ByteLuts& luts,
                                       uint16_t bos_id, const LoraTttConfig& lora, const TttPhasedConfig& cfg,
                                       std::vector<float>* target_losses,
                                       const std::function<void(int64_t, int64_t)>& on_batch) {
    PG_CHECK(cfg.sgd.chunk_tokens >= seq_len, "TTT_CHUNK_TOKENS={} is shorter than one training sequence of {} tokens",
             cfg.sgd.chunk_tokens, seq_len);
    const std::vector<eval::DocSpan> docs = eval::split_documents(stream, bos_id);
    const std::vector<eval::LoraPhase> phases = eval::plan_lora_phases(
        eval::plan_lora_batches(docs, static_cast<int64_t>(stream.size()), lora.batch_docs, lora.chunk, lora.context),
        cfg.phase_docs);
    // The phases train on whole documents with document-masked attention, as the records (their
    // VarLen attention) and as the LoRA scoring sees them: each document alone.
    GptConfig masked = model;
    masked.variant.attn_doc_mask = true;
    masked.variant.doc_bos_id = bos_id;
    std::unique_ptr<TttSgdTrainer> trainer;
    if (!phases.empty()) trainer = std::make_unique<TttSgdTrainer>(session, masked, seq_len, cfg.sgd);
    size_t next = 0;
    auto after_batch = [&](int64_t done, int64_t batches) {
        for (; next < phases.size() && phases[next].after_batch + 1 == static_cast<size_t>(done); ++next) {
            const std::vector<uint16_t> tokens = eval::concat_documents(stream, phases[next].docs);
            train_phase(*trainer, tokens, static_cast<int64_t>(tokens.size()) - 1, seq_len, cfg.sgd);
        }
        if (on_batch) on_batch(done, batches);
    };
    return evaluate_ttt_lora(session, model, weights, stream, luts, bos_id, lora, target_losses, after_batch);
}

}  // namespace pg
