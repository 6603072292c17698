// Test support: a graph whose GEMM products have every kind of elementwise consumer that GEMM
// epilogue fusion (codegen/epilogue_fusion.h) must handle, shared by the plan test
// (tests/codegen) and the CUDA host emulation (tests/cuda):
//   h = x w1 [70, 96], read as [7, 10, 96]: tanh, then its square (a chain of two members: tanh is
//       materialised, read twice and not cheap; neither h nor tanh(h) is read elsewhere, so neither
//       is stored; the square is: an output and the next GEMM's operand);
//   y = square w2 [70, 64]: z = resid + scale * y with a per-channel scale [64] (a member that
//       reads a leaf at another index and a broadcast), and y transposed as an output (a consumer
//       at another element: not fused, so y is stored);
//   d = x^T g [64, 64] over the 70 tokens (a weight gradient, split-K when asked): acc + d / 8,
//       d not stored.
#pragma once
#include "graph/graph.h"

namespace pg::testing {

// Outputs "sq", "z", "yt" (f32) and "acc" (f32). `dtype`: of the operands and products (bf16 runs
// the tensor-core template, f32 the SIMT one).
Graph epilogue_case(DType dtype);

}  // namespace pg::testing
