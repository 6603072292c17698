// Evaluation window plans, independent of any model: which windows of the validation stream a
// model runs on and which of each window's positions are scored. A trainer fills a batch of
// windows (fill_window_batch), runs its model to get per-position losses, and hands them to
// score_window.
//
// Positions: the stream holds N tokens; target t (1 <= t < N) is predicted from tokens [.., t-1].
// A window starting at `start` with `length` positions has inputs stream[start + j] and targets
// stream[start + j + 1] for j in [0, length); it scores j in [score_begin, score_end).
//
// Baseline plan (spec 2.3): floor((N-1)/S) consecutive sequences of S tokens, every position
// scored. Sliding plan (spec 2.4, the corrected form): T = N-1 targets, stride s, context
// c = S - s; windows start at 0, s, 2s, ... while start + c < T; a window covers
// [start, min(start+S, T)); the first window scores all its positions, every other one only
// [c, length), so each target in [1, T] is scored exactly once and every target past the first
// window sees at least c + 1 tokens. Where the whole stream is shorter than one context (T <= c),
// the canonical filter would keep no window; the first window (start 0) is always kept, so short
// streams are scored completely.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "frontend/eval/bpb.h"

namespace pg::eval {

struct EvalWindow {
    int64_t start = 0;        // stream index of the first input token
    int64_t length = 0;       // positions (inputs = targets) in the window, <= seq_len
    int64_t score_begin = 0;  // first scored position
    int64_t score_end = 0;    // one past the last scored position (== length)

    int64_t first_target() const { return start + score_begin + 1; }  // stream index
    int64_t scored() const { return score_end - score_begin; }
};

struct WindowPlan {
    int64_t seq_len = 0;
    int64_t stride = 0;       // == seq_len for the baseline plan
    int64_t num_tokens = 0;   // N, the stream length the plan was made for
    int64_t num_scored = 0;   // targets scored over all windows
    std::vector<EvalWindow> windows;

    // Rank r's contiguous share of windows [n*r/W, n*(r+1)/W), as the challenge splits them.
    std::span<const EvalWindow> rank_slice(int rank, int world_size) const;
};

// spec 2.3. Throws pg::Error when the stream has fewer than seq_len + 1 tokens.
WindowPlan plan_baseline_windows(int64_t num_tokens, int64_t seq_len);

// spec 2.4 with stride in [1, seq_len]. Throws pg::Error for a bad stride or an empty stream.
WindowPlan plan_sliding_windows(int64_t num_tokens, int64_t seq_len, int64_t stride);

// Writes the windows' inputs and targets as rows of seq_len int32 ids (windows.size() rows),
// zero-padded past each window's length (padding is never scored).
void fill_window_batch(std::span<const EvalWindow> windows, std::span<const uint16_t> stream, int64_t seq_len,
                       std::span<int32_t> inputs, std::span<int32_t> targets);

// Adds a window's scored positions to `acc`. `losses` holds the model's loss (nats) at every
// position of the window's row (at least window.length values).
void score_window(BpbAccumulator& acc, const EvalWindow& window, std::span<const float> losses,
                  std::span<const uint16_t> stream, const ByteLuts& luts);

}  // namespace pg::eval
