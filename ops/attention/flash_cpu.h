// Flash attention on the CPU: the three passes of an attention template instance
// (attention_problem.h) computed block by block in f32, never holding a [T, T] tensor.
//   Forward: per (batch, head, block of query rows), key blocks up to the diagonal with an
//   online softmax (running max m and sum l per row, the output accumulator rescaled by
//   exp(m_old - m_new)); writes out = acc / l and lse = m + log l.
//   GradQ: per (batch, head, block of query rows), P = exp(S - lse) and dS = P * (dP - delta)
//   recomputed per key block; dq += scale dS k.
//   GradKV: per (batch, kv head, block of keys), every query row at or below the block's first
//   key of the G query heads sharing it (GQA without repeating K/V); dv += P^T dout,
//   dk += scale dS^T q.
// With document masking (AttentionProblem::doc_mask) a row sees only the keys from its doc_start
// on: the forward and dq passes start at the key block holding their rows' smallest doc_start, and
// the dk/dv pass skips the query rows whose document starts after its key block.
// Each work item writes its own rows, so the result does not depend on the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "ops/attention/attention_problem.h"

namespace pg::attn {

// Rows per query block and keys per key block. 64 x 64 keeps a block's K and V (2 x 64 x D f32,
// 32 KiB at D = 64) and the accumulators in L1/L2; tests pass small blocks to get ragged edges.
struct CpuBlocks {
    int64_t rows = 64, keys = 64;
};

// Runs the pass on f32 buffers given in slot order (slot_buffers: nullptr for unused outputs),
// spread over the global thread pool.
void flash_cpu(const AttentionProblem& p, const std::vector<void*>& slots, CpuBlocks blocks = {});

}  // namespace pg::attn
