// Builders: the functions that add typed nodes to a Graph. Binary and select operands broadcast
// numpy-style (right-aligned; extents of 1 expand) by inserting explicit Reshape/Broadcast nodes,
// so that the IR itself only ever sees equal shapes.
#pragma once
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pg::build {

NodeId param(Graph& g, const std::string& name, const Shape& shape, DType dtype = DType::f32);
NodeId input(Graph& g, const std::string& name, const Shape& shape, DType dtype);
NodeId scalar(Graph& g, const std::string& name);  // runtime f32 scalar of shape []
NodeId constant(Graph& g, double value, const Shape& shape, DType dtype = DType::f32);
NodeId constant_like(Graph& g, double value, NodeId like);
NodeId iota(Graph& g, const Shape& shape, int64_t axis, DType dtype = DType::i64);

NodeId unary(Graph& g, Op op, NodeId a);
NodeId cast(Graph& g, NodeId a, DType to);  // no node when already of type `to`
NodeId binary(Graph& g, Op op, NodeId a, NodeId b);
NodeId select(Graph& g, NodeId cond, NodeId a, NodeId b);

NodeId add(Graph& g, NodeId a, NodeId b);
NodeId sub(Graph& g, NodeId a, NodeId b);
NodeId mul(Graph& g, NodeId a, NodeId b);
NodeId div(Graph& g, NodeId a, NodeId b);
NodeId mul(Graph& g, NodeId a, double b);
NodeId add(Graph& g, NodeId a, double b);

// Reductions keep reduced axes with extent 1. Negative axes count from the end.
NodeId reduce(Graph& g, Op op, NodeId a, std::vector<int64_t> axes);
NodeId sum(Graph& g, NodeId a, std::vector<int64_t> axes);
NodeId mean(Graph& g, NodeId a, std::vector<int64_t> axes);
NodeId reduce_max(Graph& g, NodeId a, std::vector<int64_t> axes);

NodeId reshape(Graph& g, NodeId a, const Shape& shape);
NodeId permute(Graph& g, NodeId a, const std::vector<int64_t>& perm);
NodeId transpose(Graph& g, NodeId a, int64_t axis0, int64_t axis1);
NodeId broadcast_to(Graph& g, NodeId a, const Shape& shape);  // numpy rules, may prepend axes
NodeId slice(Graph& g, NodeId a, int64_t axis, int64_t start, int64_t end, int64_t step = 1);
NodeId pad(Graph& g, NodeId a, const std::vector<int64_t>& lo, const std::vector<int64_t>& hi, double value = 0);
NodeId concat(Graph& g, const std::vector<NodeId>& parts, int64_t axis);
NodeId gather(Graph& g, NodeId table, NodeId index);
NodeId scatter_add(Graph& g, NodeId index, NodeId src, int64_t rows);
NodeId matmul(Graph& g, NodeId a, NodeId b);

NodeId softmax(Graph& g, NodeId x);
NodeId log_softmax(Graph& g, NodeId x);
NodeId cross_entropy(Graph& g, NodeId logits, NodeId targets, double softcap = 0);
NodeId rms_norm(Graph& g, NodeId x, double eps);
NodeId rope(Graph& g, NodeId x, int64_t rotated_dims, double base);
// Per-row symmetric fake quantisation of x [rows, cols] to `bits` bits with a straight-through
// gradient (ops/fake_quant).
NodeId fake_quant(Graph& g, NodeId x, int64_t bits);
// doc_start: kNoNode (causal only) or [B, T] i32, document masking at BOS (see Op::Attention).
NodeId attention(Graph& g, NodeId q, NodeId k, NodeId v, double scale, NodeId doc_start = kNoNode);
NodeId attention_lse(Graph& g, NodeId q, NodeId k, NodeId v, double scale, NodeId doc_start = kNoNode);
// which: 0 -> dq, 1 -> dk, 2 -> dv (see Op::AttentionGrad); operands q, k, v, dout, lse, delta
// [, doc_start]
NodeId attention_grad(Graph& g, const std::vector<NodeId>& operands, double scale, int64_t which);
// [N, 2] f32: per-token loss and log-sum-exp of softcap(x wᵀ) (see Op::LinearCrossEntropy).
NodeId linear_cross_entropy(Graph& g, NodeId x, NodeId w, NodeId targets, double softcap = 0);
// which: 0 -> dx, 1 -> dw (see Op::LinearCrossEntropyGrad)
NodeId linear_cross_entropy_grad(Graph& g, const std::vector<NodeId>& x_w_targets_stats_grad, double softcap,
                                 int64_t which);

// Sums `a` over the axes that broadcasting to a.shape expanded from `target` (the adjoint of
// broadcast_to), returning a value of shape `target`.
NodeId sum_to(Graph& g, NodeId a, const Shape& target);

// The numpy broadcast of two shapes; throws pg::Error naming both shapes and `what` when they are
// incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, std::string_view what);

}  // namespace pg::build
