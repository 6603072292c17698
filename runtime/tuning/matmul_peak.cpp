// Matmul rates on the CPU backend (see matmul_peak.h).
#include "runtime/tuning/matmul_peak.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "graph/build.h"
#include "runtime/cpu_executable.h"

namespace pg {

MatmulRate cpu_matmul_rate(int64_t m, int64_t n, int64_t k, bool library, int reps) {
    Graph g;
    g.set_output("c", build::matmul(g, build::param(g, "a", {m, k}), build::param(g, "b", {k, n})));
    Target t = cpu_target();
    t.gemm_min_flops = library ? 1 : 0;
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, g, t);
    HostTensor ta(DType::f32, {m, k}), tb(DType::f32, {k, n});
    for (int64_t i = 0; i < ta.numel(); ++i) ta.set(i, (i % 7) * 0.1);
    for (int64_t i = 0; i < tb.numel(); ++i) tb.set(i, (i % 5) * 0.1);
    exe.set("a", ta);
    exe.set("b", tb);
    exe.run();  // warm-up: first touch, thread start
    std::vector<double> rates;
    for (int r = 0; r < std::max(reps, 1); ++r) {
        auto t0 = std::chrono::steady_clock::now();
        exe.run();
        double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        rates.push_back(2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / s);
    }
    std::sort(rates.begin(), rates.end());
    return {rates[rates.size() / 2], rates.back(), rates.front()};
}

double cpu_matmul_peak() { return cpu_matmul_rate(1024, 1024, 1024).best; }

}  // namespace pg
