// Loop blocking of CPU kernels: a kir-to-kir rewrite of a kernel whose parallel row loop ends in
// an inner loop,
//
//   for parallel p in 0..P { pre(p); for q in 0..Q { body(p, q) } }
//
// into blocks of R rows whose inner loops run tile by tile (T iterations) across the block:
//
//   for parallel pb in 0..P/R {
//     for pr in 0..R { pre(pb*R + pr) }
//     for qb in 0..Q/T { for pr in 0..R { for qr in 0..T { body(pb*R + pr, qb*T + qr) } } }
//   }
//
// so that data the inner loop reads for every row (the B rows of a generated matmul, a shared
// operand) is reused from cache by R rows before the next tile evicts it. Rows of a parallel loop
// are independent (the thread pool runs them concurrently), and within a row the statements keep
// their order, so a blocked kernel computes bit for bit what the unblocked one does. The parallel
// extent becomes P/R: the runtime splits row blocks across threads.
//
// The blocking is CpuLoopConfig::rows / inner (codegen/kernel_config.h); it changes the kir, hence
// the kernel key (codegen/kernel_key.h), but not the workload (the unblocked kir's digest).
#pragma once
#include <optional>
#include <vector>

#include "codegen/kernel_config.h"
#include "codegen/kir.h"

namespace pg {

// The nest a blocking applies to: P, Q, and the largest footprint of data the inner loop reads
// for every row again (a load whose index no row-dependent variable enters: the product of the
// extents of the loops it walks x its element size; 0 when there is none). Only such data can be
// kept in cache by blocking.
struct BlockableNest {
    int64_t rows = 0, inner = 0;
    int64_t reuse_bytes = 0;
};

// k's nest when it has the shape above and the rewrite is legal (the inner loop uses no variable
// that pre() defines: no Let and no accumulator); nullopt otherwise.
std::optional<BlockableNest> blockable_nest(const kir::Kernel& k);

// k as the configuration's blocking runs it: unchanged for the heuristic (rows 0 or 1, inner 0
// or Q: no blocking, see kernel_config.h). Throws pg::Error when the kernel cannot be blocked or a
// block does not divide its loop (a hand-edited tuning database).
kir::Kernel blocked_kernel(const kir::Kernel& k, const CpuLoopConfig& c);

// The blockings the autotuner tries for k besides the heuristic: rows {4, 16} x inner {32, 128},
// each dividing its loop, the inner tile shorter than Q, at least `min_blocks` row blocks left for
// the thread pool. Empty when the data reused across rows fits the 32 KiB L1 anyway.
std::vector<CpuLoopConfig> blocking_candidates(const kir::Kernel& k, int min_blocks);

}  // namespace pg
