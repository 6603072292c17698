// The measured matmul peak of the CPU backend: the best rate of an f32 n x n x n matmul through the
// runtime's own OpenBLAS path (rows split across the thread pool, OpenBLAS single-threaded), the
// ceiling against which `pgolf bench` reports the training step's MFU on a CPU (a CPU has no
// spec-sheet peak that its vector units reach in practice). benchmarks/matmul_bench prints it.
#pragma once
#include <cstdint>

namespace pg {

struct MatmulRate {
    double median = 0, best = 0, worst = 0;  // FLOP/s over the repetitions
};

// `reps` timed runs after one warm-up; 2 * n^3 FLOPs each. `library` false times the generated
// loop kernel instead (for comparison).
MatmulRate cpu_matmul_rate(int64_t m, int64_t n, int64_t k, bool library = true, int reps = 5);

// cpu_matmul_rate(1024, 1024, 1024).best: large enough for OpenBLAS to reach full speed, small
// enough to measure in a fraction of a second.
double cpu_matmul_peak();

}  // namespace pg
