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
// The CUDA backend adds into shared elements with atomics in the default mode (the embedding
// gradient's scatter, sums over leading axes), in no fixed order; this mode gives each such element
// to one thread that adds in loop order (codegen/cuda/owner_adds.h).
// The setting lives in base because every layer reads it: codegen (the CUDA mapping), the runtime
// (BLAS blocks) and the trainer (schedules).
#pragma once

namespace pg {

bool deterministic_mode();

}  // namespace pg
