// The op set of the graph IR. Primitive ops are what codegen lowers; composite ops (softmax,
// cross-entropy, the tied head's linear cross-entropy, RMSNorm, RoPE, attention) have a reference
// decomposition into primitives and optionally a cheaper gradient rule, both registered by ops/
// (see graph/composite.h).
//
// Attribute conventions (Node::ints / Node::scalar / Node::name), per op:
//   Param, Input      name; shape and dtype are the node's
//   Scalar            name; a runtime scalar of shape [] (learning rate, step): never recompiles
//   Const             scalar = the value, filled over the node's shape
//   Iota              ints = {axis}: value = index along axis
//   Cast              target dtype = the node's dtype
//   Sum, ReduceMax    ints = reduced axes (sorted); reduced axes are kept with extent 1
//   Reshape           the node's shape (same element count)
//   Permute           ints = perm: out.shape[i] = in.shape[perm[i]]
//   Broadcast         the node's shape; same rank as the input, extents 1 expand
//   Slice             ints = {start_0..start_r-1, step_0..step_r-1}; the node's shape is the result
//   Pad               ints = {lo_0..lo_r-1}; scalar = pad value; hi follows from the node's shape
//   Concat            ints = {axis}
//   Gather            (table [V, R...], index [I...]) -> [I..., R...]
//   ScatterAdd        (index [I...], src [I..., R...]) -> [V, R...], V = node.shape[0]
//   Matmul            ([..., M, K], [..., K, N]) -> [..., M, N]; equal batch dims
//   Softmax, LogSoftmax  over the last axis
//   CrossEntropy      (logits [N, V] float, targets [N] int) -> [N] f32 per-token loss;
//                     scalar = logit softcap c (0 = none): logits <- c * tanh(logits / c)
//   RmsNorm           over the last axis, no weight; scalar = eps
//   Rope              x [B, T, H, D]; ints = {rotated dims}; scalar = base; halves convention
//   Attention         (q [B, H, T, D], k [B, Hkv, T, D], v [B, Hkv, T, D]) -> [B, H, T, D],
//                     causal, GQA (head h reads kv head h / (H / Hkv)); scalar = softmax scale
//   AttentionLse      (q, k, v) -> [B, H, T] f32: the log-sum-exp of each query's scaled, masked
//                     scores (the softmax statistics the backward reuses); scalar = softmax scale
//   AttentionGrad     (q, k, v, dout [B, H, T, D], lse [B, H, T] f32, delta [B, H, T] f32) with
//                     delta = rowsum(dout * out): ints = {which}: 0 -> dq [B, H, T, D],
//                     1 -> dk, 2 -> dv [B, Hkv, T, D], in q's dtype; scalar = softmax scale
//                     The three attention ops take an optional last operand doc_start [B, T] i32
//                     (document masking at BOS): query i then sees keys doc_start[i] <= j <= i
//                     only; doc_start is the position of the BOS opening each token's document
//                     (nondecreasing along a row, doc_start[i] <= i)
//   LinearCrossEntropy (x [N, d], w [V, d] of one float dtype, targets [N] int) -> [N, 2] f32: the
//                     cross-entropy of the softcapped logits x wᵀ (rounded to x's dtype, as a matmul
//                     stores them): column 0 the per-token loss, column 1 the log-sum-exp of the
//                     softcapped logits (the statistic the backward reuses); scalar = softcap c
//   LinearCrossEntropyGrad (x, w, targets, stats [N, 2] f32 (the forward's), grad [N, 2] f32 (of
//                     the forward's result)): ints = {which}: 0 -> dx [N, d], 1 -> dw [V, d], in x's
//                     dtype; scalar = softcap c
#pragma once
#include <cstdint>
#include <string_view>

namespace pg {

enum class OpKind : uint8_t { Leaf, Unary, Binary, Ternary, Reduce, Movement, Index, Matmul, Composite };

// X(name, text, kind, arity); arity -1 = variadic.
#define PG_OPS(X)                              \
    X(Param, "param", Leaf, 0)                 \
    X(Input, "input", Leaf, 0)                 \
    X(Scalar, "scalar", Leaf, 0)               \
    X(Const, "const", Leaf, 0)                 \
    X(Iota, "iota", Leaf, 0)                   \
    X(Neg, "neg", Unary, 1)                    \
    X(Exp, "exp", Unary, 1)                    \
    X(Log, "log", Unary, 1)                    \
    X(Tanh, "tanh", Unary, 1)                  \
    X(Sigmoid, "sigmoid", Unary, 1)            \
    X(Sqrt, "sqrt", Unary, 1)                  \
    X(Rsqrt, "rsqrt", Unary, 1)                \
    X(Abs, "abs", Unary, 1)                    \
    X(Relu, "relu", Unary, 1)                  \
    X(Sin, "sin", Unary, 1)                    \
    X(Cos, "cos", Unary, 1)                    \
    X(Recip, "recip", Unary, 1)                \
    X(Not, "not", Unary, 1)                    \
    X(Cast, "cast", Unary, 1)                  \
    X(Add, "add", Binary, 2)                   \
    X(Sub, "sub", Binary, 2)                   \
    X(Mul, "mul", Binary, 2)                   \
    X(Div, "div", Binary, 2)                   \
    X(Max, "max", Binary, 2)                   \
    X(Min, "min", Binary, 2)                   \
    X(Pow, "pow", Binary, 2)                   \
    X(Lt, "lt", Binary, 2)                     \
    X(Le, "le", Binary, 2)                     \
    X(Gt, "gt", Binary, 2)                     \
    X(Ge, "ge", Binary, 2)                     \
    X(Eq, "eq", Binary, 2)                     \
    X(Ne, "ne", Binary, 2)                     \
    X(And, "and", Binary, 2)                   \
    X(Or, "or", Binary, 2)                     \
    X(Select, "select", Ternary, 3)            \
    X(Sum, "sum", Reduce, 1)                   \
    X(ReduceMax, "reduce_max", Reduce, 1)      \
    X(Reshape, "reshape", Movement, 1)         \
    X(Permute, "permute", Movement, 1)         \
    X(Broadcast, "broadcast", Movement, 1)     \
    X(Slice, "slice", Movement, 1)             \
    X(Pad, "pad", Movement, 1)                 \
    X(Concat, "concat", Movement, -1)          \
    X(Gather, "gather", Index, 2)              \
    X(ScatterAdd, "scatter_add", Index, 2)     \
    X(Matmul, "matmul", Matmul, 2)             \
    X(Softmax, "softmax", Composite, 1)        \
    X(LogSoftmax, "log_softmax", Composite, 1) \
    X(CrossEntropy, "cross_entropy", Composite, 2) \
    X(RmsNorm, "rms_norm", Composite, 1)       \
    X(Rope, "rope", Composite, 1)              \
    X(Attention, "attention", Composite, -1)   \
    X(AttentionLse, "attention_lse", Composite, -1) \
    X(AttentionGrad, "attention_grad", Composite, -1) \
    X(LinearCrossEntropy, "linear_cross_entropy", Composite, 3) \
    X(LinearCrossEntropyGrad, "linear_cross_entropy_grad", Composite, 5) \
    X(FakeQuant, "fake_quant", Composite, 1)

enum class Op : uint8_t {
#define PG_OP_ENUM(name, text, kind, arity) name,
    PG_OPS(PG_OP_ENUM)
#undef PG_OP_ENUM
};

std::string_view op_name(Op op);
OpKind op_kind(Op op);
int op_arity(Op op);               // -1 = variadic
Op parse_op(std::string_view text);  // throws pg::Error on an unknown name
bool is_comparison(Op op);         // Lt..Ne: bool result
bool is_elementwise(Op op);        // Unary, Binary or Ternary

}  // namespace pg
