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
#include "ops/cross_entropy/softcap.h"

namespace pg {
namespace {

using namespace build;
using ce::capped_logits;
using ce::softcap_slope;
using ce::target_mask;

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
    if (cap != 0) d = mul(g, d, softcap_slope(g, logits, cap));
    return {cast(g, d, dt), kNoNode};
}

PG_REGISTER_COMPOSITE(Op::CrossEntropy,
                      {.decompose = decompose_cross_entropy, .vjp = cross_entropy_vjp});

}  // namespace
}  // namespace pg
