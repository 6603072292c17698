// GPU tests (skipped with the reason printed where no CUDA device is present): the whole op table
// and GEMM-specific shapes on CUDA against the reference interpreter (fused and unfused, with and
// without the GEMM template),
// CUDA-graph replay against eager launches, and the tiny GPT's training step (micro-steps, Muon and
// Adam) in a GPU session.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "base/env.h"
#include "graph/build.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"
#include "runtime/nan_check.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"
#include "tests/support/step_check.h"

namespace pg {
namespace {
namespace b = build;
using testing::check_cuda;
using testing::random_feeds;

void check(Graph& g, NodeId out, double tol = 1e-5) {
    g.set_output("out", out);
    check_cuda(g, random_feeds(g, 1), tol);
}

void feed(Executable& exe, const Graph& g, const Feeds& feeds) {
    for (const auto& [name, value] : feeds) {
        if (!exe.has_leaf(name)) continue;
        if (g[g.find_leaf(name)].op == Op::Scalar)
            exe.set_scalar(name, value.get(0));
        else
            exe.set(name, value);
    }
}

}  // namespace

TEST_CASE("cuda: on the GPU, every case of the op table, fused/unfused x GEMM on/off, matches the interpreter") {
    PG_SKIP_UNLESS_GPU();
    for (const testing::OpCase& c : testing::op_table()) {
        Graph g;
        INFO("case ", c.name);
        check(g, c.build(g), c.tol);
    }
}

TEST_CASE("cuda: on the GPU, GEMMs beyond the table's shapes (128 tiles, tensor-core bf16) match the interpreter") {
    PG_SKIP_UNLESS_GPU();
    for (int64_t n : {130}) {
        Graph g;
        NodeId a = b::param(g, "a", {2, n, 3 * n});
        NodeId w = b::param(g, "w", {2, n + 1, 3 * n});
        NodeId y = b::matmul(g, b::unary(g, Op::Tanh, a), b::transpose(g, w, 1, 2));
        NodeId z = b::matmul(g, b::transpose(g, y, 1, 2), a);
        INFO("n = ", n);
        check(g, b::add(g, b::unary(g, Op::Relu, z), 1.0), 2e-5);
    }
    for (int64_t n : {40, 136}) {
        Graph g;  // bf16 operands: products exact in f32, one rounding of the f32 sum to bf16
        NodeId a = b::param(g, "a", {n, 72}, DType::bf16);
        NodeId w = b::param(g, "w", {n + 8, 72}, DType::bf16);
        INFO("n = ", n);
        check(g, b::cast(g, b::matmul(g, a, b::transpose(g, w, 0, 1)), DType::f32), 8e-3);
    }
}

TEST_CASE("cuda: on the GPU, CUDA-graph replay gives exactly the eager launches' results") {
    PG_SKIP_UNLESS_GPU();
    // No atomics in this step, so both paths are bit-for-bit deterministic.
    Graph g;
    NodeId x = b::param(g, "x", {256, 384});
    NodeId w = b::param(g, "w", {384, 128});
    NodeId y = b::matmul(g, b::unary(g, Op::Tanh, x), w);
    NodeId s = b::sum(g, b::mul(g, y, y), {1});
    g.set_output("s", s);
    g.add_update(x, b::sub(g, x, b::mul(g, x, 0.01)));
    Feeds feeds = random_feeds(g, 3);
    std::unique_ptr<Session> session = open_session("cuda");
    CudaExecutable graphed(*session, g, cuda_target(CudaDevice::get().arch()));
    std::unique_ptr<Session> eager_session = open_session("cuda");  // its own x: both start from the feeds
    CudaExecutable eager(*eager_session, g, cuda_target(CudaDevice::get().arch()));
    feed(graphed, g, feeds);
    feed(eager, g, feeds);
    REQUIRE(graphed.uses_graph());
    for (int step = 0; step < 3; ++step) {
        graphed.run();
        eager.run_eager();
        HostTensor a = graphed.get("s"), e = eager.get("s");
        INFO("step ", step);
        CHECK(a.bytes == e.bytes);
        CHECK(graphed.get("x").bytes == eager.get("x").bytes);
    }
}

TEST_CASE("cuda: on the GPU, one training step equals the interpreter's, every weight and state tensor") {
    PG_SKIP_UNLESS_GPU();
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", "f32");
    testing::StepCheckResult r = testing::check_step_against_interpreter("cuda", testing::tiny_training());
    MESSAGE("GPU step vs interpreter: " << r.summary());
}

TEST_CASE("cuda: on the GPU, the tiny GPT trains with the training step; the first loss equals the interpreter's") {
    PG_SKIP_UNLESS_GPU();
    Hyperparams h = testing::tiny_training();
    double ref = testing::interpreter_first_loss(h, 7);
    testing::TrainRun r = testing::train_on_skewed_batches("cuda", h, 50, 7);
    MESSAGE(fmt::format("tiny GPT on the GPU: {} launches per micro-step; loss {:.4f} -> {:.4f}", r.launches,
                        r.losses.front(), r.losses.back()));
    // The first micro-step runs before any update: its loss equals the interpreter's (fp32 vs fp64).
    CHECK(std::fabs(r.first_micro_loss - ref) <= 1e-4 * std::fabs(ref));
    CHECK(r.losses.back() < r.losses.front() - 0.5);
}

TEST_CASE("cuda: on the GPU, PG_NAN_CHECK=full names the kernel that wrote a NaN, before the state update") {
    PG_SKIP_UNLESS_GPU();
    Graph g;
    NodeId x = b::param(g, "x", {64, 32});
    NodeId y = b::unary(g, Op::Log, b::add(g, x, -2.0));  // x in [-1, 1): log of a negative number
    g.set_output("s", b::sum(g, b::mul(g, y, y), {1}));
    g.add_update(x, b::mul(g, x, 0.5));
    Feeds feeds = random_feeds(g, 5);
    std::unique_ptr<Session> session = open_session("cuda");
    CudaExecutable exe(*session, g, cuda_target(CudaDevice::get().arch()));
    feed(exe, g, feeds);
    exe.check_outputs(true);
    try {
        exe.run();
        FAIL("the NaN was not reported");
    } catch (const NonFiniteError& e) {
        CHECK(e.kernel().rfind("k0", 0) == 0);  // a plan step name, "k000_sum [64]"
        CHECK(std::string(e.what()).find("nan") != std::string::npos);
    }
    CHECK(exe.get("x").bytes == feeds.at("x").bytes);  // the update did not run
}

TEST_CASE("cuda: on the GPU, PG_DETERMINISTIC scatter-adds give the same bits every run, the f32 sums in token order") {
    PG_SKIP_UNLESS_GPU();
    constexpr int64_t tokens = 4096, rows = 16, width = 64;
    Graph g;
    NodeId idx = b::input(g, "idx", {tokens}, DType::i64);
    NodeId src = b::param(g, "src", {tokens, width});
    g.set_output("out", b::scatter_add(g, idx, src, rows));
    Feeds feeds = random_feeds(g, 9, rows);
    Target t = cuda_target(CudaDevice::get().arch());
    t.deterministic = true;
    std::unique_ptr<Session> session = open_session("cuda");
    CudaExecutable exe(*session, g, t);
    feed(exe, g, feeds);
    std::vector<float> want(rows * width, 0.0f);
    for (int64_t i = 0; i < tokens; ++i)
        for (int64_t j = 0; j < width; ++j)
            want[feeds.at("idx").get(i) * width + j] += static_cast<float>(feeds.at("src").get(i * width + j));
    for (int run = 0; run < 3; ++run) {
        exe.run();
        HostTensor out = exe.get("out");
        INFO("run ", run);
        CHECK(std::memcmp(out.data(), want.data(), want.size() * sizeof(float)) == 0);
    }
}

}  // namespace pg
