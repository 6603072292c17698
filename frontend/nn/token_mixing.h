// The records' token-level additions to the embedding (pgolf-spec §4.1): the BigramHash embedding
// (PR #162's hash), SmearGate v1 (static per-dimension gate, after the embedding norm) and v2
// (input-dependent, on the raw embedding, not smearing into BOS), and the shared value-embedding
// table (VE). Parameter names are the records' state_dict names.
#pragma once
#include <string>

#include "frontend/module.h"

namespace pg::nn {

// x [B, T, ...] -> x_{t-1} along axis 1, zeros at t = 0.
Tensor previous_token(const Tensor& x);

// h_t = (36313·id_t XOR 27191·id_{t−1}) mod (K−1), and K−1 at t = 0 (i64 [B, T]); ids [B, T] must be
// below `vocab_size` (it sizes the XOR's bit count).
Tensor bigram_hash(const Tensor& ids, int64_t buckets, int64_t vocab_size);

// scale · P·E[h_t] [B, T, d] in dtype `act`: bigram.embed.weight [K, dim] N(0, 0.01),
// bigram.proj.weight [d, dim] zero init, bigram.scale [] = 0.05.
Tensor bigram_hash_embedding(ParamSet& ps, const Tensor& ids, int64_t buckets, int64_t dim, int64_t model_dim,
                             int64_t vocab_size, DType act);

// SmearGate v1: (1−σ(g))·x_t + σ(g)·x_{t−1}, smear.gate [d] zero init.
Tensor smear_gate_v1(ParamSet& ps, const Tensor& x);

// SmearGate v2 on the raw embedding e [B, T, d]: e_t + λ·σ(w·e_t[0:12])·e_{t−1}·[id_t ≠ bos] for
// t ≥ 1; smear_gate.weight [1, 12] and smear_lambda [] zero init (identity at init).
Tensor smear_gate_v2(ParamSet& ps, const Tensor& e, const Tensor& ids, int64_t bos_id);

// The position of the BOS opening each token's document, ids [B, T] -> i32 [B, T] (attention's
// doc_start, document masking at BOS): 0 before a row's first BOS, so that a partial leading
// document is a document of its own, as the records' cu_seqlens (pgolf-spec §1.4d).
Tensor document_starts(const Tensor& ids, int64_t bos_id);

// The shared value embedding: ve_shared.scale · P·E[ids] [B, T, kv_dim], ve_shared.embed.weight
// [V, dim] N(0, 0.01), ve_shared.proj.weight [kv_dim, dim] zero init, ve_shared.scale [] = 0.1.
Tensor shared_value_embedding(ParamSet& ps, const Tensor& ids, int64_t vocab_size, int64_t dim, int64_t kv_dim,
                              DType act);

}  // namespace pg::nn
