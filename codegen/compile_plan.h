// The compile driver: the one path from a graph to an execution plan, for every target and every
// caller (the CPU and CUDA executables, `pgolf compile`, the tests and benchmarks).
//
//   graph -> passes (verify, decompose, simplify, split reductions[, widen matmuls], verify)
//         -> schedule (fusion by generic rules; matmuls above the target's threshold as Gemm)
//         -> steps: Loop / ScatterAdd kernels lowered to kir (and rendered as CUDA C++ on a CUDA
//            target), Gemm steps as GemmProblem descriptors over strided operand views (and
//            GEMM template instances on a CUDA target), state-update copies at the end
//         -> liveness of every intermediate over step positions -> memory plan (arena offsets)
//
// With PG_DEBUG=1 it prints the plan's summary and per-phase timings; with PG_DUMP_DIR set it
// writes every kernel's kir (<name>.kir).
#pragma once
#include "codegen/exec_plan.h"

namespace pg {

ExecPlan compile_plan(const Graph& g, const Target& target);

// The CUDA source of a Kernel or Gemm step rendered with `config` (a cuda::MappingConfig or a
// gemm::GemmConfig) instead of its own: the autotuner's candidates.
CudaKernelSource render_cuda_step(const PlanStep& st, const KernelConfig& config);

}  // namespace pg
