// The CUDA linear cross-entropy template (ops/cross_entropy/linear_ce_cuda.h): run in the host
// emulation (tests/cuda/cuda_emulator.h) against the reference interpreter's decompositions on
// bf16 shapes ragged against its 64-row blocks and 64-column tiles (the NVRTC compile at the
// baseline's shape is in test_cuda_compile.cpp).
//
// Emulation tolerance 8e-3, normwise relative (two bf16 ulps, as the attention template's test):
// both sides round each logit to bf16 (the template from its f32 mma sum, the interpreter from an
// fp64 one), so a logit near a rounding boundary may differ by one bf16 ulp (2^-8 relative), which
// moves the loss by at most that ulp where it is the target and the lse by p times it; dx and dw
// are rounded to bf16 from f32 (template) and fp64 (interpreter) sums of bf16-rounded dl, so an
// element that crosses a rounding boundary moves by an ulp of its own size. Measured: the bf16
// outputs agree but for one dw element (4.8e-4), the f32 statistics to 1.0e-7.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

constexpr double kTol = 8e-3;

// The forward and both gradients of one problem as outputs "<tag>.stats", "<tag>.dx", "<tag>.dw";
// the gradient passes read the forward's statistics and a leaf gradient of both result columns.
void add_problem(Graph& g, const std::string& tag, int64_t n, int64_t d, int64_t v, double cap, DType targets) {
    NodeId x = b::input(g, tag + ".x", {n, d}, DType::bf16);
    NodeId w = b::input(g, tag + ".w", {v, d}, DType::bf16);
    NodeId t = b::input(g, tag + ".t", {n}, targets);
    NodeId stats = b::linear_cross_entropy(g, x, w, t, cap);
    std::vector<NodeId> ops = {x, w, t, stats, b::input(g, tag + ".g", {n, 2}, DType::f32)};
    g.set_output(tag + ".stats", stats);
    g.set_output(tag + ".dx", b::linear_cross_entropy_grad(g, ops, cap, 0));
    g.set_output(tag + ".dw", b::linear_cross_entropy_grad(g, ops, cap, 1));
}

}  // namespace

TEST_CASE("cuda: emulated linear cross-entropy (forward, dx, dw) matches the interpreter on ragged bf16 shapes") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    Graph g;
    add_problem(g, "cap0", 70, 64, 100, 0.0, DType::i64);    // d 64: column chunks of 64
    add_problem(g, "cap30", 37, 128, 131, 30.0, DType::i32);  // d 128: one chunk of 128
    // Targets in [0, 131]: some at or past V = 100 / 131 (out of range: they pick nothing).
    Feeds feeds = testing::random_feeds(g, 5, 132);
    std::vector<HostTensor> want = interpret_all(g, feeds);
    for (bool fusion : {true, false}) {
        Target t = cuda_target("sm_90a");
        t.fusion = fusion;
        CHECK(compile_plan(g, t).count(PlanStep::Kind::LinearCe) == (fusion ? 6 : 0));
        testing::EmulatedRun got = testing::emulate_cuda(g, feeds, t);
        REQUIRE(got.values.size() == want.size());
        for (size_t i = 0; i < want.size(); ++i) {
            double err = max_rel_error(got.values[i], want[i]);
            MESSAGE(std::string(fusion ? "fused " : "unfused "), g.outputs()[i].name, ": ", err);
            CHECK(err <= kTol);
        }
    }
}

}  // namespace pg
