// The causal n-gram token tilt (spec 4.7, PR #1420's kernel as used by rec:2026-04-09_A2): the
// previous-token contexts of orders min_order, min_order + 2, ..., max_order are counted in
// open-addressing tables from already-scored tokens only. At each target the highest-order context
// seen before whose most frequent continuation h has count >= min_count and confidence
// conf = count(h) / count(context) >= threshold emits the hint h with
// beta = base_beta * conf + agree_bonus * (number of lower orders whose confident hint is also h),
// and the scored distribution is the tilted, properly normalised
//     p'(t) = p(t) * e^{beta [t = h]} / Z,   Z = 1 + p(h) (e^beta - 1).
// Without a hint p' = p. The gate reads only past tokens and the model's distribution, never the
// target (the within-word / word-start experts whose gates read the target, PR #1420's leak, are
// not implemented).
#pragma once
#include "frontend/eval/ngram_table.h"
#include "frontend/eval/target_scorer.h"

namespace pg::eval {

struct TiltConfig {
    int min_order = 8, max_order = 16;  // contexts of min_order, min_order + 2, ..., max_order tokens
    double base_beta = 2.0, agree_bonus = 0.1;
    double threshold = 0.5;             // confidence needed for a hint
    uint32_t min_count = 2;             // times the hint must have followed the context
};

class TiltScorer final : public TargetScorer {
public:
    explicit TiltScorer(const TiltConfig& cfg);
    void predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) override;
    double log_prob(int64_t token) const override;
    void observe(std::span<const uint16_t> past, uint16_t target) override;

    int64_t hint() const { return hint_; }  // of the last predict(); -1 when none
    double beta() const { return beta_; }

private:
    TiltConfig cfg_;
    NgramCounts counts_;
    std::span<const float> model_;
    int64_t hint_ = -1;
    double beta_ = 0, log_z_ = 0;
};

}  // namespace pg::eval
