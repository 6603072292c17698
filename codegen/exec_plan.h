// ExecPlan: what the compile driver (compile_plan) makes of a graph for one target, and all that
// a backend executable needs to run it: the primitive graph after the passes, its schedule, the
// leaves (persistent params bound from the session by name; inputs and scalars private to the
// executable), the steps in execution order and the arena offset of every intermediate buffer.
// Executables only compile the steps' kernels (ORC for kir, NVRTC for CUDA sources), allocate
// and replay; they make no codegen decision.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/cuda_kernel.h"
#include "codegen/kernel_config.h"
#include "codegen/kir.h"
#include "codegen/schedule.h"
#include "codegen/target.h"
#include "graph/graph.h"
#include "ops/attention/attention_problem.h"
#include "ops/cross_entropy/linear_ce_problem.h"
#include "ops/gemm/gemm_problem.h"

namespace pg {

// Param: persistent, shared by every graph of a session under its name (weights, optimizer
// state, gradient accumulators). Input and Scalar: per executable (batches, learning rates).
enum class LeafRole : uint8_t { Param, Input, Scalar };

struct PlanLeaf {
    NodeId node = kNoNode;
    std::string name;
    LeafRole role = LeafRole::Input;
    DType dtype = DType::f32;
    Shape shape;
    int64_t bytes() const;
};

struct PlanStep {
    // Kernel: a generated kernel (kir; on a CUDA target also its rendered source).
    // Gemm: a matmul for the library (CPU: OpenBLAS) or the GEMM template (CUDA: rendered source).
    // Copy: a state update, value -> param, after every kernel. Zero: a state update to the
    // constant 0 (no kernel, no buffer: the backend clears the param's memory).
    // Collective: one bucket of state updates with a collective (graph.h): their value buffers
    // are averaged across the ranks (AllReduceAvg) or overwritten with rank `roots[i]`'s
    // (Broadcast), in place; or reduce-scattered / all-gathered (ReduceScatterAvg, AllGather)
    // from the value straight into the state `results[i]`, which then has no Copy step. The
    // backend issues it right after step `issue_after`
    // (-1: before the first step), when its last value is final and read by no later kernel, so
    // that it overlaps the kernels that follow, and completes it at its own position: after the
    // kernels, before the copies that store the values.
    // Attention: a flash-attention pass (CPU: ops/attention/flash_cpu.h); buffers as
    // attn::AttentionProblem orders them (the outputs the graph uses, then the inputs).
    // LinearCe: a pass of the tied head's linear cross-entropy (CPU: ops/cross_entropy/
    // linear_ce_cpu.h); buffers as ce::LinearCeProblem orders them (the output, then the inputs).
    enum class Kind : uint8_t { Kernel, Gemm, Copy, Zero, Collective, Attention, LinearCe };
    Kind kind = Kind::Kernel;
    KernelKind kernel_kind = KernelKind::Loop;  // of the scheduled kernel (Kernel and Gemm)
    std::string name;                           // "k012_mul": dumps, profiles, reports
    // Argument i is the buffer of node buffers[i]. Gemm: {C, A's base, B's base}, then its
    // epilogue's buffers 1.. (C left out when the product is not stored); Copy: {dst, src};
    // Zero: {dst}.
    std::vector<NodeId> buffers;
    std::optional<kir::Kernel> kir;          // Kernel
    // Gemm with fused elementwise consumers (CUDA): the epilogue as kir (codegen/lower.h,
    // lower_gemm_epilogue; its buffer 0 is the product) and whether C is stored at all.
    std::optional<kir::Kernel> epilogue;
    bool stores_product = true;
    std::optional<gemm::GemmProblem> gemm;   // Gemm: shapes, transposes, strided batch views
    std::optional<attn::AttentionProblem> attention;  // Attention
    std::optional<ce::LinearCeProblem> linear_ce;     // LinearCe
    std::optional<CudaKernelSource> cuda;    // CUDA target: Kernel, Gemm and template steps
    int64_t workspace_offset = -1;           // the arena offset of cuda->workspace_bytes (if any)
    int64_t copy_bytes = 0;                  // Copy and Zero; Collective: the bucket's bytes
    int issue_after = -1;                    // Collective
    UpdateCollective collective = UpdateCollective::None;  // Collective
    std::vector<int> roots;                  // Collective, Broadcast: per buffer
    std::vector<NodeId> results;             // Collective, ReduceScatterAvg / AllGather: per buffer
    // Kernel and Gemm: the workload key (codegen/workload.h), the configuration it runs with
    // (codegen/kernel_config.h) and whether that came from the tuning database.
    std::string workload;
    KernelConfig config;
    bool tuned = false;
};

struct PlanTimings {
    double passes = 0, schedule = 0, lower = 0, memory = 0;  // seconds
    double total() const { return passes + schedule + lower + memory; }
};

struct ExecPlan {
    Target target;
    Graph graph;  // after the passes: primitive ops only
    Schedule schedule;
    std::vector<PlanLeaf> leaves;
    std::vector<PlanStep> steps;
    std::vector<int64_t> arena_offset;  // per node: byte offset in the arena, or -1 (leaf / inlined)
    int64_t arena_bytes = 0;
    int64_t naive_bytes = 0;            // sum of all intermediates: what the memory plan saves against
    PlanTimings timings;

    int count(PlanStep::Kind kind) const;
    // Collective steps issued after step `index` (-1: before the first), in plan order.
    std::vector<size_t> collectives_after(int index) const;
    int count(KernelKind kind) const;   // Kernel and Gemm steps of that scheduled kind
    const PlanLeaf* find_leaf(const std::string& name) const;
    // The rendered sources of the Kernel and Gemm steps, in step order (CUDA target).
    std::vector<CudaKernelSource> cuda_sources() const;
    // The node an output name refers to, or kNoNode.
    NodeId output_node(const std::string& name) const;
    // "cpu gemm>=32768: K kernels (L loop, G gemm, S scatter); N nodes inlined, C copies, Z fills;
    // arena X MiB (unshared Y MiB)" plus, with timings, the per-phase seconds.
    std::string summary(bool timings) const;
};

}  // namespace pg
