// Scoring a window's targets through a TargetScorer (see target_scorer.h).
#include "frontend/eval/target_scorer.h"

#include "base/error.h"

namespace pg::eval {

std::vector<float> scorer_losses(TargetScorer& scorer, const EvalWindow& window, std::span<const float> log_probs,
                                 int64_t vocab, std::span<const uint16_t> stream) {
    PG_ASSERT(static_cast<int64_t>(log_probs.size()) >= window.length * vocab, "{} log-probs for {} positions of {}",
              log_probs.size(), window.length, vocab);
    std::vector<float> losses;
    losses.reserve(static_cast<size_t>(window.scored()));
    for (int64_t j = window.score_begin; j < window.score_end; ++j) {
        const auto t = static_cast<size_t>(window.start + j + 1);
        std::span<const uint16_t> past = stream.first(t);
        scorer.predict(past, log_probs.subspan(static_cast<size_t>(j * vocab), static_cast<size_t>(vocab)));
        losses.push_back(static_cast<float>(-scorer.log_prob(stream[t])));
        scorer.observe(past, stream[t]);
    }
    return losses;
}

}  // namespace pg::eval
