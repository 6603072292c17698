// CPU matmul benchmark: GFLOP/s of the OpenBLAS path and of the generated (kir) loop-nest path
// for the shapes named by the core issue. Usage: matmul_bench [repeats]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>

#include "graph/build.h"
#include "runtime/cpu_executable.h"
#include "base/thread_pool.h"

using namespace pg;

namespace {

double gflops(int64_t m, int64_t n, int64_t k, bool blas, int repeats) {
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
    auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) exe.run();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / repeats;
    return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / s / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
    fmt::print("threads: {}\n", ThreadPool::global().num_threads());
    fmt::print("{:>22} {:>14} {:>14}\n", "M x K x N", "openblas GF/s", "generated GF/s");
    struct Shape3 { int64_t m, k, n; };
    for (Shape3 s : {Shape3{32, 32, 32}, Shape3{64, 64, 64}, Shape3{128, 128, 128}, Shape3{512, 512, 512},
                     Shape3{4096, 512, 1536}}) {
        int r = s.m * s.n * s.k > 100'000'000 ? std::max(1, repeats / 2) : repeats * 20;
        fmt::print("{:>22} {:>14.1f} {:>14.1f}\n", fmt::format("{} x {} x {}", s.m, s.k, s.n),
                   gflops(s.m, s.n, s.k, true, r), gflops(s.m, s.n, s.k, false, std::max(1, r / 4)));
    }
    return 0;
}
