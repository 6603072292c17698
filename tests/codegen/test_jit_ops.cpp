// Every op through the CPU JIT against the reference interpreter, fused and unfused, with and
// without OpenBLAS. Tolerance 1e-5 (normwise relative, fp32) unless stated: the JIT computes in
// fp32 and the interpreter in fp64, and these graphs are a few ops deep, so rounding stays within
// a few ulps of fp32 (6e-8) times the depth.
#include <doctest/doctest.h>

#include "graph/build.h"
#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"

namespace pg {
namespace b = build;
using testing::check_jit;
using testing::random_feeds;

namespace {

void check(Graph& g, NodeId out, double tol = 1e-5, uint64_t seed = 1) {
    g.set_output("out", out);
    check_jit(g, random_feeds(g, seed), tol);
}

}  // namespace

TEST_CASE("jit: unary ops") {
    for (Op op : {Op::Neg, Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sqrt, Op::Rsqrt, Op::Abs, Op::Relu, Op::Sin,
                  Op::Cos, Op::Recip}) {
        Graph g;
        NodeId x = b::param(g, "x", {3, 37});
        // Keep log/sqrt/rsqrt/recip away from their poles: x -> |x| + 0.5.
        if (op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt || op == Op::Recip)
            x = b::add(g, b::unary(g, Op::Abs, x), 0.5);
        INFO("op ", op_name(op));
        check(g, b::unary(g, op, x));
    }
}

TEST_CASE("jit: binary, compare, select, logic") {
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
        NodeId m = b::binary(g, Op::Or, c, b::unary(g, Op::Not, b::binary(g, Op::And, c, c)));
        INFO("op ", op_name(op));
        check(g, b::add(g, b::select(g, c, x, y), b::cast(g, m, DType::f32)));
    }
}

TEST_CASE("jit: casts and low precision") {
    Graph g;
    NodeId x = b::mul(g, b::param(g, "x", {6, 40}), 3.7);
    NodeId h = b::cast(g, x, DType::bf16);
    NodeId h2 = b::mul(g, b::add(g, h, h), b::cast(g, b::cast(g, x, DType::f16), DType::bf16));
    NodeId ints = b::cast(g, b::cast(g, x, DType::i64), DType::f32);
    NodeId i32 = b::cast(g, b::cast(g, x, DType::i32), DType::f32);
    // bf16 results are compared at bf16 precision: both sides round identically after every op,
    // but an fp32-vs-fp64 difference of one ulp before rounding can flip a bf16 rounding (2^-8).
    check(g, b::add(g, b::add(g, b::cast(g, h2, DType::f32), ints), i32), 8e-3);
}

TEST_CASE("jit: reductions over several axes") {
    for (std::vector<int64_t> axes : {std::vector<int64_t>{2}, {0}, {1}, {0, 2}, {0, 1, 2}}) {
        Graph g;
        NodeId x = b::param(g, "x", {3, 5, 67});
        NodeId s = b::sum(g, b::unary(g, Op::Exp, x), axes);
        NodeId m = b::reduce_max(g, x, axes);
        check(g, b::add(g, s, m));
    }
}

TEST_CASE("jit: movement ops") {
    Graph g;
    NodeId x = b::param(g, "x", {4, 6, 8});
    NodeId r = b::reshape(g, b::permute(g, x, {2, 0, 1}), {8, 24});
    NodeId s = b::slice(g, r, 1, 1, 23, 3);
    NodeId p = b::pad(g, s, {1, 2}, {0, 1}, 0.25);
    NodeId c = b::concat(g, {p, b::mul(g, p, 2.0), b::slice(g, p, 1, 0, 3)}, 1);
    NodeId bc = b::broadcast_to(g, b::reshape(g, b::sum(g, x, {0, 1}), {8, 1}), {8, 5});
    check(g, b::concat(g, {b::slice(g, c, 0, 0, 8), bc}, 1));
}

TEST_CASE("jit: gather, scatter-add, iota, constants") {
    Graph g;
    NodeId table = b::param(g, "table", {8, 16});
    NodeId idx = b::input(g, "idx", {3, 5}, DType::i64);
    NodeId e = b::gather(g, table, idx);  // [3,5,16]
    NodeId src = b::mul(g, e, b::cast(g, b::iota(g, {3, 5, 16}, 2, DType::i64), DType::f32));
    NodeId sc = b::scatter_add(g, idx, src, 8);  // [8,16]
    check(g, b::add(g, sc, b::constant(g, 0.5, {8, 16})));
}

TEST_CASE("jit: matmul, small (generated) and large (OpenBLAS) with transposed operands") {
    for (int64_t n : {5, 48}) {
        Graph g;
        NodeId a = b::param(g, "a", {2, n, 3 * n});
        NodeId w = b::param(g, "w", {2, n + 1, 3 * n});
        NodeId y = b::matmul(g, b::unary(g, Op::Tanh, a), b::transpose(g, w, 1, 2));  // [2, n, n+1]
        NodeId z = b::matmul(g, b::transpose(g, y, 1, 2), a);                          // [2, n+1, 3n]
        INFO("n = ", n);
        check(g, b::add(g, b::unary(g, Op::Relu, z), 1.0), 2e-5);
    }
}

TEST_CASE("jit: bf16 matmul is widened to f32 and rounded once") {
    for (int64_t n : {5, 48}) {
        Graph g;
        NodeId a = b::cast(g, b::param(g, "a", {n, 2 * n}), DType::bf16);
        NodeId w = b::cast(g, b::param(g, "w", {2 * n, n}), DType::bf16);
        INFO("n = ", n);
        // One bf16 rounding of the result on both sides; an f32-vs-f64 difference in the sum can
        // flip it by one bf16 ulp (2^-8 relative).
        check(g, b::cast(g, b::matmul(g, a, w), DType::f32), 8e-3);
    }
}

TEST_CASE("jit: composite ops through their decompositions") {
    {
        Graph g;
        NodeId x = b::mul(g, b::param(g, "x", {6, 50}), 4.0);
        check(g, b::add(g, b::softmax(g, x), b::log_softmax(g, x)));
    }
    for (const testing::OpCase& c : testing::composite_op_cases()) {
        Graph g;
        NodeId out = c.build(g);
        INFO("case ", c.name);
        check(g, out);
    }
}

}  // namespace pg
