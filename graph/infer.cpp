// Typing rules of every op (see infer.h and the attribute table in op.h).
#include "graph/infer.h"

#include <algorithm>

#include "base/error.h"
#include "graph/graph.h"

namespace pg {
namespace {

std::string describe(const Graph& g, const Node& n) {
    std::string s = fmt::format("{}(", op_name(n.op));
    for (size_t i = 0; i < n.inputs.size(); ++i) {
        const Node& in = g[n.inputs[i]];
        s += fmt::format("{}{} {}", i ? ", " : "", dtype_name(in.dtype), shape_str(in.shape));
    }
    return s + ")";
}

#define INFER_CHECK(cond, ...) PG_CHECK(cond, "{}: {}", describe(g, n), fmt::format(__VA_ARGS__))

void check_axis(const Graph& g, const Node& n, int64_t axis, size_t rank) {
    INFER_CHECK(axis >= 0 && static_cast<size_t>(axis) < rank, "axis {} is out of range for rank {}", axis, rank);
}

void infer_leaf(const Graph& g, Node& n) {
    for (int64_t d : n.shape) INFER_CHECK(d >= 0, "negative extent in shape {}", shape_str(n.shape));
    switch (n.op) {
        case Op::Param:
        case Op::Input:
            INFER_CHECK(!n.name.empty(), "a {} needs a name", op_name(n.op));
            break;
        case Op::Scalar:
            INFER_CHECK(!n.name.empty(), "a runtime scalar needs a name");
            INFER_CHECK(n.shape.empty(), "a runtime scalar has shape [], got {}", shape_str(n.shape));
            INFER_CHECK(n.dtype == DType::f32, "runtime scalars are f32");
            break;
        case Op::Iota:
            INFER_CHECK(n.ints.size() == 1, "iota needs one axis attribute");
            check_axis(g, n, n.ints[0], n.shape.size());
            break;
        default: break;
    }
}

void infer_elementwise(const Graph& g, Node& n) {
    const Node& a = g[n.inputs[0]];
    for (NodeId in : n.inputs) {
        const Node& x = g[in];
        INFER_CHECK(x.shape == a.shape, "operand shapes differ ({} vs {}); broadcast explicitly",
                    shape_str(a.shape), shape_str(x.shape));
    }
    n.shape = a.shape;
    switch (n.op) {
        case Op::Cast: return;  // dtype is the attribute
        case Op::Not:
            INFER_CHECK(a.dtype == DType::boolean, "not takes bool");
            n.dtype = DType::boolean;
            return;
        case Op::And:
        case Op::Or:
            INFER_CHECK(a.dtype == DType::boolean && g[n.inputs[1]].dtype == DType::boolean, "{} takes bool operands",
                        op_name(n.op));
            n.dtype = DType::boolean;
            return;
        case Op::Select: {
            const Node& b = g[n.inputs[1]];
            const Node& c = g[n.inputs[2]];
            INFER_CHECK(a.dtype == DType::boolean, "select condition must be bool");
            INFER_CHECK(b.dtype == c.dtype, "select branches have dtypes {} and {}", dtype_name(b.dtype),
                        dtype_name(c.dtype));
            n.dtype = b.dtype;
            return;
        }
        default: break;
    }
    if (op_kind(n.op) == OpKind::Binary) {
        const Node& b = g[n.inputs[1]];
        INFER_CHECK(a.dtype == b.dtype, "operand dtypes differ ({} vs {}); cast explicitly", dtype_name(a.dtype),
                    dtype_name(b.dtype));
    }
    if (is_comparison(n.op)) {
        n.dtype = DType::boolean;
        return;
    }
    bool float_only = n.op == Op::Exp || n.op == Op::Log || n.op == Op::Tanh || n.op == Op::Sigmoid ||
                      n.op == Op::Sqrt || n.op == Op::Rsqrt || n.op == Op::Sin || n.op == Op::Cos ||
                      n.op == Op::Recip || n.op == Op::Pow;
    INFER_CHECK(!float_only || is_float(a.dtype), "{} needs a float operand", op_name(n.op));
    INFER_CHECK(a.dtype != DType::boolean, "{} does not take bool", op_name(n.op));
    n.dtype = a.dtype;
}

void infer_reduce(const Graph& g, Node& n) {
    const Node& a = g[n.inputs[0]];
    INFER_CHECK(std::is_sorted(n.ints.begin(), n.ints.end()) &&
                    std::adjacent_find(n.ints.begin(), n.ints.end()) == n.ints.end(),
                "reduction axes must be sorted and unique");
    INFER_CHECK(a.dtype != DType::boolean, "cannot reduce bool");
    n.shape = a.shape;
    for (int64_t ax : n.ints) {
        check_axis(g, n, ax, a.shape.size());
        n.shape[ax] = 1;
    }
    n.dtype = a.dtype;
}

void infer_movement(const Graph& g, Node& n) {
    const Node& a = g[n.inputs[0]];
    size_t r = a.shape.size();
    n.dtype = a.dtype;
    switch (n.op) {
        case Op::Reshape:
            INFER_CHECK(numel(n.shape) == numel(a.shape), "cannot reshape {} elements to {}", numel(a.shape),
                        shape_str(n.shape));
            return;
        case Op::Permute: {
            INFER_CHECK(n.ints.size() == r, "permutation {} does not match rank {}", fmt::join(n.ints, ","), r);
            std::vector<int64_t> sorted = n.ints;
            std::sort(sorted.begin(), sorted.end());
            for (size_t i = 0; i < r; ++i)
                INFER_CHECK(sorted[i] == static_cast<int64_t>(i), "[{}] is not a permutation", fmt::join(n.ints, ","));
            n.shape.resize(r);
            for (size_t i = 0; i < r; ++i) n.shape[i] = a.shape[n.ints[i]];
            return;
        }
        case Op::Broadcast:
            INFER_CHECK(n.shape.size() == r, "cannot broadcast {} to {}: ranks differ", shape_str(a.shape),
                        shape_str(n.shape));
            for (size_t i = 0; i < r; ++i)
                INFER_CHECK(a.shape[i] == n.shape[i] || a.shape[i] == 1, "cannot broadcast {} to {}",
                            shape_str(a.shape), shape_str(n.shape));
            return;
        case Op::Slice:
            INFER_CHECK(n.ints.size() == 2 * r && n.shape.size() == r, "slice needs start and step per axis");
            for (size_t i = 0; i < r; ++i) {
                int64_t start = n.ints[i], step = n.ints[r + i];
                INFER_CHECK(step >= 1, "slice step must be >= 1 (axis {})", i);
                INFER_CHECK(start >= 0 && (n.shape[i] == 0 || start + (n.shape[i] - 1) * step < a.shape[i]),
                            "slice of axis {} (start {}, step {}, {} elements) exceeds extent {}", i, start, step,
                            n.shape[i], a.shape[i]);
            }
            return;
        case Op::Pad:
            INFER_CHECK(n.ints.size() == r && n.shape.size() == r, "pad needs a low padding per axis");
            for (size_t i = 0; i < r; ++i)
                INFER_CHECK(n.ints[i] >= 0 && n.shape[i] - a.shape[i] - n.ints[i] >= 0,
                            "pad of axis {} to {} with low padding {} is invalid", i, n.shape[i], n.ints[i]);
            return;
        case Op::Concat: {
            INFER_CHECK(n.ints.size() == 1, "concat needs an axis");
            check_axis(g, n, n.ints[0], r);
            n.shape = a.shape;
            n.shape[n.ints[0]] = 0;
            for (NodeId in : n.inputs) {
                const Node& x = g[in];
                INFER_CHECK(x.dtype == a.dtype && x.shape.size() == r, "concat operands differ in dtype or rank");
                for (size_t i = 0; i < r; ++i)
                    INFER_CHECK(static_cast<int64_t>(i) == n.ints[0] || x.shape[i] == a.shape[i],
                                "concat operands differ off the concat axis");
                n.shape[n.ints[0]] += x.shape[n.ints[0]];
            }
            return;
        }
        default: PG_UNREACHABLE();
    }
}

void infer_index(const Graph& g, Node& n) {
    if (n.op == Op::Gather) {
        const Node& table = g[n.inputs[0]];
        const Node& idx = g[n.inputs[1]];
        INFER_CHECK(is_int(idx.dtype), "gather indices must be integers");
        INFER_CHECK(!table.shape.empty(), "gather table must have rank >= 1");
        n.shape = idx.shape;
        n.shape.insert(n.shape.end(), table.shape.begin() + 1, table.shape.end());
        n.dtype = table.dtype;
        return;
    }
    const Node& idx = g[n.inputs[0]];
    const Node& src = g[n.inputs[1]];
    INFER_CHECK(is_int(idx.dtype), "scatter_add indices must be integers");
    INFER_CHECK(is_float(src.dtype), "scatter_add source must be float");
    INFER_CHECK(src.shape.size() >= idx.shape.size() &&
                    std::equal(idx.shape.begin(), idx.shape.end(), src.shape.begin()),
                "source shape must start with the index shape");
    Shape expect{n.shape.empty() ? 0 : n.shape[0]};
    expect.insert(expect.end(), src.shape.begin() + static_cast<long>(idx.shape.size()), src.shape.end());
    INFER_CHECK(n.shape == expect, "result shape {} should be {}", shape_str(n.shape), shape_str(expect));
    n.dtype = src.dtype;
}

void infer_matmul(const Graph& g, Node& n) {
    const Node& a = g[n.inputs[0]];
    const Node& b = g[n.inputs[1]];
    size_t r = a.shape.size();
    INFER_CHECK(r >= 2 && b.shape.size() == r, "matmul needs operands of equal rank >= 2");
    INFER_CHECK(a.dtype == b.dtype && is_float(a.dtype), "matmul needs float operands of one dtype");
    INFER_CHECK(std::equal(a.shape.begin(), a.shape.end() - 2, b.shape.begin()), "batch dimensions differ");
    INFER_CHECK(a.shape[r - 1] == b.shape[r - 2], "inner dimensions differ ({} vs {})", a.shape[r - 1],
                b.shape[r - 2]);
    n.shape = a.shape;
    n.shape[r - 1] = b.shape[r - 1];
    n.dtype = a.dtype;
}

// AttentionGrad's extra operands (dout like q; lse and delta f32 [B, H, T]) and its result: dq
// shaped like q, dk and dv like k.
void infer_attention_grad(const Graph& g, Node& n) {
    const Node& q = g[n.inputs[0]];
    const Node& dout = g[n.inputs[3]];
    Shape rows{q.shape[0], q.shape[1], q.shape[2]};
    INFER_CHECK(dout.shape == q.shape && dout.dtype == q.dtype, "dout must match q's shape and dtype");
    for (int i : {4, 5})
        INFER_CHECK(g[n.inputs[i]].shape == rows && g[n.inputs[i]].dtype == DType::f32,
                    "lse and delta must be f32 {}", shape_str(rows));
    INFER_CHECK(n.ints.size() == 1 && n.ints[0] >= 0 && n.ints[0] <= 2, "which must be 0 (dq), 1 (dk) or 2 (dv)");
    n.shape = n.ints[0] == 0 ? q.shape : g[n.inputs[1]].shape;
}

// The attention ops' operand count and their optional last operand doc_start [B, T] i32.
void infer_doc_start(const Graph& g, const Node& n) {
    const size_t base = n.op == Op::AttentionGrad ? 6 : 3;
    INFER_CHECK(n.inputs.size() == base || n.inputs.size() == base + 1, "{} takes {} inputs (+ doc_start), got {}",
                op_name(n.op), base, n.inputs.size());
    const Node& q = g[n.inputs[0]];
    if (n.inputs.size() == base || q.shape.size() != 4) return;
    const Node& d = g[n.inputs[base]];
    INFER_CHECK(d.shape == Shape({q.shape[0], q.shape[2]}) && d.dtype == DType::i32, "doc_start must be i32 [{}, {}]",
                q.shape[0], q.shape[2]);
}

// LinearCrossEntropy(Grad): x [N, d] and w [V, d] of one float dtype, targets [N] int; the
// gradient's stats and grad are f32 [N, 2]. Result: [N, 2] f32, dx like x or dw like w.
void infer_linear_cross_entropy(const Graph& g, Node& n) {
    const Node& x = g[n.inputs[0]];
    const Node& w = g[n.inputs[1]];
    const Node& t = g[n.inputs[2]];
    INFER_CHECK(x.shape.size() == 2 && w.shape.size() == 2 && x.shape[1] == w.shape[1],
                "expects x [N, d] and w [V, d] (the tied head's weight)");
    INFER_CHECK(w.dtype == x.dtype, "x and w dtypes differ");
    INFER_CHECK(t.shape == Shape{x.shape[0]} && is_int(t.dtype), "targets must be integers [N]");
    INFER_CHECK(n.scalar >= 0, "softcap must be >= 0");
    n.shape = {x.shape[0], 2};
    n.dtype = DType::f32;
    if (n.op == Op::LinearCrossEntropy) return;
    for (int i : {3, 4})
        INFER_CHECK(g[n.inputs[i]].shape == n.shape && g[n.inputs[i]].dtype == DType::f32,
                    "stats and grad must be f32 [N, 2]");
    INFER_CHECK(n.ints.size() == 1 && (n.ints[0] == 0 || n.ints[0] == 1), "which must be 0 (dx) or 1 (dw)");
    n.shape = n.ints[0] == 0 ? x.shape : w.shape;
    n.dtype = x.dtype;
}

void infer_composite(const Graph& g, Node& n) {
    const Node& a = g[n.inputs[0]];
    INFER_CHECK(is_float(a.dtype), "{} needs a float operand", op_name(n.op));
    INFER_CHECK(!a.shape.empty(), "{} needs rank >= 1", op_name(n.op));
    n.shape = a.shape;
    n.dtype = a.dtype;
    switch (n.op) {
        case Op::Softmax:
        case Op::LogSoftmax: return;
        case Op::RmsNorm: INFER_CHECK(n.scalar > 0, "rms_norm eps must be positive"); return;
        case Op::CrossEntropy: {
            const Node& t = g[n.inputs[1]];
            INFER_CHECK(a.shape.size() == 2 && t.shape.size() == 1 && t.shape[0] == a.shape[0],
                        "expects logits [N, V] and targets [N]");
            INFER_CHECK(is_int(t.dtype), "targets must be integers");
            INFER_CHECK(n.scalar >= 0, "softcap must be >= 0");
            n.shape = {a.shape[0]};
            n.dtype = DType::f32;
            return;
        }
        case Op::LinearCrossEntropy:
        case Op::LinearCrossEntropyGrad: infer_linear_cross_entropy(g, n); return;
        case Op::Rope:
            INFER_CHECK(a.shape.size() == 4, "expects x [B, T, H, D]");
            INFER_CHECK(n.ints.size() == 1 && n.ints[0] > 0 && n.ints[0] % 2 == 0 && n.ints[0] <= a.shape[3],
                        "rotated dims must be even, positive and <= D = {}", a.shape[3]);
            INFER_CHECK(n.scalar > 0, "rope base must be positive");
            return;
        case Op::FakeQuant:
            INFER_CHECK(a.shape.size() == 2 && is_float(a.dtype), "expects a float matrix [rows, cols]");
            INFER_CHECK(n.ints.size() == 1 && n.ints[0] >= 2 && n.ints[0] <= 16, "bits must be in [2, 16]");
            return;
        case Op::Attention:
        case Op::AttentionLse:
        case Op::AttentionGrad: {
            infer_doc_start(g, n);
            const Node& k = g[n.inputs[1]];
            const Node& v = g[n.inputs[2]];
            INFER_CHECK(a.shape.size() == 4 && k.shape.size() == 4 && v.shape == k.shape,
                        "expects q [B, H, T, D], k and v [B, Hkv, T, D]");
            INFER_CHECK(a.shape[0] == k.shape[0] && a.shape[2] == k.shape[2] && a.shape[3] == k.shape[3],
                        "q and k differ in batch, length or head dim");
            INFER_CHECK(k.shape[1] > 0 && a.shape[1] % k.shape[1] == 0, "query heads {} not a multiple of kv heads {}",
                        a.shape[1], k.shape[1]);
            INFER_CHECK(k.dtype == a.dtype && v.dtype == a.dtype, "q, k, v dtypes differ");
            if (n.op == Op::AttentionLse) {
                n.shape = {a.shape[0], a.shape[1], a.shape[2]};
                n.dtype = DType::f32;
            }
            if (n.op == Op::AttentionGrad) infer_attention_grad(g, n);
            return;
        }
        default: PG_UNREACHABLE();
    }
}

}  // namespace

void infer_node(const Graph& g, Node& n) {
    int arity = op_arity(n.op);
    if (arity >= 0)
        PG_CHECK(static_cast<int>(n.inputs.size()) == arity, "{} takes {} inputs, got {}", op_name(n.op), arity,
                 n.inputs.size());
    else
        PG_CHECK(!n.inputs.empty(), "{} needs at least one input", op_name(n.op));
    switch (op_kind(n.op)) {
        case OpKind::Leaf: infer_leaf(g, n); return;
        case OpKind::Unary:
        case OpKind::Binary:
        case OpKind::Ternary: infer_elementwise(g, n); return;
        case OpKind::Reduce: infer_reduce(g, n); return;
        case OpKind::Movement: infer_movement(g, n); return;
        case OpKind::Index: infer_index(g, n); return;
        case OpKind::Matmul: infer_matmul(g, n); return;
        case OpKind::Composite: infer_composite(g, n); return;
    }
}

}  // namespace pg
