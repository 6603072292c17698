// Attention(q [B, H, T, D], k [B, Hkv, T, D], v [B, Hkv, T, D]) -> [B, H, T, D]: causal
// scaled-dot-product attention with grouped-query heads (head h reads kv head h / G, G = H / Hkv),
// scale = node.scalar. The expansion never materialises repeated K/V: since h = kv * G + j, q is
// contiguously [B, Hkv, G * T, D], so one batched matmul per kv head scores all G query heads.
// The causal mask compares iotas over [T, T] and replaces future scores by -1e30 before the
// max-subtracted softmax: the diagonal is always kept, so the row max is finite and the masked
// terms underflow to exactly 0 in exp. Computed in f32 and cast back; the gradient is that of the
// expansion.
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using namespace build;

constexpr double kMaskedScore = -1e30;

NodeId decompose_attention(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    DType dt = g[in[0]].dtype;
    Shape qs = g[in[0]].shape;
    Shape ks = g[in[1]].shape;
    int64_t b = qs[0], h = qs[1], t = qs[2], d = qs[3], hkv = ks[1], grp = h / hkv;
    NodeId q = reshape(g, cast(g, in[0], DType::f32), {b, hkv, grp * t, d});
    NodeId k = cast(g, in[1], DType::f32);
    NodeId v = cast(g, in[2], DType::f32);
    NodeId scores = mul(g, matmul(g, q, transpose(g, k, 2, 3)), n.scalar);
    NodeId s5 = reshape(g, scores, {b, hkv, grp, t, t});
    NodeId visible = binary(g, Op::Le, iota(g, {t, t}, 1), iota(g, {t, t}, 0));  // key <= query
    NodeId masked = select(g, visible, s5, constant(g, kMaskedScore, {b, hkv, grp, t, t}));
    NodeId p = reshape(g, softmax(g, masked), {b, hkv, grp * t, t});
    NodeId out = reshape(g, matmul(g, p, v), {b, h, t, d});
    return cast(g, out, dt);
}

PG_REGISTER_COMPOSITE(Op::Attention, {.decompose = decompose_attention});

}  // namespace
}  // namespace pg
