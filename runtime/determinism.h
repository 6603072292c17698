// PG_DETERMINISTIC=1: the same seed and settings give bit-identical losses and weights run to run
// on the same backend, whatever the thread count.
//
// What the CPU backend already guarantees without it: no atomics anywhere (generated kernels give
// every output element to one iteration of the parallel loop, so its reduction order is fixed by
// the kernel; scatter-adds are serial; OpenBLAS runs single-threaded under our pool). What the
// default does not fix, and this mode does:
//   - OpenBLAS row blocks follow the thread count (runtime/blas.cpp); here they are a fixed
//     size, so a product does not depend on PG_THREADS;
//   - the warmdown follows measured wallclock when MAX_WALLCLOCK_SECONDS > 0 (the baseline's
//     schedule), so learning rates depend on timing; here it follows ITERATIONS alone (the cap
//     still stops the run, so the step count may differ, but every step taken is identical).
// The CUDA backend scatters with atomic adds (the embedding gradient) and is refused in this mode.
#pragma once

namespace pg {

bool deterministic_mode();

}  // namespace pg
