// Evaluation plans: the sliding window (spec 2.4) scores every target exactly once at several
// strides and stream lengths, including streams shorter than one window; the baseline plan
// (spec 2.3); rank slices; batch filling; and the fp64 val_loss / val_bpb arithmetic.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <numbers>

#include "base/error.h"
#include "frontend/eval/bpb.h"
#include "frontend/eval/window_plan.h"

using namespace pg;
using namespace pg::eval;

namespace {

// How many times each stream position is scored as a target, checking the window invariants.
std::vector<int> coverage(const WindowPlan& plan) {
    std::vector<int> count(static_cast<size_t>(plan.num_tokens), 0);
    const int64_t context = plan.seq_len - plan.stride;
    for (size_t i = 0; i < plan.windows.size(); ++i) {
        const EvalWindow& w = plan.windows[i];
        REQUIRE(w.length >= 1);
        REQUIRE(w.length <= plan.seq_len);
        REQUIRE(w.start + w.length <= plan.num_tokens - 1);
        REQUIRE(w.score_end == w.length);
        // Past the first window every scored target sees at least c + 1 input tokens.
        CHECK(w.score_begin == (w.start == 0 ? 0 : context));
        for (int64_t j = w.score_begin; j < w.score_end; ++j) ++count[static_cast<size_t>(w.start + j + 1)];
    }
    return count;
}

}  // namespace

TEST_CASE("data: the sliding window scores every target exactly once") {
    for (const int64_t seq : {1, 2, 8, 64, 128}) {
        for (const int64_t stride : {int64_t{1}, int64_t{3}, int64_t{7}, int64_t{64}, seq}) {
            if (stride > seq) continue;
            for (const int64_t n : {int64_t{2}, int64_t{3}, seq / 2, seq - 1, seq, seq + 1, seq + 2,
                                    seq - stride, seq - stride + 1, seq - stride + 2, 3 * seq + 5, 10 * seq + stride}) {
                if (n < 2) continue;
                CAPTURE(seq);
                CAPTURE(stride);
                CAPTURE(n);
                const WindowPlan plan = plan_sliding_windows(n, seq, stride);
                const std::vector<int> count = coverage(plan);
                CHECK(count[0] == 0);
                for (int64_t t = 1; t < n; ++t) REQUIRE(count[static_cast<size_t>(t)] == 1);
                CHECK(plan.num_scored == n - 1);
                // Windows advance by the stride, and the first one always exists.
                CHECK(plan.windows.front().start == 0);
                for (size_t i = 1; i < plan.windows.size(); ++i)
                    CHECK(plan.windows[i].start == plan.windows[i - 1].start + stride);
            }
        }
    }
}

TEST_CASE("data: sliding window at the record's settings matches the spec's formulas") {
    const int64_t seq = 2048, stride = 64, n = 100'001;
    const WindowPlan plan = plan_sliding_windows(n, seq, stride);
    const int64_t targets = n - 1, context = seq - stride;
    int64_t expected_windows = 0;
    for (int64_t ws = 0; ws < targets; ws += stride)
        if (ws + context < targets) ++expected_windows;  // the canonical filter
    CHECK(static_cast<int64_t>(plan.windows.size()) == expected_windows);
    CHECK(plan.windows.back().start + plan.windows.back().length == targets);
    // A stream shorter than one context: the canonical filter keeps nothing, we keep window 0.
    const WindowPlan tiny = plan_sliding_windows(100, seq, stride);
    REQUIRE(tiny.windows.size() == 1);
    CHECK(tiny.windows[0].length == 99);
    CHECK(tiny.num_scored == 99);

    CHECK_THROWS_AS(plan_sliding_windows(100, 64, 0), Error);
    CHECK_THROWS_AS(plan_sliding_windows(100, 64, 65), Error);
    CHECK_THROWS_AS(plan_sliding_windows(1, 64, 64), Error);
}

TEST_CASE("data: baseline windows are consecutive full sequences") {
    const WindowPlan plan = plan_baseline_windows(1025, 256);
    REQUIRE(plan.windows.size() == 4);
    for (size_t i = 0; i < 4; ++i) {
        CHECK(plan.windows[i].start == static_cast<int64_t>(i) * 256);
        CHECK(plan.windows[i].scored() == 256);
    }
    CHECK(plan.num_scored == 1024);
    CHECK(plan_baseline_windows(1100, 256).windows.size() == 4);  // the tail is not scored
    CHECK_THROWS_AS(plan_baseline_windows(256, 256), Error);
}

TEST_CASE("data: rank slices split windows contiguously like the challenge") {
    const WindowPlan plan = plan_sliding_windows(10'000, 128, 64);
    for (const int world : {1, 2, 3, 8}) {
        size_t next = 0;
        for (int r = 0; r < world; ++r) {
            const auto slice = plan.rank_slice(r, world);
            const size_t n = plan.windows.size();
            CHECK(slice.size() == n * static_cast<size_t>(r + 1) / world - n * static_cast<size_t>(r) / world);
            if (!slice.empty()) CHECK(&slice.front() == &plan.windows[next]);
            next += slice.size();
        }
        CHECK(next == plan.windows.size());
    }
    CHECK_THROWS_AS(plan.rank_slice(2, 2), Error);
}

TEST_CASE("data: window batches, scoring and the bpb arithmetic") {
    std::vector<uint16_t> stream(20);
    for (size_t i = 0; i < stream.size(); ++i) stream[i] = static_cast<uint16_t>(i % 4);
    const WindowPlan plan = plan_sliding_windows(static_cast<int64_t>(stream.size()), 8, 4);
    std::vector<int32_t> x(plan.windows.size() * 8, -1), y(plan.windows.size() * 8, -1);
    fill_window_batch(plan.windows, stream, 8, x, y);
    for (size_t r = 0; r < plan.windows.size(); ++r) {
        const EvalWindow& w = plan.windows[r];
        for (int64_t j = 0; j < 8; ++j) {
            const size_t k = r * 8 + static_cast<size_t>(j);
            CHECK(x[k] == (j < w.length ? stream[static_cast<size_t>(w.start + j)] : 0));
            CHECK(y[k] == (j < w.length ? stream[static_cast<size_t>(w.start + j + 1)] : 0));
        }
    }

    // Tables: id 0 is a boundary (like BOS), 1 has 2 bytes, 2 has 1 byte + a leading space, 3 has 3 bytes.
    ByteLuts luts;
    luts.base_bytes = {0, 2, 1, 3};
    luts.has_leading_space = {0, 0, 1, 0};
    luts.is_boundary = {1, 0, 0, 0};
    BpbAccumulator acc;
    for (const EvalWindow& w : plan.windows) {
        std::vector<float> losses(8, 0.5f);
        score_window(acc, w, losses, stream, luts);
    }
    // Targets 1..19 cycle 1,2,3,0; every 2 follows a 1, not a boundary, so it counts 1 + 1 bytes.
    int64_t expected_bytes = 0;
    for (size_t t = 1; t < stream.size(); ++t) expected_bytes += std::array<int, 4>{0, 2, 2, 3}[stream[t]];
    CHECK(acc.tokens() == 19);
    CHECK(acc.bytes() == static_cast<double>(expected_bytes));
    CHECK(acc.loss_sum() == doctest::Approx(19 * 0.5));
    CHECK(acc.val_loss() == doctest::Approx(0.5));
    CHECK(acc.val_bpb() == doctest::Approx(19 * 0.5 / std::numbers::ln2 / static_cast<double>(expected_bytes)));

    BpbAccumulator a, b;
    a.add(10.0, 4, 10);
    b.add(2.0, 1, 6);
    a.merge(b);
    const BpbAccumulator c = BpbAccumulator::from_sums(a.sums());
    CHECK(c.val_loss() == doctest::Approx(12.0 / 5));
    CHECK(c.val_bpb() == doctest::Approx((12.0 / 5 / std::numbers::ln2) * (5.0 / 16)));
    CHECK_THROWS_AS(BpbAccumulator().val_loss(), Error);
}
