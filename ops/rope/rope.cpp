// Rope(x [B, T, H, D]): rotary position embedding of the first `rot = ints[0]` dims of each head,
// halves convention (as the baseline's apply_rotary_emb): with x1 = x[..., :rot/2],
// x2 = x[..., rot/2:rot] and angle(t, i) = t * base^(-2i/rot),
//   out = [x1 * cos + x2 * sin, -x1 * sin + x2 * cos, x[..., rot:]].
// cos/sin are built from iotas over positions and frequencies (no constant tables), with the
// inverse frequency formed as PyTorch does, 1 / base^((2i) / rot) in f32. Computed in f32 and
// cast back. The rotation is orthogonal, so the gradient is the rotation by the negative angle.
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

struct Angles {
    NodeId cos, sin;  // [1, T, 1, rot/2] f32
};

Angles rope_angles(Graph& g, int64_t t, int64_t rot, double base) {
    Shape s{1, t, 1, rot / 2};
    NodeId pos = iota(g, s, 1, DType::f32);
    NodeId two_i = mul(g, iota(g, s, 3, DType::f32), 2.0);
    NodeId expo = div(g, two_i, constant(g, static_cast<double>(rot), s));
    NodeId inv_freq = unary(g, Op::Recip, binary(g, Op::Pow, constant(g, base, s), expo));
    NodeId angle = mul(g, pos, inv_freq);
    return {unary(g, Op::Cos, angle), unary(g, Op::Sin, angle)};
}

// Rotates the first rot dims of x (any dtype) by the angles; `sign` = -1 rotates backwards.
NodeId rotate(Graph& g, NodeId x, int64_t rot, double base, double sign) {
    DType dt = g[x].dtype;
    Shape s = g[x].shape;
    int64_t half = rot / 2;
    NodeId xf = cast(g, x, DType::f32);
    Angles a = rope_angles(g, s[1], rot, base);
    NodeId sn = sign > 0 ? a.sin : unary(g, Op::Neg, a.sin);
    NodeId x1 = slice(g, xf, 3, 0, half);
    NodeId x2 = slice(g, xf, 3, half, rot);
    NodeId o1 = add(g, mul(g, x1, a.cos), mul(g, x2, sn));
    NodeId o2 = sub(g, mul(g, x2, a.cos), mul(g, x1, sn));
    std::vector<NodeId> parts{o1, o2};
    if (rot < s[3]) parts.push_back(slice(g, xf, 3, rot, s[3]));
    return cast(g, concat(g, parts, 3), dt);
}

NodeId decompose_rope(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    return rotate(g, in[0], n.ints[0], n.scalar, 1.0);
}

std::vector<NodeId> rope_vjp(Graph& g, NodeId node, NodeId grad) {
    int64_t rot = g[node].ints[0];
    double base = g[node].scalar;
    DType dt = g[g[node].inputs[0]].dtype;
    return {cast(g, rotate(g, grad, rot, base, -1.0), dt)};
}

PG_REGISTER_COMPOSITE(Op::Rope, {.decompose = decompose_rope, .vjp = rope_vjp});

}  // namespace
}  // namespace pg
