// The CUDA flash-attention template: one instance per attention pass (attention_problem.h), bf16
// or f16 in and out, products on tensor cores (f32 accumulators), f32 softmax statistics, causal (key blocks above the diagonal
// are never visited), GQA by indexing the kv head h / G, head dims 64 and 128, optionally masked
// to documents (doc_start, the last input; key blocks outside every row's document are skipped).
// The instance source expects the CUDA prelude before it, defines its helpers in the namespace
// <entry>_ns and
//   extern "C" __global__ void <entry>(<the step's buffers: present outputs, then inputs>)
// with 16-bit tensors as pg_u16, lse / delta as float and doc_start as int. Grid: x over row
// blocks (key blocks for GradKV), y over heads (kv heads for GradKV), z over the batch.
#pragma once
#include <array>
#include <string>

#include "ops/attention/attention_problem.h"

namespace pg::attn {

// Whether the template serves the problem's dtype and head dim.
bool cuda_template_serves(DType dtype, int64_t head_dim);

// Rows per block (queries, or keys for GradKV; the key and query blocks are equal): 64, 16 per
// warp (see attention_cuda.cpp).
int cuda_block_rows(const AttentionProblem& p);
int cuda_threads(const AttentionProblem& p);  // 4 warps
// Dynamic shared memory per block (the operand tiles), bytes: the launch passes it, and the runtime
// opts the kernel in above 48 KiB.
int cuda_shared_bytes(const AttentionProblem& p);

// The (query, key) score pairs the pass's blocks compute over all heads: whole BM x BN tiles on and
// below the diagonal, rows past T included (the tensor cores multiply them; the mask zeroes them).
// With doc_mask an upper bound (skipped blocks are not known before the run).
double cuda_score_pairs(const AttentionProblem& p);

std::string attention_cuda_source(const AttentionProblem& p, const std::string& entry);
std::array<int64_t, 3> attention_grid(const AttentionProblem& p);

}  // namespace pg::attn
