// PG_COMPUTE_DTYPE's resolution (see compute_dtype.h).
#include "frontend/train/compute_dtype.h"

#include "base/env.h"

namespace pg {

// auto: bf16 on CUDA, the baseline's autocast (tensor-core GEMMs and the flash-attention template;
// master weights, softmax statistics and the loss stay f32); f32 on the CPU, where OpenBLAS and
// the CPU flash attention compute in f32 and bf16 activations would only add roundings.
DType compute_dtype_for(const std::string& backend) {
    std::string setting = env::get("PG_COMPUTE_DTYPE");
    if (setting != "auto") return parse_dtype(setting);
    return backend == "cuda" ? DType::bf16 : DType::f32;
}

}  // namespace pg
