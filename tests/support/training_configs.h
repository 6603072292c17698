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

// The multi-step PyTorch parity's settings: WORLD_SIZE=4 makes grad_accum 2 (each step two
// micro-steps of two sequences of `seq_len`), distinct learning rates per group, the warmdown
// active from the second step (ITERATIONS=4, WARMDOWN_ITERS=3: multipliers 1, 1, 2/3) and Muon's
// momentum warming up over the first two steps (0.85, 0.90, 0.95).
inline Hyperparams parity_training(const GptConfig& model, int64_t seq_len) {
    Hyperparams h;
    h.model = model;
    h.train_seq_len = seq_len;
    h.world_size = 4;
    h.train_batch_tokens = 4 * seq_len * h.world_size;
    h.iterations = 4;
    h.warmdown_iters = 3;
    h.max_wallclock_seconds = 0;
    h.tied_embed_lr = 0.05;
    h.scalar_lr = 0.03;
    h.matrix_lr = 0.04;
    h.muon_momentum_warmup_steps = 2;
    return h;
}

// The baseline's step on one GPU: 8 micro-steps of 64 x 1024 tokens.
inline Hyperparams baseline_training() { return Hyperparams{}; }

}  // namespace pg::testing
