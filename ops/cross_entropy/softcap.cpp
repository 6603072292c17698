// Softcap and target-mask expansions (see softcap.h).
#include "ops/cross_entropy/softcap.h"

#include "graph/build.h"

namespace pg::ce {

using namespace build;

NodeId capped_tanh(Graph& g, NodeId logits_f32, double cap) {
    return unary(g, Op::Tanh, mul(g, logits_f32, 1.0 / cap));
}

NodeId capped_logits(Graph& g, NodeId logits, double cap) {
    NodeId lf = cast(g, logits, DType::f32);
    if (cap == 0) return lf;
    return mul(g, capped_tanh(g, lf, cap), cap);
}

NodeId softcap_slope(Graph& g, NodeId logits, double cap) {
    NodeId t = capped_tanh(g, cast(g, logits, DType::f32), cap);
    return sub(g, constant(g, 1.0, g[logits].shape), mul(g, t, t));
}

NodeId target_mask(Graph& g, NodeId logits, NodeId targets) {
    Shape s = g[logits].shape;
    NodeId cols = iota(g, s, 1, g[targets].dtype);
    NodeId t = reshape(g, targets, {s[0], 1});
    return binary(g, Op::Eq, cols, t);
}

}  // namespace pg::ce
