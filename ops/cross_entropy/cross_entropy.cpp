// CrossEntropy(logits [N, V], targets [N] int) -> [N] f32 per-token loss, with an optional logit
// softcap c (node.scalar; 0 = none): z = c * tanh(logits / c), loss = logsumexp(z) - z[target].
// Everything is computed in f32. The target logit is picked without a gather, by comparing an iota
// over the vocabulary with the broadcast target and summing the selected entries, which keeps the
// expansion elementwise + reduction (fusable) and makes out-of-range targets contribute
// logsumexp(z) only. The gradient rule is the closed form
//   dlogits = (softmax(z) - onehot(target)) * g * dz/dlogits,  dz/dlogits = 1 - tanh^2(logits / c),
// cast back to the logits dtype; integer targets get no gradient.
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

// tanh(logits / c) in f32, shared by the forward expansion and the gradient (interning makes the
// two the same node when both are in one graph).
NodeId capped_tanh(Graph& g, NodeId logits_f32, double cap) {
    return unary(g, Op::Tanh, mul(g, logits_f32, 1.0 / cap));
}

NodeId capped_logits(Graph& g, NodeId logits, double cap) {
    NodeId lf = cast(g, logits, DType::f32);
    if (cap == 0) return lf;
    return mul(g, capped_tanh(g, lf, cap), cap);
}

// [N, V] bool: column == target of the row.
NodeId target_mask(Graph& g, NodeId logits, NodeId targets) {
    Shape s = g[logits].shape;
    NodeId cols = iota(g, s, 1, g[targets].dtype);
    NodeId t = reshape(g, targets, {s[0], 1});
    return binary(g, Op::Eq, cols, t);
}

NodeId decompose_cross_entropy(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    NodeId logits = in[0], targets = in[1];
    Shape s = g[logits].shape;
    NodeId logp = log_softmax(g, capped_logits(g, logits, n.scalar));
    NodeId picked = select(g, target_mask(g, logits, targets), logp, constant(g, 0.0, s));
    NodeId loss = unary(g, Op::Neg, sum(g, picked, {1}));
    return reshape(g, loss, {s[0]});
}

std::vector<NodeId> cross_entropy_vjp(Graph& g, NodeId node, NodeId grad) {
    NodeId logits = g[node].inputs[0], targets = g[node].inputs[1];
    double cap = g[node].scalar;
    Shape s = g[logits].shape;
    DType dt = g[logits].dtype;
    NodeId p = softmax(g, capped_logits(g, logits, cap));
    NodeId onehot = cast(g, target_mask(g, logits, targets), DType::f32);
    NodeId d = mul(g, sub(g, p, onehot), reshape(g, grad, {s[0], 1}));
    if (cap != 0) {
        NodeId t = capped_tanh(g, cast(g, logits, DType::f32), cap);
        NodeId one = constant(g, 1.0, s);
        d = mul(g, d, sub(g, one, mul(g, t, t)));
    }
    return {cast(g, d, dt), kNoNode};
}

PG_REGISTER_COMPOSITE(Op::CrossEntropy,
                      {.decompose = decompose_cross_entropy, .vjp = cross_entropy_vjp});

}  // namespace
}  // namespace pg
