// CPU matmul benchmark: GFLOP/s of the OpenBLAS path and of the generated (kir) loop-nest path
// for a few shapes, median and spread over repeated runs, measured by the same code that gives
// `pgolf bench` its matmul peak (runtime/tuning/matmul_peak.h). The training step itself is
// measured by `pgolf bench`, against PyTorch by benchmarks/reference/compare.py.
// Usage: matmul_bench [repeats]
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

#include "base/thread_pool.h"
#include "runtime/tuning/matmul_peak.h"

using namespace pg;

int main(int argc, char** argv) {
    int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
    fmt::print("threads: {}\n", ThreadPool::global().num_threads());
    fmt::print("GFLOP/s per run: median (min-max) over the repeats after one warm-up run\n");
    fmt::print("{:>22} {:>24} {:>24}\n", "M x K x N", "openblas GF/s", "generated GF/s");
    struct Shape3 { int64_t m, k, n; };
    for (Shape3 s : {Shape3{32, 32, 32}, Shape3{64, 64, 64}, Shape3{128, 128, 128}, Shape3{512, 512, 512},
                     Shape3{1024, 1024, 1024}, Shape3{4096, 512, 1536}}) {
        int r = s.m * s.n * s.k > 100'000'000 ? std::max(1, repeats / 2) : repeats * 20;
        MatmulRate blas = cpu_matmul_rate(s.m, s.n, s.k, true, r);
        MatmulRate gen = cpu_matmul_rate(s.m, s.n, s.k, false, std::max(1, r / 4));
        auto cell = [](const MatmulRate& x) {
            return fmt::format("{:.1f} ({:.1f}-{:.1f})", x.median / 1e9, x.worst / 1e9, x.best / 1e9);
        };
        fmt::print("{:>22} {:>24} {:>24}\n", fmt::format("{} x {} x {}", s.m, s.k, s.n), cell(blas), cell(gen));
    }
    return 0;
}
