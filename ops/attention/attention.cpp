// Attention(q [B, H, T, D], k [B, Hkv, T, D], v [B, Hkv, T, D]) -> [B, H, T, D]: causal
// scaled-dot-product attention with grouped-query heads (head h reads kv head h / G, G = H / Hkv),
// scale = node.scalar, and AttentionLse, the log-sum-exp of the same masked scores.
// Reference decompositions: the masked scores of attention_scores.h, a max-subtracted softmax in
// f32, cast back; they materialise [T, T] and serve the interpreter, PG_FUSION=0 and the targets
// without an attention template. The gradient rule is flash attention's: with the saved lse and
// delta = rowsum(dout * out), AttentionGrad recomputes the probabilities block by block instead
// of keeping them (ops/attention/attention_grad.cpp), so a template never holds [T, T] either.
//
// Masking at BOS (variable-length documents packed in one row, the records' VarLen attention): the
// optional operand doc_start [B, T] i32 (the position of the BOS that opens each token's document)
// makes the mask "doc_start[i] <= j <= i" in place of "j <= i", here and in the templates, which
// also skip the key blocks that end before their row block's smallest doc_start. The gradient
// rule passes it on to the lse and gradient nodes; it has no gradient itself.
#include "graph/build.h"
#include "graph/composite.h"
#include "ops/attention/attention_scores.h"

namespace pg {
namespace {

using namespace build;

NodeId decompose_attention(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    attn::Extents e = attn::extents(g, in[0], in[1]);
    NodeId masked = attn::masked_scores(g, in[0], in[1], n.scalar, e, attn::doc_start_of(in, 3));
    NodeId p = reshape(g, softmax(g, masked), {e.b, e.hkv, e.group() * e.t, e.t});
    NodeId out = reshape(g, matmul(g, p, cast(g, in[2], DType::f32)), {e.b, e.h, e.t, e.d});
    return cast(g, out, g[in[0]].dtype);
}

NodeId decompose_attention_lse(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    attn::Extents e = attn::extents(g, in[0], in[1]);
    NodeId masked = attn::masked_scores(g, in[0], in[1], n.scalar, e, attn::doc_start_of(in, 3));
    NodeId m = reduce_max(g, masked, {-1});
    NodeId lse = add(g, m, unary(g, Op::Log, sum(g, unary(g, Op::Exp, sub(g, masked, m)), {-1})));
    return reshape(g, lse, {e.b, e.h, e.t});
}

std::vector<NodeId> attention_vjp(Graph& g, NodeId node, NodeId grad) {
    const Node& n = g[node];
    std::vector<NodeId> in = n.inputs;
    double scale = n.scalar;
    const Shape& qs = g[in[0]].shape;
    NodeId docs = attn::doc_start_of(in, 3);
    NodeId lse = attention_lse(g, in[0], in[1], in[2], scale, docs);
    NodeId rowdot = sum(g, mul(g, cast(g, grad, DType::f32), cast(g, node, DType::f32)), {-1});
    NodeId delta = reshape(g, rowdot, {qs[0], qs[1], qs[2]});
    std::vector<NodeId> operands = {in[0], in[1], in[2], cast(g, grad, g[in[0]].dtype), lse, delta};
    if (docs != kNoNode) operands.push_back(docs);
    std::vector<NodeId> r = {attention_grad(g, operands, scale, 0), attention_grad(g, operands, scale, 1),
                             attention_grad(g, operands, scale, 2)};
    r.resize(in.size(), kNoNode);
    return r;
}

PG_REGISTER_COMPOSITE(Op::Attention, {.decompose = decompose_attention, .vjp = attention_vjp});
PG_REGISTER_COMPOSITE(Op::AttentionLse, {.decompose = decompose_attention_lse});

}  // namespace
}  // namespace pg
