// CUDA test helpers (see cuda_test_util.h).
#include "tests/cuda/cuda_test_util.h"

#include <doctest/doctest.h>

#include "codegen/cuda/cuda_plan.h"
#include "runtime/cuda/cuda_executable.h"
#include "runtime/cuda/cuda_libs.h"

namespace pg::testing {

std::string nvrtc_missing() {
    LibraryStatus s = nvrtc_status();
    return s.ok ? "" : s.detail;
}

std::string gpu_missing() { return cuda_unavailable_reason(); }

GptConfig tiny_gpt() {
    GptConfig c;
    c.vocab_size = 96;
    c.num_layers = 2;
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.mlp_mult = 2;
    return c;
}

GptConfig baseline_gpt() { return GptConfig{}; }

CudaCheckResult check_cuda(const Graph& g, const Feeds& feeds, double tol) {
    std::vector<HostTensor> expected = interpret_all(g, feeds);
    CudaCheckResult result;
    struct Variant {
        const char* name;
        bool fusion;
        int64_t gemm_min_flops;
    };
    const Variant variants[] = {{"fused+gemm", true, 1}, {"unfused+gemm", false, 1}, {"fused, no gemm", true, 0},
                                {"unfused, no gemm", false, 0}};
    for (const Variant& v : variants) {
        ScheduleOptions o = cuda_schedule_options();
        o.fusion = v.fusion;
        o.blas_min_flops = v.gemm_min_flops;
        CudaExecutable exe(g, o);
        for (const auto& [name, value] : feeds) {
            if (!exe.has_leaf(name)) continue;
            if (value.shape.empty() && g[g.find_leaf(name)].op == Op::Scalar)
                exe.set_scalar(name, value.get(0));
            else
                exe.set(name, value);
        }
        exe.run();
        size_t k = 0;
        for (const Output& o : g.outputs()) {
            double err = max_rel_error(exe.get(o.name), expected[k++]);
            INFO("variant ", v.name, ", output ", o.name);
            CHECK(err <= tol);
            result.max_error = std::max(result.max_error, err);
        }
        for (const StateUpdate& u : g.updates()) {
            double err = max_rel_error(exe.get(g[u.state].name), expected[k++]);
            INFO("variant ", v.name, ", update of ", g[u.state].name);
            CHECK(err <= tol);
            result.max_error = std::max(result.max_error, err);
        }
        if (v.gemm_min_flops == 1) (v.fusion ? result.fused_launches : result.unfused_launches) = exe.stats().launches;
    }
    return result;
}

}  // namespace pg::testing
