// GEMM operands read in place (codegen/view.h, schedule.h's BLAS plan): a transpose of a buffer
// that an earlier GEMM's operand made materialised is a view of that buffer, even where it is no
// view of the tensor below it. The attention output [B, H, T, D], permuted to [B, T, H, D] and
// reshaped to [B*T, H*D], is materialised for the projection (the merge is not a stride); the
// weight gradient's X^T then reads it transposed instead of a transpose kernel of its own.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "graph/build.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

Graph projection_and_gradient() {
    Graph g;
    NodeId o = b::param(g, "o", {2, 4, 16, 8});  // [B, H, T, D]
    NodeId w = b::param(g, "w", {32, 32});
    NodeId dy = b::param(g, "dy", {32, 32});
    NodeId x = b::reshape(g, b::permute(g, o, {0, 2, 1, 3}), {32, 32});
    g.set_output("y", b::matmul(g, x, w));
    g.set_output("dw", b::matmul(g, b::transpose(g, x, 0, 1), dy));
    return g;
}

}  // namespace

TEST_CASE("gemm operand views: X^T of a materialised X is read transposed, on the CPU and on CUDA") {
    for (Target t : {cpu_target(), cuda_target("sm_90a")}) {
        INFO(t.to_string());
        t.gemm_min_flops = 1;
        Graph g = projection_and_gradient();
        ExecPlan p = compile_plan(g, t);
        REQUIRE(p.count(KernelKind::Gemm) == 2);
        CHECK(p.count(KernelKind::Loop) == 1);  // X itself; no transpose of it
        const PlanStep* dw = nullptr;
        for (const PlanStep& st : p.steps)
            if (st.kind == PlanStep::Kind::Gemm && st.buffers.size() >= 2 && st.gemm->m == 32 && st.gemm->trans_a) dw = &st;
        REQUIRE(dw != nullptr);
        CHECK(dw->gemm->lda == 32);
        if (t.kind == TargetKind::Cpu) testing::check_jit(g, testing::random_feeds(g, 4), 1e-5);
    }
}

}  // namespace pg
