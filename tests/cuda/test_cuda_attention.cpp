// The CUDA flash-attention template (ops/attention/attention_cuda.h) run in the host emulation
// (tests/cuda/cuda_emulator.h) against the reference interpreter's decompositions, on bf16
// shapes ragged against its blocks: head dim 64 (forward blocks of 64 rows, backward of 32) at
// T = 70, and head dim 128 (blocks of 32) at T = 37, with GQA groups of 2 and 3. The forward
// output, its log-sum-exp (read through the backward) and dq, dk, dv are checked; the plan must
// use the template for every pass (fused), and the unfused plan (the reference decomposition on
// the same emulator) is held to the same tolerance.
//
// Tolerance 8e-3, normwise relative (two bf16 ulps, as the composite tests' bf16 bound): both
// sides round their outputs to bf16 from f32 (template) or fp64 (interpreter) values that agree to
// ~1e-6, so most elements round identically and one that crosses a rounding boundary moves by an
// ulp of its own size; dq also reads lse and delta, which the template's forward and the
// interpreter compute apart. Measured worst 1.0e-3 (dq, head dim 64), the unfused plan 4.9e-4.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

constexpr double kTol = 8e-3;

// The forward and the three gradients of one attention problem, as outputs "<tag>.out",
// "<tag>.grad0".. of g; dout is a leaf, lse comes from the forward's statistics.
void add_problem(Graph& g, const std::string& tag, int64_t h, int64_t hkv, int64_t t, int64_t d) {
    NodeId q = b::input(g, tag + ".q", {1, h, t, d}, DType::bf16);
    NodeId k = b::input(g, tag + ".k", {1, hkv, t, d}, DType::bf16);
    NodeId v = b::input(g, tag + ".v", {1, hkv, t, d}, DType::bf16);
    NodeId dout = b::input(g, tag + ".dout", {1, h, t, d}, DType::bf16);
    double scale = 1.0 / std::sqrt(static_cast<double>(d));
    NodeId out = b::attention(g, q, k, v, scale);
    NodeId prod = b::mul(g, b::cast(g, dout, DType::f32), b::cast(g, out, DType::f32));
    NodeId delta = b::reshape(g, b::sum(g, prod, {-1}), {1, h, t});
    std::vector<NodeId> ops = {q, k, v, dout, b::attention_lse(g, q, k, v, scale), delta};
    g.set_output(tag + ".out", out);
    for (int64_t which = 0; which < 3; ++which)
        g.set_output(fmt::format("{}.grad{}", tag, which), b::attention_grad(g, ops, scale, which));
}

}  // namespace

TEST_CASE("cuda: emulated flash attention (forward, dq, dk/dv) matches the interpreter on ragged bf16 shapes") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    Graph g;
    add_problem(g, "d64", 4, 2, 70, 64);
    add_problem(g, "d128", 3, 1, 37, 128);
    Feeds feeds = testing::random_feeds(g, 3);
    std::vector<HostTensor> want = interpret_all(g, feeds);
    for (bool fusion : {true, false}) {
        Target t = cuda_target("sm_90a");
        t.fusion = fusion;
        CHECK(compile_plan(g, t).count(PlanStep::Kind::Attention) == (fusion ? 6 : 0));
        testing::EmulatedRun got = testing::emulate_cuda(g, feeds, t);
        REQUIRE(got.values.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            INFO((fusion ? "fused " : "unfused "), g.outputs()[i].name);
            CHECK(max_rel_error(got.values[i], want[i]) <= kTol);
        }
    }
}

}  // namespace pg
