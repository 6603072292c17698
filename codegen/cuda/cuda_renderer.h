// CudaRenderer: turns one kir::Kernel into CUDA C++ for NVRTC, with the grid/block mapping of
// cuda_mapping.h. Value semantics equal the LLVM renderer's and the reference interpreter's:
// floats compute in f32 and bf16/f16 results are rounded after every op (no fma contraction:
// compile with fmad off), integers are 64-bit and wrap to their dtype, float -> int conversion
// truncates and saturates, integer division by zero gives 0. StoreAdd becomes an atomic add (the
// order of additions into one element is then unspecified, as with any parallel scatter).
//
// Entry points are named "<hint>_<digest>_p<phase>" where the digest covers the kernel's
// canonical kir without its name, so kernels that differ only in their plan position render to
// identical sources and compile once.
#pragma once
#include "codegen/cuda/cuda_kernel.h"
#include "codegen/cuda/cuda_mapping.h"
#include "codegen/kir.h"

namespace pg {

// `k` must pass kir::verify. Throws InternalError on a kernel the renderer cannot express.
// `config` holds the mapping constants (cuda_mapping.h); a non-default one changes the entry names.
CudaKernelSource render_cuda(const kir::Kernel& k, const cuda::MappingConfig& config = {});

// The digest of k's canonical kir text with the kernel name blanked out (12 hex digits).
std::string kir_content_digest(const kir::Kernel& k);

}  // namespace pg
