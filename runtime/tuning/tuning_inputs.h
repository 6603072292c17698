// The inputs every autotuner (CPU and GPU) runs candidates on: deterministic values in [-0.5, 0.5)
// for float leaves, small indices (i % 7) for integer leaves, 1 for runtime scalars. Finite
// inputs keep every kernel on its normal path (no NaN or denormal slow paths skew a timing).
#pragma once
#include "runtime/executable.h"

namespace pg {

// Sets every leaf of exe's plan (each leaf its own seed, in plan order).
void fill_tuning_inputs(Executable& exe);

}  // namespace pg
