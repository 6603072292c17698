// Tests of the composite ops' reference decompositions (ops/*) against direct fp64 formulas
// written here, in f32 and bf16, and of the decompose pass (graph/composite.h).
//
// Tolerances (normwise relative, the max_rel_error convention): the interpreter rounds each node of
// the expansion to f32 and each expansion is a short chain of well-conditioned steps; measured
// errors are at most 1.4e-7 (about two f32 roundings of 2^-24), so f32 results are held to
// kF32Tol = 1e-6. bf16 results are held to kBf16Tol = 8e-3 (two bf16 ulps of 2^-8): the
// references start from the bf16-rounded inputs, so what remains is the final rounding of the
// output to bf16 (measured 2.0e-3 to 2.4e-3, i.e. half an ulp relative to the largest entry).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "base/error.h"
#include "graph/build.h"
#include "graph/composite.h"
#include "graph/interpreter.h"

using namespace pg;
namespace b = pg::build;

namespace {

constexpr double kF32Tol = 1e-6;
constexpr double kBf16Tol = 8e-3;

using V = std::vector<double>;

V random_values(int64_t n, double lo, double hi, uint64_t seed) {
    std::mt19937_64 r(seed);
    std::uniform_real_distribution<double> d(lo, hi);
    V v(static_cast<size_t>(n));
    for (double& x : v) x = d(r);
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

// A graph with input leaves; `fed(name)` gives the values as rounded to the leaf's dtype, which
// is what the references must start from.
struct Fixture {
    Graph g;
    Feeds feeds;

    NodeId in(const std::string& name, const Shape& s, DType t, const V& values) {
        feeds[name] = HostTensor::from_doubles(t, s, values);
        return b::input(g, name, s, t);
    }
    V fed(const std::string& name) const { return feeds.at(name).to_doubles(); }
    V eval(NodeId id) const {
        HostTensor r = interpret(g, feeds, {id})[0];
        CHECK(r.dtype == g[id].dtype);
        CHECK(r.shape == g[id].shape);
        return r.to_doubles();
    }
};

// Row-wise (last axis of length n) softmax or log-softmax in fp64.
V ref_softmax(const V& x, size_t n, bool log) {
    V out(x.size());
    for (size_t r = 0; r < x.size() / n; ++r) {
        const double* row = &x[r * n];
        double m = *std::max_element(row, row + n), s = 0;
        for (size_t i = 0; i < n; ++i) s += std::exp(row[i] - m);
        for (size_t i = 0; i < n; ++i)
            out[r * n + i] = log ? row[i] - m - std::log(s) : std::exp(row[i] - m) / s;
    }
    return out;
}

V ref_cross_entropy(const V& logits, const V& targets, size_t v, double cap) {
    V z = logits;
    if (cap > 0)
        for (double& x : z) x = cap * std::tanh(x / cap);
    V logp = ref_softmax(z, v, true);
    V out(targets.size());
    for (size_t r = 0; r < targets.size(); ++r)
        out[r] = -logp[r * v + static_cast<size_t>(targets[r])];
    return out;
}

V ref_rms_norm(const V& x, size_t n, double eps) {
    V out(x.size());
    for (size_t r = 0; r < x.size() / n; ++r) {
        double ms = 0;
        for (size_t i = 0; i < n; ++i) ms += x[r * n + i] * x[r * n + i];
        double inv = 1.0 / std::sqrt(ms / static_cast<double>(n) + eps);
        for (size_t i = 0; i < n; ++i) out[r * n + i] = x[r * n + i] * inv;
    }
    return out;
}

// x [B, T, H, D] row-major; the halves convention over the first `rot` dims.
V ref_rope(const V& x, const Shape& s, int64_t rot, double base) {
    V out = x;
    int64_t half = rot / 2;
    for (int64_t bt = 0; bt < s[0] * s[1]; ++bt) {
        int64_t t = bt % s[1];
        for (int64_t h = 0; h < s[2]; ++h) {
            size_t o = static_cast<size_t>((bt * s[2] + h) * s[3]);
            for (int64_t i = 0; i < half; ++i) {
                double ang = static_cast<double>(t) * std::pow(base, -2.0 * static_cast<double>(i) /
                                                                         static_cast<double>(rot));
                double x1 = x[o + static_cast<size_t>(i)],
                       x2 = x[o + static_cast<size_t>(half + i)];
                out[o + static_cast<size_t>(i)] = x1 * std::cos(ang) + x2 * std::sin(ang);
                out[o + static_cast<size_t>(half + i)] = -x1 * std::sin(ang) + x2 * std::cos(ang);
            }
        }
    }
    return out;
}

// q [B, H, T, D], k and v [B, Hkv, T, D]; causal; head h reads kv head h / (H / Hkv). With
// doc_start [B, T] (not empty) query i of row b sees keys doc_start[b, i] <= j <= i only.
V ref_attention(const V& q, const V& k, const V& v, int64_t bs, int64_t h, int64_t hkv, int64_t t,
                int64_t d, double scale, const V& doc_start = {}) {
    V out(q.size(), 0.0);
    auto at = [](int64_t b, int64_t hh, int64_t nh, int64_t i, int64_t t, int64_t d) {
        return static_cast<size_t>(((b * nh + hh) * t + i) * d);
    };
    for (int64_t b = 0; b < bs; ++b)
        for (int64_t hh = 0; hh < h; ++hh) {
            int64_t kvh = hh / (h / hkv);
            for (int64_t i = 0; i < t; ++i) {
                const auto j0 = doc_start.empty() ? 0 : static_cast<int64_t>(doc_start[static_cast<size_t>(b * t + i)]);
                V s(static_cast<size_t>(i + 1 - j0));
                for (int64_t j = j0; j <= i; ++j) {
                    double dot = 0;
                    for (int64_t e = 0; e < d; ++e)
                        dot += q[at(b, hh, h, i, t, d) + e] * k[at(b, kvh, hkv, j, t, d) + e];
                    s[static_cast<size_t>(j - j0)] = scale * dot;
                }
                V p = ref_softmax(s, s.size(), false);
                for (int64_t j = j0; j <= i; ++j)
                    for (int64_t e = 0; e < d; ++e)
                        out[at(b, hh, h, i, t, d) + e] +=
                            p[static_cast<size_t>(j - j0)] * v[at(b, kvh, hkv, j, t, d) + e];
            }
        }
    return out;
}

}  // namespace

TEST_CASE("composites: softmax and log_softmax") {
    SUBCASE("f32, stable for large logits") {
        Fixture f;
        V x = random_values(15, -4, 4, 1);
        for (size_t i = 5; i < 10; ++i)
            x[i] += 1000;  // exp(1000) would overflow without max subtraction
        NodeId xi = f.in("x", {3, 5}, DType::f32, x);
        CHECK(normwise_error(f.eval(b::softmax(f.g, xi)), ref_softmax(f.fed("x"), 5, false)) <=
              kF32Tol);
        CHECK(normwise_error(f.eval(b::log_softmax(f.g, xi)), ref_softmax(f.fed("x"), 5, true)) <=
              kF32Tol);
    }
    SUBCASE("bf16 in, bf16 out") {
        Fixture f;
        NodeId xi = f.in("x", {4, 6}, DType::bf16, random_values(24, -3, 3, 2));
        CHECK(normwise_error(f.eval(b::softmax(f.g, xi)), ref_softmax(f.fed("x"), 6, false)) <=
              kBf16Tol);
        CHECK(normwise_error(f.eval(b::log_softmax(f.g, xi)), ref_softmax(f.fed("x"), 6, true)) <=
              kBf16Tol);
    }
}

TEST_CASE("composites: cross_entropy with and without softcap") {
    V targets{0, 6, 3, 3, 1};
    for (double cap : {0.0, 30.0, 2.0}) {
        for (DType t : {DType::f32, DType::bf16}) {
            Fixture f;
            // Logits up to +-40 make a cap of 30 bend them noticeably.
            NodeId logits = f.in("logits", {5, 7}, t, random_values(35, -40, 40, 3));
            NodeId tgt = f.in("t", {5}, DType::i64, targets);
            NodeId loss = b::cross_entropy(f.g, logits, tgt, cap);
            CHECK(f.g[loss].dtype == DType::f32);
            INFO("softcap ", cap, ", logits ", dtype_name(t));
            // Computed in f32 from the (possibly bf16) logits: f32 accuracy either way.
            CHECK(normwise_error(f.eval(loss),
                                 ref_cross_entropy(f.fed("logits"), targets, 7, cap)) <= kF32Tol);
        }
    }
    SUBCASE("i32 targets") {
        Fixture f;
        NodeId logits = f.in("logits", {5, 7}, DType::f32, random_values(35, -3, 3, 4));
        NodeId tgt = f.in("t", {5}, DType::i32, targets);
        CHECK(normwise_error(f.eval(b::cross_entropy(f.g, logits, tgt)),
                             ref_cross_entropy(f.fed("logits"), targets, 7, 0)) <= kF32Tol);
    }
}

TEST_CASE("composites: rms_norm") {
    for (DType t : {DType::f32, DType::bf16}) {
        Fixture f;
        NodeId x = f.in("x", {2, 3, 8}, t, random_values(48, -2, 2, 5));
        NodeId y = b::rms_norm(f.g, x, 1e-6);
        CHECK(f.g[y].dtype == t);
        INFO(dtype_name(t));
        CHECK(normwise_error(f.eval(y), ref_rms_norm(f.fed("x"), 8, 1e-6)) <=
              (t == DType::f32 ? kF32Tol : kBf16Tol));
    }
}

TEST_CASE("composites: rope, partial and full rotation") {
    Shape s{2, 5, 3, 6};
    struct R {
        int64_t rot;
        double base;
        DType t;
    };
    for (R r : {R{4, 10000.0, DType::f32}, R{6, 100.0, DType::f32}, R{2, 10.0, DType::f32},
                R{6, 10000.0, DType::bf16}}) {
        Fixture f;
        NodeId x = f.in("x", s, r.t, random_values(numel(s), -2, 2, 6));
        NodeId y = b::rope(f.g, x, r.rot, r.base);
        INFO("rot ", r.rot, " base ", r.base, " ", dtype_name(r.t));
        V want = ref_rope(f.fed("x"), s, r.rot, r.base);
        CHECK(normwise_error(f.eval(y), want) <= (r.t == DType::f32 ? kF32Tol : kBf16Tol));
    }
}

TEST_CASE("composites: attention, causal with grouped-query heads") {
    const int64_t bs = 2, h = 4, hkv = 2, t = 5, d = 3;
    const double scale = 1.0 / std::sqrt(3.0);
    for (DType dt : {DType::f32, DType::bf16}) {
        Fixture f;
        NodeId q = f.in("q", {bs, h, t, d}, dt, random_values(bs * h * t * d, -2, 2, 7));
        NodeId k = f.in("k", {bs, hkv, t, d}, dt, random_values(bs * hkv * t * d, -2, 2, 8));
        NodeId v = f.in("v", {bs, hkv, t, d}, dt, random_values(bs * hkv * t * d, -2, 2, 9));
        NodeId y = b::attention(f.g, q, k, v, scale);
        INFO(dtype_name(dt));
        V want = ref_attention(f.fed("q"), f.fed("k"), f.fed("v"), bs, h, hkv, t, d, scale);
        CHECK(normwise_error(f.eval(y), want) <= (dt == DType::f32 ? kF32Tol : kBf16Tol));
    }
}

TEST_CASE("composites: attention with document masking at BOS") {
    const int64_t bs = 2, h = 2, hkv = 1, t = 7, d = 3;
    // Row 0: documents [0, 2), [2, 3), [3, 7); row 1: a partial leading one [0, 4), then [4, 7).
    const V docs = {0, 0, 2, 3, 3, 3, 3, 0, 0, 0, 0, 4, 4, 4};
    Fixture f;
    NodeId q = f.in("q", {bs, h, t, d}, DType::f32, random_values(bs * h * t * d, -2, 2, 12));
    NodeId k = f.in("k", {bs, hkv, t, d}, DType::f32, random_values(bs * hkv * t * d, -2, 2, 13));
    NodeId v = f.in("v", {bs, hkv, t, d}, DType::f32, random_values(bs * hkv * t * d, -2, 2, 14));
    NodeId ds = f.in("docs", {bs, t}, DType::i32, docs);
    V want = ref_attention(f.fed("q"), f.fed("k"), f.fed("v"), bs, h, hkv, t, d, 0.7, docs);
    CHECK(normwise_error(f.eval(b::attention(f.g, q, k, v, 0.7, ds)), want) <= kF32Tol);
    // The masking matters: plain causal attention differs from the masked reference.
    CHECK(normwise_error(f.eval(b::attention(f.g, q, k, v, 0.7)), want) > 1e-2);
}

TEST_CASE("composites: decompose leaves only primitives and keeps values") {
    Fixture f;
    NodeId x = f.in("x", {2, 4, 4, 6}, DType::f32, random_values(192, -2, 2, 10));
    NodeId k = f.in("k", {2, 2, 4, 6}, DType::f32, random_values(96, -2, 2, 11));
    NodeId tgt = f.in("t", {8}, DType::i64, {0, 1, 2, 3, 4, 5, 0, 23});
    NodeId xr = b::rope(f.g, b::rms_norm(f.g, x, 1e-6), 4, 10000.0);  // [B, T, H, D] view
    NodeId att = b::attention(f.g, xr, k, b::softmax(f.g, k), 0.4);   // [2, 4, 4, 6]
    NodeId logits = b::log_softmax(f.g, b::reshape(f.g, att, {8, 24}));
    NodeId loss = b::cross_entropy(f.g, logits, tgt, 30.0);
    f.g.set_output("loss", loss);
    f.g.set_output("att", att);

    Graph d = decompose(f.g);
    for (NodeId i = 0; i < d.size(); ++i) CHECK(op_kind(d[i].op) != OpKind::Composite);
    for (const char* name : {"loss", "att"}) {
        NodeId a = f.g.output(name), c = d.output(name);
        CHECK(d[c].shape == f.g[a].shape);
        CHECK(d[c].dtype == f.g[a].dtype);
        V want = interpret(f.g, f.feeds, {a})[0].to_doubles();
        V got = interpret(d, f.feeds, {c})[0].to_doubles();
        CHECK(normwise_error(got, want) <= 1e-12);  // the same expansion, evaluated the same way
    }
    // A graph of primitives decomposes to itself.
    Graph again = decompose(d);
    CHECK(again.size() == d.size());
}

TEST_CASE("composites: every composite op has a rule, others have none") {
    for (Op op :
         {Op::Softmax, Op::LogSoftmax, Op::CrossEntropy, Op::RmsNorm, Op::Rope, Op::Attention, Op::AttentionLse,
          Op::AttentionGrad, Op::LinearCrossEntropy, Op::LinearCrossEntropyGrad, Op::FakeQuant})
        CHECK(static_cast<bool>(composite_rule(op).decompose));
    CHECK_THROWS_AS(composite_rule(Op::Add), InternalError);
}
