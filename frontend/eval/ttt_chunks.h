// The chunking of chunked full-model SGD test-time training (spec 2.5 method 2): the targets
// 1..T of the validation stream are cut into chunks of C tokens (chunk c holds targets
// [c C + 1, (c + 1) C]); each window of the sliding plan belongs to the chunk of its first scored
// target. Chunk c is scored (all its windows), then, unless it is the last, the model trains on
// chunk c's tokens: floor(C / S) sequences of S tokens, inputs stream[c C + r S + j], targets one
// further — all targets of chunk c, already scored. The learning rate follows a cosine over chunks:
//     lr_c = lr * (1 + cos(pi c / (chunks - 1))) / 2.
#pragma once
#include <cstdint>
#include <vector>

#include "frontend/eval/window_plan.h"

namespace pg::eval {

struct TttChunk {
    size_t first_window = 0, end_window = 0;  // windows [first, end) of the plan
    int64_t first_token = 0;                  // stream index of the chunk's first input token (c C)
    int64_t train_sequences = 0;              // floor(C / S) when the chunk trains, else 0
};

// Throws pg::Error naming TTT_CHUNK_TOKENS when a chunk is smaller than a window.
std::vector<TttChunk> plan_ttt_chunks(const WindowPlan& plan, int64_t chunk_tokens);

double ttt_chunk_lr(double lr, int64_t chunk, int64_t chunks);

}  // namespace pg::eval
