// PG_DETERMINISTIC on CUDA (codegen/cuda/owner_adds.h): kernels that add into shared elements give
// each element one owner thread that adds in loop order, instead of one thread per iteration adding
// with atomics. Checked without a GPU: the plan (which loops become threads), and the host
// emulation of the generated CUDA, whose sums must equal, bit for bit, the f32 sums taken in loop
// order (the emulator runs one thread at a time, so this shows the order the source fixes, not the
// absence of races, which the plan test shows: no two threads share an element).
#include <doctest/doctest.h>

#include <cstring>

#include "codegen/compile_plan.h"
#include "codegen/cuda/owner_adds.h"
#include "codegen/target.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/support/jit_check.h"
#include "tests/support/skip.h"

namespace pg {
namespace {
namespace b = build;

constexpr int64_t kTokens = 256, kRows = 4, kWidth = 8;

// The embedding gradient's shape: 256 tokens of width 8 added into 4 rows, 64 adds per element.
Graph scatter_graph() {
    Graph g;
    NodeId idx = b::input(g, "idx", {kTokens}, DType::i64);
    NodeId src = b::param(g, "src", {kTokens, kWidth});
    g.set_output("out", b::scatter_add(g, idx, src, kRows));
    return g;
}

Target target(bool deterministic) {
    Target t = cuda_target("sm_90a");
    t.deterministic = deterministic;
    return t;
}

const PlanStep& scatter_step(const ExecPlan& p) {
    for (const PlanStep& st : p.steps)
        if (st.kir && st.name.find("scatter_add") != std::string::npos) return st;
    FAIL("no scatter_add kernel in the plan");
    return p.steps.front();
}

TEST_CASE("cuda deterministic: a scatter-add runs one thread per output column, tokens in order inside it") {
    Graph g = scatter_graph();
    ExecPlan racy = compile_plan(g, target(false));
    ExecPlan owned = compile_plan(g, target(true));
    const PlanStep& r = scatter_step(racy);
    const PlanStep& o = scatter_step(owned);
    // Default: every (token, column) is a thread (256 x 8 points), adding with atomics.
    CHECK(r.cuda->mapping.find("points=2048") != std::string::npos);
    CHECK(r.cuda->source.find("atomicAdd") != std::string::npos);
    // Deterministic: the 8 columns are the threads, the token loop is serial inside each.
    CHECK(o.cuda->mapping.find("points=8") != std::string::npos);
    CHECK(kir::to_string(*o.kir).find("for serial") != std::string::npos);
    CHECK(r.cuda->launches.at(0).entry != o.cuda->launches.at(0).entry);  // distinct kernels in the cache
}

TEST_CASE("cuda deterministic: nests whose adds have no owner loop run as one thread; matmul rows keep theirs") {
    Graph g;
    NodeId idx = b::input(g, "idx", {kTokens}, DType::i64);
    NodeId src = b::param(g, "src", {kTokens});
    NodeId x = b::param(g, "x", {6, 5});
    NodeId w = b::param(g, "w", {5, 3});
    g.set_output("hist", b::scatter_add(g, idx, src, kRows));
    g.set_output("mm", b::matmul(g, x, w));
    Target t = target(true);
    t.gemm_min_flops = 0;  // the matmul as a loop kernel with an add per k
    ExecPlan p = compile_plan(g, t);
    int singles = 0;
    for (const PlanStep& st : p.steps) {
        if (!st.kir) continue;
        std::string text = kir::to_string(*st.kir);
        if (st.name.find("scatter_add") != std::string::npos) {
            CHECK(text.find("single_") != std::string::npos);
            CHECK(st.cuda->mapping.find("points=1 ") != std::string::npos);
            ++singles;
        }
        if (st.name.find("matmul") != std::string::npos) CHECK(text.find("serial") == std::string::npos);
    }
    CHECK(singles == 1);
}

TEST_CASE("cuda deterministic: emulated scatter sums equal the f32 sums in token order, bit for bit") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    Graph g = scatter_graph();
    Feeds feeds = testing::random_feeds(g, 7, kRows);
    testing::EmulatedRun got = testing::emulate_cuda(g, feeds, target(true));
    const HostTensor& idx = feeds.at("idx");
    const HostTensor& src = feeds.at("src");
    std::vector<float> want(kRows * kWidth, 0.0f);
    for (int64_t i = 0; i < kTokens; ++i)
        for (int64_t j = 0; j < kWidth; ++j)
            want[idx.get(i) * kWidth + j] += static_cast<float>(src.get(i * kWidth + j));
    REQUIRE(got.values.at(0).numel() == kRows * kWidth);
    CHECK(std::memcmp(got.values[0].data(), want.data(), want.size() * sizeof(float)) == 0);
}

}  // namespace
}  // namespace pg
