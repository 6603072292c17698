// The flagged unnormalised backoff cache (see backoff_cache.h).
#include "frontend/eval/backoff_cache.h"

#include <cmath>

#include "frontend/eval/ngram_mix.h"

namespace pg::eval {
namespace {

constexpr int kMinContext = 1, kMaxContext = 6;  // n-gram orders 2..7

}  // namespace

BackoffCacheScorer::BackoffCacheScorer() : counts_({6, 5, 4, 3, 2, 1}) {}

void BackoffCacheScorer::predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) {
    model_ = model_log_probs;
    contexts_.clear();
    for (int k = kMaxContext; k >= kMinContext; --k)
        if (static_cast<size_t>(k) <= past.size()) contexts_.push_back(context_key(past, k));
    alpha_ = 0.05 + 0.55 / (1 + std::exp(-2 * (entropy_nats(model_log_probs) - 4.0)));
}

double BackoffCacheScorer::log_prob(int64_t token) const {
    const double pm = std::exp(static_cast<double>(model_[static_cast<size_t>(token)]));
    for (uint64_t ctx : contexts_) {
        const uint32_t c = counts_.count(ctx, static_cast<uint16_t>(token));  // the gate reads the token
        if (c > 0) return std::log((1 - alpha_) * pm + alpha_ * c / counts_.total(ctx));
    }
    return std::log(pm);
}

void BackoffCacheScorer::observe(std::span<const uint16_t> past, uint16_t target) { counts_.observe(past, target); }

}  // namespace pg::eval
