// The GPU autotuner's first half: per CUDA plan step a search space of configurations, and its
// pruning by compile results before anything is timed. Each candidate is rendered and compiled
// alone with NVRTC for the target arch (candidates whose mapping equals an earlier one's are the
// same kernel and compile once); it is pruned when NVRTC fails, when ptxas reports spills (local
// memory traffic on every access), more than kMaxRegisters registers per thread at its block
// size (fewer than two blocks of that size would fit an SM's 64K registers), or more shared
// memory (static plus the launch's dynamic bytes) than the arch's opt-in limit
// (ops/gemm/shared_memory.h: 227 KiB on sm_90, 163 KiB on sm_80). The survivors are timed on the
// GPU by cuda_autotune.h.
//
//   Gemm step   gemm::GemmConfig: the template's kind for the dtype (SIMT f32, MMA bf16/f16), tiles
//               64/128 x 64/128, tile_k (SIMT 8/16, MMA 32/64), warps 2x4/4x2/2x2 (MMA), stages
//               (SIMT 1/2, MMA 2/3/4: 4 x 128x128x32 = 64 KiB of dynamic shared memory), all with
//               the heuristic's split-K; then the heuristic's tiles with split_k 1/2/4/8/16
//   Loop step   cuda::MappingConfig: block threads 128/256/512, vector width 1/4, the warp/block
//               switch at 256/1024/4096 points
#pragma once
#include <string>
#include <vector>

#include "codegen/exec_plan.h"

namespace pg {

struct CudaCandidate {
    KernelConfig config;
    bool kept = false;
    std::string why;        // "kept", "spills 64 B", "registers 200 x 256 threads", "nvrtc: ..."
    int registers = 0, spill_bytes = 0, shared_bytes = 0;
};

// The search space of a Kernel or Gemm step of a CUDA plan, the heuristic's configuration first.
std::vector<KernelConfig> cuda_search_space(const PlanStep& st);

// Compiles every candidate of `space` for `arch` and keeps those that pass the limits above.
std::vector<CudaCandidate> prune_by_compile(const PlanStep& st, const std::vector<KernelConfig>& space,
                                            const std::string& arch);

}  // namespace pg
