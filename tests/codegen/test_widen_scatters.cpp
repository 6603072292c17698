// bf16 scatter-adds accumulate in f32 (codegen/passes.h widen_scatters): the pass's rewrite, and
// the embedding gradient of a bf16 table with 256 tokens per row through the CPU JIT against the
// interpreter (exact sums rounded once), where a bf16 accumulator misses by far more.
#include <doctest/doctest.h>

#include "codegen/passes.h"
#include "graph/build.h"
#include "tests/support/bf16_scatter_case.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {

int count_scatters(const Graph& g, DType dtype) {
    int n = 0;
    for (NodeId i = 0; i < g.size(); ++i) n += g[i].op == Op::ScatterAdd && g[i].dtype == dtype;
    return n;
}

}  // namespace

TEST_CASE("widen scatters: a bf16 scatter-add becomes an f32 scatter of the widened source, cast back once") {
    Graph g = testing::bf16_scatter_case().graph;
    REQUIRE(count_scatters(g, DType::bf16) == 1);
    Graph p = run_passes(g);
    CHECK(count_scatters(p, DType::bf16) == 0);
    CHECK(count_scatters(p, DType::f32) == 1);
    const Node& out = p[p.outputs().at(0).id];
    CHECK(out.op == Op::Cast);
    CHECK(out.dtype == DType::bf16);
    CHECK(p[out.inputs[0]].op == Op::ScatterAdd);
}

TEST_CASE("widen scatters: the CPU JIT's bf16 embedding gradient is within f32 accumulation of the interpreter") {
    testing::Bf16ScatterCase c = testing::bf16_scatter_case();
    HostTensor want = interpret_all(c.graph, c.feeds).at(0);
    // The test discriminates: accumulating in bf16 misses the reference by far more than tol.
    CHECK(max_rel_error(testing::bf16_accumulated_grad(c), want) > 4 * c.tol);
    testing::JitCheckResult r = testing::check_jit(c.graph, c.feeds, c.tol);
    MESSAGE("worst normwise error ", r.max_error, ", bf16 accumulation ",
            max_rel_error(testing::bf16_accumulated_grad(c), want));
}

}  // namespace pg
