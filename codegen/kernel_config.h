// Tunable kernel configurations: every choice that a kernel's code generation or launch makes
// without changing what it computes, as one value per plan step, and the table of tuned decisions
// that the compile driver consults before falling back to the documented heuristics.
//
//   step kind      CPU                                  CUDA
//   Loop/Scatter   CpuLoopConfig: thread split,         cuda::MappingConfig: reduction split,
//                  loop blocking (rows x inner tile)
//                                                       block threads, vector width
//   Gemm           CpuGemmConfig: sgemm row blocks      gemm::GemmConfig: tiles, warps, stages
//   matmul         on the library (OpenBLAS / the GEMM template) or a generated loop kernel: a
//                  schedule decision, by default M*N*K >= PG_BLAS_MIN_FLOPS / PG_CUDA_GEMM_MIN_FLOPS
//
// A configuration that changes generated code enters the kernel's source or kir and so its
// kernel key (runtime/kernel_cache.h): so does the CPU loop blocking (it rewrites the kir,
// codegen/llvm/loop_blocking.h). The CPU's thread split and row blocks change only how the
// runtime launches a binary, so they are part of the plan step (reports, profiles) but not of the
// binary's key. Decisions are keyed by workload (codegen/workload.h), never by plan position.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <variant>

#include "codegen/cuda/cuda_mapping.h"
#include "ops/gemm/gemm_problem.h"

namespace pg {

// How many of the pool's threads a Loop or ScatterAdd kernel's parallel loop spreads over.
// 0 (the heuristic): all of them. Fewer threads pay off for small kernels, whose work is shorter
// than the ~5-20 us it takes to hand chunks to the workers and wait for the last.
//
// rows / inner: the loop blocking of codegen/llvm/loop_blocking.h, rows of the parallel loop per
// block and iterations of its inner loop per tile. 0 (the heuristic): no blocking. The generated
// loops the plan keeps are small (matmuls below PG_BLAS_MIN_FLOPS = 2^21 multiply-adds go to
// loops, so their reused B operand is at most a few hundred KiB and stays in the 512 KiB L2 of a
// Zen 3 core without blocking); blocking then only shortens the vectorized inner loop, so it is
// left to the autotuner to find the kernels where it pays.
struct CpuLoopConfig {
    int threads = 0;
    int rows = 0;
    int inner = 0;
    bool operator==(const CpuLoopConfig&) const = default;
};

// Row blocks per batch of an OpenBLAS GEMM step. 0 (the heuristic of runtime/blas.cpp): one per
// batch when there are at least as many batches as threads, else enough blocks of >= 16 rows to
// give every thread work.
struct CpuGemmConfig {
    int row_blocks = 0;
    bool operator==(const CpuGemmConfig&) const = default;
};

using KernelConfig = std::variant<std::monostate, CpuLoopConfig, CpuGemmConfig, cuda::MappingConfig, gemm::GemmConfig>;

// "threads=1", "row_blocks=2", "split32 warp4096 wpts1024 b256 v4", "mma 128x128x32 w2x4 s2";
// "heuristic" for a zero CPU config; "" for none.
std::string config_string(const KernelConfig& c);

// The tuned decisions of one device, as the tuning database (runtime/tuning/) hands them over.
struct TunedDecisions {
    std::map<std::string, KernelConfig> kernels;    // by loop_workload / gemm_workload
    std::map<std::string, bool> matmul_on_library;  // by matmul_workload
    bool empty() const { return kernels.empty() && matmul_on_library.empty(); }
};

// The tuned configuration of `workload` when `tuned` holds one of type T, else `fallback`.
template <class T>
T tuned_config(const std::shared_ptr<const TunedDecisions>& tuned, const std::string& workload, T fallback) {
    if (!tuned) return fallback;
    auto it = tuned->kernels.find(workload);
    if (it == tuned->kernels.end() || !std::holds_alternative<T>(it->second)) return fallback;
    return std::get<T>(it->second);
}

}  // namespace pg
