// Softmax and LogSoftmax over the last axis: reference decompositions (max-subtracted, so exp never
// overflows, computed in f32 whatever the input dtype and cast back) and gradient rules that avoid
// differentiating through the max and the normaliser:
//   softmax:     dx = y * (g - sum(g * y))
//   log_softmax: dx = g - softmax(x) * sum(g)
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

NodeId softmax_f32(Graph& g, NodeId xf) {
    NodeId m = reduce_max(g, xf, {-1});
    NodeId e = unary(g, Op::Exp, sub(g, xf, m));
    return div(g, e, sum(g, e, {-1}));
}

NodeId log_softmax_f32(Graph& g, NodeId xf) {
    NodeId z = sub(g, xf, reduce_max(g, xf, {-1}));
    NodeId lse = unary(g, Op::Log, sum(g, unary(g, Op::Exp, z), {-1}));
    return sub(g, z, lse);
}

NodeId decompose_softmax(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    DType dt = g[in[0]].dtype;
    NodeId xf = cast(g, in[0], DType::f32);
    NodeId y = n.op == Op::Softmax ? softmax_f32(g, xf) : log_softmax_f32(g, xf);
    return cast(g, y, dt);
}

std::vector<NodeId> softmax_vjp(Graph& g, NodeId node, NodeId grad) {
    NodeId x = g[node].inputs[0];
    DType dt = g[x].dtype;
    NodeId yf = softmax(g, cast(g, x, DType::f32));
    NodeId gf = cast(g, grad, DType::f32);
    NodeId dx = mul(g, yf, sub(g, gf, sum(g, mul(g, gf, yf), {-1})));
    return {cast(g, dx, dt)};
}

std::vector<NodeId> log_softmax_vjp(Graph& g, NodeId node, NodeId grad) {
    NodeId x = g[node].inputs[0];
    DType dt = g[x].dtype;
    NodeId pf = softmax(g, cast(g, x, DType::f32));
    NodeId gf = cast(g, grad, DType::f32);
    NodeId dx = sub(g, gf, mul(g, pf, sum(g, gf, {-1})));
    return {cast(g, dx, dt)};
}

PG_REGISTER_COMPOSITE(Op::Softmax, {.decompose = decompose_softmax, .vjp = softmax_vjp});
PG_REGISTER_COMPOSITE(Op::LogSoftmax, {.decompose = decompose_softmax, .vjp = log_softmax_vjp});

}  // namespace
}  // namespace pg
