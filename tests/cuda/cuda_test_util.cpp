// CUDA test helpers (see cuda_test_util.h).
#include "tests/cuda/cuda_test_util.h"

#include <doctest/doctest.h>

#include "runtime/cuda/cuda_libs.h"
#include "tests/support/jit_check.h"

namespace pg::testing {

std::string nvrtc_missing() {
    LibraryStatus s = nvrtc_status();
    return s.ok ? "" : s.detail;
}

std::string gpu_missing() { return cuda_unavailable_reason(); }

CudaCheckResult check_cuda(const Graph& g, const Feeds& feeds, double tol) {
    JitCheckResult r = check_backend("cuda", g, feeds, tol);
    return {r.max_error, r.fused_launches, r.unfused_launches};
}

}  // namespace pg::testing
