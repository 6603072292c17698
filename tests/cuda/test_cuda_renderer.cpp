// CudaRenderer decisions without a GPU or NVRTC: the grid/block mapping chosen per kernel (thread,
// vectorised thread, warp, block, serial), 32- vs 64-bit index arithmetic, and the constructs
// that carry the reference's semantics (bf16 rounding, NaN-propagating max, atomics for
// scatter-add). Content-derived entry names make kernels that differ only in plan position equal.
#include <doctest/doctest.h>

#include "codegen/compile_plan.h"
#include "codegen/cuda/cuda_renderer.h"
#include "codegen/lower.h"
#include "codegen/passes.h"
#include "graph/build.h"

namespace pg {
namespace {
namespace b = build;

// The plan of out's graph for the GPU (GEMMs for any matmul).
ExecPlan plan_of(Graph& g, NodeId out) {
    g.set_output("out", out);
    Target t = cuda_target("sm_90a");
    t.gemm_min_flops = 1;
    return compile_plan(g, t);
}

std::string mapping_of_last(Graph& g, NodeId out) { return plan_of(g, out).cuda_sources().back().mapping; }

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cuda: elementwise kernels run a thread per 4 points with 16-byte accesses") {
    Graph g;
    NodeId x = b::param(g, "x", {128, 256});
    std::string m = mapping_of_last(g, b::unary(g, Op::Exp, b::add(g, x, 1.0)));
    CHECK(m == "thread x4 points=32768 grid=32x256");
    // An innermost extent that is not a multiple of 4 stays scalar.
    Graph h;
    NodeId y = b::param(h, "y", {128, 255});
    CHECK(mapping_of_last(h, b::unary(h, Op::Exp, y)) == "thread points=32640 grid=128x256");
}

TEST_CASE("cuda: reductions map onto a thread, a warp or a block by extent and point count") {
    {
        Graph g;  // 2048 rows of 512: a warp per row
        NodeId x = b::param(g, "x", {2048, 512});
        CHECK(mapping_of_last(g, b::sum(g, x, {1})) == "warp points=2048 reduce=512 grid=256x256");
    }
    {
        Graph g;  // rows of 16: serial in the thread
        NodeId x = b::param(g, "x", {4096, 16});
        CHECK(mapping_of_last(g, b::sum(g, x, {1})) == "thread points=4096 grid=16x256");
    }
    {
        Graph g;  // 64 columns of 8192: a block per column
        NodeId x = b::param(g, "x", {8192, 64});
        CHECK(mapping_of_last(g, b::reduce_max(g, x, {0})) == "block points=64 reduce=8192 grid=64x256");
    }
    {
        Graph g;  // one scalar from 1000 elements: one block, no more warps than the elements fill
        NodeId x = b::param(g, "x", {1000});
        CHECK(mapping_of_last(g, b::sum(g, x, {0})) == "block points=1 reduce=1000 grid=1x1024");
        Graph h;
        NodeId y = b::param(h, "y", {100});
        CHECK(mapping_of_last(h, b::sum(h, y, {0})) == "block points=1 reduce=100 grid=1x128");
    }
}

TEST_CASE("cuda: a scatter-add zero-fills and then adds atomically, in two launches") {
    Graph g;
    NodeId idx = b::input(g, "idx", {8, 16}, DType::i64);
    NodeId src = b::param(g, "src", {8, 16, 32});
    CudaKernelSource k = plan_of(g, b::scatter_add(g, idx, src, 50)).cuda_sources().back();
    REQUIRE(k.launches.size() == 2);
    CHECK(has(k.source, "atomicAdd(&b0["));
    CHECK(k.launches[0].entry.substr(k.launches[0].entry.size() - 3) == "_p0");
}

TEST_CASE("cuda: index arithmetic is 32-bit when it fits and 64-bit beyond 2^31 elements") {
    Graph g;
    NodeId x = b::param(g, "x", {256, 256});
    std::string small = plan_of(g, b::add(g, x, 1.0)).cuda_sources().back().source;
    CHECK(has(small, "pg_u32 pg_p"));
    CHECK(!has(small, "long long"));
    Graph h;
    NodeId y = b::param(h, "y", {70000, 70001});  // 4.9e9 elements
    std::string big = plan_of(h, b::add(h, y, 1.0)).cuda_sources().back().source;
    CHECK(has(big, "pg_u64 pg_p"));
    CHECK(has(big, "const int i0_0"));                   // each loop var still fits 32 bits
    CHECK(has(big, "((long long)(i0_0)) * 70001LL"));  // the element index does not
}

TEST_CASE("cuda: bf16 results round after every op; max propagates NaN") {
    Graph g;
    NodeId x = b::param(g, "x", {64, 64}, DType::bf16);
    NodeId y = b::param(g, "y", {64, 64}, DType::bf16);
    std::string s = plan_of(g, b::binary(g, Op::Max, b::mul(g, x, y), x)).cuda_sources().back().source;
    CHECK(has(s, "pg_round_bf16("));
    CHECK(has(s, "pg_fmax("));
    CHECK(has(s, "pg_bf16_to_f32("));
    CHECK(has(s, "pg_f32_to_bf16("));
}

TEST_CASE("cuda: a kernel that reads a buffer it writes runs serially") {
    kir::Kernel k;
    k.name = "k000_inplace";
    k.buffers = {{"b", DType::f32, 16, true}};
    int i = k.new_var("i0", DType::i64);
    kir::Stmt loop;
    loop.kind = kir::StmtKind::Loop;
    loop.var = i;
    loop.extent = 15;
    kir::Stmt st;
    st.kind = kir::StmtKind::Store;
    st.buffer = 0;
    st.index = kir::iadd(kir::var(i, DType::i64), kir::index_const(1));
    st.value = kir::load(0, DType::f32, kir::var(i, DType::i64));
    loop.body.push_back(st);
    k.body.push_back(loop);
    kir::verify(k);
    CudaKernelSource s = render_cuda(k);
    CHECK(s.mapping == "serial points=1 grid=1x1");
    CHECK(has(s.source, "if (blockIdx.x != 0 || threadIdx.x != 0) return;"));
}

TEST_CASE("cuda: kernels that differ only in their plan position render identically") {
    Graph g;
    NodeId x = b::param(g, "x", {32, 32});
    NodeId y = b::param(g, "y", {32, 32});
    g.set_output("a", b::unary(g, Op::Exp, x));
    g.set_output("b", b::unary(g, Op::Exp, y));
    ExecPlan plan = compile_plan(g, cuda_target("sm_90a"));
    REQUIRE(plan.steps.size() == 2);
    CHECK(plan.steps[0].cuda->name != plan.steps[1].cuda->name);
    CHECK(plan.steps[0].cuda->source == plan.steps[1].cuda->source);
    CHECK(kir_content_digest(*plan.steps[0].kir) == kir_content_digest(*plan.steps[1].kir));
}

}  // namespace pg
