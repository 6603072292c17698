// Golden CUDA sources of representative kernels: a vectorised elementwise kernel, a row
// reduction (warp per row), a column reduction (block per column), a scatter-add (zero phase +
// atomic phase), a SIMT f32 GEMM with a transposed operand and a bf16 tensor-core GEMM. Each is
// compared with tests/cuda/golden/<name>.cu and compiled with NVRTC for sm_90a.
// PG_UPDATE_GOLDEN=1 rewrites the files instead (review the diff before committing it).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <sstream>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "base/env.h"
#include "tests/cuda/cuda_test_util.h"

namespace pg {

PG_KNOB({.name = "PG_UPDATE_GOLDEN", .kind = env::KnobKind::Bool, .default_value = "0",
         .doc = "tests: 1 rewrites the golden files (tests/cuda/golden) instead of comparing with them"});

namespace {
namespace b = build;

std::string golden_path(const std::string& name) { return std::string(PG_SOURCE_DIR) + "/tests/cuda/golden/" + name + ".cu"; }

// The kernel of g's GPU plan that `pick` selects.
CudaKernelSource kernel_of(Graph& g, NodeId out, const std::function<bool(const PlanStep&)>& pick) {
    g.set_output("out", out);
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    ExecPlan plan = compile_plan(g, t);
    for (const PlanStep& k : plan.steps)
        if (k.cuda && pick(k)) return *k.cuda;
    FAIL("no kernel of the plan matches");
    return {};
}

bool mapped(const PlanStep& k, const char* mode) { return k.cuda->mapping.rfind(mode, 0) == 0; }

void check_golden(const std::string& name, const CudaKernelSource& k) {
    std::string text = fmt::format("// golden: {} ({})\n{}", name, k.mapping, k.source);
    std::string path = golden_path(name);
    if (env::get_bool("PG_UPDATE_GOLDEN")) {
        std::ofstream(path, std::ios::binary) << text;
        MESSAGE("rewrote ", path);
    } else {
        std::ifstream in(path, std::ios::binary);
        REQUIRE_MESSAGE(in.good(), "missing golden file ", path, "; create it with PG_UPDATE_GOLDEN=1");
        std::stringstream ss;
        ss << in.rdbuf();
        INFO("golden ", path, " differs from the generated source; if the change is intended, regenerate with "
             "PG_UPDATE_GOLDEN=1 and review the diff");
        CHECK(ss.str() == text);
    }
    if (std::string why = testing::nvrtc_missing(); !why.empty()) {
        MESSAGE("not compiled (no NVRTC): ", why);
        return;
    }
    CudaKernelSource copy = k;
    copy.name = name;
    auto program = CudaProgram::compile({copy}, {"sm_90a", true});
    CHECK(program->report(0).entries.size() == k.launches.size());
}

}  // namespace

TEST_CASE("cuda: golden source of a vectorised elementwise kernel") {
    Graph g;
    NodeId x = b::param(g, "x", {128, 256});
    NodeId y = b::param(g, "y", {128, 256});
    NodeId bias = b::param(g, "bias", {256});
    NodeId out = b::add(g, b::mul(g, x, b::unary(g, Op::Sigmoid, y)), bias);
    check_golden("elementwise", kernel_of(g, out, [](const auto& k) { return mapped(k, "thread x4"); }));
}

TEST_CASE("cuda: golden source of a row reduction (warp per row)") {
    Graph g;
    NodeId x = b::param(g, "x", {2048, 512});
    NodeId out = b::unary(g, Op::Rsqrt, b::add(g, b::mean(g, b::mul(g, x, x), {1}), 1e-6));
    check_golden("row_reduction", kernel_of(g, out, [](const auto& k) { return mapped(k, "warp"); }));
}

TEST_CASE("cuda: golden source of a column reduction (block per column)") {
    Graph g;
    NodeId x = b::param(g, "x", {4096, 64});
    NodeId out = b::reduce_max(g, b::unary(g, Op::Exp, x), {0});
    check_golden("column_reduction", kernel_of(g, out, [](const auto& k) { return mapped(k, "block"); }));
}

TEST_CASE("cuda: golden source of a scatter-add (zero fill, then atomic adds)") {
    Graph g;
    NodeId idx = b::input(g, "idx", {8, 16}, DType::i64);
    NodeId src = b::param(g, "src", {8, 16, 32});
    NodeId out = b::scatter_add(g, idx, b::mul(g, src, 2.0), 50);
    check_golden("scatter_add", kernel_of(g, out, [](const auto& k) { return k.kernel_kind == KernelKind::ScatterAdd; }));
}

TEST_CASE("cuda: golden source of a SIMT f32 GEMM with a transposed operand") {
    Graph g;
    NodeId a = b::param(g, "a", {2, 96, 64});
    NodeId w = b::param(g, "w", {2, 80, 64});
    NodeId out = b::matmul(g, a, b::transpose(g, w, 1, 2));
    check_golden("gemm_f32", kernel_of(g, out, [](const auto& k) { return k.kernel_kind == KernelKind::Gemm; }));
}

TEST_CASE("cuda: golden source of a bf16 tensor-core GEMM") {
    Graph g;
    NodeId a = b::param(g, "a", {256, 128}, DType::bf16);
    NodeId w = b::param(g, "w", {128, 192}, DType::bf16);
    NodeId out = b::matmul(g, a, w);
    check_golden("gemm_bf16", kernel_of(g, out, [](const auto& k) { return k.kernel_kind == KernelKind::Gemm; }));
}

}  // namespace pg
