// The activation dtype of the model for a backend, from PG_COMPUTE_DTYPE (declared with the
// training knobs, hyperparams.cpp): auto is bf16 on CUDA and f32 on the CPU.
#pragma once
#include <string>

#include "graph/dtype.h"

namespace pg {

// backend: "cuda" or "cpu" (runtime/executable.h selected_backend(), or the target pgolf compile
// plans for).
DType compute_dtype_for(const std::string& backend);

}  // namespace pg
