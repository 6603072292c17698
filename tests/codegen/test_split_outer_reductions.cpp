// Sums over many leading rows in coalesced stages (codegen/passes.h split_outer_reductions, the GPU's
// pass): the rewrite's structure, which sums it leaves alone, and the values of the staged graph
// against the original's in the interpreter. The sectors the stages save are counted in
// tests/cuda/test_cuda_sectors.cpp.
#include <doctest/doctest.h>

#include "codegen/passes.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {
namespace b = build;

std::vector<const Node*> sums(const Graph& g) {
    std::vector<const Node*> out;
    for (NodeId i = 0; i < g.size(); ++i)
        if (g[i].op == Op::Sum) out.push_back(&g[i]);
    return out;
}

Graph gpu_passes(const Graph& g) { return run_passes(g, PassOptions{.split_outer_reductions = true}); }

}  // namespace

TEST_CASE("split outer reductions: [4, 4096, 48] -> [1, 1, 48] sums 16-row slices in f32, then the 1024 partial rows") {
    Graph g;
    NodeId x = b::param(g, "x", {4, 4096, 48}, DType::bf16);
    g.set_output("s", b::sum(g, x, {0, 1}));
    Graph p = gpu_passes(g);
    std::vector<const Node*> s = sums(p);
    REQUIRE(s.size() == 2);
    CHECK(s[0]->shape == Shape{1024, 1, 48});
    CHECK(s[1]->shape == Shape{1, 48});
    for (const Node* n : s) CHECK(n->dtype == DType::f32);
    const Node& out = p[p.outputs().at(0).id];
    CHECK(out.shape == Shape{1, 1, 48});
    CHECK(out.dtype == DType::bf16);
    CHECK(sums(run_passes(g)).size() == 1);  // the CPU's passes keep one sum (row accumulation)
}

TEST_CASE("split outer reductions: 65,536 rows take two 16-row stages; the staged sums equal the original's") {
    Graph g;
    NodeId x = b::param(g, "x", {64, 1024, 8});
    NodeId y = b::param(g, "y", {64, 1024, 8});
    g.set_output("s", b::sum(g, b::mul(g, x, y), {0, 1}));
    Graph p = gpu_passes(g);
    std::vector<const Node*> s = sums(p);
    REQUIRE(s.size() == 3);  // 65,536 -> 4,096 -> 256 rows, then one sum
    CHECK(s[0]->shape == Shape{4096, 1, 8});
    CHECK(s[1]->shape == Shape{256, 1, 8});
    Feeds feeds = testing::random_feeds(g, 11);
    // The interpreter rounds each stage's partial sums to f32 (the original sums in fp64 and rounds
    // once): 1e-6 relative bounds 3 f32 roundings of sums whose terms do not cancel badly.
    CHECK(max_rel_error(interpret_all(p, feeds)[0], interpret_all(g, feeds)[0]) <= 1e-6);
}

TEST_CASE("split outer reductions: inner, middle, short and indivisible sums are left as they are") {
    Graph g;
    NodeId x = b::param(g, "x", {4, 4096, 48});
    g.set_output("inner", b::sum(g, x, {2}));
    g.set_output("middle", b::sum(g, x, {1}));
    g.set_output("short", b::sum(g, b::param(g, "y", {1024, 64}), {0}));
    g.set_output("odd", b::sum(g, b::param(g, "z", {4100, 16}), {0}));
    g.set_output("all", b::sum(g, x, {0, 1, 2}));
    Graph p = gpu_passes(g);
    CHECK(sums(p).size() == 5);
}

}  // namespace pg
