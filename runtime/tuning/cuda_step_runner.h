// The GPU side of the CUDA autotuner (cuda_autotune.h): a CudaExecutable of the plan on the
// session's GPU, its leaves filled with the tuning inputs, candidates run through the executable's
// tuning hooks (each candidate's source compiled with NVRTC and loaded on first use), timed with
// CUDA events around the launch, the L2 cache flushed before each timed run by zero-filling a
// scratch buffer of kFlushBytes.
//
// Needs a GPU: this session's machine had none, so this file is compiled and linked but was not
// run (see the issue-14 note).
#pragma once
#include <memory>

#include "runtime/tuning/cuda_autotune.h"

namespace pg {

// 256 MiB: more than twice the largest L2 of current GPUs (H100 50 MiB, B200 126 MiB), so a fill
// evicts every line a candidate's inputs left there.
inline constexpr size_t kFlushBytes = size_t{256} << 20;

// Throws pg::Error when no CUDA device is usable.
std::unique_ptr<CudaCandidateRunner> cuda_step_runner(const Graph& g, const Target& target);

}  // namespace pg
