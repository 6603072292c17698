// The linear cross-entropy passes on the CPU (f32; linear_ce_problem.h), block by block, never
// holding the [N, V] logits: a work item owns a block of output rows and walks the other side in
// tiles, with a bounded scratch per item (one [rows, cols] logits tile); the tile products are
// OpenBLAS sgemm calls.
//   Forward: per block of token rows, vocab tiles in turn; per row an online log-sum-exp (running
//   max m and sum l, l rescaled by exp(m_old - m_new)) and the target's softcapped logit.
//   GradX: per block of token rows, per vocab tile: the row's logits, dl (linear_cross_entropy.cpp's
//   formula), dx_row += dl w_tile.
//   GradW: per block of vocab rows, per token tile: the vocab row's logits over the tile's tokens,
//   dl, dw_row += dlᵀ x_tile.
// Each work item writes its own rows, so the result does not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/cross_entropy/linear_ce_problem.h"

namespace pg::ce {

// Rows per work item and columns per tile. 64 x 256: the logits tile is 64 KiB (L2-resident while
// dl is formed in place and multiplied back) and each sgemm has k = d or 256, enough for OpenBLAS'
// packed kernels; tests pass small tiles for ragged edges.
struct CpuTiles {
    int64_t rows = 64, cols = 256;
};

// Runs the pass on f32 buffers in the problem's order (output, then inputs), spread over the
// global thread pool.
void linear_ce_cpu(const LinearCeProblem& p, const std::vector<void*>& buffers, CpuTiles tiles = {});

}  // namespace pg::ce
