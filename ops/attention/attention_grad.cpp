// AttentionGrad's reference decomposition (see graph/op.h): flash attention's backward written
// with whole [T, T] tensors. With the saved log-sum-exp the probabilities are P = exp(S - lse)
// (masked scores give exactly 0), and with delta = rowsum(dout * out) = rowsum(P * dP):
//   dP = dout v^T,  dS = P * (dP - delta),  dq = scale dS k,  dk = scale dS^T q,  dv = P^T dout.
// In the grouped layout [B, Hkv, G * T, .] the products over G * T rows sum the G query heads of
// a kv head, which is GQA's gradient without repeating K/V.
#include "graph/build.h"
#include "graph/composite.h"
#include "ops/attention/attention_scores.h"

namespace pg {
namespace {

using namespace build;

NodeId decompose_attention_grad(Graph& g, const Node& n, const std::vector<NodeId>& in) {
    attn::Extents e = attn::extents(g, in[0], in[1]);
    int64_t rows = e.group() * e.t;
    Shape stat{e.b, e.hkv, rows, 1};
    NodeId docs = attn::doc_start_of(in, 6);
    NodeId masked = reshape(g, attn::masked_scores(g, in[0], in[1], n.scalar, e, docs), {e.b, e.hkv, rows, e.t});
    NodeId p = unary(g, Op::Exp, sub(g, masked, reshape(g, in[4], stat)));
    NodeId dout = attn::grouped_f32(g, in[3], e);
    NodeId kf = cast(g, in[1], DType::f32);
    NodeId dp = matmul(g, dout, transpose(g, cast(g, in[2], DType::f32), 2, 3));
    NodeId ds = mul(g, mul(g, p, sub(g, dp, reshape(g, in[5], stat))), n.scalar);
    DType dt = g[in[0]].dtype;
    switch (n.ints[0]) {
        case 0: return cast(g, reshape(g, matmul(g, ds, kf), {e.b, e.h, e.t, e.d}), dt);
        case 1: return cast(g, matmul(g, transpose(g, ds, 2, 3), attn::grouped_f32(g, in[0], e)), dt);
        default: return cast(g, matmul(g, transpose(g, p, 2, 3), dout), dt);
    }
}

PG_REGISTER_COMPOSITE(Op::AttentionGrad, {.decompose = decompose_attention_grad});

}  // namespace
}  // namespace pg
