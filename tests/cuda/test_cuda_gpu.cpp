// GPU tests (skipped with the reason printed where no CUDA device is present): the op harness on
// CUDA against the reference interpreter (fused and unfused, with and without the GEMM template),
// CUDA-graph replay against eager launches, and the tiny GPT's training step (micro-steps, Muon and
// Adam) in a GPU session.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <random>

#include "frontend/train/step_runner.h"
#include "graph/build.h"
#include "runtime/cuda/cuda_device.h"
#include "runtime/cuda/cuda_executable.h"
#include "tests/cuda/cuda_test_util.h"
#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"
#include "tests/support/skewed_batches.h"

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

// Tolerances as in tests/codegen/test_jit_ops.cpp: f32 against the fp64 interpreter, a few ops deep.
TEST_CASE("cuda: on the GPU, unary, binary, comparison and select ops match the interpreter") {
    PG_SKIP_UNLESS_GPU();
    for (Op op : {Op::Neg, Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sqrt, Op::Rsqrt, Op::Abs, Op::Relu, Op::Sin,
                  Op::Cos, Op::Recip}) {
        Graph g;
        NodeId x = b::param(g, "x", {3, 37});
        if (op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt || op == Op::Recip)
            x = b::add(g, b::unary(g, Op::Abs, x), 0.5);
        INFO("op ", op_name(op));
        check(g, b::unary(g, op, x));
    }
    for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min, Op::Pow}) {
        Graph g;
        NodeId x = b::param(g, "x", {4, 33});
        NodeId y = b::param(g, "y", {4, 33});
        if (op == Op::Pow) x = b::add(g, b::unary(g, Op::Abs, x), 0.5);
        if (op == Op::Div) y = b::add(g, b::unary(g, Op::Abs, y), 0.5);
        INFO("op ", op_name(op));
        check(g, b::binary(g, op, x, y));
    }
    for (Op op : {Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne}) {
        Graph g;
        NodeId x = b::param(g, "x", {5, 9});
        NodeId y = b::param(g, "y", {5, 9});
        NodeId c = b::binary(g, op, x, op == Op::Eq || op == Op::Ne ? x : y);
        INFO("op ", op_name(op));
        check(g, b::add(g, b::select(g, c, x, y), b::cast(g, c, DType::f32)));
    }
}

TEST_CASE("cuda: on the GPU, casts, bf16/f16 rounding, reductions and movement ops match the interpreter") {
    PG_SKIP_UNLESS_GPU();
    {
        Graph g;
        NodeId x = b::mul(g, b::param(g, "x", {6, 40}), 3.7);
        NodeId h = b::cast(g, x, DType::bf16);
        NodeId h2 = b::mul(g, b::add(g, h, h), b::cast(g, b::cast(g, x, DType::f16), DType::bf16));
        NodeId ints = b::cast(g, b::cast(g, x, DType::i64), DType::f32);
        check(g, b::add(g, b::cast(g, h2, DType::f32), ints), 8e-3);  // bf16 precision (2^-8)
    }
    for (std::vector<int64_t> axes : {std::vector<int64_t>{2}, {0}, {1}, {0, 2}, {0, 1, 2}}) {
        Graph g;
        NodeId x = b::param(g, "x", {3, 5, 67});
        check(g, b::add(g, b::sum(g, b::unary(g, Op::Exp, x), axes), b::reduce_max(g, x, axes)));
    }
    {
        Graph g;  // long rows (warp per row) and long columns (block per column)
        NodeId x = b::param(g, "x", {1100, 300});
        check(g, b::add(g, b::sum(g, b::unary(g, Op::Exp, x), {1}), b::reshape(g, b::sum(g, x, {0, 1}), {1, 1})), 2e-5);
    }
    {
        Graph g;
        NodeId x = b::param(g, "x", {4, 6, 8});
        NodeId r = b::reshape(g, b::permute(g, x, {2, 0, 1}), {8, 24});
        NodeId p = b::pad(g, b::slice(g, r, 1, 1, 23, 3), {1, 2}, {0, 1}, 0.25);
        check(g, b::concat(g, {p, b::mul(g, p, 2.0), b::slice(g, p, 1, 0, 3)}, 1));
    }
}

TEST_CASE("cuda: on the GPU, gather, scatter-add and matmuls (SIMT f32 and tensor-core bf16 GEMMs) match the interpreter") {
    PG_SKIP_UNLESS_GPU();
    {
        Graph g;
        NodeId table = b::param(g, "table", {8, 16});
        NodeId idx = b::input(g, "idx", {3, 5}, DType::i64);
        NodeId e = b::gather(g, table, idx);
        NodeId sc = b::scatter_add(g, idx, b::mul(g, e, 3.0), 8);
        check(g, b::add(g, sc, b::constant(g, 0.5, {8, 16})));
    }
    for (int64_t n : {5, 48, 130}) {
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

TEST_CASE("cuda: on the GPU, composite ops through their decompositions match the interpreter") {
    PG_SKIP_UNLESS_GPU();
    for (const testing::OpCase& c : testing::composite_op_cases()) {
        Graph g;
        NodeId out = c.build(g);
        INFO("case ", c.name);
        check(g, out);
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

TEST_CASE("cuda: on the GPU, the tiny GPT trains with the training step; the first loss equals the interpreter's") {
    PG_SKIP_UNLESS_GPU();
    Hyperparams h = testing::tiny_training();
    std::unique_ptr<Session> session = open_session("cuda");
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(1337)) runner.set_state(name, value);
    testing::SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 4, 7);
    // The interpreter's loss of the first micro-batch, before any update.
    Feeds feeds;
    for (const auto& [name, value] : runner.graphs().micro.params->initialize(1337)) feeds[name] = value;
    feeds["ids"] = HostTensor(DType::i32, {runner.micro_rows(), h.train_seq_len});
    feeds["targets"] = feeds["ids"];
    batches.fill(0, 0, feeds["ids"], feeds["targets"]);
    const Graph& micro = *runner.graphs().micro.graph;
    double ref = interpret(micro, feeds, {micro.output("loss")})[0].get(0);
    double first_micro_loss = 0;
    std::vector<double> losses;
    for (int64_t step = 0; step < 50; ++step) {
        runner.set_scalars(step, 1.0);
        runner.run([&](int64_t micro_index, HostTensor& ids, HostTensor& targets) {
            batches.fill(step, micro_index, ids, targets);
            if (step == 0 && micro_index == 1) first_micro_loss = runner.micro_executable().get("loss").get(0);
        });
        losses.push_back(runner.loss());
    }
    MESSAGE(fmt::format("tiny GPT on the GPU: {}; loss {:.4f} -> {:.4f}", runner.summary(), losses.front(),
                        losses.back()));
    // The first micro-step runs before any update: its loss equals the interpreter's (fp32 vs fp64).
    CHECK(std::fabs(first_micro_loss - ref) <= 1e-4 * std::fabs(ref));
    CHECK(losses.back() < losses.front() - 0.5);
}

}  // namespace pg
