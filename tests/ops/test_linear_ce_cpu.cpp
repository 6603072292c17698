// Tests of the CPU linear cross-entropy passes (ops/cross_entropy/linear_ce_cpu.h) against the
// fp64 reference interpreter, which evaluates LinearCrossEntropy and its gradient through their
// reference decompositions (the whole [N, V] logits). Shapes are ragged against the tiles (N and V
// multiples of neither the row block nor the column tile), with softcap 0 and 30, i32 and i64
// targets, one target out of range (it picks nothing: loss = lse) and a gradient on both columns
// of the result (the lse column's term of the gradient rule).
//
// Tolerance: normwise relative 2e-6. The passes run in f32: a logit is a d-term dot product
// (d <= 24), the log-sum-exp an online sum over V <= 150 terms rescaled once per tile, and a
// gradient element a sum of up to max(N, V) products of O(1) terms, each step rounding at 2^-24
// = 6e-8 relative; measured worst 3e-7 (dW). A wrong tile edge or mask moves results by O(1).
#include <doctest/doctest.h>

#include <random>

#include "graph/build.h"
#include "graph/interpreter.h"
#include "ops/cross_entropy/linear_ce_cpu.h"

using namespace pg;
namespace b = pg::build;

namespace {

constexpr double kTol = 2e-6;

struct CeCase {
    int64_t n, d, v;
    double cap;
    DType targets;
    ce::CpuTiles tiles;
};

HostTensor random_tensor(const Shape& s, double scale, uint64_t seed) {
    std::mt19937_64 r(seed);
    std::uniform_real_distribution<double> u(-scale, scale);
    std::vector<double> v(static_cast<size_t>(numel(s)));
    for (double& x : v) x = u(r);
    return HostTensor::from_doubles(DType::f32, s, v);
}

// Targets in [0, V), the last one V (out of range).
HostTensor targets_of(const CeCase& c) {
    std::mt19937_64 r(7);
    std::vector<double> t(static_cast<size_t>(c.n));
    for (double& x : t) x = static_cast<double>(r() % static_cast<uint64_t>(c.v));
    t.back() = static_cast<double>(c.v);
    return HostTensor::from_doubles(c.targets, {c.n}, t);
}

void* ptr(const HostTensor& t) { return const_cast<void*>(t.data()); }

void check_case(const CeCase& c) {
    Graph g;
    // x and w of scale 1.5 over d <= 24 give logits of a few units: the softcap of 30 bends them.
    Feeds feeds = {{"x", random_tensor({c.n, c.d}, 1.5, 1)}, {"w", random_tensor({c.v, c.d}, 1.5, 2)},
                   {"t", targets_of(c)}, {"g", random_tensor({c.n, 2}, 1.0, 3)}};
    NodeId x = b::input(g, "x", {c.n, c.d}, DType::f32), w = b::input(g, "w", {c.v, c.d}, DType::f32);
    NodeId t = b::input(g, "t", {c.n}, c.targets), grad = b::input(g, "g", {c.n, 2}, DType::f32);
    NodeId stats = b::linear_cross_entropy(g, x, w, t, c.cap);
    std::vector<NodeId> ops = {x, w, t, stats, grad};
    std::vector<HostTensor> want = interpret(
        g, feeds, {stats, b::linear_cross_entropy_grad(g, ops, c.cap, 0), b::linear_cross_entropy_grad(g, ops, c.cap, 1)});
    ce::LinearCeProblem p{.pass = ce::Pass::Forward, .dtype = DType::f32, .target_dtype = c.targets,
                          .n = c.n, .d = c.d, .v = c.v, .cap = c.cap};
    HostTensor got_stats(DType::f32, {c.n, 2}), dx(DType::f32, {c.n, c.d}), dw(DType::f32, {c.v, c.d});
    std::vector<void*> inputs = {ptr(feeds["x"]), ptr(feeds["w"]), ptr(feeds["t"])};
    std::vector<void*> fwd = {ptr(got_stats)};
    fwd.insert(fwd.end(), inputs.begin(), inputs.end());
    ce::linear_ce_cpu(p, fwd, c.tiles);
    CHECK(max_rel_error(got_stats, want[0]) <= kTol);
    // The gradient passes read the interpreter's statistics, so each is checked on its own.
    inputs.insert(inputs.end(), {ptr(want[0]), ptr(feeds["g"])});
    for (auto [pass, out] : {std::pair{ce::Pass::GradX, &dx}, std::pair{ce::Pass::GradW, &dw}}) {
        p.pass = pass;
        std::vector<void*> bufs = {ptr(*out)};
        bufs.insert(bufs.end(), inputs.begin(), inputs.end());
        ce::linear_ce_cpu(p, bufs, c.tiles);
    }
    CHECK(max_rel_error(dx, want[1]) <= kTol);
    CHECK(max_rel_error(dw, want[2]) <= kTol);
}

}  // namespace

TEST_CASE("linear ce cpu: forward, dx and dw match the interpreter on ragged shapes") {
    for (const CeCase& c : {CeCase{37, 12, 150, 0.0, DType::i64, {8, 32}}, CeCase{29, 24, 101, 30.0, DType::i32, {5, 17}},
                            CeCase{70, 8, 300, 30.0, DType::i64, {}}}) {
        INFO("n ", c.n, " d ", c.d, " v ", c.v, " cap ", c.cap, " tiles ", c.tiles.rows, "x", c.tiles.cols);
        check_case(c);
    }
}
