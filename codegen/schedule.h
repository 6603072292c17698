// Schedule: decides which nodes of a primitive-only graph are materialised in buffers and which
// are inlined (recomputed) into the kernels that use them, and orders the resulting kernels.
//
// Fusion is by generic legality rules, never by hand-listed op sequences. Each non-leaf node is
// either materialised (a kernel root) or inlined into every user. The rules, applied from the
// last node backwards so that every user is decided first:
//   - graph outputs and state-update values are materialised, but for a constant zero update
//     (e.g. resetting gradient accumulators), which the plan performs as a fill of the state;
//   - anchors (matmul, scatter-add, the attention and linear cross-entropy templates the passes
//     kept) are materialised: they are kernels of their own kind; a template's operands are
//     materialised (it reads contiguous buffers);
//   - constants and iotas are always inlined (free);
//   - a node's "evaluations" = how many times each of its elements would be computed if inlined:
//     summed over its users, (1 if the user is materialised, else the user's evaluations) times
//     the user's reuse of it (a broadcast reads each element out/in times, a matmul operand N or
//     M times, a reduction or elementwise user once);
//   - a reduction is inlined only when evaluated exactly once (its single user is its epilogue),
//     and, with row_accumulation (the CPU), an f32 sum over outer axes only (is_outer_reduction)
//     is always materialised: its kernel accumulates whole contiguous rows, which vectorizes,
//     where an inlined form would read the input with a stride per output element; with
//     separate_nested_reductions (the GPU), a reduction that would run inside another
//     reduction's loop is materialised;
//   - movement ops, casts and gathers are re-indexings: inlined whatever the evaluations;
//   - cheap arithmetic is inlined up to max_recompute evaluations (PG_FUSION_MAX_RECOMPUTE,
//     default 4), anything else only once.
// PG_FUSION=0 materialises every op (one kernel per op): the unfused baseline.
//
// Matmuls of f32 operands with M*N*K >= PG_BLAS_MIN_FLOPS run on OpenBLAS (or as the tuning
// database decided for their workload, codegen/kernel_config.h): their operands must be
// strided views of materialised buffers (codegen/view.h), which forces those bases to be
// materialised; elementwise consumers of the product fuse into the next generated kernel.
#pragma once
#include <algorithm>
#include <string>
#include <vector>

#include "codegen/kernel_config.h"
#include "codegen/view.h"
#include "graph/graph.h"

namespace pg {

struct FusionDecision {
    bool ok = false;       // true: inlined into its users
    std::string reason;
};

// Loop: generated loop nest. Gemm: a matmul run by a library or template kernel (OpenBLAS on the
// CPU, the GEMM template on the GPU) reading its operands in place. ScatterAdd: generated, serial
// over repeated indices. Attention: a flash-attention pass (ops/attention/attention_problem.h)
// writing the template nodes of `outputs`. LinearCe: a pass of the tied head's linear
// cross-entropy (ops/cross_entropy/linear_ce_problem.h) writing its root.
enum class KernelKind : uint8_t { Loop, Gemm, ScatterAdd, Attention, LinearCe };

struct ScheduledKernel {
    KernelKind kind = KernelKind::Loop;
    NodeId root = kNoNode;
    // Attention: the node of each output slot of the pass (kNoNode where the graph has none); the
    // sibling nodes of one pass (Attention and AttentionLse of the same q, k, v; dk and dv) share
    // one kernel, placed where the first of them was.
    std::vector<NodeId> outputs;
    // Gemm (ScheduleOptions::gemm_epilogues): the roots of the elementwise kernels fused into its
    // epilogue, in order (codegen/epilogue_fusion.h), and the nodes it computes without storing
    // them, the product or epilogue members that nothing else reads.
    std::vector<NodeId> epilogue;
    std::vector<NodeId> unstored;
    bool stores(NodeId id) const { return std::find(unstored.begin(), unstored.end(), id) == unstored.end(); }
};

struct ScheduleOptions {
    bool fusion = true;
    int64_t gemm_min_flops = 0;  // M*N*K threshold for OpenBLAS; <= 0 disables BLAS
    // Also bf16/f16 matmuls become Blas kernels (the GPU's GEMM template takes them; OpenBLAS,
    // f32 only, does not).
    bool gemm_low_precision = false;
    // Outer sums and generated f32 matmuls accumulate whole rows into their output (CPU: the
    // contiguous inner loops vectorize). The GPU turns it off: there each output element is
    // reduced by its own thread, warp or block, not by one thread walking whole rows.
    bool row_accumulation = true;
    // Never inline a reduction into another reduction's loop (GPU: nested, it runs serially in
    // every thread of the outer reduction; in its own kernel it spreads over a warp per row).
    bool separate_nested_reductions = false;
    // Cheap arithmetic is inlined while evaluated at most this many times per element: up to 4
    // evaluations cost less than a store and a reload.
    double max_recompute = 4;
    // Fuse the elementwise kernels that read a GEMM's product at their own element into the
    // GEMM's epilogue (GPU: the template finishes each element in registers;
    // codegen/epilogue_fusion.h). The CPU's OpenBLAS has no epilogue.
    bool gemm_epilogues = false;
    // Tuned library-or-generated decisions per matmul workload; null or absent: gemm_min_flops.
    std::shared_ptr<const TunedDecisions> tuned;
};

struct Schedule {
    std::vector<bool> materialized;         // per node (leaves are external buffers: true)
    std::vector<bool> gemm_view;            // per node: read only as a BLAS operand view
    std::vector<FusionDecision> decisions;  // per node
    std::vector<ScheduledKernel> kernels;   // in execution order
    ScheduleOptions options;                // what it was made with (lowering reads row_accumulation)
};

// `g` must be primitive-only (after decompose) but for attention and linear cross-entropy template ops.
Schedule schedule(const Graph& g, const ScheduleOptions& opts);

// A Sum in f32 whose reduced axes all precede the innermost non-unit kept axis (e.g. [B,T,d] ->
// [1,1,d]): lowered as row accumulation into the output (codegen/lower.cpp).
bool is_outer_reduction(const Graph& g, NodeId id);

// Whether a state update to `value` is a zero fill (value is the constant 0).
bool is_zero_fill(const Graph& g, NodeId value);

// How a BLAS matmul reads `operand`: its own buffer if materialised, else a view of its base.
StridedView gemm_operand(const Graph& g, const Schedule& s, NodeId operand);

// "N kernels (L loop, G gemm, S scatter[, A attention][, C linear ce]); M nodes inlined[, E fused into GEMM
// epilogues]" and, with verbose, every refusal.
std::string describe(const Graph& g, const Schedule& s, bool verbose);

}  // namespace pg
