// Fusion decisions and kernel order (see schedule.h for the rules).
#include "codegen/schedule.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "base/env.h"
#include "base/error.h"
#include "codegen/epilogue_fusion.h"
#include "codegen/view.h"
#include "codegen/workload.h"
#include "ops/attention/attention_problem.h"
#include "ops/cross_entropy/linear_ce_problem.h"

namespace pg {

namespace {

bool is_reindexing(Op op) {
    return op_kind(op) == OpKind::Movement || op == Op::Cast || op == Op::Gather || op == Op::Neg;
}

bool is_cheap_arith(Op op) {
    switch (op) {
        case Op::Add: case Op::Sub: case Op::Mul: case Op::Max: case Op::Min: case Op::Select:
        case Op::Lt: case Op::Le: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Ne:
        case Op::And: case Op::Or: case Op::Not: case Op::Relu: case Op::Abs:
            return true;
        default: return false;
    }
}

// How many times user `u` reads each element of its input at slot `slot`.
double reuse(const Graph& g, NodeId u, size_t slot) {
    const Node& n = g[u];
    const Node& in = g[n.inputs[slot]];
    switch (n.op) {
        case Op::Broadcast: return static_cast<double>(numel(n.shape)) / std::max<int64_t>(1, numel(in.shape));
        case Op::Matmul: {
            size_t r = n.shape.size();
            return static_cast<double>(slot == 0 ? n.shape[r - 1] : n.shape[r - 2]);
        }
        case Op::Gather:
            return slot == 1 ? static_cast<double>(numel(n.shape)) / std::max<int64_t>(1, numel(in.shape)) : 1.0;
        case Op::ScatterAdd:
            return slot == 0 ? static_cast<double>(numel(g[n.inputs[1]].shape)) / std::max<int64_t>(1, numel(in.shape))
                             : 1.0;
        default: return 1.0;
    }
}

bool is_leaf_buffer(Op op) { return op == Op::Param || op == Op::Input || op == Op::Scalar; }

// Whether the matmul `i` runs on the library: the tuned decision for its workload, else the
// threshold on M*N*K.
bool on_library(const Graph& g, NodeId i, const ScheduleOptions& opts) {
    if (opts.gemm_min_flops <= 0) return false;
    if (opts.tuned) {
        auto it = opts.tuned->matmul_on_library.find(matmul_workload(g, i));
        if (it != opts.tuned->matmul_on_library.end()) return it->second;
    }
    const Node& n = g[i];
    size_t r = n.shape.size();
    return n.shape[r - 2] * n.shape[r - 1] * g[n.inputs[0]].shape[r - 1] >= opts.gemm_min_flops;
}

// Decides which matmuls run on BLAS and materialises the bases of their operand views.
void plan_blas(const Graph& g, const ScheduleOptions& opts, const std::vector<bool>& live, Schedule& s,
               std::vector<bool>& is_blas) {
    for (NodeId i = 0; i < g.size(); ++i) {
        const Node& n = g[i];
        bool dtype_ok = n.dtype == DType::f32 || (opts.gemm_low_precision && is_float(n.dtype));
        if (!live[i] || n.op != Op::Matmul || !dtype_ok || !on_library(g, i, opts)) continue;
        is_blas[i] = true;
        for (NodeId operand : n.inputs) {
            auto v = as_strided_view(g, operand, &s.materialized);  // an earlier operand's base may serve
            bool trans = false;
            int64_t ld = 0;
            if (v && matrix_layout(*v, trans, ld)) {
                if (!s.materialized[v->base]) s.decisions[v->base] = {false, "base of a BLAS operand"};
                s.materialized[v->base] = true;
                for (NodeId c = operand; c != v->base && is_view_op(g[c].op); c = g[c].inputs[0]) s.gemm_view[c] = true;
            } else {
                // Not readable by BLAS in place: materialise the operand itself, contiguously.
                s.materialized[operand] = true;
                s.decisions[operand] = {false, "BLAS operand is not a strided view"};
            }
        }
    }
}

// Marks the template nodes (attention, linear cross-entropy) and materialises their operands.
void plan_templates(const Graph& g, const std::vector<bool>& live, Schedule& s, std::vector<bool>& is_template) {
    for (NodeId i = 0; i < g.size(); ++i) {
        if (!live[i] || !(attn::is_template_op(g[i].op) || ce::is_template_op(g[i].op))) continue;
        is_template[i] = true;
        for (NodeId operand : g[i].inputs) {
            if (s.materialized[operand] || is_leaf_buffer(g[operand].op)) continue;
            s.materialized[operand] = true;
            s.decisions[operand] = {false, fmt::format("operand of the template op {}", op_name(g[i].op))};
        }
    }
}

// One attention pass: its operands, the pass and the softmax scale.
using AttentionPassKey = std::tuple<std::vector<NodeId>, attn::Pass, double>;

// The attention kernels: one per pass key, its outputs filled slot by slot.
void add_attention_kernel(const Graph& g, NodeId i, Schedule& s, std::map<AttentionPassKey, size_t>& passes) {
    const Node& n = g[i];
    auto [it, added] = passes.try_emplace(AttentionPassKey{n.inputs, attn::pass_of(n), n.scalar}, s.kernels.size());
    if (added) {
        ScheduledKernel k{KernelKind::Attention, i, {}};
        k.outputs.assign(static_cast<size_t>(attn::problem_of(g, i).output_slots()), kNoNode);
        s.kernels.push_back(std::move(k));
    }
    ScheduledKernel& k = s.kernels[it->second];
    PG_ASSERT(k.outputs[static_cast<size_t>(attn::slot_of(n))] == kNoNode, "two attention nodes in one slot (%{})", i);
    k.outputs[static_cast<size_t>(attn::slot_of(n))] = i;
}

}  // namespace

bool is_outer_reduction(const Graph& g, NodeId id) {
    const Node& n = g[id];
    if (n.op != Op::Sum || n.dtype != DType::f32) return false;
    const Shape& in = g[n.inputs[0]].shape;
    int64_t last_kept = -1;
    for (int64_t d = static_cast<int64_t>(in.size()) - 1; d >= 0 && last_kept < 0; --d)
        if (in[d] > 1 && std::find(n.ints.begin(), n.ints.end(), d) == n.ints.end()) last_kept = d;
    return last_kept >= 0 && n.ints.back() < last_kept;
}

Schedule schedule(const Graph& g, const ScheduleOptions& opts) {
    const int32_t n = g.size();
    Schedule s;
    s.materialized.assign(n, false);
    s.gemm_view.assign(n, false);
    s.decisions.assign(n, {true, ""});
    std::vector<bool> live = live_nodes(g);
    std::vector<bool> is_blas(n, false);
    std::vector<bool> forced(n, false);
    std::vector<bool> is_template(n, false);
    for (const Output& o : g.outputs()) forced[o.id] = true;
    for (const StateUpdate& u : g.updates())
        if (!is_zero_fill(g, u.value)) forced[u.value] = true;  // a zero fill needs no buffer of its own
    plan_blas(g, opts, live, s, is_blas);
    plan_templates(g, live, s, is_template);

    s.options = opts;
    auto users = g.users();
    std::vector<double> evals(n, 0);
    std::vector<bool> in_reduction(n, false);  // inlined, it would run inside a reduction's loop
    for (NodeId i = n - 1; i >= 0; --i) {
        if (!live[i]) continue;
        const Node& node = g[i];
        PG_ASSERT(op_kind(node.op) != OpKind::Composite || is_template[i], "schedule needs a decomposed graph ({})",
                  op_name(node.op));
        double e = 0;
        int live_users = 0;
        for (NodeId u : users[i]) {
            if (!live[u]) continue;
            if (is_blas[u]) continue;                             // read in place through a view
            if (s.gemm_view[u] && !s.materialized[u]) continue;  // part of a BLAS view chain
            ++live_users;
            for (size_t slot = 0; slot < g[u].inputs.size(); ++slot)
                if (g[u].inputs[slot] == i) e += (s.materialized[u] ? 1.0 : evals[u]) * reuse(g, u, slot);
            OpKind uk = op_kind(g[u].op);
            in_reduction[i] = in_reduction[i] || uk == OpKind::Reduce || uk == OpKind::Matmul ||
                              (!s.materialized[u] && in_reduction[u]);
        }
        evals[i] = e;
        auto decide = [&](bool inline_it, std::string reason) {
            s.materialized[i] = s.materialized[i] || !inline_it;
            if (s.materialized[i] && s.decisions[i].reason.empty()) s.decisions[i] = {false, std::move(reason)};
            if (!s.materialized[i]) s.decisions[i] = {true, std::move(reason)};
        };
        if (s.materialized[i]) continue;  // already forced by the BLAS plan
        if (is_leaf_buffer(node.op)) {
            decide(false, "leaf buffer");
        } else if (node.op == Op::Const || node.op == Op::Iota) {
            decide(!forced[i], forced[i] ? "graph output" : "constant: always inlined");
        } else if (forced[i]) {
            decide(false, "graph output or state update");
        } else if (node.op == Op::Matmul || node.op == Op::ScatterAdd || is_template[i]) {
            decide(false, "anchor: a kernel of its own");
        } else if (live_users == 0) {
            // Only read in place by BLAS (a view chain node that is not itself needed).
            decide(true, "only read through a BLAS view");
        } else if (!opts.fusion) {
            decide(false, "fusion disabled (PG_FUSION=0)");
        } else if (opts.row_accumulation && is_outer_reduction(g, i)) {
            decide(false, "sum over outer axes: a row-accumulating kernel of its own");
        } else if (opts.separate_nested_reductions && op_kind(node.op) == OpKind::Reduce && in_reduction[i]) {
            decide(false, "reduction inside another reduction's loop: a kernel of its own");
        } else if (op_kind(node.op) == OpKind::Reduce) {
            decide(e <= 1.0, e <= 1.0 ? "reduction fused into its single user"
                                      : fmt::format("reduction would be evaluated {} times", e));
        } else if (is_reindexing(node.op)) {
            decide(true, "re-indexing: inlined");
        } else if (e <= 1.0) {
            decide(true, "single evaluation");
        } else if (is_cheap_arith(node.op) && e <= opts.max_recompute) {
            decide(true, fmt::format("cheap, recomputed {} times", e));
        } else {
            decide(false, fmt::format("{} would be evaluated {} times", op_name(node.op), e));
        }
    }
    // Kernels in node order: inputs always precede users, so this is a valid execution order (the
    // siblings of an attention pass have the same inputs as the first of them).
    std::map<AttentionPassKey, size_t> attention_passes;
    for (NodeId i = 0; i < n; ++i) {
        if (!live[i] || !s.materialized[i] || is_leaf_buffer(g[i].op)) continue;
        if (is_template[i] && ce::is_template_op(g[i].op)) {
            s.kernels.push_back({KernelKind::LinearCe, i});
            continue;
        }
        if (is_template[i]) {
            add_attention_kernel(g, i, s, attention_passes);
            continue;
        }
        KernelKind kind = is_blas[i] ? KernelKind::Gemm : g[i].op == Op::ScatterAdd ? KernelKind::ScatterAdd
                                                                                      : KernelKind::Loop;
        s.kernels.push_back({kind, i});
    }
    if (opts.gemm_epilogues && opts.fusion) fuse_gemm_epilogues(g, forced, s);
    return s;
}

bool is_zero_fill(const Graph& g, NodeId value) { return g[value].op == Op::Const && g[value].scalar == 0.0; }

StridedView gemm_operand(const Graph& g, const Schedule& s, NodeId operand) {
    if (s.materialized[operand]) return {operand, g[operand].shape, contiguous_strides(g[operand].shape), 0};
    auto v = as_strided_view(g, operand, &s.materialized);
    PG_ASSERT(v.has_value(), "BLAS operand %{} is neither materialised nor a view", operand);
    return *v;
}

std::string describe(const Graph& g, const Schedule& s, bool verbose) {
    int count[5] = {0, 0, 0, 0, 0}, inlined = 0;  // per KernelKind
    for (const ScheduledKernel& k : s.kernels) ++count[static_cast<int>(k.kind)];
    std::vector<bool> live = live_nodes(g);
    for (NodeId i = 0; i < g.size(); ++i) inlined += live[i] && !s.materialized[i];
    std::string attention = count[3] ? fmt::format(", {} attention", count[3]) : "";
    if (count[4]) attention += fmt::format(", {} linear ce", count[4]);
    size_t fused = 0;
    for (const ScheduledKernel& k : s.kernels) fused += k.epilogue.size();
    std::string out = fmt::format("{} kernels ({} loop, {} gemm, {} scatter{}); {} nodes inlined", s.kernels.size(),
                                  count[0], count[1], count[2], attention, inlined);
    if (fused) out += fmt::format(", {} fused into GEMM epilogues", fused);
    if (verbose)
        for (NodeId i = 0; i < g.size(); ++i)
            if (live[i] && s.materialized[i] && !is_leaf_buffer(g[i].op))
                out += fmt::format("\n  %{} {} {}: materialised: {}", i, op_name(g[i].op), shape_str(g[i].shape),
                                   s.decisions[i].reason);
    return out;
}

}  // namespace pg
