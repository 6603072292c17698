// The GPU-specific planning step between the schedule and the CUDA runtime: the schedule's
// options for the GPU (matmuls above PG_CUDA_GEMM_MIN_FLOPS, of any float dtype, become GEMM
// template instances instead of generated loops), and one CudaKernelSource per scheduled kernel:
// Loop and ScatterAdd kernels are lowered to kir and rendered by the CUDA renderer, Blas kernels
// become GEMM instances reading their operands in place through strided views.
#pragma once
#include <optional>
#include <vector>

#include "codegen/cuda/cuda_kernel.h"
#include "codegen/kir.h"
#include "codegen/schedule.h"
#include "graph/graph.h"

namespace pg {

// PG_FUSION and PG_CUDA_GEMM_MIN_FLOPS, with low-precision matmuls on the GEMM path, without
// the CPU's row accumulation and with nested reductions in kernels of their own.
ScheduleOptions cuda_schedule_options();

struct CudaPlannedKernel {
    size_t schedule_index = 0;
    KernelKind kind = KernelKind::Loop;
    // Launch argument i is the buffer of node buffer_nodes[i] (a GEMM: product, A's base, B's base).
    std::vector<NodeId> buffer_nodes;
    CudaKernelSource source;
    std::optional<kir::Kernel> kir;  // Loop / ScatterAdd kernels
};

// `g` is the primitive graph the schedule was made for; kernels are named like the CPU plan's
// ("k012_mul").
std::vector<CudaPlannedKernel> plan_cuda_kernels(const Graph& g, const Schedule& s);

}  // namespace pg
