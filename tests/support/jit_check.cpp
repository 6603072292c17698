// Test support implementation (see jit_check.h).
#include "tests/support/jit_check.h"

#include <doctest/doctest.h>

#include <algorithm>

#include "runtime/cpu_executable.h"

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

JitCheckResult check_jit(const Graph& g, const Feeds& feeds, double tol) {
    std::vector<HostTensor> expected = interpret_all(g, feeds);
    JitCheckResult result;
    struct Variant {
        const char* name;
        ScheduleOptions opts;
    };
    const Variant variants[] = {
        {"fused+blas", {true, 1}}, {"unfused+blas", {false, 1}}, {"fused, no blas", {true, 0}}, {"unfused, no blas", {false, 0}}};
    for (const Variant& v : variants) {
        CpuExecutable exe(g, v.opts);
        for (const auto& [name, value] : feeds) {
            if (!exe.has_leaf(name)) continue;
            if (value.shape.empty() && value.dtype == DType::f32 && g[g.find_leaf(name)].op == Op::Scalar)
                exe.set_scalar(name, value.get(0));
            else
                exe.set(name, value);
        }
        exe.run();
        size_t k = 0;
        for (const Output& o : g.outputs()) {
            HostTensor got = exe.get(o.name);
            double err = max_rel_error(got, expected[k++]);
            INFO("variant ", v.name, ", output ", o.name);
            CHECK(err <= tol);
            result.max_error = std::max(result.max_error, err);
        }
        for (const StateUpdate& u : g.updates()) {
            HostTensor got = exe.get(g[u.state].name);
            double err = max_rel_error(got, expected[k++]);
            INFO("variant ", v.name, ", update of ", g[u.state].name);
            CHECK(err <= tol);
            result.max_error = std::max(result.max_error, err);
        }
        if (v.opts.fusion && v.opts.blas_min_flops == 1) result.fused_launches = exe.stats().launches();
        if (!v.opts.fusion && v.opts.blas_min_flops == 1) result.unfused_launches = exe.stats().launches();
    }
    return result;
}

}  // namespace pg::testing
