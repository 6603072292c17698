// Masked attention scores shared by the attention decompositions (see attention_scores.h).
#include "ops/attention/attention_scores.h"

#include "graph/build.h"

namespace pg::attn {

using namespace build;

namespace {
constexpr double kMaskedScore = -1e30;
}  // namespace

Extents extents(const Graph& g, NodeId q, NodeId k) {
    const Shape& qs = g[q].shape;
    return {qs[0], qs[1], g[k].shape[1], qs[2], qs[3]};
}

NodeId grouped_f32(Graph& g, NodeId q, const Extents& e) {
    return reshape(g, cast(g, q, DType::f32), {e.b, e.hkv, e.group() * e.t, e.d});
}

NodeId masked_scores(Graph& g, NodeId q, NodeId k, double scale, const Extents& e) {
    NodeId kf = cast(g, k, DType::f32);
    NodeId scores = mul(g, matmul(g, grouped_f32(g, q, e), transpose(g, kf, 2, 3)), scale);
    Shape s5{e.b, e.hkv, e.group(), e.t, e.t};
    NodeId visible = binary(g, Op::Le, iota(g, {e.t, e.t}, 1), iota(g, {e.t, e.t}, 0));  // key <= query
    return select(g, visible, reshape(g, scores, s5), constant(g, kMaskedScore, s5));
}

}  // namespace pg::attn
