// Finite-difference gradient checks of autodiff for every primitive and composite op, plus the
// contract of gradients(): zero constants for unrelated nodes, total derivatives through
// intermediate nodes, repeated operands, no gradients through comparisons and integers, bf16
// gradients, and the errors on bad requests.
//
// Method: for an op result y, loss = sum(y * w) with fixed random weights w (so no entry of the
// gradient is degenerate); the analytic gradients are interpreted and compared with central
// differences of the interpreted loss, element by element. The interpreter rounds every node to
// f32, so the loss carries a rounding noise of about eps_f32 * |loss| (eps = 6e-8) and the FD
// estimate an error of about eps * |loss| / h + |f'''| h^2 / 6; the step h = 5e-3 * max(1, |x|)
// is near the optimum cbrt(3 eps). Measured errors are 3e-6 to 1e-4 for most ops and 2e-4 for
// Recip (|f'''| = 6 / x^4 reaches 70 at x = 0.3). The normwise tolerance kFdTol = 1e-3 leaves a 5x
// margin over the worst while still catching any wrong rule (a missing factor or sign is an O(1)
// error). Inputs of non-smooth ops (Relu, Abs, Max, Min, ReduceMax) are kept farther than h from
// their kinks and ties.
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>
#include <random>

#include "base/error.h"
#include "graph/autodiff.h"
#include "graph/build.h"
#include "graph/composite.h"
#include "graph/interpreter.h"

using namespace pg;
namespace b = pg::build;

namespace {

constexpr double kFdStep = 5e-3;
constexpr double kFdTol = 1e-3;

using V = std::vector<double>;

std::mt19937_64& rng() {
    static std::mt19937_64 r(20240611);
    return r;
}

V uniform(int64_t n, double lo, double hi) {
    std::uniform_real_distribution<double> d(lo, hi);
    V v(static_cast<size_t>(n));
    for (double& x : v) x = d(rng());
    return v;
}

// Random signs, magnitudes in [lo, hi]: keeps inputs away from kinks at 0.
V away_from_zero(int64_t n, double lo, double hi) {
    V v = uniform(n, lo, hi);
    std::bernoulli_distribution coin(0.5);
    for (double& x : v)
        if (coin(rng())) x = -x;
    return v;
}

// Distinct values spaced by 0.1 in random order: no ties within 2h for max reductions.
V distinct(int64_t n) {
    V v(static_cast<size_t>(n));
    for (size_t i = 0; i < v.size(); ++i)
        v[i] = 0.1 * static_cast<double>(i) - 0.05 * static_cast<double>(n);
    std::shuffle(v.begin(), v.end(), rng());
    return v;
}

double normwise_error(const V& a, const V& ref) {
    double num = 0, den = 1e-30;
    for (size_t i = 0; i < a.size(); ++i) {
        num = std::max(num, std::abs(a[i] - ref[i]));
        den = std::max(den, std::abs(ref[i]));
    }
    return num / den;
}

// A graph under test: its differentiable leaves (f32 Params), its data leaves and the op result.
struct Case {
    Graph g;
    Feeds feeds;
    std::vector<NodeId> vars;
    NodeId y = kNoNode;

    NodeId var(const std::string& name, const Shape& s, const V& values) {
        NodeId id = b::param(g, name, s, DType::f32);
        feeds[name] = HostTensor::from_doubles(DType::f32, s, values);
        vars.push_back(id);
        return id;
    }
    NodeId var(const std::string& name, const Shape& s, double lo = -1.5, double hi = 1.5) {
        return var(name, s, uniform(numel(s), lo, hi));
    }
    NodeId data(const std::string& name, const Shape& s, DType t, const V& values) {
        NodeId id = b::input(g, name, s, t);
        feeds[name] = HostTensor::from_doubles(t, s, values);
        return id;
    }
};

// loss = sum(cast(y, f32) * w) as a [] node, with w a fixed random input.
NodeId weighted_loss(Case& c, NodeId y) {
    Shape ys = c.g[y].shape;
    NodeId w = c.data("fd_weights", ys, DType::f32, uniform(numel(ys), -1.0, 1.0));
    std::vector<int64_t> axes(ys.size());
    std::iota(axes.begin(), axes.end(), 0);
    NodeId s = b::sum(c.g, b::mul(c.g, b::cast(c.g, y, DType::f32), w), axes);
    return b::reshape(c.g, s, {});
}

double eval_scalar(const Graph& g, const Feeds& feeds, NodeId id) {
    return interpret(g, feeds, {id})[0].get(0);
}

// The worst normwise error of the analytic gradients against central differences, over all vars.
double fd_error(Case& c, NodeId loss) {
    std::vector<NodeId> grads = gradients(c.g, loss, c.vars);
    std::vector<HostTensor> analytic = interpret(c.g, c.feeds, grads);
    double worst = 0;
    for (size_t k = 0; k < c.vars.size(); ++k) {
        const Node& v = c.g[c.vars[k]];
        CHECK(analytic[k].shape == v.shape);
        CHECK(analytic[k].dtype == v.dtype);
        Feeds f = c.feeds;
        HostTensor& x = f.at(v.name);
        V fd(static_cast<size_t>(x.numel()));
        for (int64_t i = 0; i < x.numel(); ++i) {
            double x0 = x.get(i), h = kFdStep * std::max(1.0, std::abs(x0));
            x.set(i, x0 + h);
            double xp = x.get(i), lp = eval_scalar(c.g, f, loss);
            x.set(i, x0 - h);
            double xm = x.get(i), lm = eval_scalar(c.g, f, loss);
            x.set(i, x0);
            fd[static_cast<size_t>(i)] = (lp - lm) / (xp - xm);
        }
        double err = normwise_error(analytic[k].to_doubles(), fd);
        INFO("gradient of ", v.name, ": error ", err);
        worst = std::max(worst, err);
    }
    return worst;
}

// FD-checks the gradients of c.y with respect to every var of c.
void check_case(Case& c, const std::string& what, double tol = kFdTol) {
    NodeId loss = weighted_loss(c, c.y);
    double err = fd_error(c, loss);
    INFO(what, ": worst normwise error ", err);
    CHECK(err <= tol);
}

// FD-checks a composite twice: through its gradient rule, and after decompose() (the gradient of
// the primitive expansion).
void check_composite(Case& c, const std::string& what) {
    check_case(c, what + " (graph with composites)");
    Case d;
    d.g = decompose([&] {
        Graph g = c.g;
        g.set_output("y", c.y);
        return g;
    }());
    d.feeds = c.feeds;
    d.feeds.erase("fd_weights");
    d.y = d.g.output("y");
    for (NodeId v : c.vars) d.vars.push_back(d.g.find_leaf(c.g[v].name));
    check_case(d, what + " (decomposed)");
}

}  // namespace

TEST_CASE("autodiff: unary ops match finite differences") {
    struct U {
        Op op;
        double lo, hi;
        bool away;  // magnitudes in [lo, hi] with random signs
    };
    const U cases[] = {
        {Op::Neg, -1.5, 1.5, false},  {Op::Exp, -1.5, 1.5, false}, {Op::Log, 0.3, 2.0, false},
        {Op::Tanh, -1.5, 1.5, false}, {Op::Sigmoid, -2, 2, false}, {Op::Sqrt, 0.3, 2.0, false},
        {Op::Rsqrt, 0.3, 2.0, false}, {Op::Abs, 0.2, 1.5, true},   {Op::Relu, 0.2, 1.5, true},
        {Op::Sin, -3.0, 3.0, false},  {Op::Cos, -3.0, 3.0, false}, {Op::Recip, 0.3, 1.5, true}};
    for (const U& u : cases) {
        Case c;
        Shape s{3, 4};
        NodeId x = c.var("x", s, u.away ? away_from_zero(12, u.lo, u.hi) : uniform(12, u.lo, u.hi));
        c.y = b::unary(c.g, u.op, x);
        check_case(c, std::string(op_name(u.op)));
    }
}

TEST_CASE("autodiff: cast passes the gradient through and casts it back") {
    // Values and step on the bf16 grid (multiples of 1/16 in [-1, 1]) make the round trip through
    // bf16 exact, so the central difference sees the identity.
    Case c;
    V v(12);
    for (size_t i = 0; i < v.size(); ++i) v[i] = (static_cast<double>(i) - 6.0) / 16.0;
    NodeId x = c.var("x", {3, 4}, v);
    NodeId xb = b::cast(c.g, x, DType::bf16);
    CHECK(c.g[xb].op == Op::Cast);
    c.y = b::cast(c.g, xb, DType::f32);
    NodeId loss = weighted_loss(c, c.y);
    NodeId gx = gradients(c.g, loss, {x})[0];
    CHECK(c.g[gx].dtype == DType::f32);
    V w = c.feeds.at("fd_weights").to_doubles();
    V got = interpret(c.g, c.feeds, {gx})[0].to_doubles();
    // The weight passes through bf16 on the way back: exact up to bf16 rounding (2^-9 relative).
    CHECK(normwise_error(got, w) <= 4e-3);
}

TEST_CASE("autodiff: binary ops and select match finite differences") {
    Shape s{3, 4};
    SUBCASE("elementwise binary ops") {
        for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min, Op::Pow}) {
            Case c;
            V av = op == Op::Pow ? uniform(12, 0.5, 2.0) : uniform(12, -1.5, 1.5);
            V bv = op == Op::Div ? away_from_zero(12, 0.4, 1.5) : uniform(12, -1.5, 1.5);
            if (op == Op::Max || op == Op::Min) {  // b differs from a by at least 0.1: no ties
                V off = away_from_zero(12, 0.1, 0.6);
                for (size_t i = 0; i < bv.size(); ++i) bv[i] = av[i] + off[i];
            }
            NodeId a = c.var("a", s, av);
            NodeId bb = c.var("b", s, bv);
            c.y = b::binary(c.g, op, a, bb);
            check_case(c, std::string(op_name(op)));
        }
    }
    SUBCASE("broadcast operands reduce their gradient back (sum_to)") {
        Case c;
        NodeId a = c.var("a", {3, 1});
        NodeId bb = c.var("b", {4});
        c.y = b::mul(c.g, b::add(c.g, a, bb), a);
        check_case(c, "broadcast add/mul");
    }
    SUBCASE("select sends the gradient to the chosen branch, none to the condition") {
        Case c;
        NodeId cond = c.data("cond", s, DType::boolean, {1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 1, 0});
        NodeId a = c.var("a", s);
        NodeId bb = c.var("b", s);
        c.y = b::select(c.g, cond, b::unary(c.g, Op::Exp, a), b::mul(c.g, bb, bb));
        check_case(c, "select");
    }
    SUBCASE("ties of max and min go to the first operand") {
        Case c;
        NodeId a = c.var("a", {4}, {1, 2, 3, 4});
        NodeId bb = c.var("b", {4}, {1, 0, 3, 5});
        NodeId mx = b::binary(c.g, Op::Max, a, bb);
        NodeId mn = b::binary(c.g, Op::Min, a, bb);
        NodeId loss = b::reshape(c.g, b::sum(c.g, b::add(c.g, mx, b::mul(c.g, mn, 10.0)), {0}), {});
        std::vector<NodeId> gr = gradients(c.g, loss, {a, bb});
        std::vector<HostTensor> r = interpret(c.g, c.feeds, gr);
        CHECK(r[0].to_doubles() == V{11, 1, 11, 10});
        CHECK(r[1].to_doubles() == V{0, 10, 0, 1});
    }
}

TEST_CASE("autodiff: comparisons, logic and integer values carry no gradient") {
    Case c;
    Shape s{2, 3};
    NodeId a = c.var("a", s);
    NodeId bb = c.var("b", s);
    NodeId acc = b::constant(c.g, 0.0, s);
    for (Op op : {Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne}) {
        NodeId cmp = b::binary(c.g, op, a, bb);
        NodeId logic =
            b::binary(c.g, Op::Or, b::binary(c.g, Op::And, cmp, cmp), b::unary(c.g, Op::Not, cmp));
        acc = b::add(c.g, acc, b::cast(c.g, logic, DType::f32));
    }
    NodeId as_int = b::cast(c.g, b::cast(c.g, a, DType::i32), DType::f32);
    acc = b::add(c.g, acc, as_int);
    NodeId loss = b::reshape(c.g, b::sum(c.g, acc, {0, 1}), {});
    for (NodeId gr : gradients(c.g, loss, {a, bb})) {
        CHECK(c.g[gr].op == Op::Const);
        CHECK(c.g[gr].scalar == 0.0);
        CHECK(c.g[gr].shape == s);
    }
}

TEST_CASE("autodiff: reductions match finite differences") {
    SUBCASE("sum over some and over all axes") {
        Case c;
        NodeId x = c.var("x", {3, 4, 5});
        NodeId s02 = b::sum(c.g, x, {0, 2});
        NodeId all = b::sum(c.g, b::unary(c.g, Op::Sin, x), {0, 1, 2});
        c.y = b::mul(c.g, s02, all);
        check_case(c, "sum");
    }
    SUBCASE("reduce_max without ties") {
        Case c;
        NodeId x = c.var("x", {3, 4, 5}, distinct(60));
        c.y = b::add(c.g, b::reduce_max(c.g, x, {1}), b::reduce_max(c.g, x, {0, 2}));
        check_case(c, "reduce_max");
    }
    SUBCASE("reduce_max splits the gradient evenly among ties") {
        Case c;
        NodeId x = c.var("x", {2, 3}, {1, 3, 3, 5, 2, 5});
        NodeId loss = b::reshape(c.g, b::sum(c.g, b::reduce_max(c.g, x, {1}), {0, 1}), {});
        std::vector<HostTensor> r = interpret(c.g, c.feeds, gradients(c.g, loss, {x}));
        CHECK(r[0].to_doubles() == V{0, 0.5, 0.5, 0.5, 0, 0.5});
    }
}

TEST_CASE("autodiff: movement ops match finite differences") {
    SUBCASE("reshape, permute, broadcast") {
        Case c;
        NodeId x = c.var("x", {2, 3, 4});
        NodeId r = b::reshape(c.g, x, {4, 6});
        NodeId p = b::permute(c.g, b::reshape(c.g, r, {2, 3, 4}), {2, 0, 1});
        NodeId v = c.var("v", {4, 1, 3});
        NodeId bc = b::broadcast_to(c.g, v, {4, 2, 3});
        NodeId u = c.var("u", {3});
        NodeId bu = b::broadcast_to(c.g, u, {4, 2, 3});
        c.y = b::mul(c.g, b::add(c.g, p, bc), bu);
        check_case(c, "reshape/permute/broadcast");
    }
    SUBCASE("slice with unit and larger steps") {
        Case c;
        NodeId x = c.var("x", {7, 10});
        Node s1;  // rows 1..4, columns 1..5
        s1.op = Op::Slice;
        s1.inputs = {x};
        s1.shape = {4, 5};
        s1.ints = {1, 1, 1, 1};
        // rows 2, 4, 6 (3 * 2 > 5 rows after the start: trimmed) and columns 0, 3 (2 * 3 < 10:
        // padded)
        Node s2 = s1;
        s2.shape = {3, 2};
        s2.ints = {2, 0, 2, 3};
        NodeId a = c.g.add(s1);
        NodeId bb = c.g.add(s2);
        NodeId rows = b::slice(c.g, x, 0, 1, 7, 3);  // rows 1, 4
        c.y = b::concat(
            c.g, {b::reshape(c.g, a, {20}), b::reshape(c.g, bb, {6}), b::reshape(c.g, rows, {20})},
            0);
        check_case(c, "slice");
    }
    SUBCASE("pad with a nonzero value") {
        Case c;
        NodeId x = c.var("x", {3, 4});
        c.y = b::unary(c.g, Op::Exp, b::pad(c.g, x, {1, 0}, {2, 3}, 0.5));
        check_case(c, "pad");
    }
    SUBCASE("concat, including an operand used twice") {
        Case c;
        NodeId a = c.var("a", {2, 3});
        NodeId bb = c.var("b", {4, 3});
        NodeId d = c.var("d", {1, 3});
        NodeId rows = b::concat(c.g, {a, bb, d, a}, 0);
        c.y = b::concat(c.g, {rows, b::unary(c.g, Op::Tanh, rows)}, 1);
        check_case(c, "concat");
    }
}

TEST_CASE("autodiff: gather, scatter_add and matmul match finite differences") {
    SUBCASE("gather with repeated indices accumulates into the rows") {
        Case c;
        NodeId table = c.var("table", {5, 3});
        NodeId idx = c.data("idx", {2, 3}, DType::i64, {4, 0, 4, 2, 2, 4});
        c.y = b::gather(c.g, table, idx);
        check_case(c, "gather");
    }
    SUBCASE("scatter_add gathers the gradient of its source") {
        Case c;
        NodeId idx = c.data("idx", {6}, DType::i32, {3, 0, 3, 1, 3, 0});
        NodeId src = c.var("src", {6, 2});
        c.y = b::unary(c.g, Op::Tanh, b::scatter_add(c.g, idx, src, 4));
        check_case(c, "scatter_add");
    }
    SUBCASE("batched matmul") {
        Case c;
        NodeId a = c.var("a", {2, 3, 4});
        NodeId bb = c.var("b", {2, 4, 5});
        c.y = b::matmul(c.g, a, bb);
        check_case(c, "matmul");
    }
    SUBCASE("leaves: iota and constants get no gradient, their users do") {
        Case c;
        NodeId x = c.var("x", {3, 4});
        NodeId io = b::iota(c.g, {3, 4}, 1, DType::f32);
        c.y = b::add(c.g, b::mul(c.g, x, io), b::constant(c.g, 2.0, {3, 4}));
        check_case(c, "iota/const");
    }
}

TEST_CASE("autodiff: composite ops match finite differences, with and without decomposition") {
    SUBCASE("softmax and log_softmax") {
        Case c;
        NodeId x = c.var("x", {3, 5}, -3, 3);
        c.y = b::concat(c.g, {b::softmax(c.g, x), b::log_softmax(c.g, x)}, 0);
        check_composite(c, "softmax/log_softmax");
    }
    SUBCASE("cross_entropy without softcap") {
        Case c;
        NodeId logits = c.var("logits", {4, 6}, -3, 3);
        NodeId t = c.data("t", {4}, DType::i64, {0, 5, 2, 2});
        c.y = b::cross_entropy(c.g, logits, t);
        check_composite(c, "cross_entropy");
    }
    SUBCASE("cross_entropy with softcap") {
        Case c;
        NodeId logits = c.var("logits", {4, 6}, -4, 4);
        NodeId t = c.data("t", {4}, DType::i32, {1, 3, 0, 5});
        c.y = b::cross_entropy(c.g, logits, t, 2.0);  // small cap: tanh is far from linear here
        check_composite(c, "cross_entropy softcap");
    }
    SUBCASE("linear_cross_entropy with softcap, both result columns") {
        Case c;
        NodeId x = c.var("x", {4, 5}, -2, 2);
        NodeId w = c.var("w", {6, 5}, -2, 2);
        NodeId t = c.data("t", {4}, DType::i64, {0, 5, 2, 6});  // 6: out of range, picks nothing
        c.y = b::linear_cross_entropy(c.g, x, w, t, 2.0);     // loss and lse: the rule's g1 term too
        check_composite(c, "linear_cross_entropy");
    }
    SUBCASE("rms_norm") {
        Case c;
        NodeId x = c.var("x", {2, 3, 8});
        c.y = b::rms_norm(c.g, x, 1e-5);
        check_composite(c, "rms_norm");
    }
    SUBCASE("rope, partial and full rotation") {
        Case c;
        NodeId x = c.var("x", {2, 4, 2, 6});
        c.y = b::add(c.g, b::rope(c.g, x, 4, 100.0), b::rope(c.g, x, 6, 10000.0));
        check_composite(c, "rope");
    }
    SUBCASE("attention, causal GQA") {
        Case c;
        NodeId q = c.var("q", {1, 4, 4, 3});
        NodeId k = c.var("k", {1, 2, 4, 3});
        NodeId v = c.var("v", {1, 2, 4, 3});
        c.y = b::attention(c.g, q, k, v, 0.6);
        check_composite(c, "attention");
    }
    SUBCASE("attention, causal GQA with document masking at BOS") {
        Case c;
        NodeId q = c.var("q", {2, 2, 5, 3});
        NodeId k = c.var("k", {2, 1, 5, 3});
        NodeId v = c.var("v", {2, 1, 5, 3});
        NodeId docs = c.data("docs", {2, 5}, DType::i32, {0, 0, 2, 2, 4, 0, 1, 1, 1, 1});
        c.y = b::attention(c.g, q, k, v, 0.6, docs);
        check_composite(c, "attention, doc-masked");
    }
    SUBCASE("attention with one value as q, k and v") {
        Case c;
        NodeId x = c.var("x", {2, 2, 3, 4});
        c.y = b::attention(c.g, x, x, x, 0.5);
        check_composite(c, "attention(x, x, x)");
    }
}

TEST_CASE("autodiff: gradients() contract") {
    SUBCASE("a node the loss does not depend on gets a zero constant") {
        Case c;
        NodeId x = c.var("x", {3});
        NodeId unused = b::param(c.g, "unused", {2, 2}, DType::bf16);
        NodeId loss = b::reshape(c.g, b::sum(c.g, b::unary(c.g, Op::Exp, x), {0}), {});
        NodeId gu = gradients(c.g, loss, {x, unused})[1];
        CHECK(c.g[gu].op == Op::Const);
        CHECK(c.g[gu].scalar == 0.0);
        CHECK(c.g[gu].shape == Shape{2, 2});
        CHECK(c.g[gu].dtype == DType::bf16);
    }
    SUBCASE("gradients with respect to an intermediate node and its input are total derivatives") {
        Case c;
        NodeId x = c.var("x", {4}, {0.1, -0.5, 1.0, 2.0});
        NodeId t = b::unary(c.g, Op::Exp, x);
        NodeId loss = b::reshape(
            c.g, b::sum(c.g, b::add(c.g, b::mul(c.g, t, 3.0), b::mul(c.g, x, x)), {0}), {});
        std::vector<NodeId> gr = gradients(c.g, loss, {t, x});
        std::vector<HostTensor> r = interpret(c.g, c.feeds, gr);
        V xs = c.feeds.at("x").to_doubles(), want(4);
        for (size_t i = 0; i < 4; ++i) want[i] = 3.0 * std::exp(xs[i]) + 2.0 * xs[i];
        CHECK(r[0].to_doubles() == V{3, 3, 3, 3});
        CHECK(normwise_error(r[1].to_doubles(), want) <= 1e-6);  // a few f32 roundings
    }
    SUBCASE("an operand used twice gets both contributions") {
        Case c;
        NodeId x = c.var("x", {2, 3});
        c.y = b::mul(c.g, x, x);
        check_case(c, "mul(x, x)");
    }
    SUBCASE("bf16 values get bf16 gradients close to the f32 ones") {
        Case c;
        V xv = uniform(2 * 3 * 8, -1.5, 1.5);
        NodeId x32 = c.var("x32", {2, 3, 8}, xv);
        NodeId x16 = b::param(c.g, "x16", {2, 3, 8}, DType::bf16);
        c.feeds["x16"] = HostTensor::from_doubles(DType::bf16, {2, 3, 8}, xv);
        c.feeds["x32"] =
            HostTensor::from_doubles(DType::f32, {2, 3, 8}, c.feeds["x16"].to_doubles());
        NodeId w = c.data("w", {2, 3, 8}, DType::f32, uniform(48, -1, 1));
        auto loss_of = [&](NodeId x) {
            NodeId y = b::cast(c.g, b::softmax(c.g, b::rms_norm(c.g, x, 1e-5)), DType::f32);
            return b::reshape(c.g, b::sum(c.g, b::mul(c.g, y, w), {0, 1, 2}), {});
        };
        NodeId g16 = gradients(c.g, loss_of(x16), {x16})[0];
        NodeId g32 = gradients(c.g, loss_of(x32), {x32})[0];
        CHECK(c.g[g16].dtype == DType::bf16);
        std::vector<HostTensor> r = interpret(c.g, c.feeds, {g16, g32});
        // bf16 keeps 8 significant bits (relative rounding 2^-9 = 2e-3) at every bf16 node of
        // the chain; a few such roundings stay within 3e-2 of the f32 gradient.
        CHECK(normwise_error(r[0].to_doubles(), r[1].to_doubles()) <= 3e-2);
    }
    SUBCASE("bad requests are user errors") {
        Case c;
        NodeId x = c.var("x", {3});
        NodeId y = b::unary(c.g, Op::Exp, x);
        CHECK_THROWS_AS(gradients(c.g, y, {x}), Error);  // not a scalar
        NodeId loss = b::reshape(c.g, b::sum(c.g, y, {0}), {});
        NodeId idx = c.data("idx", {3}, DType::i64, {0, 1, 2});
        CHECK_THROWS_AS(gradients(c.g, loss, {idx}), Error);  // integer node
    }
}
