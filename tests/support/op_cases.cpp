// The op table (see op_cases.h).
#include "tests/support/op_cases.h"

#include <fmt/format.h>

#include "graph/build.h"

namespace pg::testing {

namespace {
namespace b = build;

void add_unary_cases(std::vector<OpCase>& t) {
    for (Op op : {Op::Neg, Op::Exp, Op::Log, Op::Tanh, Op::Sigmoid, Op::Sqrt, Op::Rsqrt, Op::Abs, Op::Relu, Op::Sin,
                  Op::Cos, Op::Recip}) {
        t.push_back({fmt::format("unary {}", op_name(op)), [op](Graph& g) {
                         NodeId x = b::param(g, "x", {3, 37});
                         // Keep log/sqrt/rsqrt/recip away from their poles: x -> |x| + 0.5.
                         if (op == Op::Log || op == Op::Sqrt || op == Op::Rsqrt || op == Op::Recip)
                             x = b::add(g, b::unary(g, Op::Abs, x), 0.5);
                         return b::unary(g, op, x);
                     }});
    }
}

void add_binary_cases(std::vector<OpCase>& t) {
    for (Op op : {Op::Add, Op::Sub, Op::Mul, Op::Div, Op::Max, Op::Min, Op::Pow}) {
        t.push_back({fmt::format("binary {}", op_name(op)), [op](Graph& g) {
                         NodeId x = b::param(g, "x", {4, 33});
                         NodeId y = b::param(g, "y", {4, 33});
                         if (op == Op::Pow) x = b::add(g, b::unary(g, Op::Abs, x), 0.5);
                         if (op == Op::Div) y = b::add(g, b::unary(g, Op::Abs, y), 0.5);
                         return b::binary(g, op, x, y);
                     }});
    }
    for (Op op : {Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::Eq, Op::Ne}) {
        t.push_back({fmt::format("compare {} with select, and, or, not", op_name(op)), [op](Graph& g) {
                         NodeId x = b::param(g, "x", {5, 9});
                         NodeId y = b::param(g, "y", {5, 9});
                         NodeId c = b::binary(g, op, x, op == Op::Eq || op == Op::Ne ? x : y);
                         NodeId m = b::binary(g, Op::Or, c, b::unary(g, Op::Not, b::binary(g, Op::And, c, c)));
                         return b::add(g, b::select(g, c, x, y), b::cast(g, m, DType::f32));
                     }});
    }
    t.push_back({"runtime scalar", [](Graph& g) {
                     return b::add(g, b::mul(g, b::param(g, "x", {7, 11}), b::scalar(g, "s")), 0.25);
                 }});
}

void add_cast_and_reduction_cases(std::vector<OpCase>& t) {
    // bf16 results are compared at bf16 precision: both sides round identically after every op,
    // but an fp32-vs-fp64 difference of one ulp before rounding can flip a bf16 rounding (2^-8).
    t.push_back({"casts: bf16, f16, i64, i32", [](Graph& g) {
                     NodeId x = b::mul(g, b::param(g, "x", {6, 40}), 3.7);
                     NodeId h = b::cast(g, x, DType::bf16);
                     NodeId h2 = b::mul(g, b::add(g, h, h), b::cast(g, b::cast(g, x, DType::f16), DType::bf16));
                     NodeId ints = b::cast(g, b::cast(g, x, DType::i64), DType::f32);
                     NodeId i32 = b::cast(g, b::cast(g, x, DType::i32), DType::f32);
                     return b::add(g, b::add(g, b::cast(g, h2, DType::f32), ints), i32);
                 },
                 8e-3});
    for (std::vector<int64_t> axes : {std::vector<int64_t>{2}, {0}, {1}, {0, 2}, {0, 1, 2}}) {
        t.push_back({fmt::format("sum and reduce_max over axes {}", fmt::join(axes, ",")), [axes](Graph& g) {
                         NodeId x = b::param(g, "x", {3, 5, 67});
                         return b::add(g, b::sum(g, b::unary(g, Op::Exp, x), axes), b::reduce_max(g, x, axes));
                     }});
    }
}

void add_movement_and_index_cases(std::vector<OpCase>& t) {
    t.push_back({"reshape, permute, slice, pad, concat, broadcast", [](Graph& g) {
                     NodeId x = b::param(g, "x", {4, 6, 8});
                     NodeId r = b::reshape(g, b::permute(g, x, {2, 0, 1}), {8, 24});
                     NodeId s = b::slice(g, r, 1, 1, 23, 3);
                     NodeId p = b::pad(g, s, {1, 2}, {0, 1}, 0.25);
                     NodeId c = b::concat(g, {p, b::mul(g, p, 2.0), b::slice(g, p, 1, 0, 3)}, 1);
                     NodeId bc = b::broadcast_to(g, b::reshape(g, b::sum(g, x, {0, 1}), {8, 1}), {8, 5});
                     return b::concat(g, {b::slice(g, c, 0, 0, 8), bc}, 1);
                 }});
    t.push_back({"gather, scatter-add, iota, constants", [](Graph& g) {
                     NodeId table = b::param(g, "table", {8, 16});
                     NodeId idx = b::input(g, "idx", {3, 5}, DType::i64);
                     NodeId e = b::gather(g, table, idx);  // [3,5,16]
                     NodeId src = b::mul(g, e, b::cast(g, b::iota(g, {3, 5, 16}, 2, DType::i64), DType::f32));
                     return b::add(g, b::scatter_add(g, idx, src, 8), b::constant(g, 0.5, {8, 16}));
                 }});
}

void add_matmul_cases(std::vector<OpCase>& t) {
    // n = 5 stays below every GEMM threshold of the default targets; n = 48 is above them.
    for (int64_t n : {5, 48}) {
        // Sums of 3n products: fp32 summation error grows with the length, 2e-5.
        t.push_back({fmt::format("matmul {}x{}, transposed operands", n, 3 * n), [n](Graph& g) {
                         NodeId a = b::param(g, "a", {2, n, 3 * n});
                         NodeId w = b::param(g, "w", {2, n + 1, 3 * n});
                         NodeId y = b::matmul(g, b::unary(g, Op::Tanh, a), b::transpose(g, w, 1, 2));
                         NodeId z = b::matmul(g, b::transpose(g, y, 1, 2), a);
                         return b::add(g, b::unary(g, Op::Relu, z), 1.0);
                     },
                     2e-5});
        // One bf16 rounding of the result; an f32-vs-f64 difference in the sum can flip it by one
        // bf16 ulp (2^-8 relative).
        t.push_back({fmt::format("bf16 matmul {}x{}", n, 2 * n), [n](Graph& g) {
                         NodeId a = b::cast(g, b::param(g, "a", {n, 2 * n}), DType::bf16);
                         NodeId w = b::cast(g, b::param(g, "w", {2 * n, n}), DType::bf16);
                         return b::cast(g, b::matmul(g, a, w), DType::f32);
                     },
                     8e-3});
    }
}

void add_composite_cases(std::vector<OpCase>& t) {
    t.push_back({"softmax + log_softmax", [](Graph& g) {
                     NodeId x = b::mul(g, b::param(g, "x", {6, 50}), 4.0);
                     return b::add(g, b::softmax(g, x), b::log_softmax(g, x));
                 }});
    t.push_back({"cross_entropy, softcap 30", [](Graph& g) {
                     NodeId logits = b::mul(g, b::param(g, "logits", {12, 40}), 20.0);
                     return b::cross_entropy(g, logits, b::input(g, "targets", {12}, DType::i64), 30.0);
                 }});
    t.push_back({"rope(rms_norm), 8 of 16 dims rotated", [](Graph& g) {
                     return b::rope(g, b::rms_norm(g, b::param(g, "x", {2, 7, 3, 16}), 1e-6), 8, 10000.0);
                 }});
    t.push_back({"attention, H=4 over Hkv=2", [](Graph& g) {
                     NodeId q = b::param(g, "q", {2, 4, 9, 8});
                     NodeId k = b::param(g, "k", {2, 2, 9, 8});
                     NodeId v = b::param(g, "v", {2, 2, 9, 8});
                     return b::attention(g, q, k, v, 0.35);
                 }});
    // T = 70 is ragged against the CPU flash attention's 64-row and 64-key blocks
    // (ops/attention/flash_cpu.h): the second block holds 6 rows, partly above the diagonal.
    t.push_back({"attention + its log-sum-exp, T=70, H=4 over Hkv=2", [](Graph& g) {
                     NodeId q = b::param(g, "q", {1, 4, 70, 8});
                     NodeId k = b::param(g, "k", {1, 2, 70, 8});
                     NodeId v = b::param(g, "v", {1, 2, 70, 8});
                     NodeId lse = b::reshape(g, b::attention_lse(g, q, k, v, 0.35), {1, 4, 70, 1});
                     return b::add(g, b::attention(g, q, k, v, 0.35), lse);
                 }});
    // The backward passes with the statistics the forward gives them; dq, dk and dv side by side.
    t.push_back({"attention_grad dq | dk | dv, T=70, H=4 over Hkv=2", [](Graph& g) {
                     NodeId q = b::param(g, "q", {1, 4, 70, 8});
                     NodeId k = b::param(g, "k", {1, 2, 70, 8});
                     NodeId v = b::param(g, "v", {1, 2, 70, 8});
                     NodeId dout = b::param(g, "dout", {1, 4, 70, 8});
                     NodeId out = b::attention(g, q, k, v, 0.35);
                     NodeId delta = b::reshape(g, b::sum(g, b::mul(g, dout, out), {-1}), {1, 4, 70});
                     std::vector<NodeId> ops = {q, k, v, dout, b::attention_lse(g, q, k, v, 0.35), delta};
                     return b::concat(g, {b::attention_grad(g, ops, 0.35, 0), b::attention_grad(g, ops, 0.35, 1),
                                          b::attention_grad(g, ops, 0.35, 2)}, 1);
                 }});
    // N = 70 and V = 300 are ragged against the CPU passes' 64-row blocks and 256-column tiles
    // (ops/cross_entropy/linear_ce_cpu.h); the gradient passes read the forward's statistics and a
    // gradient of both result columns. Flattened side by side: stats [70, 2] | dx [70, 8] | dw [300, 8].
    t.push_back({"linear_cross_entropy | dx | dw, softcap 30, N=70, V=300", [](Graph& g) {
                     NodeId x = b::param(g, "x", {70, 8});
                     NodeId w = b::mul(g, b::param(g, "w", {300, 8}), 3.0);
                     NodeId t = b::input(g, "targets", {70}, DType::i64);
                     NodeId stats = b::linear_cross_entropy(g, x, w, t, 30.0);
                     std::vector<NodeId> ops = {x, w, t, stats, b::param(g, "grad", {70, 2})};
                     auto flat = [&g](NodeId n) { return b::reshape(g, n, {numel(g[n].shape)}); };
                     return b::concat(g, {flat(stats), flat(b::linear_cross_entropy_grad(g, ops, 30.0, 0)),
                                          flat(b::linear_cross_entropy_grad(g, ops, 30.0, 1))}, 0);
                 }});
    // Rounding is discontinuous: a backend whose x/scale differs from the interpreter's in the last
    // bit can move an element by one int6 step, rowmax/31 (3.2% of the row's largest value).
    t.push_back({"fake_quant int6, per row", [](Graph& g) {
                     return b::fake_quant(g, b::mul(g, b::param(g, "w", {6, 40}), 3.0), 6);
                 },
                 4e-2});
}

}  // namespace

const std::vector<OpCase>& op_table() {
    static const std::vector<OpCase> table = [] {
        std::vector<OpCase> t;
        add_unary_cases(t);
        add_binary_cases(t);
        add_cast_and_reduction_cases(t);
        add_movement_and_index_cases(t);
        add_matmul_cases(t);
        add_composite_cases(t);
        return t;
    }();
    return table;
}

std::set<Op> ops_of(const OpCase& c) {
    Graph g;
    c.build(g);
    std::set<Op> ops;
    for (NodeId i = 0; i < g.size(); ++i) ops.insert(g[i].op);
    return ops;
}

Graph merged_op_table() {
    Graph merged;
    const std::vector<OpCase>& table = op_table();
    for (size_t i = 0; i < table.size(); ++i) {
        Graph g;
        NodeId out = table[i].build(g);
        std::vector<NodeId> map(static_cast<size_t>(g.size()), kNoNode);
        for (NodeId n = 0; n <= out; ++n) {
            Node node = g[n];
            if (!node.name.empty()) node.name = fmt::format("{}.{}", i, node.name);
            map[n] = copy_node(merged, node, map);
        }
        merged.set_output(fmt::format("case{}", i), map[out]);
    }
    return merged;
}

}  // namespace pg::testing
