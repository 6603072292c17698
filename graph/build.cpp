// Graph builders (see build.h).
#include "graph/build.h"

#include <algorithm>
#include <numeric>

#include "base/error.h"

namespace pg::build {
namespace {

NodeId make(Graph& g, Op op, std::vector<NodeId> inputs, DType dtype = DType::f32, Shape shape = {},
            std::vector<int64_t> ints = {}, double scalar = 0, std::string name = {}) {
    Node n;
    n.op = op;
    n.dtype = dtype;
    n.shape = std::move(shape);
    n.inputs = std::move(inputs);
    n.ints = std::move(ints);
    n.scalar = scalar;
    n.name = std::move(name);
    return g.add(std::move(n));
}

int64_t norm_axis(int64_t axis, size_t rank, std::string_view what) {
    int64_t r = static_cast<int64_t>(rank);
    PG_CHECK(axis >= -r && axis < r, "{}: axis {} is out of range for rank {}", what, axis, rank);
    return axis < 0 ? axis + r : axis;
}

}  // namespace

NodeId param(Graph& g, const std::string& name, const Shape& shape, DType dtype) {
    return make(g, Op::Param, {}, dtype, shape, {}, 0, name);
}
NodeId input(Graph& g, const std::string& name, const Shape& shape, DType dtype) {
    return make(g, Op::Input, {}, dtype, shape, {}, 0, name);
}
NodeId scalar(Graph& g, const std::string& name) { return make(g, Op::Scalar, {}, DType::f32, {}, {}, 0, name); }
NodeId constant(Graph& g, double value, const Shape& shape, DType dtype) {
    return make(g, Op::Const, {}, dtype, shape, {}, round_to_dtype(value, dtype));
}
NodeId constant_like(Graph& g, double value, NodeId like) {
    return constant(g, value, g[like].shape, g[like].dtype);
}
NodeId iota(Graph& g, const Shape& shape, int64_t axis, DType dtype) {
    return make(g, Op::Iota, {}, dtype, shape, {norm_axis(axis, shape.size(), "iota")});
}

NodeId unary(Graph& g, Op op, NodeId a) {
    PG_ASSERT(op_kind(op) == OpKind::Unary && op != Op::Cast);
    return make(g, op, {a});
}

NodeId cast(Graph& g, NodeId a, DType to) {
    if (g[a].dtype == to) return a;
    return make(g, Op::Cast, {a}, to);
}

Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view what) {
    size_t r = std::max(a.size(), b.size());
    Shape out(r);
    for (size_t i = 0; i < r; ++i) {
        int64_t da = i < r - a.size() ? 1 : a[i - (r - a.size())];
        int64_t db = i < r - b.size() ? 1 : b[i - (r - b.size())];
        PG_CHECK(da == db || da == 1 || db == 1, "{}: shapes {} and {} do not broadcast", what, shape_str(a),
                 shape_str(b));
        out[i] = da == 1 ? db : da;
    }
    return out;
}

NodeId binary(Graph& g, Op op, NodeId a, NodeId b) {
    PG_ASSERT(op_kind(op) == OpKind::Binary);
    Shape s = broadcast_shapes(g[a].shape, g[b].shape, op_name(op));
    return make(g, op, {broadcast_to(g, a, s), broadcast_to(g, b, s)});
}

NodeId select(Graph& g, NodeId cond, NodeId a, NodeId b) {
    Shape s = broadcast_shapes(g[cond].shape, broadcast_shapes(g[a].shape, g[b].shape, "select"), "select");
    return make(g, Op::Select, {broadcast_to(g, cond, s), broadcast_to(g, a, s), broadcast_to(g, b, s)});
}

NodeId add(Graph& g, NodeId a, NodeId b) { return binary(g, Op::Add, a, b); }
NodeId sub(Graph& g, NodeId a, NodeId b) { return binary(g, Op::Sub, a, b); }
NodeId mul(Graph& g, NodeId a, NodeId b) { return binary(g, Op::Mul, a, b); }
NodeId div(Graph& g, NodeId a, NodeId b) { return binary(g, Op::Div, a, b); }
NodeId mul(Graph& g, NodeId a, double b) { return mul(g, a, constant_like(g, b, a)); }
NodeId add(Graph& g, NodeId a, double b) { return add(g, a, constant_like(g, b, a)); }

NodeId reduce(Graph& g, Op op, NodeId a, std::vector<int64_t> axes) {
    for (int64_t& ax : axes) ax = norm_axis(ax, g[a].shape.size(), op_name(op));
    std::sort(axes.begin(), axes.end());
    axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
    if (axes.empty()) return a;
    return make(g, op, {a}, DType::f32, {}, axes);
}
NodeId sum(Graph& g, NodeId a, std::vector<int64_t> axes) { return reduce(g, Op::Sum, a, std::move(axes)); }
NodeId reduce_max(Graph& g, NodeId a, std::vector<int64_t> axes) {
    return reduce(g, Op::ReduceMax, a, std::move(axes));
}
NodeId mean(Graph& g, NodeId a, std::vector<int64_t> axes) {
    int64_t count = 1;
    for (int64_t ax : axes) count *= g[a].shape[norm_axis(ax, g[a].shape.size(), "mean")];
    NodeId s = sum(g, a, std::move(axes));
    return mul(g, s, 1.0 / static_cast<double>(count));
}

NodeId reshape(Graph& g, NodeId a, const Shape& shape) {
    if (g[a].shape == shape) return a;
    PG_CHECK(numel(shape) == numel(g[a].shape), "reshape: cannot reshape {} to {}", shape_str(g[a].shape),
             shape_str(shape));
    // Reshape of a reshape is one reshape.
    if (g[a].op == Op::Reshape) return reshape(g, g[a].inputs[0], shape);
    return make(g, Op::Reshape, {a}, DType::f32, shape);
}

NodeId permute(Graph& g, NodeId a, const std::vector<int64_t>& perm) {
    std::vector<int64_t> p = perm;
    for (int64_t& ax : p) ax = norm_axis(ax, g[a].shape.size(), "permute");
    bool identity = true;
    for (size_t i = 0; i < p.size(); ++i) identity &= p[i] == static_cast<int64_t>(i);
    if (identity && p.size() == g[a].shape.size()) return a;
    return make(g, Op::Permute, {a}, DType::f32, {}, p);
}

NodeId transpose(Graph& g, NodeId a, int64_t axis0, int64_t axis1) {
    size_t r = g[a].shape.size();
    std::vector<int64_t> p(r);
    std::iota(p.begin(), p.end(), 0);
    std::swap(p[norm_axis(axis0, r, "transpose")], p[norm_axis(axis1, r, "transpose")]);
    return permute(g, a, p);
}

NodeId broadcast_to(Graph& g, NodeId a, const Shape& shape) {
    const Shape& s = g[a].shape;
    if (s == shape) return a;
    PG_CHECK(s.size() <= shape.size(), "broadcast: cannot broadcast {} to {}", shape_str(s), shape_str(shape));
    Shape padded(shape.size() - s.size(), 1);
    padded.insert(padded.end(), s.begin(), s.end());
    NodeId r = reshape(g, a, padded);
    if (padded == shape) return r;
    return make(g, Op::Broadcast, {r}, DType::f32, shape);
}

NodeId slice(Graph& g, NodeId a, int64_t axis, int64_t start, int64_t end, int64_t step) {
    const Shape& s = g[a].shape;
    axis = norm_axis(axis, s.size(), "slice");
    PG_CHECK(step >= 1, "slice: step must be >= 1, got {}", step);
    PG_CHECK(0 <= start && start <= end && end <= s[axis], "slice: range [{}, {}) is invalid for axis {} of {}",
             start, end, axis, shape_str(s));
    if (start == 0 && end == s[axis] && step == 1) return a;
    std::vector<int64_t> ints(2 * s.size(), 0);
    for (size_t i = 0; i < s.size(); ++i) ints[s.size() + i] = 1;
    ints[axis] = start;
    ints[s.size() + axis] = step;
    Shape out = s;
    out[axis] = (end - start + step - 1) / step;
    return make(g, Op::Slice, {a}, DType::f32, out, ints);
}

NodeId pad(Graph& g, NodeId a, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, double value) {
    const Shape& s = g[a].shape;
    PG_CHECK(lo.size() == s.size() && hi.size() == s.size(), "pad: need low and high padding for each of {} axes",
             s.size());
    Shape out = s;
    for (size_t i = 0; i < s.size(); ++i) {
        PG_CHECK(lo[i] >= 0 && hi[i] >= 0, "pad: negative padding on axis {}", i);
        out[i] += lo[i] + hi[i];
    }
    if (out == s) return a;
    return make(g, Op::Pad, {a}, DType::f32, out, lo, value);
}

NodeId concat(Graph& g, const std::vector<NodeId>& parts, int64_t axis) {
    PG_CHECK(!parts.empty(), "concat: no operands");
    if (parts.size() == 1) return parts[0];
    return make(g, Op::Concat, parts, DType::f32, {}, {norm_axis(axis, g[parts[0]].shape.size(), "concat")});
}

NodeId gather(Graph& g, NodeId table, NodeId index) { return make(g, Op::Gather, {table, index}); }

NodeId scatter_add(Graph& g, NodeId index, NodeId src, int64_t rows) {
    const Shape& is = g[index].shape;
    const Shape& ss = g[src].shape;
    Shape out{rows};
    if (ss.size() > is.size()) out.insert(out.end(), ss.begin() + static_cast<long>(is.size()), ss.end());
    return make(g, Op::ScatterAdd, {index, src}, DType::f32, out);
}

NodeId matmul(Graph& g, NodeId a, NodeId b) { return make(g, Op::Matmul, {a, b}); }

NodeId softmax(Graph& g, NodeId x) { return make(g, Op::Softmax, {x}); }
NodeId log_softmax(Graph& g, NodeId x) { return make(g, Op::LogSoftmax, {x}); }
NodeId cross_entropy(Graph& g, NodeId logits, NodeId targets, double softcap) {
    return make(g, Op::CrossEntropy, {logits, targets}, DType::f32, {}, {}, softcap);
}
NodeId rms_norm(Graph& g, NodeId x, double eps) { return make(g, Op::RmsNorm, {x}, DType::f32, {}, {}, eps); }
NodeId rope(Graph& g, NodeId x, int64_t rotated_dims, double base) {
    return make(g, Op::Rope, {x}, DType::f32, {}, {rotated_dims}, base);
}
NodeId fake_quant(Graph& g, NodeId x, int64_t bits) { return make(g, Op::FakeQuant, {x}, DType::f32, {}, {bits}); }
NodeId attention(Graph& g, NodeId q, NodeId k, NodeId v, double scale, NodeId doc_start) {
    std::vector<NodeId> in = {q, k, v};
    if (doc_start != kNoNode) in.push_back(doc_start);
    return make(g, Op::Attention, in, DType::f32, {}, {}, scale);
}
NodeId attention_lse(Graph& g, NodeId q, NodeId k, NodeId v, double scale, NodeId doc_start) {
    std::vector<NodeId> in = {q, k, v};
    if (doc_start != kNoNode) in.push_back(doc_start);
    return make(g, Op::AttentionLse, in, DType::f32, {}, {}, scale);
}
NodeId attention_grad(Graph& g, const std::vector<NodeId>& operands, double scale, int64_t which) {
    return make(g, Op::AttentionGrad, operands, DType::f32, {}, {which}, scale);
}
NodeId linear_cross_entropy(Graph& g, NodeId x, NodeId w, NodeId targets, double softcap) {
    return make(g, Op::LinearCrossEntropy, {x, w, targets}, DType::f32, {}, {}, softcap);
}
NodeId linear_cross_entropy_grad(Graph& g, const std::vector<NodeId>& x_w_targets_stats_grad, double softcap,
                                 int64_t which) {
    return make(g, Op::LinearCrossEntropyGrad, x_w_targets_stats_grad, DType::f32, {}, {which}, softcap);
}

NodeId sum_to(Graph& g, NodeId a, const Shape& target) {
    const Shape& s = g[a].shape;
    if (s == target) return a;
    PG_ASSERT(s.size() >= target.size(), "sum_to {} -> {}", shape_str(s), shape_str(target));
    size_t lead = s.size() - target.size();
    std::vector<int64_t> axes;
    for (size_t i = 0; i < s.size(); ++i)
        if (i < lead || (target[i - lead] == 1 && s[i] != 1)) axes.push_back(static_cast<int64_t>(i));
    NodeId r = sum(g, a, axes);
    return reshape(g, r, target);
}

}  // namespace pg::build
