// The model and training configurations the suites share: a tiny GPT that trains in seconds on the
// CPU, and the challenge's baseline.
#pragma once
#include "frontend/models/gpt.h"
#include "frontend/train/hyperparams.h"

namespace pg::testing {

// vocab 96, 2 layers, d 64, 4 heads, 2 kv heads, MLP 2x.
inline GptConfig tiny_gpt() {
    GptConfig c;
    c.vocab_size = 96;
    c.num_layers = 2;
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.mlp_mult = 2;
    return c;
}

// The challenge's 9 x 512.
inline GptConfig baseline_gpt() { return GptConfig{}; }

// The tiny GPT's training step: sequences of 32, 8 micro-steps of `micro_rows` sequences.
inline Hyperparams tiny_training(int64_t micro_rows = 4) {
    Hyperparams h;
    h.model = tiny_gpt();
    h.train_seq_len = 32;
    h.train_batch_tokens = 8 * micro_rows * 32;
    h.val_batch_size = h.train_batch_tokens;
    return h;
}

// The baseline's step on one GPU: 8 micro-steps of 64 x 1024 tokens.
inline Hyperparams baseline_training() { return Hyperparams{}; }

}  // namespace pg::testing
