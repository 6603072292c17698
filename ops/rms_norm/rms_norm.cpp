// RmsNorm over the last axis without weight: y = x * rsqrt(mean(x^2) + eps), computed in f32 and
// cast back to x's dtype (as PyTorch's rms_norm upcasts). The gradient rule is the closed form
// with r = rsqrt(mean(x^2) + eps) and xhat = x * r:
//   dx = r * (g - xhat * mean(g * xhat))
// which needs one reduction instead of the several that differentiating the expansion produces.
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

// rsqrt(mean(x^2) + eps) over the last axis of the f32 value xf, shape [..., 1].
NodeId inv_rms(Graph& g, NodeId xf, double eps) {
    NodeId ms = mean(g, mul(g, xf, xf), {-1});
    return unary(g, Op::Rsqrt, add(g, ms, eps));
}

NodeId decompose_rms_norm(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    DType dt = g[in[0]].dtype;
    NodeId xf = cast(g, in[0], DType::f32);
    return cast(g, mul(g, xf, inv_rms(g, xf, n.scalar)), dt);
}

std::vector<NodeId> rms_norm_vjp(Graph& g, NodeId node, NodeId grad) {
    NodeId x = g[node].inputs[0];
    double eps = g[node].scalar;
    DType dt = g[x].dtype;
    NodeId xf = cast(g, x, DType::f32);
    NodeId gf = cast(g, grad, DType::f32);
    NodeId r = inv_rms(g, xf, eps);
    NodeId xhat = mul(g, xf, r);
    NodeId dx = mul(g, r, sub(g, gf, mul(g, xhat, mean(g, mul(g, gf, xhat), {-1}))));
    return {cast(g, dx, dt)};
}

PG_REGISTER_COMPOSITE(Op::RmsNorm, {.decompose = decompose_rms_norm, .vjp = rms_norm_vjp});

}  // namespace
}  // namespace pg
