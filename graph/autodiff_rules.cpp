// The VJP rule of every primitive op (see autodiff_rules.h). Conventions at non-differentiable
// points, chosen to match PyTorch where it has one:
//   Relu, Abs      derivative 0 at x == 0 (Abs: sign(x), with sign(0) = 0)
//   Max, Min       ties send the whole gradient to the first operand
//   ReduceMax      the gradient is split evenly among the tied maxima (as torch.amax)
//   Pow            d/db a^b = a^b * log(a) where a > 0, and 0 where a <= 0 (undefined there)
//   Select         the condition gets no gradient
// Comparisons, And/Or/Not, integer values and leaves have no gradient at all.
#include "graph/autodiff_rules.h"

#include "base/error.h"
#include "graph/build.h"

namespace pg::autodiff_detail {
namespace {

using namespace build;

NodeId zeros_like(Graph& g, NodeId like) {
    return constant_like(g, 0.0, like);
}

NodeId one_minus(Graph& g, NodeId a) {
    return sub(g, constant_like(g, 1.0, a), a);
}

// One Slice node over all axes: starts per axis, unit steps, result shape `out`.
NodeId slice_all(Graph& g, NodeId a, const std::vector<int64_t>& starts, const Shape& out) {
    if (g[a].shape == out) return a;
    Node n;
    n.op = Op::Slice;
    n.inputs = {a};
    n.shape = out;
    n.ints = starts;
    n.ints.resize(2 * starts.size(), 1);
    return g.add(std::move(n));
}

// The adjoint of taking every step-th element along `axis`: element k of `a` moves to index
// k * step, with zeros between, and the axis ends up with extent min(n * step, length).
NodeId spread(Graph& g, NodeId a, size_t axis, int64_t step, int64_t length) {
    Shape s = g[a].shape;
    int64_t n = s[axis];
    Shape with_unit = s;
    with_unit.insert(with_unit.begin() + static_cast<long>(axis) + 1, 1);
    std::vector<int64_t> lo(with_unit.size(), 0), hi(with_unit.size(), 0);
    hi[axis + 1] = step - 1;
    NodeId r = pad(g, reshape(g, a, with_unit), lo, hi);
    Shape spread_shape = s;
    spread_shape[axis] = n * step;
    r = reshape(g, r, spread_shape);
    if (n * step > length) r = slice(g, r, static_cast<int64_t>(axis), 0, length);
    return r;
}

NodeId slice_vjp(Graph& g, const Node& n, NodeId d) {
    Shape in = g[n.inputs[0]].shape;
    size_t r = in.size();
    NodeId cur = d;
    for (size_t i = 0; i < r; ++i) {
        int64_t start = n.ints[i], step = n.ints[r + i];
        if (step > 1) cur = spread(g, cur, i, step, in[i] - start);
    }
    Shape s = g[cur].shape;
    std::vector<int64_t> lo(r), hi(r);
    for (size_t i = 0; i < r; ++i) {
        lo[i] = n.ints[i];
        hi[i] = in[i] - lo[i] - s[i];
    }
    return pad(g, cur, lo, hi);
}

std::vector<int64_t> inverse_perm(const std::vector<int64_t>& p) {
    std::vector<int64_t> inv(p.size());
    for (size_t i = 0; i < p.size(); ++i) inv[static_cast<size_t>(p[i])] = static_cast<int64_t>(i);
    return inv;
}

NodeId reduce_max_vjp(Graph& g, NodeId id, const Node& n, NodeId d) {
    NodeId x = n.inputs[0];
    Shape xs = g[x].shape;
    NodeId hit = cast(g, binary(g, Op::Eq, x, broadcast_to(g, id, xs)), n.dtype);
    NodeId share = div(g, d, sum(g, hit, n.ints));
    return mul(g, hit, broadcast_to(g, share, xs));
}

// Gradients of the unary op of node `id` (input x, output id).
NodeId unary_vjp(Graph& g, NodeId id, const Node& n, NodeId d) {
    NodeId x = n.inputs[0];
    switch (n.op) {
        case Op::Neg:
            return unary(g, Op::Neg, d);
        case Op::Exp:
            return mul(g, d, id);
        case Op::Log:
            return div(g, d, x);
        case Op::Tanh:
            return mul(g, d, one_minus(g, mul(g, id, id)));
        case Op::Sigmoid:
            return mul(g, d, mul(g, id, one_minus(g, id)));
        case Op::Sqrt:
            return div(g, d, mul(g, id, 2.0));
        case Op::Rsqrt:
            return mul(g, d, mul(g, mul(g, id, mul(g, id, id)), -0.5));
        case Op::Recip:
            return unary(g, Op::Neg, mul(g, d, mul(g, id, id)));
        case Op::Sin:
            return mul(g, d, unary(g, Op::Cos, x));
        case Op::Cos:
            return unary(g, Op::Neg, mul(g, d, unary(g, Op::Sin, x)));
        case Op::Relu:
            return select(g, binary(g, Op::Gt, x, zeros_like(g, x)), d, zeros_like(g, d));
        case Op::Abs: {
            NodeId zero = zeros_like(g, x);
            NodeId neg = select(g, binary(g, Op::Lt, x, zero), unary(g, Op::Neg, d), zero);
            return select(g, binary(g, Op::Gt, x, zero), d, neg);
        }
        case Op::Cast:
            return cast(g, d, g[x].dtype);
        default:
            PG_UNREACHABLE("{} has no unary gradient", op_name(n.op));
    }
}

std::vector<NodeId> binary_vjp(Graph& g, NodeId id, const Node& n, NodeId d,
                               const std::vector<bool>& want) {
    NodeId a = n.inputs[0], b = n.inputs[1];
    switch (n.op) {
        case Op::Add:
            return {d, d};
        case Op::Sub:
            return {d, want[1] ? unary(g, Op::Neg, d) : kNoNode};
        case Op::Mul:
            return {want[0] ? mul(g, d, b) : kNoNode, want[1] ? mul(g, d, a) : kNoNode};
        case Op::Div:
            return {want[0] ? div(g, d, b) : kNoNode,
                    want[1] ? unary(g, Op::Neg, mul(g, d, div(g, id, b))) : kNoNode};
        case Op::Max:
        case Op::Min: {
            NodeId first = binary(g, n.op == Op::Max ? Op::Ge : Op::Le, a, b);
            NodeId zero = zeros_like(g, d);
            return {want[0] ? select(g, first, d, zero) : kNoNode,
                    want[1] ? select(g, first, zero, d) : kNoNode};
        }
        case Op::Pow: {
            std::vector<NodeId> r(2, kNoNode);
            if (want[0]) r[0] = mul(g, d, mul(g, b, binary(g, Op::Pow, a, add(g, b, -1.0))));
            if (want[1]) {
                NodeId positive = binary(g, Op::Gt, a, zeros_like(g, a));
                NodeId safe_a = select(g, positive, a, constant_like(g, 1.0, a));
                r[1] = mul(g, d, mul(g, id, unary(g, Op::Log, safe_a)));
            }
            return r;
        }
        default:
            PG_UNREACHABLE("{} has no binary gradient", op_name(n.op));
    }
}

std::vector<NodeId> movement_vjp(Graph& g, const Node& n, NodeId d, const std::vector<bool>& want) {
    Shape xs = g[n.inputs[0]].shape;
    switch (n.op) {
        case Op::Reshape:
            return {reshape(g, d, xs)};
        case Op::Permute:
            return {permute(g, d, inverse_perm(n.ints))};
        case Op::Broadcast:
            return {sum_to(g, d, xs)};
        case Op::Slice:
            return {slice_vjp(g, n, d)};
        case Op::Pad:
            return {slice_all(g, d, n.ints, xs)};
        case Op::Concat: {
            std::vector<NodeId> r;
            int64_t axis = n.ints[0], offset = 0;
            for (size_t i = 0; i < n.inputs.size(); ++i) {
                int64_t extent = g[n.inputs[i]].shape[static_cast<size_t>(axis)];
                r.push_back(want[i] ? slice(g, d, axis, offset, offset + extent) : kNoNode);
                offset += extent;
            }
            return r;
        }
        default:
            PG_UNREACHABLE("{} has no movement gradient", op_name(n.op));
    }
}

}  // namespace

std::vector<NodeId> primitive_vjp(Graph& g, NodeId id, NodeId grad, const std::vector<bool>& want) {
    const Node n = g[id];  // a copy: adding nodes below may move the graph's storage
    std::vector<NodeId> r(n.inputs.size(), kNoNode);
    bool any = false;
    for (bool w : want) any |= w;
    if (!any) return r;
    switch (op_kind(n.op)) {
        case OpKind::Leaf:
            return r;
        case OpKind::Unary:
            if (n.op != Op::Not) r[0] = unary_vjp(g, id, n, grad);
            return r;
        case OpKind::Binary:
            if (is_comparison(n.op) || n.op == Op::And || n.op == Op::Or) return r;
            r = binary_vjp(g, id, n, grad, want);
            break;
        case OpKind::Ternary: {  // Select
            NodeId zero = zeros_like(g, grad);
            if (want[1]) r[1] = select(g, n.inputs[0], grad, zero);
            if (want[2]) r[2] = select(g, n.inputs[0], zero, grad);
            break;
        }
        case OpKind::Reduce:
            if (n.op == Op::Sum) {
                Shape xs = g[n.inputs[0]].shape;
                r[0] = broadcast_to(g, grad, xs);
            } else {
                r[0] = reduce_max_vjp(g, id, n, grad);
            }
            break;
        case OpKind::Movement:
            r = movement_vjp(g, n, grad, want);
            break;
        case OpKind::Index:
            if (n.op == Op::Gather) {
                r[0] = scatter_add(g, n.inputs[1], grad, g[n.inputs[0]].shape[0]);
            } else {
                r[1] = gather(g, grad, n.inputs[0]);
            }
            break;
        case OpKind::Matmul: {
            NodeId a = n.inputs[0], b = n.inputs[1];
            if (want[0]) r[0] = matmul(g, grad, transpose(g, b, -1, -2));
            if (want[1]) r[1] = matmul(g, transpose(g, a, -1, -2), grad);
            break;
        }
        case OpKind::Composite:
            PG_UNREACHABLE("{} is not primitive", op_name(n.op));
    }
    for (size_t i = 0; i < r.size(); ++i)
        if (!want[i]) r[i] = kNoNode;
    return r;
}

}  // namespace pg::autodiff_detail
