// The unnormalised n-gram backoff cache of PR #376 and its successors (spec 4.7), for reproducing
// their numbers only: n-gram orders 2..7 (contexts of 1..6 tokens) counted from scored tokens; the
// scored token's probability is (1 - alpha) p_model + alpha c(context, token) / c(context) at the
// highest order where the context was followed by that very token, with alpha = 0.05 + 0.55
// sigmoid(2 (H - 4)). Choosing the order by the target makes the gate read the target, and the
// implied p' does not sum to 1 over the vocabulary (PR #886 measured ~277): it breaks issue #1017's
// condition 2, so it only runs with NON_RECORD=1 (frontend/eval/eval_method.h).
#pragma once
#include "frontend/eval/ngram_table.h"
#include "frontend/eval/target_scorer.h"

namespace pg::eval {

class BackoffCacheScorer final : public TargetScorer {
public:
    BackoffCacheScorer();
    void predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) override;
    double log_prob(int64_t token) const override;
    void observe(std::span<const uint16_t> past, uint16_t target) override;
    bool normalised() const override { return false; }

private:
    NgramCounts counts_;
    std::span<const float> model_;
    std::vector<uint64_t> contexts_;  // highest order first
    double alpha_ = 0;
};

}  // namespace pg::eval
