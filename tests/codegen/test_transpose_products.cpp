// Products computed in the layout their reader wants (codegen/passes.h transpose_products): the
// weight gradient of y = x W^T, (x^T dy)^T, becomes dy^T x, so that the gradient accumulation
// reads it at its own element: on the GPU it then runs in the GEMM's epilogue. The rewrite keeps
// the values (interpreter and CPU JIT) and leaves a product with other readers alone.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "codegen/passes.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

// acc + (x^T dy)^T / 8: the accumulation of W's gradient for y = x W^T, W [24, 40].
Graph weight_gradient(bool product_also_output) {
    Graph g;
    NodeId x = b::param(g, "x", {96, 40}, DType::bf16);
    NodeId dy = b::param(g, "dy", {96, 24}, DType::bf16);
    NodeId acc = b::param(g, "acc", {24, 40});
    NodeId dwt = b::matmul(g, b::transpose(g, x, 0, 1), dy);  // [40, 24]
    g.set_output("acc", b::add(g, acc, b::mul(g, b::cast(g, b::transpose(g, dwt, 0, 1), DType::f32), 0.125)));
    if (product_also_output) g.set_output("dwt", dwt);
    return g;
}

int permutes(const Graph& g) {
    int n = 0;
    for (NodeId i = 0; i < g.size(); ++i) n += g[i].op == Op::Permute;
    return n;
}

}  // namespace

TEST_CASE("transpose products: (x^T dy)^T becomes dy^T x, same values; a product read otherwise stays") {
    Graph g = weight_gradient(false);
    Graph p = run_passes(g);
    CHECK(permutes(p) == 1);  // dy^T; x^T^T folded away, the result's transpose gone
    for (NodeId i = 0; i < p.size(); ++i)
        if (p[i].op == Op::Matmul) CHECK(p[i].shape == Shape{24, 40});
    Feeds feeds = testing::random_feeds(g, 3);
    // The same products summed in the same order, rounded once to bf16: equal in the interpreter.
    CHECK(max_rel_error(interpret_all(p, feeds)[0], interpret_all(g, feeds)[0]) == 0.0);
    testing::check_jit(g, feeds, 1e-5);
    Graph kept = run_passes(weight_gradient(true));  // the product is an output too: not rewritten
    for (NodeId i = 0; i < kept.size(); ++i)
        if (kept[i].op == Op::Matmul) CHECK(kept[i].shape == Shape{40, 24});
}

TEST_CASE("transpose products: on CUDA the gradient accumulation runs in the weight gradient GEMM's epilogue") {
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    ExecPlan p = compile_plan(weight_gradient(false), t);
    REQUIRE(p.count(KernelKind::Gemm) == 1);
    CHECK(p.count(KernelKind::Loop) == 0);
    for (const ScheduledKernel& k : p.schedule.kernels)
        if (k.kind == KernelKind::Gemm) CHECK(k.epilogue == std::vector<NodeId>{p.output_node("acc")});
}

}  // namespace pg
