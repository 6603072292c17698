// Tests of the reference interpreter: every primitive op on small hand-computed examples, dtype
// rounding, feeds and their errors, and composite ops through their decomposition.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>

#include "base/error.h"
#include "graph/build.h"
#include "graph/interpreter.h"

using namespace pg;
namespace b = pg::build;

namespace {

HostTensor tensor(DType t, Shape s, std::vector<double> v) {
    return HostTensor::from_doubles(t, std::move(s), v);
}

std::vector<double> eval(const Graph& g, NodeId id, const Feeds& feeds = {}) {
    std::vector<HostTensor> r = interpret(g, feeds, {id});
    REQUIRE(r.size() == 1);
    CHECK(r[0].shape == g[id].shape);
    CHECK(r[0].dtype == g[id].dtype);
    return r[0].to_doubles();
}

using V = std::vector<double>;

double f32(double v) {
    return static_cast<float>(v);
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no pg::Error was thrown)";
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("interpreter: const and iota") {
    Graph g;
    CHECK(eval(g, b::constant(g, 1.5, {2, 2})) == V{1.5, 1.5, 1.5, 1.5});
    CHECK(eval(g, b::iota(g, {2, 3}, 1)) == V{0, 1, 2, 0, 1, 2});
    CHECK(eval(g, b::iota(g, {2, 3}, 0, DType::i32)) == V{0, 0, 0, 1, 1, 1});
    CHECK(eval(g, b::iota(g, {2, 2, 2}, -1)) == V{0, 1, 0, 1, 0, 1, 0, 1});
}

TEST_CASE("interpreter: unary math rounds each result to f32") {
    Graph g;
    NodeId x = b::input(g, "x", {5}, DType::f32);
    V xs{-2, -0.5, 0, 0.5, 2};
    Feeds f{{"x", tensor(DType::f32, {5}, xs)}};
    auto each = [&](Op op, double (*ref)(double)) {
        V r = eval(g, b::unary(g, op, x), f);
        for (size_t i = 0; i < xs.size(); ++i) CHECK(r[i] == f32(ref(xs[i])));
    };
    each(Op::Neg, [](double v) { return -v; });
    each(Op::Abs, [](double v) { return std::fabs(v); });
    each(Op::Relu, [](double v) { return v > 0 ? v : 0.0; });
    each(Op::Exp, [](double v) { return std::exp(v); });
    each(Op::Tanh, [](double v) { return std::tanh(v); });
    each(Op::Sigmoid, [](double v) { return 1 / (1 + std::exp(-v)); });
    each(Op::Sin, [](double v) { return std::sin(v); });
    each(Op::Cos, [](double v) { return std::cos(v); });
    CHECK(eval(g, b::unary(g, Op::Sigmoid, x), f)[2] == 0.5);

    NodeId p = b::input(g, "p", {3}, DType::f32);
    Feeds fp{{"p", tensor(DType::f32, {3}, {0.25, 4, 10})}};
    CHECK(eval(g, b::unary(g, Op::Sqrt, p), fp) == V{0.5, 2, f32(std::sqrt(10.0))});
    CHECK(eval(g, b::unary(g, Op::Rsqrt, p), fp) == V{2, 0.5, f32(1 / std::sqrt(10.0))});
    CHECK(eval(g, b::unary(g, Op::Recip, p), fp) == V{4, 0.25, f32(0.1)});
    CHECK(eval(g, b::unary(g, Op::Log, p), fp) ==
          V{f32(std::log(0.25)), f32(std::log(4.0)), f32(std::log(10.0))});
    V zero = eval(g, b::unary(g, Op::Recip, b::constant(g, 0, {1})));
    CHECK(std::isinf(zero[0]));
}

TEST_CASE("interpreter: bf16 results round to nearest even") {
    Graph g;
    NodeId one = b::input(g, "one", {2}, DType::bf16);
    Feeds f{{"one", tensor(DType::bf16, {2}, {1, 1})}};
    // bf16 has 7 explicit mantissa bits: values near 1 are spaced 2^-7 apart.
    NodeId half_ulp = b::constant(g, std::ldexp(1.0, -8), {2}, DType::bf16);
    CHECK(eval(g, b::add(g, one, half_ulp), f) == V{1, 1});  // tie: stays on the even 1.0
    NodeId three_halves = b::constant(g, 3 * std::ldexp(1.0, -8), {2}, DType::bf16);
    CHECK(eval(g, b::add(g, one, three_halves), f) == V{1.015625, 1.015625});  // tie: up to even
    NodeId pi = b::constant(g, 3.14159265, {1});
    CHECK(eval(g, b::cast(g, pi, DType::bf16)) == V{3.140625});
    CHECK(eval(g, b::cast(g, pi, DType::f16)) == V{3.140625});
    CHECK(eval(g, b::constant(g, 1.0 / 3, {1}, DType::bf16)) == V{0.333984375});
}

TEST_CASE("interpreter: integer and bool casts") {
    Graph g;
    NodeId x = b::input(g, "x", {6}, DType::f32);
    Feeds f{{"x", tensor(DType::f32, {6}, {-2.75, -0.5, 0, 0.5, 2.75, 300})}};
    CHECK(eval(g, b::cast(g, x, DType::i32), f) == V{-2, 0, 0, 0, 2, 300});
    CHECK(eval(g, b::cast(g, x, DType::i64), f) == V{-2, 0, 0, 0, 2, 300});
    CHECK(eval(g, b::cast(g, x, DType::u8), f) == V{254, 0, 0, 0, 2, 44});  // wraps modulo 256
    CHECK(eval(g, b::cast(g, x, DType::boolean), f) == V{1, 1, 0, 1, 1, 1});
    NodeId big = b::constant(g, 16777217, {1}, DType::i64);
    CHECK(eval(g, b::cast(g, big, DType::f32)) == V{16777216});

    NodeId num = b::input(g, "n", {3}, DType::i32);
    NodeId den = b::input(g, "d", {3}, DType::i32);
    Feeds fi{{"n", tensor(DType::i32, {3}, {7, -7, 7})},
             {"d", tensor(DType::i32, {3}, {2, 2, -2})}};
    CHECK(eval(g, b::div(g, num, den), fi) == V{3, -3, -3});  // truncation toward zero
    Feeds fz{{"n", tensor(DType::i32, {3}, {1, 2, 3})}, {"d", tensor(DType::i32, {3}, {1, 0, 1})}};
    CHECK(contains(error_of([&] { eval(g, b::div(g, num, den), fz); }), "division by zero"));
    NodeId nan = b::constant(g, NAN, {1});
    CHECK(contains(error_of([&] { eval(g, b::cast(g, nan, DType::i32)); }),
                   "not representable as i32"));
}

TEST_CASE("interpreter: binary ops with numpy broadcasting") {
    Graph g;
    NodeId a = b::input(g, "a", {2, 3}, DType::f32);
    NodeId c = b::input(g, "c", {3}, DType::f32);
    Feeds f{{"a", tensor(DType::f32, {2, 3}, {1, 2, 3, 4, 5, 6})},
            {"c", tensor(DType::f32, {3}, {10, 2, 0.5})}};
    CHECK(eval(g, b::add(g, a, c), f) == V{11, 4, 3.5, 14, 7, 6.5});
    CHECK(eval(g, b::sub(g, a, c), f) == V{-9, 0, 2.5, -6, 3, 5.5});
    CHECK(eval(g, b::mul(g, a, c), f) == V{10, 4, 1.5, 40, 10, 3});
    CHECK(eval(g, b::div(g, a, c), f) == V{0.1f, 1, 6, 0.4f, 2.5, 12});
    CHECK(eval(g, b::binary(g, Op::Max, a, c), f) == V{10, 2, 3, 10, 5, 6});
    CHECK(eval(g, b::binary(g, Op::Min, a, c), f) == V{1, 2, 0.5, 4, 2, 0.5});
    CHECK(eval(g, b::binary(g, Op::Pow, a, c), f) ==
          V{1, 4, f32(std::sqrt(3.0)), 1048576, 25, f32(std::sqrt(6.0))});
    CHECK(eval(g, b::mul(g, a, 2.0), f) == V{2, 4, 6, 8, 10, 12});
    NodeId col = b::input(g, "col", {2, 1}, DType::f32);
    Feeds fc{{"col", tensor(DType::f32, {2, 1}, {1, 2})}, {"c", f.at("c")}};
    CHECK(eval(g, b::add(g, col, c), fc) == V{11, 3, 1.5, 12, 4, 2.5});
}

TEST_CASE("interpreter: comparisons, logic and select") {
    Graph g;
    NodeId a = b::input(g, "a", {4}, DType::f32);
    NodeId c = b::input(g, "c", {4}, DType::f32);
    Feeds f{{"a", tensor(DType::f32, {4}, {1, 2, 3, 4})},
            {"c", tensor(DType::f32, {4}, {4, 2, 1, 4})}};
    CHECK(eval(g, b::binary(g, Op::Lt, a, c), f) == V{1, 0, 0, 0});
    CHECK(eval(g, b::binary(g, Op::Le, a, c), f) == V{1, 1, 0, 1});
    CHECK(eval(g, b::binary(g, Op::Gt, a, c), f) == V{0, 0, 1, 0});
    CHECK(eval(g, b::binary(g, Op::Ge, a, c), f) == V{0, 1, 1, 1});
    CHECK(eval(g, b::binary(g, Op::Eq, a, c), f) == V{0, 1, 0, 1});
    CHECK(eval(g, b::binary(g, Op::Ne, a, c), f) == V{1, 0, 1, 0});
    NodeId lt = b::binary(g, Op::Lt, a, c);
    NodeId eq = b::binary(g, Op::Eq, a, c);
    CHECK(g[lt].dtype == DType::boolean);
    CHECK(eval(g, b::binary(g, Op::Or, lt, eq), f) == V{1, 1, 0, 1});
    CHECK(eval(g, b::binary(g, Op::And, lt, eq), f) == V{0, 0, 0, 0});
    CHECK(eval(g, b::unary(g, Op::Not, lt), f) == V{0, 1, 1, 1});
    NodeId zero = b::constant(g, 0, {});
    CHECK(eval(g, b::select(g, lt, a, zero), f) == V{1, 0, 0, 0});
    CHECK(eval(g, b::select(g, eq, c, b::mul(g, a, 10.0)), f) == V{10, 2, 30, 4});
}

TEST_CASE("interpreter: reductions over several axes accumulate in fp64") {
    Graph g;
    NodeId x = b::iota(g, {24}, 0, DType::f32);
    x = b::reshape(g, x, {2, 3, 4});  // x[i,j,k] = 12i + 4j + k
    NodeId s = b::sum(g, x, {0, 2});
    CHECK(g[s].shape == Shape{1, 3, 1});
    CHECK(eval(g, s) == V{60, 92, 124});
    CHECK(eval(g, b::sum(g, x, {0, 1, 2})) == V{276});
    NodeId m = b::reduce_max(g, x, {1});
    CHECK(g[m].shape == Shape{2, 1, 4});
    CHECK(eval(g, m) == V{8, 9, 10, 11, 20, 21, 22, 23});
    CHECK(eval(g, b::mean(g, x, {-1})) == V{1.5, 5.5, 9.5, 13.5, 17.5, 21.5});
    CHECK(eval(g, b::reduce_max(g, b::mul(g, x, -1.0), {0, 1, 2})) == V{0});
    // Sequential f32 accumulation would give 2^24 (each +1 is lost); fp64 keeps both.
    NodeId big = b::input(g, "big", {3}, DType::f32);
    Feeds f{{"big", tensor(DType::f32, {3}, {16777216, 1, 1})}};
    CHECK(eval(g, b::sum(g, big, {0}), f) == V{16777218});
    NodeId ints = b::iota(g, {2, 3}, 1, DType::i32);
    CHECK(eval(g, b::sum(g, ints, {1})) == V{3, 3});
}

TEST_CASE("interpreter: reshape, permute and broadcast") {
    Graph g;
    NodeId x = b::reshape(g, b::iota(g, {6}, 0, DType::f32), {2, 3});
    CHECK(eval(g, b::reshape(g, x, {3, 2})) == V{0, 1, 2, 3, 4, 5});
    CHECK(eval(g, b::transpose(g, x, 0, 1)) == V{0, 3, 1, 4, 2, 5});
    NodeId y = b::reshape(g, b::iota(g, {24}, 0, DType::f32), {2, 3, 4});
    NodeId p = b::permute(g, y, {2, 0, 1});  // p[k,i,j] = y[i,j,k] = 12i + 4j + k
    CHECK(g[p].shape == Shape{4, 2, 3});
    V r = eval(g, p);
    for (int k = 0; k < 4; ++k)
        for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 3; ++j) CHECK(r[k * 6 + i * 3 + j] == 12 * i + 4 * j + k);
    NodeId col = b::reshape(g, b::iota(g, {3}, 0, DType::f32), {3, 1});
    CHECK(eval(g, b::broadcast_to(g, col, {3, 2})) == V{0, 0, 1, 1, 2, 2});
    CHECK(eval(g, b::broadcast_to(g, b::iota(g, {3}, 0, DType::f32), {2, 3})) ==
          V{0, 1, 2, 0, 1, 2});
    CHECK(eval(g, b::broadcast_to(g, b::constant(g, 7, {}), {2})) == V{7, 7});
}

TEST_CASE("interpreter: slice with steps, pad and concat") {
    Graph g;
    NodeId x = b::iota(g, {10}, 0, DType::f32);
    CHECK(eval(g, b::slice(g, x, 0, 1, 8, 3)) == V{1, 4, 7});
    CHECK(eval(g, b::slice(g, x, 0, 2, 10, 4)) == V{2, 6});
    NodeId m = b::reshape(g, b::iota(g, {12}, 0, DType::f32), {3, 4});
    NodeId rows = b::slice(g, m, 0, 1, 3);
    NodeId both = b::slice(g, rows, 1, 0, 4, 2);
    CHECK(g[both].shape == Shape{2, 2});
    CHECK(eval(g, both) == V{4, 6, 8, 10});

    NodeId sq = b::reshape(g, b::iota(g, {4}, 0, DType::f32), {2, 2});
    NodeId padded = b::pad(g, sq, {1, 0}, {0, 1}, -1);
    CHECK(g[padded].shape == Shape{3, 3});
    CHECK(eval(g, padded) == V{-1, -1, -1, 0, 1, -1, 2, 3, -1});
    CHECK(eval(g, b::pad(g, b::iota(g, {2}, 0, DType::bf16), {0}, {1}, 0.1)) ==
          V{0, 1, 0.10009765625});

    NodeId left = b::reshape(g, b::constant(g, 9, {2}), {2, 1});
    NodeId cat = b::concat(g, {left, sq}, 1);
    CHECK(g[cat].shape == Shape{2, 3});
    CHECK(eval(g, cat) == V{9, 0, 1, 9, 2, 3});
    CHECK(eval(g, b::concat(g, {sq, sq, left}, -1)) == V{0, 1, 0, 1, 9, 2, 3, 2, 3, 9});
    CHECK(eval(g, b::concat(g, {sq, b::constant(g, 5, {1, 2})}, 0)) == V{0, 1, 2, 3, 5, 5});
}

TEST_CASE("interpreter: gather and scatter_add") {
    Graph g;
    NodeId table = b::reshape(g, b::iota(g, {6}, 0, DType::f32), {3, 2});
    NodeId idx = b::input(g, "idx", {2, 2}, DType::i32);
    NodeId gathered = b::gather(g, table, idx);
    CHECK(g[gathered].shape == Shape{2, 2, 2});
    CHECK(eval(g, gathered, {{"idx", tensor(DType::i32, {2, 2}, {2, 0, 1, 2})}}) ==
          V{4, 5, 0, 1, 2, 3, 4, 5});
    std::string bad = error_of([&] {
        eval(g, gathered, {{"idx", tensor(DType::i32, {2, 2}, {0, 3, 1, 1})}});
    });
    CHECK(contains(bad, "gather"));
    CHECK(contains(bad, "index 3"));
    CHECK(contains(bad, "[0, 3)"));
    CHECK(contains(error_of([&] {
                       eval(g, gathered, {{"idx", tensor(DType::i32, {2, 2}, {0, -1, 1, 1})}});
                   }),
                   "index -1"));

    NodeId vec = b::iota(g, {4}, 0, DType::f32);
    NodeId pick = b::constant(g, 2, {1}, DType::i64);
    CHECK(eval(g, b::gather(g, vec, pick)) == V{2});

    NodeId sidx = b::input(g, "sidx", {3}, DType::i64);
    NodeId src = b::add(g, b::reshape(g, b::iota(g, {6}, 0, DType::f32), {3, 2}), 1.0);
    NodeId scattered = b::scatter_add(g, sidx, src, 3);
    CHECK(g[scattered].shape == Shape{3, 2});
    CHECK(eval(g, scattered, {{"sidx", tensor(DType::i64, {3}, {1, 0, 1})}}) ==
          V{3, 4, 6, 8, 0, 0});
    CHECK(contains(error_of([&] {
                       eval(g, scattered, {{"sidx", tensor(DType::i64, {3}, {1, 5, 1})}});
                   }),
                   "scatter_add: index 5"));
}

TEST_CASE("interpreter: batched matmul") {
    Graph g;
    NodeId a = b::input(g, "a", {2, 2, 3}, DType::f32);
    NodeId c = b::input(g, "c", {2, 3, 1}, DType::f32);
    Feeds f{{"a", tensor(DType::f32, {2, 2, 3}, {1, 2, 3, 4, 5, 6, 1, 0, -1, 2, 2, 2})},
            {"c", tensor(DType::f32, {2, 3, 1}, {1, 1, 1, 3, 4, 5})}};
    NodeId m = b::matmul(g, a, c);
    CHECK(g[m].shape == Shape{2, 2, 1});
    CHECK(eval(g, m, f) == V{6, 15, -2, 24});
    NodeId sq = b::reshape(g, b::iota(g, {4}, 0, DType::f32), {2, 2});  // [[0,1],[2,3]]
    CHECK(eval(g, b::matmul(g, sq, sq)) == V{2, 3, 6, 11});
}

TEST_CASE("interpreter: runtime scalars, params and interpret_all order") {
    Graph g;
    NodeId w = b::param(g, "w", {2});
    NodeId lr = b::scalar(g, "lr");
    NodeId loss = b::sum(g, b::mul(g, w, w), {0});
    NodeId next = b::sub(g, w, b::mul(g, b::mul(g, w, 2.0), lr));
    g.set_output("loss", loss);
    g.set_output("w2", b::mul(g, w, 2.0));
    g.add_update(w, next);
    Feeds f{{"w", tensor(DType::f32, {2}, {1, -3})}, {"lr", tensor(DType::f32, {}, {0.25})}};
    std::vector<HostTensor> r = interpret_all(g, f);
    REQUIRE(r.size() == 3);
    CHECK(r[0].to_doubles() == V{10});
    CHECK(r[1].to_doubles() == V{2, -6});
    CHECK(r[2].to_doubles() == V{0.5, -1.5});
    f["lr"] = tensor(DType::f32, {}, {0.5});
    CHECK(interpret_all(g, f)[2].to_doubles() == V{0, 0});
    CHECK(eval(g, b::reshape(g, loss, {}), f) == V{10});
}

TEST_CASE("interpreter: requested intermediates survive their users") {
    Graph g;
    NodeId x = b::input(g, "x", {3}, DType::f32);
    NodeId sq = b::mul(g, x, x);
    NodeId total = b::sum(g, sq, {0});
    Feeds f{{"x", tensor(DType::f32, {3}, {1, 2, 3})}};
    std::vector<HostTensor> r = interpret(g, f, {sq, total, sq, x});
    REQUIRE(r.size() == 4);
    CHECK(r[0].to_doubles() == V{1, 4, 9});
    CHECK(r[1].to_doubles() == V{14});
    CHECK(r[2].to_doubles() == V{1, 4, 9});
    CHECK(r[3].to_doubles() == V{1, 2, 3});
}

TEST_CASE("interpreter: feeds are checked, only needed leaves must be fed") {
    Graph g;
    NodeId x = b::input(g, "tokens", {2, 3}, DType::i32);
    NodeId y = b::input(g, "unused", {4}, DType::f32);
    NodeId s = b::sum(g, x, {1});
    (void)y;
    CHECK(eval(g, s, {{"tokens", tensor(DType::i32, {2, 3}, {1, 2, 3, 4, 5, 6})}}) == V{6, 15});
    std::string missing = error_of([&] { interpret(g, {}, {s}); });
    CHECK(contains(missing, "'tokens'"));
    CHECK(contains(missing, "i32[2,3]"));
    std::string shape = error_of([&] {
        interpret(g, {{"tokens", tensor(DType::i32, {3, 2}, V(6, 0))}}, {s});
    });
    CHECK(contains(shape, "'tokens'"));
    CHECK(contains(shape, "i32[3,2]"));
    CHECK(contains(shape, "i32[2,3]"));
    std::string dtype = error_of([&] {
        interpret(g, {{"tokens", tensor(DType::i64, {2, 3}, V(6, 0))}}, {s});
    });
    CHECK(contains(dtype, "i64[2,3]"));
    CHECK(contains(dtype, "i32[2,3]"));
    CHECK(contains(error_of([&] { interpret(g, {}, {99}); }), "node 99"));
}

TEST_CASE("interpreter: composite ops run their reference decomposition") {
    Graph g;
    NodeId x = b::input(g, "x", {2, 3}, DType::f32);
    V xs{1, 2, 3, 0, 0, 0};
    Feeds f{{"x", tensor(DType::f32, {2, 3}, xs)}};
    V sm = eval(g, b::softmax(g, x), f);
    double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    for (int j = 0; j < 3; ++j) {
        CHECK(sm[j] == doctest::Approx(std::exp(j + 1.0) / z).epsilon(1e-6));
        CHECK(sm[3 + j] == doctest::Approx(1.0 / 3).epsilon(1e-6));
    }
    V lsm = eval(g, b::log_softmax(g, x), f);
    CHECK(lsm[0] == doctest::Approx(1 - std::log(z)).epsilon(1e-6));

    NodeId t = b::input(g, "t", {2}, DType::i64);
    f["t"] = tensor(DType::i64, {2}, {2, 1});
    V ce = eval(g, b::cross_entropy(g, x, t), f);
    CHECK(ce[0] == doctest::Approx(std::log(z) - 3).epsilon(1e-6));
    CHECK(ce[1] == doctest::Approx(std::log(3.0)).epsilon(1e-6));

    V rn = eval(g, b::rms_norm(g, x, 1e-6), f);
    double rms = std::sqrt((1 + 4 + 9) / 3.0 + 1e-6);
    CHECK(rn[2] == doctest::Approx(3 / rms).epsilon(1e-6));
    // A composite feeding another composite, the inner one decomposed independently.
    V nested = eval(g, b::softmax(g, b::softmax(g, x)), f);
    CHECK(nested[3] == doctest::Approx(1.0 / 3).epsilon(1e-6));
}

TEST_CASE("interpreter: causal attention with grouped kv heads") {
    Graph g;
    // q [1, 2, 2, 1] with two query heads sharing one kv head; position 0 sees only itself.
    NodeId q = b::input(g, "q", {1, 2, 2, 1}, DType::f32);
    NodeId kv = b::input(g, "kv", {1, 1, 2, 1}, DType::f32);
    Feeds f{{"q", tensor(DType::f32, {1, 2, 2, 1}, {1, 1, 0, 0})},
            {"kv", tensor(DType::f32, {1, 1, 2, 1}, {2, 4})}};
    V out = eval(g, b::attention(g, q, kv, kv, 1.0), f);
    // Head 0, t=1: weights softmax(1*2, 1*4) over values (2, 4). Head 1: q = 0, equal weights.
    double w0 = std::exp(2.0), w1 = std::exp(4.0);
    CHECK(out[0] == 2);
    CHECK(out[1] == doctest::Approx((2 * w0 + 4 * w1) / (w0 + w1)).epsilon(1e-6));
    CHECK(out[2] == 2);
    CHECK(out[3] == doctest::Approx(3).epsilon(1e-6));
}
