// CudaKernelSource: what the CUDA code generators (the kir renderer and the GEMM template) hand
// to the NVRTC compiler and the executor: CUDA C++ definitions that compile after the prelude
// (codegen/cuda/cuda_prelude.h) and next to other kernels' definitions (every name they define
// carries a digest of the kernel's content), and the launches that run them. Every launch of a
// kernel takes the same arguments: one device pointer per buffer, in the kernel's buffer order.
// Everything compiles with fma contraction off: generated kernels round every op like the
// reference; the GEMM asks for its fused multiply-adds explicitly (fmaf), as any BLAS would.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace pg {

struct CudaLaunch {
    std::string entry;                      // extern "C" __global__ function in the module
    std::array<int64_t, 3> grid = {1, 1, 1};
    int block = 256;                        // threads per block (1-D)
    int smem = 0;                           // dynamic shared memory per block, bytes (the runtime
                                            // opts the kernel in above 48 KiB)
};

struct CudaKernelSource {
    std::string name;      // the plan's name ("k012_mul"): dumps and reports
    std::string source;    // definitions only; the compiler prepends the prelude
    std::vector<CudaLaunch> launches;  // run in this order
    std::string mapping;   // how it maps onto the GPU, one line (reports, dumps)
    // Scratch device memory the launches share (the split-K GEMM's f32 partials), passed as one
    // more argument after the buffers; 0: none. Its contents do not outlive the step.
    int64_t workspace_bytes = 0;
};

}  // namespace pg
