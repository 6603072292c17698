// The normalised n-gram mixture (see ngram_mix.h).
#include "frontend/eval/ngram_mix.h"

#include <cmath>

#include "base/error.h"

namespace pg::eval {
namespace {

std::vector<int> mix_orders(const MixConfig& cfg) {
    PG_CHECK(cfg.max_order >= 0, "NGRAM_MIX_ORDER={} must be 0 or more", cfg.max_order);
    PG_CHECK(cfg.concentration > 0, "NGRAM_MIX_CONCENTRATION={} must be positive", cfg.concentration);
    PG_CHECK(cfg.alpha_min >= 0 && cfg.alpha_span >= 0 && cfg.alpha_min + cfg.alpha_span <= 1,
             "NGRAM_MIX_ALPHA_MIN={} and NGRAM_MIX_ALPHA_SPAN={} must be >= 0 with a sum of at most 1",
             cfg.alpha_min, cfg.alpha_span);
    std::vector<int> orders;
    for (int k = 0; k <= cfg.max_order; ++k) orders.push_back(k);
    return orders;
}

}  // namespace

double entropy_nats(std::span<const float> log_probs) {
    double h = 0;
    for (float lp : log_probs) h -= std::exp(static_cast<double>(lp)) * lp;
    return h;
}

MixScorer::MixScorer(const MixConfig& cfg) : cfg_(cfg), counts_(mix_orders(cfg)) {}

void MixScorer::predict(std::span<const uint16_t> past, std::span<const float> model_log_probs) {
    model_ = model_log_probs;
    contexts_.clear();
    for (int k = 0; k <= cfg_.max_order && static_cast<size_t>(k) <= past.size(); ++k)
        contexts_.push_back(context_key(past, k));
    const double h = entropy_nats(model_log_probs);
    alpha_ = cfg_.alpha_min + cfg_.alpha_span / (1 + std::exp(-2 * (h - 4.0)));
}

double MixScorer::ngram_prob(int64_t token) const {
    const auto v = static_cast<double>(model_.size());
    const auto t = static_cast<uint16_t>(token);
    double p = (counts_.count(contexts_[0], t) + 1.0) / (counts_.total(contexts_[0]) + v);
    for (size_t k = 1; k < contexts_.size(); ++k) {
        const double n = counts_.total(contexts_[k]);
        if (n > 0) p = (counts_.count(contexts_[k], t) + cfg_.concentration * p) / (n + cfg_.concentration);
    }
    return p;
}

double MixScorer::log_prob(int64_t token) const {
    const double pm = std::exp(static_cast<double>(model_[static_cast<size_t>(token)]));
    return std::log((1 - alpha_) * pm + alpha_ * ngram_prob(token));
}

void MixScorer::observe(std::span<const uint16_t> past, uint16_t target) { counts_.observe(past, target); }

}  // namespace pg::eval
