// FakeQuant(x [rows, cols], bits = ints[0]): the per-row symmetric quantise–dequantise of the
// records' int-N STE QAT (pgolf-spec §4.5), R = 2^(bits−1) − 1:
//   scale_r = max(max_j |x_rj| / R, 1/R),  out = clamp(round(x / scale_r), −(R+1), R) · scale_r.
// The 1/R floor is the records' clamp_min (inherited from their int8 code). round() is half away
// from zero, built as trunc(y + ½·sign(y)) through an i32 cast (the IR has no round op); it
// differs from torch.round's half-to-even only on exact halves. Computed in f32, cast back.
// Gradient: straight-through (the identity), the records' `w + (q(w) − w).detach()`.
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

NodeId round_half_away(Graph& g, NodeId y) {
    NodeId zero = constant_like(g, 0.0, y);
    NodeId half = select(g, binary(g, Op::Lt, y, zero), constant_like(g, -0.5, y), constant_like(g, 0.5, y));
    return cast(g, cast(g, add(g, y, half), DType::i32), DType::f32);
}

NodeId decompose_fake_quant(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    const double range = static_cast<double>((int64_t{1} << (n.ints[0] - 1)) - 1);
    NodeId x = cast(g, in[0], DType::f32);
    NodeId rowmax = reduce_max(g, unary(g, Op::Abs, x), {1});
    NodeId scale = binary(g, Op::Max, mul(g, rowmax, 1.0 / range), constant_like(g, 1.0 / range, rowmax));
    NodeId q = round_half_away(g, div(g, x, scale));
    q = binary(g, Op::Min, binary(g, Op::Max, q, constant_like(g, -range - 1, q)), constant_like(g, range, q));
    return cast(g, mul(g, q, scale), n.dtype);
}

std::vector<NodeId> fake_quant_vjp(Graph& g, NodeId node, NodeId grad) {
    return {cast(g, grad, g[g[node].inputs[0]].dtype)};
}

PG_REGISTER_COMPOSITE(Op::FakeQuant, {.decompose = decompose_fake_quant, .vjp = fake_quant_vjp});

}  // namespace
}  // namespace pg
