// The host-side n-gram evaluation methods without a model: the open-addressing count table
// against std::unordered_map; the tilt and the mixture against the brute-force references of
// tests/support/ngram_reference.h (same per-target losses), their distributions summing to 1 over
// the vocabulary, and causality (a changed token at position p changes no loss before p); the
// flagged backoff cache's implied distribution does not sum to 1.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <unordered_map>
#include <vector>

#include "frontend/eval/backoff_cache.h"
#include "frontend/eval/ngram_mix.h"
#include "frontend/eval/ngram_tilt.h"
#include "tests/support/ngram_reference.h"

namespace pg {
namespace {

constexpr int kVocab = 64;

// A stream with structure to find: each token is followed by its successor in a fixed table 80% of
// the time, else by a random token.
std::vector<uint16_t> markov_stream(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<uint16_t> next(kVocab);
    for (auto& t : next) t = static_cast<uint16_t>(rng() % kVocab);
    std::vector<uint16_t> s{0};
    while (s.size() < n) s.push_back(rng() % 5 ? next[s.back()] : static_cast<uint16_t>(rng() % kVocab));
    return s;
}

// Random model distributions, one row of kVocab log-probabilities per target (normalised in double).
std::vector<float> model_rows(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> logit(0, 2);
    std::vector<float> rows(n * kVocab);
    for (size_t r = 0; r < n; ++r) {
        std::vector<double> l(kVocab);
        double z = 0;
        for (double& x : l) z += std::exp(x = logit(rng));
        for (int v = 0; v < kVocab; ++v) rows[r * kVocab + v] = static_cast<float>(l[v] - std::log(z));
    }
    return rows;
}

std::span<const float> row(const std::vector<float>& rows, size_t t) {
    return std::span<const float>(rows).subspan(t * kVocab, kVocab);
}

// The scorer's losses of targets 1..n-1, each predicted from the model row at t and its past.
std::vector<double> run_scorer(eval::TargetScorer& s, const std::vector<uint16_t>& stream, const std::vector<float>& rows) {
    std::vector<double> losses(stream.size(), 0);
    std::span<const uint16_t> all(stream);
    for (size_t t = 1; t < stream.size(); ++t) {
        s.predict(all.first(t), row(rows, t));
        losses[t] = -s.log_prob(stream[t]);
        s.observe(all.first(t), stream[t]);
    }
    return losses;
}

double max_mass_error(eval::TargetScorer& s, const std::vector<uint16_t>& stream, const std::vector<float>& rows) {
    double worst = 0;
    std::span<const uint16_t> all(stream);
    for (size_t t = 1; t < stream.size(); ++t) {
        s.predict(all.first(t), row(rows, t));
        double mass = 0;
        for (int v = 0; v < kVocab; ++v) mass += std::exp(s.log_prob(v));
        worst = std::max(worst, std::fabs(mass - 1));
        s.observe(all.first(t), stream[t]);
    }
    return worst;
}

// Short orders so that hints fire on a 1,500-token stream.
const eval::TiltConfig kTilt{.min_order = 2, .max_order = 6, .threshold = 0.4, .min_count = 2};
const eval::MixConfig kMix{.max_order = 3};

}  // namespace

TEST_CASE("eval: the open-addressing count table agrees with std::unordered_map through growth") {
    eval::CountTable table(16);
    std::unordered_map<uint64_t, uint32_t> ref;
    std::mt19937_64 rng(5);
    for (int i = 0; i < 20000; ++i) {
        const uint64_t key = 1 + rng() % 3000;
        CHECK(table.add(key) == ++ref[key]);
    }
    CHECK(table.size() == static_cast<int64_t>(ref.size()));
    for (uint64_t k = 1; k <= 3100; ++k) CHECK(table.get(k) == (ref.count(k) ? ref[k] : 0u));
}

TEST_CASE("eval: n-gram tilt and mixture equal their brute-force references, sum to 1 and are causal") {
    const auto stream = markov_stream(1500, 1);
    const auto rows = model_rows(stream.size(), 2);
    eval::TiltScorer tilt(kTilt);
    eval::MixScorer mix(kMix);
    const auto tilt_losses = run_scorer(tilt, stream, rows);
    const auto mix_losses = run_scorer(mix, stream, rows);
    int tilted = 0;
    double gain = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        // The same double formulas summed in a different order: agreement to ~1e-12; 1e-9 is loose.
        CHECK(tilt_losses[t] == doctest::Approx(reference::tilt_loss(stream, t, row(rows, t), kTilt)).epsilon(1e-9));
        CHECK(mix_losses[t] == doctest::Approx(reference::mix_loss(stream, t, row(rows, t), kMix)).epsilon(1e-9));
        tilted += tilt_losses[t] != -row(rows, t)[stream[t]];
        gain += -row(rows, t)[stream[t]] - tilt_losses[t];
    }
    CHECK(tilted > 300);  // the references were compared where hints fire, not only on p' = p
    CHECK(gain > 0);      // on a stream with repeats the tilt helps a model that knows nothing

    // Condition 2: full distributions. Rows are floats normalised in double: mass 1 +- ~1e-7.
    eval::TiltScorer tilt2(kTilt);
    eval::MixScorer mix2(kMix);
    CHECK(max_mass_error(tilt2, stream, rows) < 1e-5);
    CHECK(max_mass_error(mix2, stream, rows) < 1e-5);

    // Condition 1: changing token p (with the model row there) changes no loss before p.
    for (size_t p : {size_t{200}, size_t{777}, size_t{1400}}) {
        auto changed = stream;
        changed[p] = static_cast<uint16_t>((changed[p] + 1) % kVocab);
        auto changed_rows = rows;
        for (size_t t = p; t < stream.size(); ++t) changed_rows[t * kVocab] += 1.0f;  // later rows differ too
        eval::TiltScorer a(kTilt);
        eval::MixScorer b(kMix);
        const auto ta = run_scorer(a, changed, changed_rows);
        const auto mb = run_scorer(b, changed, changed_rows);
        for (size_t t = 1; t < p; ++t) {
            CHECK(ta[t] == tilt_losses[t]);
            CHECK(mb[t] == mix_losses[t]);
        }
        CHECK(ta[p] != tilt_losses[p]);  // the test can see a change where there is one
    }
}

TEST_CASE("eval: the flagged backoff cache's distribution does not sum to 1") {
    const auto stream = markov_stream(1500, 3);
    const auto rows = model_rows(stream.size(), 4);
    eval::BackoffCacheScorer cache;
    CHECK_FALSE(cache.normalised());
    CHECK(max_mass_error(cache, stream, rows) > 0.1);
}

}  // namespace pg
