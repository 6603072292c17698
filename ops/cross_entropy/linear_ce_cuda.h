// The CUDA linear cross-entropy template: one instance per pass (linear_ce_problem.h), bf16 or
// f16 x and w, f32 arithmetic and statistics, the logits x wᵀ computed by mma.sync m16n8k16 in
// 64 x 64 tiles and consumed in shared memory and registers (never stored). The instance source
// expects the CUDA prelude before it, defines its helpers in the namespace <entry>_ns and
//   extern "C" __global__ void <entry>(out, x, w, targets[, stats, grad])
// with 16-bit tensors as pg_u16, stats / grad / the forward's output as float and targets as int
// or long long. Grid: Forward x over token blocks; GradX x over token blocks and y over column
// chunks of dx; GradW x over vocab blocks and y over column chunks of dw.
#pragma once
#include <array>
#include <cstdint>
#include <string>

#include "ops/cross_entropy/linear_ce_problem.h"

namespace pg::ce {

// The model dim must be a multiple of this: the k loop walks d in chunks of 32 and the gradient
// passes split their output's columns into chunks of 64 or 128.
constexpr int64_t kCudaDimMultiple = 64;
constexpr int kCudaThreads = 256;  // 8 warps: 4 x 2 over a 64 x 64 tile

bool cuda_template_serves(DType dtype, int64_t d);
// Columns of the gradient's output per block: 128 when d allows (fewer recomputations of the
// logits), else 64. Each gradient block recomputes its row block's logits once, so a pass computes
// them d / chunk times.
int64_t cuda_column_chunk(const LinearCeProblem& p);
int64_t cuda_logit_passes(const LinearCeProblem& p);  // 1 forward, d / chunk for a gradient

std::string linear_ce_cuda_source(const LinearCeProblem& p, const std::string& entry);
std::array<int64_t, 3> linear_ce_grid(const LinearCeProblem& p);

}  // namespace pg::ce
