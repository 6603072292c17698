// Epilogue fusion (GPU schedules): an elementwise Loop kernel that reads a GEMM's product only at
// its own element becomes part of that GEMM's epilogue, so the product is finished in registers
// (relu, the square of relu², the residual add with its per-channel scale, the select of relu²'s
// gradient, casts) instead of being written and read back by a kernel of its own.
//
// A Loop kernel with root e joins the epilogue of the Gemm kernel of product m when
//   - e has m's element count and its inlined expression tree holds no reduction or matmul (one
//     value per element, no loop inside the epilogue);
//   - every path of that tree to m, or to an earlier member of m's epilogue, keeps the flat
//     element index: elementwise ops (unary, binary, ternary over equal shapes) and reshapes
//     (the model's [B*T, d] products are [B, T, d] activations), never another re-indexing; m's
//     GEMM is the last one whose product or member the tree reads so;
//   - every other buffer it reads exists when the GEMM runs (a leaf, or a kernel before it: an
//     earlier GEMM's product or member is such a buffer).
// Members are taken in kernel order, so a chain (relu, then its square) joins as a whole. The
// product is then stored only when something else reads it: another kernel (also as a GEMM
// operand or a template input), a graph output or a state update.
#pragma once
#include <vector>

#include "codegen/schedule.h"
#include "graph/graph.h"

namespace pg {

// Moves the eligible Loop kernels of `s` into their GEMMs' epilogues (ScheduledKernel::epilogue)
// and decides ScheduledKernel::stores_root; `forced[i]`: node i is a graph output or update value.
void fuse_gemm_epilogues(const Graph& g, const std::vector<bool>& forced, Schedule& s);

}  // namespace pg
