// Brute-force n-gram references (see ngram_reference.h).
#include "tests/support/ngram_reference.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace pg::reference {
namespace {

// Counts of what followed the `k` tokens before t, over the targets s in [max(k, 1), t) (scored
// before t whose context of k tokens exists), and the most frequent follower (ties: the first to
// reach the top count).
struct Followers {
    std::map<uint16_t, int64_t> count;
    int64_t total = 0;
    int64_t best = -1, best_count = 0;
};

Followers followers(std::span<const uint16_t> stream, int64_t t, int64_t k) {
    Followers f;
    for (int64_t s = std::max<int64_t>(k, 1); s < t; ++s) {  // targets start at 1
        if (!std::equal(stream.begin() + (s - k), stream.begin() + s, stream.begin() + (t - k))) continue;
        ++f.total;
        const int64_t c = ++f.count[stream[static_cast<size_t>(s)]];
        if (c > f.best_count) {
            f.best_count = c;
            f.best = stream[static_cast<size_t>(s)];
        }
    }
    return f;
}

}  // namespace

double tilt_loss(std::span<const uint16_t> stream, int64_t t, std::span<const float> lp, const eval::TiltConfig& cfg) {
    int64_t hint = -1;
    double beta = 0;
    for (int k = cfg.max_order; k >= cfg.min_order; k -= 2) {
        if (k > t) continue;
        Followers f = followers(stream, t, k);
        if (f.best < 0 || f.best_count < cfg.min_count) continue;
        const double conf = static_cast<double>(f.best_count) / static_cast<double>(f.total);
        if (conf < cfg.threshold) continue;
        if (hint < 0) {
            hint = f.best;
            beta = cfg.base_beta * conf;
        } else if (f.best == hint) {
            beta += cfg.agree_bonus;
        }
    }
    const uint16_t y = stream[static_cast<size_t>(t)];
    double logp = lp[y];
    if (hint >= 0) {
        const double z = 1 + std::exp(static_cast<double>(lp[static_cast<size_t>(hint)])) * (std::exp(beta) - 1);
        logp += (y == hint ? beta : 0.0) - std::log(z);
    }
    return -logp;
}

double mix_loss(std::span<const uint16_t> stream, int64_t t, std::span<const float> lp, const eval::MixConfig& cfg) {
    const uint16_t y = stream[static_cast<size_t>(t)];
    const auto v = static_cast<double>(lp.size());
    Followers uni = followers(stream, t, 0);
    double p = (static_cast<double>(uni.count[y]) + 1) / (static_cast<double>(uni.total) + v);
    for (int k = 1; k <= cfg.max_order && k <= t; ++k) {
        Followers f = followers(stream, t, k);
        if (f.total > 0)
            p = (static_cast<double>(f.count[y]) + cfg.concentration * p) / (static_cast<double>(f.total) + cfg.concentration);
    }
    double h = 0;
    for (float l : lp) h -= std::exp(static_cast<double>(l)) * l;
    const double alpha = cfg.alpha_min + cfg.alpha_span / (1 + std::exp(-2 * (h - 4.0)));
    return -std::log((1 - alpha) * std::exp(static_cast<double>(lp[y])) + alpha * p);
}

}  // namespace pg::reference
