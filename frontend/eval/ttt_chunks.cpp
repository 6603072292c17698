// Chunks of chunked SGD test-time training (see ttt_chunks.h).
#include "frontend/eval/ttt_chunks.h"

#include <cmath>
#include <numbers>

#include "base/error.h"

namespace pg::eval {

std::vector<TttChunk> plan_ttt_chunks(const WindowPlan& plan, int64_t chunk_tokens) {
    PG_CHECK(chunk_tokens >= plan.seq_len,
             "TTT_CHUNK_TOKENS={} is smaller than the evaluation window of {} tokens: a chunk must hold at least one "
             "training sequence; use a multiple of the window",
             chunk_tokens, plan.seq_len);
    const int64_t targets = plan.num_tokens - 1;
    const int64_t chunks = (targets + chunk_tokens - 1) / chunk_tokens;
    std::vector<TttChunk> out(static_cast<size_t>(chunks));
    for (int64_t c = 0; c < chunks; ++c) {
        out[static_cast<size_t>(c)].first_token = c * chunk_tokens;
        if (c + 1 < chunks) out[static_cast<size_t>(c)].train_sequences = chunk_tokens / plan.seq_len;
    }
    size_t w = 0;
    for (int64_t c = 0; c < chunks; ++c) {
        TttChunk& chunk = out[static_cast<size_t>(c)];
        chunk.first_window = w;
        while (w < plan.windows.size() && (plan.windows[w].first_target() - 1) / chunk_tokens == c) ++w;
        chunk.end_window = w;
    }
    PG_ASSERT(w == plan.windows.size(), "{} of {} windows assigned to chunks", w, plan.windows.size());
    return out;
}

double ttt_chunk_lr(double lr, int64_t chunk, int64_t chunks) {
    if (chunks <= 1) return lr;
    const double progress = static_cast<double>(chunk) / static_cast<double>(chunks - 1);
    return lr * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

}  // namespace pg::eval
