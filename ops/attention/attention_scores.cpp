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

NodeId masked_scores(Graph& g, NodeId q, NodeId k, double scale, const Extents& e, NodeId doc_start) {
    NodeId kf = cast(g, k, DType::f32);
    NodeId scores = mul(g, matmul(g, grouped_f32(g, q, e), transpose(g, kf, 2, 3)), scale);
    Shape s5{e.b, e.hkv, e.group(), e.t, e.t};
    NodeId key = iota(g, {e.t, e.t}, 1);
    NodeId visible = binary(g, Op::Le, key, iota(g, {e.t, e.t}, 0));  // key <= query
    if (doc_start != kNoNode) {  // and key >= doc_start[b, query]
        NodeId first = reshape(g, cast(g, doc_start, DType::i64), {e.b, 1, 1, e.t, 1});
        visible = binary(g, Op::And, visible, binary(g, Op::Ge, key, first));
    }
    return select(g, visible, reshape(g, scores, s5), constant(g, kMaskedScore, s5));
}

NodeId doc_start_of(const std::vector<NodeId>& in, size_t base) { return in.size() > base ? in[base] : kNoNode; }

}  // namespace pg::attn
