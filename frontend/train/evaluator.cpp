// Window-plan evaluation (see evaluator.h).
#include "frontend/train/evaluator.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "frontend/train/model_weights.h"

namespace pg {

Evaluator::Evaluator(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session, bool with_log_probs)
    : model_(build_eval_graph(cfg, rows, seq_len, with_log_probs)),
      rows_(rows),
      seq_len_(seq_len),
      with_log_probs_(with_log_probs) {
    exe_ = compile_executable(session, *model_.graph);
    ids_ = HostTensor(DType::i32, {rows, seq_len});
    targets_ = HostTensor(DType::i32, {rows, seq_len});
}

void Evaluator::set_weights(const std::map<std::string, HostTensor>& weights) {
    set_model_weights(*exe_, model_, weights);
}

void Evaluator::set_scorer(eval::TargetScorer* scorer) {
    PG_ASSERT(scorer == nullptr || with_log_probs_, "a scorer needs an evaluator built with log-probabilities");
    scorer_ = scorer;
}

void Evaluator::score(eval::BpbAccumulator& acc, const eval::EvalWindow& w, std::span<const float> losses,
                      std::span<const float> log_probs, std::span<const uint16_t> stream,
                      const eval::ByteLuts& luts) {
    std::vector<float> scored;
    if (scorer_) {
        scored = eval::scorer_losses(*scorer_, w, log_probs, static_cast<int64_t>(log_probs.size()) / seq_len_, stream);
        losses = scored;
    } else {
        losses = losses.subspan(static_cast<size_t>(w.score_begin), static_cast<size_t>(w.scored()));
    }
    acc.add_targets(losses, stream, w.first_target(), luts);
    if (target_losses_) std::copy(losses.begin(), losses.end(), target_losses_->begin() + w.first_target());
}

eval::BpbAccumulator Evaluator::evaluate(const eval::WindowPlan& plan, std::span<const uint16_t> stream,
                                         const eval::ByteLuts& luts, int rank, int world_size,
                                         const OnBatch& on_batch) {
    PG_CHECK(plan.seq_len == seq_len_, "window plan of length {} for an evaluator compiled for {}", plan.seq_len,
             seq_len_);
    std::span<const eval::EvalWindow> mine = plan.rank_slice(rank, world_size);
    eval::BpbAccumulator acc;
    auto* ids = reinterpret_cast<int32_t*>(ids_.data());
    auto* targets = reinterpret_cast<int32_t*>(targets_.data());
    const size_t cells = static_cast<size_t>(rows_ * seq_len_);
    if (target_losses_ && target_losses_->size() != stream.size())
        target_losses_->assign(stream.size(), std::numeric_limits<float>::quiet_NaN());
    const auto batches = static_cast<int64_t>((mine.size() + static_cast<size_t>(rows_) - 1) / static_cast<size_t>(rows_));
    for (size_t first = 0; first < mine.size(); first += static_cast<size_t>(rows_)) {
        size_t count = std::min<size_t>(static_cast<size_t>(rows_), mine.size() - first);
        std::span<const eval::EvalWindow> batch = mine.subspan(first, count);
        // A short last batch leaves its unused rows zero: they run but are never scored.
        std::memset(ids, 0, cells * sizeof(int32_t));
        std::memset(targets, 0, cells * sizeof(int32_t));
        eval::fill_window_batch(batch, stream, seq_len_, std::span<int32_t>(ids, count * seq_len_),
                                std::span<int32_t>(targets, count * seq_len_));
        exe_->set("ids", ids_);
        exe_->set("targets", targets_);
        exe_->run();
        HostTensor losses = exe_->get("losses");
        HostTensor log_probs = scorer_ ? exe_->get("log_probs") : HostTensor();
        const auto* l = reinterpret_cast<const float*>(losses.data());
        const auto* lp = reinterpret_cast<const float*>(log_probs.data());
        const auto row_probs = static_cast<size_t>(scorer_ ? log_probs.numel() / rows_ : 0);
        for (size_t w = 0; w < count; ++w)
            score(acc, batch[w], std::span<const float>(l + w * seq_len_, seq_len_),
                  std::span<const float>(lp ? lp + w * row_probs : nullptr, row_probs), stream, luts);
        if (on_batch) on_batch(static_cast<int64_t>(first) / rows_ + 1, batches);
    }
    return acc;
}

}  // namespace pg
