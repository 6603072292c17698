// Baseline and sliding-window evaluation plans (see window_plan.h).
#include "frontend/eval/window_plan.h"

#include <algorithm>

#include "base/error.h"

namespace pg::eval {

std::span<const EvalWindow> WindowPlan::rank_slice(int rank, int world_size) const {
    PG_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, "rank {} is outside [0, {})", rank, world_size);
    const auto n = static_cast<int64_t>(windows.size());
    const int64_t begin = n * rank / world_size;
    const int64_t end = n * (rank + 1) / world_size;
    return std::span<const EvalWindow>(windows).subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
}

WindowPlan plan_baseline_windows(int64_t num_tokens, int64_t seq_len) {
    PG_CHECK(seq_len >= 1, "evaluation sequence length must be positive (got {})", seq_len);
    const int64_t sequences = num_tokens >= 1 ? (num_tokens - 1) / seq_len : 0;
    PG_CHECK(sequences >= 1, "the validation stream has {} tokens, fewer than one sequence of {} plus one",
             num_tokens, seq_len);
    WindowPlan plan;
    plan.seq_len = seq_len;
    plan.stride = seq_len;
    plan.num_tokens = num_tokens;
    plan.windows.reserve(static_cast<size_t>(sequences));
    for (int64_t i = 0; i < sequences; ++i) plan.windows.push_back({i * seq_len, seq_len, 0, seq_len});
    plan.num_scored = sequences * seq_len;
    return plan;
}

WindowPlan plan_sliding_windows(int64_t num_tokens, int64_t seq_len, int64_t stride) {
    PG_CHECK(seq_len >= 1, "evaluation sequence length must be positive (got {})", seq_len);
    PG_CHECK(stride >= 1 && stride <= seq_len, "EVAL_STRIDE={} must be between 1 and the window length {}",
             stride, seq_len);
    const int64_t targets = num_tokens - 1;  // T
    PG_CHECK(targets >= 1, "the validation stream has {} tokens; the sliding window needs at least 2", num_tokens);
    const int64_t context = seq_len - stride;  // c
    WindowPlan plan;
    plan.seq_len = seq_len;
    plan.stride = stride;
    plan.num_tokens = num_tokens;
    for (int64_t ws = 0; ws == 0 || ws + context < targets; ws += stride) {
        const int64_t end = std::min(ws + seq_len, targets);
        const int64_t length = end - ws;
        const int64_t begin = ws == 0 ? 0 : context;
        plan.windows.push_back({ws, length, begin, length});
        plan.num_scored += length - begin;
    }
    PG_ASSERT(plan.num_scored == targets, "sliding plan scores {} of {} targets", plan.num_scored, targets);
    return plan;
}

void fill_window_batch(std::span<const EvalWindow> windows, std::span<const uint16_t> stream, int64_t seq_len,
                       std::span<int32_t> inputs, std::span<int32_t> targets) {
    const auto need = static_cast<size_t>(seq_len) * windows.size();
    PG_ASSERT(inputs.size() >= need && targets.size() >= need, "batch buffers hold {} / {} ids, {} needed",
              inputs.size(), targets.size(), need);
    for (size_t row = 0; row < windows.size(); ++row) {
        const EvalWindow& w = windows[row];
        PG_ASSERT(w.length <= seq_len && w.start + w.length < static_cast<int64_t>(stream.size()),
                  "window [{}, +{}) does not fit a stream of {} tokens and rows of {}", w.start, w.length,
                  stream.size(), seq_len);
        int32_t* x = inputs.data() + row * static_cast<size_t>(seq_len);
        int32_t* y = targets.data() + row * static_cast<size_t>(seq_len);
        for (int64_t j = 0; j < seq_len; ++j) {
            const bool inside = j < w.length;
            x[j] = inside ? stream[static_cast<size_t>(w.start + j)] : 0;
            y[j] = inside ? stream[static_cast<size_t>(w.start + j + 1)] : 0;
        }
    }
}

void score_window(BpbAccumulator& acc, const EvalWindow& window, std::span<const float> losses,
                  std::span<const uint16_t> stream, const ByteLuts& luts) {
    PG_ASSERT(static_cast<int64_t>(losses.size()) >= window.length, "{} losses for a window of {} positions",
              losses.size(), window.length);
    acc.add_targets(losses.subspan(static_cast<size_t>(window.score_begin), static_cast<size_t>(window.scored())),
                    stream, window.first_target(), luts);
}

}  // namespace pg::eval
