// Test support implementation (see jit_check.h).
#include "tests/support/jit_check.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "runtime/cpu_executable.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"

namespace pg::testing {

Feeds random_feeds(const Graph& g, uint64_t seed, int64_t int_high) {
    std::mt19937_64 rng(seed);
    Feeds feeds;
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        if (n.op != Op::Param && n.op != Op::Input && n.op != Op::Scalar) continue;
        HostTensor t(n.dtype, n.shape);
        for (int64_t k = 0; k < t.numel(); ++k) {
            if (n.op == Op::Scalar)
                t.set(k, std::uniform_real_distribution<double>(0.5, 1.5)(rng));
            else if (is_float(n.dtype))
                t.set(k, std::uniform_real_distribution<double>(-1, 1)(rng));
            else if (n.dtype == DType::boolean)
                t.set(k, static_cast<double>(rng() % 2));
            else
                t.set(k, static_cast<double>(static_cast<int64_t>(rng() % static_cast<uint64_t>(int_high))));
        }
        feeds[n.name] = std::move(t);
    }
    return feeds;
}

namespace {

void feed(Executable& exe, const Graph& g, const Feeds& feeds) {
    for (const auto& [name, value] : feeds) {
        if (!exe.has_leaf(name)) continue;
        if (value.shape.empty() && g[g.find_leaf(name)].op == Op::Scalar)
            exe.set_scalar(name, value.get(0));
        else
            exe.set(name, value);
    }
}

std::unique_ptr<Executable> compile_variant(Session& s, const std::string& backend, const Graph& g, bool fusion,
                                            int64_t gemm_min_flops) {
    Target t = backend == "cpu" ? cpu_target() : cuda_target(CudaDevice::get().arch());
    t.fusion = fusion;
    t.gemm_min_flops = gemm_min_flops;
    if (backend == "cpu") return std::make_unique<CpuExecutable>(s, g, t);
    return std::make_unique<CudaExecutable>(s, g, t);
}

}  // namespace

double floored_error(const HostTensor& a, const HostTensor& b, double floor) {
    double r = max_rel_error(a, b);
    if (floor <= 0 || !std::isfinite(r)) return r;
    double scale = 0;
    for (int64_t i = 0; i < b.numel(); ++i)
        if (std::isfinite(b.get(i))) scale = std::max(scale, std::fabs(b.get(i)));
    return r * std::max(scale, 1e-30) / std::max(scale, floor);  // max_rel_error divides by max(scale, 1e-30)
}

std::vector<VariantError> variant_errors(const std::string& backend, const Graph& g, const Feeds& feeds,
                                         const std::vector<HostTensor>& expected, const JitVariant& v, int* launches,
                                         double scale_floor) {
    std::unique_ptr<Session> session = open_session(backend);  // fresh params: updates start from the feeds
    std::unique_ptr<Executable> exe = compile_variant(*session, backend, g, v.fusion, v.gemm_min_flops);
    feed(*exe, g, feeds);
    exe->run();
    std::vector<VariantError> out;
    size_t k = 0;
    for (const Output& o : g.outputs())
        out.push_back({v.name, "output " + o.name, floored_error(exe->get(o.name), expected[k++], scale_floor)});
    for (const StateUpdate& u : g.updates())
        out.push_back({v.name, "update of " + g[u.state].name,
                       floored_error(exe->get(g[u.state].name), expected[k++], scale_floor)});
    if (launches) *launches = exe->launches();
    return out;
}

JitCheckResult check_backend(const std::string& backend, const Graph& g, const Feeds& feeds, double tol) {
    std::vector<HostTensor> expected = interpret_all(g, feeds);
    JitCheckResult result;
    const JitVariant variants[] = {{"fused+gemm", true, 1}, {"unfused+gemm", false, 1}, {"fused, no gemm", true, 0},
                                   {"unfused, no gemm", false, 0}};
    for (const JitVariant& v : variants) {
        int launches = 0;
        for (const VariantError& e : variant_errors(backend, g, feeds, expected, v, &launches)) {
            INFO(backend, " variant ", e.variant, ", ", e.value);
            CHECK(e.error <= tol);
            result.max_error = std::max(result.max_error, e.error);
        }
        if (v.gemm_min_flops == 1) (v.fusion ? result.fused_launches : result.unfused_launches) = launches;
    }
    return result;
}

}  // namespace pg::testing
