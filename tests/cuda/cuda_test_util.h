// Helpers of the CUDA tests: skipping without NVRTC or a GPU (with the reason printed) and the
// GPU op harness (the shared backend harness of tests/support/jit_check.h on the GPU).
#pragma once
#include <string>

#include "graph/graph.h"
#include "graph/interpreter.h"
#include "tests/support/skip.h"
#include "tests/support/training_configs.h"

namespace pg::testing {

// "" when NVRTC can be loaded, else why not (tests print it and return).
std::string nvrtc_missing();
// "" when a CUDA device can run kernels, else why not.
std::string gpu_missing();

struct CudaCheckResult {
    double max_error = 0;
    int fused_launches = 0, unfused_launches = 0;
};

// Runs g on the GPU fused and unfused, with and without the GEMM template, and CHECKs every
// output and state update against the interpreter within `tol` (normwise relative).
CudaCheckResult check_cuda(const Graph& g, const Feeds& feeds, double tol = 1e-5);

}  // namespace pg::testing

// Skip the current test case (visibly, see tests/support/skip.h) without NVRTC or a GPU.
#define PG_SKIP_UNLESS_NVRTC()                                                       \
    do {                                                                             \
        if (std::string why = ::pg::testing::nvrtc_missing(); !why.empty())          \
            PG_SKIP("no NVRTC: " << why);                                            \
    } while (0)
#define PG_SKIP_UNLESS_GPU()                                                         \
    do {                                                                             \
        if (std::string why = ::pg::testing::gpu_missing(); !why.empty())            \
            PG_SKIP("no GPU: " << why);                                              \
    } while (0)
