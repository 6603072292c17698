// The causal normalised n-gram token tilt (see ngram_tilt.h).
#include "frontend/eval/ngram_tilt.h"

#include <cmath>

#include "base/error.h"

namespace pg::eval {
namespace {

std::vector<int> tilt_orders(const TiltConfig& cfg) {
    PG_CHECK(cfg.min_order >= 1 && cfg.min_order <= cfg.max_order,
             "TILT_MIN_ORDER={} and TILT_MAX_ORDER={} must satisfy 1 <= min <= max", cfg.min_order, cfg.max_order);
    std::vector<int> orders;
    for (int k = cfg.max_order; k >= cfg.min_order; k -= 2) orders.push_back(k);  // highest first
    return orders;
}

}  // namespace

TiltScorer::TiltScorer(const TiltConfig& cfg) : cfg_(cfg), counts_(tilt_orders(cfg)) {}

void TiltScorer::predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) {
    model_ = model_log_probs;
    hint_ = -1;
    beta_ = 0;
    log_z_ = 0;
    for (int k : counts_.orders()) {
        if (static_cast<size_t>(k) > past.size()) continue;
        const uint64_t ctx = context_key(past, k);
        const NgramCounts::Best best = counts_.best(ctx);
        if (best.token < 0 || best.count < cfg_.min_count) continue;
        const double conf = static_cast<double>(best.count) / counts_.total(ctx);
        if (conf < cfg_.threshold) continue;
        if (hint_ < 0) {
            hint_ = best.token;
            beta_ = cfg_.base_beta * conf;
        } else if (best.token == hint_) {
            beta_ += cfg_.agree_bonus;
        }
    }
    if (hint_ >= 0) {
        PG_ASSERT(hint_ < static_cast<int64_t>(model_.size()), "hint {} outside a vocabulary of {}", hint_, model_.size());
        const double p_hint = std::exp(static_cast<double>(model_[static_cast<size_t>(hint_)]));
        log_z_ = std::log1p(p_hint * std::expm1(beta_));
    }
}

double TiltScorer::log_prob(int64_t token) const {
    const double lp = model_[static_cast<size_t>(token)];
    return lp + (token == hint_ ? beta_ : 0.0) - log_z_;
}

void TiltScorer::observe(std::span<const uint16_t> past, uint16_t target) { counts_.observe(past, target); }

}  // namespace pg::eval
