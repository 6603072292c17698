// LinearCrossEntropy(x [N, d], w [V, d], targets [N]) -> [N, 2] f32 (loss, lse) and its gradient
// LinearCrossEntropyGrad (see graph/op.h): the tied head's projection and the softcapped
// cross-entropy as one op, so that a backend can produce and consume the [N, V] logits in tiles
// (ops/cross_entropy/linear_ce_problem.h) and never hold them. The reference decompositions are
// the unfused form: the head matmul l = x wᵀ in x's dtype (as a Matmul stores it), z = softcap(l)
// in f32, loss = lse(z) - z[target], with lse kept as column 1 for the backward. They serve the
// interpreter, PG_FUSION=0 and the targets without a template, and materialise [N, V].
// The gradient rule, with p = exp(z - lse) from the saved statistic and the result's gradient
// (g0, g1) per row (g1 reaches lse only where something differentiates the statistic):
//   dl = (p * (g0 + g1) - onehot(target) * g0) * dz/dl,  rounded to x's dtype (as CrossEntropy's),
//   dx = dl w,  dw = dlᵀ x.
#include "graph/build.h"
#include "graph/composite.h"
#include "ops/cross_entropy/softcap.h"

namespace pg {
namespace {

using namespace build;

NodeId head_logits(Graph& g, NodeId x, NodeId w) { return matmul(g, x, transpose(g, w, 0, 1)); }

// Column `c` of an [N, 2] tensor as [N, 1].
NodeId column(Graph& g, NodeId stats, int64_t c) { return slice(g, stats, 1, c, c + 1); }

NodeId decompose_linear_ce(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    NodeId logits = head_logits(g, in[0], in[1]);
    NodeId z = ce::capped_logits(g, logits, n.scalar);
    NodeId m = reduce_max(g, z, {1});
    NodeId lse = add(g, m, unary(g, Op::Log, sum(g, unary(g, Op::Exp, sub(g, z, m)), {1})));
    NodeId zero = constant(g, 0.0, g[z].shape);
    NodeId picked = sum(g, select(g, ce::target_mask(g, logits, in[2]), z, zero), {1});
    return concat(g, {sub(g, lse, picked), lse}, 1);
}

// dl [N, V] in x's dtype (the header's formula).
NodeId logits_grad(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    NodeId logits = head_logits(g, in[0], in[1]);
    NodeId p = unary(g, Op::Exp, sub(g, ce::capped_logits(g, logits, n.scalar), column(g, in[3], 1)));
    NodeId g0 = column(g, in[4], 0);
    NodeId onehot = cast(g, ce::target_mask(g, logits, in[2]), DType::f32);
    NodeId d = sub(g, mul(g, p, add(g, g0, column(g, in[4], 1))), mul(g, onehot, g0));
    if (n.scalar != 0) d = mul(g, d, ce::softcap_slope(g, logits, n.scalar));
    return cast(g, d, g[in[0]].dtype);
}

NodeId decompose_linear_ce_grad(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    NodeId dl = logits_grad(g, n, in);
    if (n.ints[0] == 0) return matmul(g, dl, in[1]);
    return matmul(g, transpose(g, dl, 0, 1), in[0]);
}

std::vector<NodeId> linear_ce_vjp(Graph& g, NodeId node, NodeId grad) {
    const Node& n = g[node];
    std::vector<NodeId> operands = {n.inputs[0], n.inputs[1], n.inputs[2], node, grad};
    double cap = n.scalar;
    return {linear_cross_entropy_grad(g, operands, cap, 0), linear_cross_entropy_grad(g, operands, cap, 1), kNoNode};
}

PG_REGISTER_COMPOSITE(Op::LinearCrossEntropy, {.decompose = decompose_linear_ce, .vjp = linear_ce_vjp});
PG_REGISTER_COMPOSITE(Op::LinearCrossEntropyGrad, {.decompose = decompose_linear_ce_grad});

}  // namespace
}  // namespace pg
