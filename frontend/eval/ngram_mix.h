// A normalised n-gram mixture over the whole vocabulary (the legal form of the n-gram caches of
// spec 4.7): an interpolated n-gram model of context orders 0..max_order counted from
// already-scored tokens only,
//     p_0(v) = (c(v) + 1) / (N + V)                          (add-one unigram)
//     p_k(v) = (c_k(v) + d p_{k-1}(v)) / (n_k + d)           (n_k = count of the order-k context;
//                                                             p_k = p_{k-1} when it was never seen)
// each a distribution over all V tokens, mixed with the model's as
//     p'(v) = (1 - alpha) p_model(v) + alpha p_ng(v),   alpha = a0 + a1 sigmoid(2 (H - 4))
// where H is the model's entropy (nats) at the position: the gate reads the model's distribution,
// never the target, so p' sums to 1 and depends on past tokens only.
#pragma once
#include <vector>

#include "frontend/eval/ngram_table.h"
#include "frontend/eval/target_scorer.h"

namespace pg::eval {

struct MixConfig {
    int max_order = 4;          // longest context, in tokens
    double concentration = 2;   // d: how much a context's counts are smoothed towards lower orders
    double alpha_min = 0.05, alpha_span = 0.55;  // a0, a1 (the backoff-cache PRs' gate)
};

class MixScorer final : public TargetScorer {
public:
    explicit MixScorer(const MixConfig& cfg);
    void predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) override;
    double log_prob(int64_t token) const override;
    void observe(std::span<const uint16_t> past, uint16_t target) override;

    double alpha() const { return alpha_; }
    double ngram_prob(int64_t token) const;  // p_ng of the last predict()

private:
    MixConfig cfg_;
    NgramCounts counts_;
    std::span<const float> model_;
    std::vector<uint64_t> contexts_;  // order 0, 1, ... of the last predict() (those that fit)
    double alpha_ = 0;
};

// The model's entropy in nats from its log-probabilities.
double entropy_nats(std::span<const float> log_probs);

}  // namespace pg::eval
