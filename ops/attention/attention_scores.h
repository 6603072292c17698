// The scaled, causally masked attention scores that every attention decomposition starts from
// (ops/attention/attention.cpp and attention_grad.cpp), in the grouped-query layout.
#pragma once
#include "graph/graph.h"

namespace pg::attn {

// The extents of an attention problem, read from q [B, H, T, D] and k [B, Hkv, T, D].
struct Extents {
    int64_t b = 0, h = 0, hkv = 0, t = 0, d = 0;
    int64_t group() const { return h / hkv; }
};
Extents extents(const Graph& g, NodeId q, NodeId k);

// q cast to f32 and viewed as [B, Hkv, G * T, D]: since head h = kv * G + j, the G query heads of
// one kv head are contiguous, so one batched matmul per kv head serves all of them.
NodeId grouped_f32(Graph& g, NodeId q, const Extents& e);

// scale * q k^T over [B, Hkv, G, T, T] in f32 with future keys replaced by -1e30 and, when
// doc_start [B, T] i32 is given (not kNoNode), the keys before the query's document start too:
// the diagonal is always kept, so a row's max is finite and the masked terms underflow to exactly
// 0 in exp.
NodeId masked_scores(Graph& g, NodeId q, NodeId k, double scale, const Extents& e, NodeId doc_start = kNoNode);

// The optional doc_start operand of an attention node (its operand `base`, the first past the
// fixed ones), or kNoNode.
NodeId doc_start_of(const std::vector<NodeId>& in, size_t base);

}  // namespace pg::attn
