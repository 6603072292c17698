// Random well-typed graphs, their check against the interpreter, and shrinking (see graph_fuzzer.h).
#include "tests/support/graph_fuzzer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "base/error.h"
#include "graph/autodiff.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "graph/text.h"
#include "tests/support/jit_check.h"

namespace pg::testing {

namespace {

namespace b = build;

// Values stay small so that a case compiles and runs in milliseconds: at most 512 elements and
// rank 4; a step that would exceed it is followed by a sum over its largest axis.
constexpr int64_t kMaxElements = 512;
constexpr size_t kMaxRank = 4;

// Draws bounded choices from a step's 64 random bits.
struct Bits {
    uint64_t v;
    int64_t take(int64_t n) {
        int64_t r = static_cast<int64_t>(v % static_cast<uint64_t>(n));
        v = v / static_cast<uint64_t>(n) ^ (v * 0x9e3779b97f4a7c15ull >> 7);
        return r;
    }
};

class GraphBuilder {
public:
    explicit GraphBuilder(Graph& g) : g_(g) {}

    NodeId new_param(const Shape& s) {
        NodeId p = b::param(g_, fmt::format("p{}", params_.size()), s);
        params_.push_back(p);
        return p;
    }
    const Shape& shape(NodeId x) const { return g_[x].shape; }
    const std::vector<NodeId>& params() const { return params_; }

    NodeId step(const FuzzStep& s, const std::vector<NodeId>& vals) {
        NodeId x = vals[s.a % vals.size()];
        NodeId y = vals[s.b % vals.size()];
        Bits bits{s.bits};
        return bounded(apply(s.op, x, y, bits));
    }

private:
    NodeId apply(FuzzOp op, NodeId x, NodeId y, Bits& bits) {
        switch (op) {
            case FuzzOp::Unary: return unary(x, bits);
            case FuzzOp::Binary: return binary(x, y, bits);
            case FuzzOp::Reduce: return reduce(x, bits);
            case FuzzOp::Permute: return permute(x, bits);
            case FuzzOp::Reshape: return reshape(x, bits);
            case FuzzOp::Slice: return slice(x, bits);
            case FuzzOp::Pad: return pad(x, bits);
            case FuzzOp::Concat: return concat(x, y, bits);
            case FuzzOp::Broadcast: return broadcast(x, bits);
            case FuzzOp::Matmul: return matmul(x, bits);
            case FuzzOp::Normalize: return normalize(x, bits);
            case FuzzOp::kCount: break;
        }
        return x;
    }

    // |x| + 0.5: the domain of log, sqrt, rsqrt, recip and of a divisor.
    NodeId positive(NodeId x) { return b::add(g_, b::unary(g_, Op::Abs, x), 0.5); }

    NodeId unary(NodeId x, Bits& bits) {
        static const Op kOps[] = {Op::Neg, Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sqrt,
                                  Op::Rsqrt, Op::Abs, Op::Relu, Op::Sin, Op::Cos, Op::Recip};
        Op op = kOps[bits.take(std::size(kOps))];
        if (op == Op::Exp) return b::unary(g_, op, b::unary(g_, Op::Tanh, x));  // bounded: [1/e, e]
        if (op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt || op == Op::Recip) x = positive(x);
        return b::unary(g_, op, x);
    }

    NodeId binary(NodeId x, NodeId y, Bits& bits) {
        static const Op kOps[] = {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min};
        Op op = kOps[bits.take(std::size(kOps))];
        if (!broadcastable(shape(x), shape(y))) {
            Shape s = shape(x);  // a fresh operand of x's shape with some axes broadcast
            for (int64_t& e : s)
                if (bits.take(3) == 0) e = 1;
            y = new_param(s);
        }
        if (op == Op::Div) y = positive(y);
        return b::binary(g_, op, x, y);
    }

    bool broadcastable(const Shape& a, const Shape& c) const {
        try {
            Shape s = b::broadcast_shapes(a, c, "fuzz");
            return s.size() <= kMaxRank && numel(s) <= kMaxElements;
        } catch (const Error&) {
            return false;
        }
    }

    NodeId reduce(NodeId x, Bits& bits) {
        int64_t r = static_cast<int64_t>(shape(x).size());
        if (r == 0) return b::unary(g_, Op::Neg, x);
        std::vector<int64_t> axes;
        for (int64_t d = 0; d < r; ++d)
            if (bits.take(2)) axes.push_back(d);
        if (axes.empty()) axes.push_back(bits.take(r));
        return b::reduce(g_, bits.take(2) ? Op::Sum : Op::ReduceMax, x, axes);
    }

    NodeId permute(NodeId x, Bits& bits) {
        size_t r = shape(x).size();
        if (r < 2) return reshape(x, bits);
        std::vector<int64_t> perm(r);
        std::iota(perm.begin(), perm.end(), 0);
        for (size_t i = r - 1; i > 0; --i)
            std::swap(perm[i], perm[static_cast<size_t>(bits.take(static_cast<int64_t>(i) + 1))]);
        return b::permute(g_, x, perm);
    }

    // Merges two adjacent axes, or splits one, or adds a unit axis.
    NodeId reshape(NodeId x, Bits& bits) {
        Shape s = shape(x);
        if (s.size() >= 2 && bits.take(2)) {
            size_t i = static_cast<size_t>(bits.take(static_cast<int64_t>(s.size()) - 1));
            s[i] *= s[i + 1];
            s.erase(s.begin() + static_cast<long>(i) + 1);
            return b::reshape(g_, x, s);
        }
        for (size_t i = 0; i < s.size() && s.size() < kMaxRank; ++i)
            for (int64_t d = 2; d < s[i]; ++d)
                if (s[i] % d == 0) {
                    int64_t e = s[i];
                    s[i] = d;
                    s.insert(s.begin() + static_cast<long>(i) + 1, e / d);
                    return b::reshape(g_, x, s);
                }
        if (s.size() < kMaxRank) s.insert(s.begin() + bits.take(static_cast<int64_t>(s.size()) + 1), 1);
        return b::reshape(g_, x, s);
    }

    NodeId slice(NodeId x, Bits& bits) {
        const Shape& s = shape(x);
        for (size_t axis = 0; axis < s.size(); ++axis) {
            if (s[axis] < 2) continue;
            int64_t e = s[axis];
            int64_t start = bits.take(e - 1);
            int64_t end = start + 1 + bits.take(e - start);
            return b::slice(g_, x, static_cast<int64_t>(axis), start, end, 1 + bits.take(2));
        }
        return pad(x, bits);
    }

    NodeId pad(NodeId x, Bits& bits) {
        size_t r = shape(x).size();
        if (r == 0) return b::unary(g_, Op::Tanh, x);
        std::vector<int64_t> lo(r, 0), hi(r, 0);
        size_t axis = static_cast<size_t>(bits.take(static_cast<int64_t>(r)));
        lo[axis] = bits.take(3);
        hi[axis] = 1 + bits.take(2);
        static const double kValues[] = {0.0, 0.5, -1.0};
        return b::pad(g_, x, lo, hi, kValues[bits.take(3)]);
    }

    NodeId concat(NodeId x, NodeId y, Bits& bits) {
        Shape s = shape(x);
        if (s.empty()) return b::unary(g_, Op::Sigmoid, x);
        int64_t axis = bits.take(static_cast<int64_t>(s.size()));
        Shape ys = shape(y);
        bool fits = ys.size() == s.size();
        for (size_t d = 0; fits && d < s.size(); ++d) fits = static_cast<int64_t>(d) == axis || ys[d] == s[d];
        if (!fits) {
            s[static_cast<size_t>(axis)] = 1 + bits.take(3);
            y = new_param(s);
        }
        return b::concat(g_, {x, y}, axis);
    }

    // A new leading axis of 2 or 3, or an existing unit axis expanded.
    NodeId broadcast(NodeId x, Bits& bits) {
        Shape s = shape(x);
        for (size_t d = 0; d < s.size(); ++d)
            if (s[d] == 1 && bits.take(2)) {
                s[d] = 2 + bits.take(2);
                return b::broadcast_to(g_, x, s);
            }
        if (s.size() >= kMaxRank) return b::unary(g_, Op::Cos, x);
        s.insert(s.begin(), 2 + bits.take(2));
        return b::broadcast_to(g_, x, s);
    }

    // x [..., M, K] times a new weight [..., K, N] (sometimes stored transposed, [..., N, K]).
    NodeId matmul(NodeId x, Bits& bits) {
        if (shape(x).size() < 2) x = b::reshape(g_, x, {1, numel(shape(x))});
        Shape ws = shape(x);
        int64_t k = ws.back(), n = 1 + bits.take(5);
        bool transposed = bits.take(2);
        ws[ws.size() - 2] = transposed ? n : k;
        ws.back() = transposed ? k : n;
        NodeId w = new_param(ws);
        const auto rank = static_cast<int64_t>(ws.size());
        if (transposed) w = b::transpose(g_, w, rank - 2, rank - 1);
        return b::matmul(g_, x, w);
    }

    NodeId normalize(NodeId x, Bits& bits) {
        if (shape(x).empty()) x = b::reshape(g_, x, {1});
        switch (bits.take(3)) {
            case 0: return b::softmax(g_, x);
            case 1: return b::log_softmax(g_, x);
            default: return b::rms_norm(g_, x, 1e-5);
        }
    }

    NodeId bounded(NodeId x) {
        while (numel(shape(x)) > kMaxElements || shape(x).size() > kMaxRank) {
            const Shape& s = shape(x);
            int64_t axis = std::max_element(s.begin(), s.end()) - s.begin();
            x = b::sum(g_, x, {axis});
            if (shape(x).size() > kMaxRank) {
                Shape t = shape(x);
                t.erase(t.begin() + axis);
                x = b::reshape(g_, x, t);
            }
        }
        return x;
    }

    Graph& g_;
    std::vector<NodeId> params_;
};

Shape random_shape(std::mt19937_64& rng) {
    Shape s(1 + rng() % 3);
    for (int64_t& e : s) e = 1 + static_cast<int64_t>(rng() % 5);
    return s;
}

// sum(out * cotangent) as a scalar of shape [].
NodeId weighted_sum(Graph& g, NodeId out, NodeId cot) {
    NodeId p = b::mul(g, out, cot);
    const size_t r = g[p].shape.size();
    if (r == 0) return p;
    std::vector<int64_t> axes(r);
    std::iota(axes.begin(), axes.end(), 0);
    return b::reshape(g, b::sum(g, p, axes), {});
}

}  // namespace

FuzzCase random_fuzz_case(uint64_t seed, int max_steps) {
    std::mt19937_64 rng(seed);
    FuzzCase c;
    c.seed = seed;
    int n = 2 + static_cast<int>(rng() % static_cast<uint64_t>(std::max(max_steps - 1, 1)));
    for (int i = 0; i < n; ++i) {
        FuzzStep s;
        s.op = static_cast<FuzzOp>(rng() % static_cast<uint64_t>(FuzzOp::kCount));
        s.a = static_cast<uint32_t>(rng());
        s.b = static_cast<uint32_t>(rng());
        s.bits = rng();
        c.steps.push_back(s);
    }
    c.gradients = rng() % 4 != 0;  // three cases in four also check the backward graph
    return c;
}

Graph build_fuzz_graph(const FuzzCase& c) {
    Graph g;
    GraphBuilder gb(g);
    std::mt19937_64 rng(c.seed ^ 0x5bd1e995ull);
    std::vector<NodeId> vals = {gb.new_param(random_shape(rng)), gb.new_param(random_shape(rng))};
    for (const FuzzStep& s : c.steps) vals.push_back(gb.step(s, vals));
    NodeId out = vals.back();
    g.set_output("out", out);
    if (!c.gradients) return g;
    std::vector<NodeId> wrt = gb.params();
    NodeId cot = b::param(g, "cot", g[out].shape);
    NodeId loss = weighted_sum(g, out, cot);
    std::vector<NodeId> grads = gradients(g, loss, wrt);
    for (size_t i = 0; i < wrt.size(); ++i) g.set_output("d." + g[wrt[i]].name, grads[i]);
    return g;
}

std::optional<std::string> check_fuzz_graph(const Graph& g, uint64_t feed_seed) {
    // Every matmul on OpenBLAS in the fused plan, every one generated in the unfused plan.
    const JitVariant variants[] = {{"fused+gemm", true, 1}, {"unfused, no gemm", false, 0}};
    Feeds feeds = random_feeds(g, feed_seed);
    std::vector<HostTensor> expected;
    try {
        expected = interpret_all(g, feeds);
    } catch (const std::exception& e) {
        return fmt::format("the interpreter threw: {}", e.what());
    }
    for (const JitVariant& v : variants) {
        try {
            for (const VariantError& e : variant_errors("cpu", g, feeds, expected, v, nullptr, kFuzzScaleFloor))
                if (!(e.error <= kFuzzTolerance))
                    return fmt::format("{}: {} has normwise relative error {:.3g} (tolerance {:.0e})", e.variant,
                                       e.value, e.error, kFuzzTolerance);
        } catch (const std::exception& e) {
            return fmt::format("{}: threw: {}", v.name, e.what());
        }
    }
    return std::nullopt;
}

namespace {

bool fails(const FuzzCase& c) { return check_fuzz_graph(build_fuzz_graph(c), c.seed).has_value(); }

}  // namespace

FuzzCase shrink_fuzz_case(const FuzzCase& c) {
    FuzzCase cur = c;
    if (cur.gradients) {
        FuzzCase forward = cur;
        forward.gradients = false;
        if (fails(forward)) cur = forward;
    }
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t i = cur.steps.size(); i-- > 0 && cur.steps.size() > 1;) {
            FuzzCase smaller = cur;
            smaller.steps.erase(smaller.steps.begin() + static_cast<long>(i));
            if (fails(smaller)) {
                cur = smaller;
                changed = true;
            }
        }
    }
    return cur;
}

std::string describe_fuzz_failure(const FuzzCase& c) {
    FuzzCase small = shrink_fuzz_case(c);
    // Without the nodes no output reaches (operands of dropped steps), as the compiler sees it.
    Graph g = rebuild(build_fuzz_graph(small),
                      [](Graph& dst, const Node& n, const std::vector<NodeId>& map) { return copy_node(dst, n, map); });
    std::optional<std::string> why = check_fuzz_graph(g, small.seed);
    return fmt::format("fuzz case seed {} fails: {}\nshrunk from {} to {} steps{}; its graph (feeds: "
                       "random_feeds(g, {})):\n{}",
                       c.seed, why.value_or("(no longer fails once shrunk)"), c.steps.size(), small.steps.size(),
                       small.gradients ? " with gradients" : "", small.seed, print(g));
}

}  // namespace pg::testing
