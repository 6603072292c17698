// CPU matmul benchmark: GFLOP/s of the OpenBLAS path and of the generated (kir) loop-nest path
// for the shapes named by the core issue, median and spread over repeated runs.
// Usage: matmul_bench [repeats]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <vector>
#include <cstdlib>

#include "base/thread_pool.h"
#include "graph/build.h"
#include "runtime/cpu_executable.h"

using namespace pg;

namespace {

struct Rate {
    double median = 0, low = 0, high = 0;  // GFLOP/s over the repeats
};

Rate gflops(int64_t m, int64_t n, int64_t k, bool blas, int repeats) {
    Graph g;
    NodeId a = build::param(g, "a", {m, k});
    NodeId b = build::param(g, "b", {k, n});
    g.set_output("c", build::matmul(g, a, b));
    Target t = cpu_target();
    t.gemm_min_flops = blas ? 1 : 0;
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, g, t);
    HostTensor ta(DType::f32, {m, k}), tb(DType::f32, {k, n});
    for (int64_t i = 0; i < ta.numel(); ++i) ta.set(i, (i % 7) * 0.1);
    for (int64_t i = 0; i < tb.numel(); ++i) tb.set(i, (i % 5) * 0.1);
    exe.set("a", ta);
    exe.set("b", tb);
    exe.run();  // warm-up
    std::vector<double> rates;
    for (int r = 0; r < std::max(repeats, 3); ++r) {
        auto t0 = std::chrono::steady_clock::now();
        exe.run();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rates.push_back(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / s / 1e9);
    }
    std::sort(rates.begin(), rates.end());
    return {rates[rates.size() / 2], rates.front(), rates.back()};
}

}  // namespace

int main(int argc, char** argv) {
    int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
    fmt::print("threads: {}\n", ThreadPool::global().num_threads());
    fmt::print("GFLOP/s per run: median (min-max) over the repeats after one warm-up run\n");
    fmt::print("{:>22} {:>24} {:>24}\n", "M x K x N", "openblas GF/s", "generated GF/s");
    struct Shape3 { int64_t m, k, n; };
    for (Shape3 s : {Shape3{32, 32, 32}, Shape3{64, 64, 64}, Shape3{128, 128, 128}, Shape3{512, 512, 512},
                     Shape3{4096, 512, 1536}}) {
        int r = s.m * s.n * s.k > 100'000'000 ? std::max(1, repeats / 2) : repeats * 20;
        Rate blas = gflops(s.m, s.n, s.k, true, r), gen = gflops(s.m, s.n, s.k, false, std::max(1, r / 4));
        auto cell = [](const Rate& x) { return fmt::format("{:.1f} ({:.1f}-{:.1f})", x.median, x.low, x.high); };
        fmt::print("{:>22} {:>24} {:>24}\n", fmt::format("{} x {} x {}", s.m, s.k, s.n), cell(blas), cell(gen));
    }
    return 0;
}
