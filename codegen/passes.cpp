// Pass pipeline (see passes.h).
#include "codegen/passes.h"

#include <fmt/format.h>

#include <fstream>
#include <algorithm>
#include <functional>
#include <regex>
#include <vector>

#include "base/dump.h"
#include "base/env.h"
#include "base/error.h"
#include "graph/build.h"
#include "graph/composite.h"
#include "graph/text.h"
#include "ops/attention/attention_problem.h"
#include "ops/cross_entropy/linear_ce_problem.h"

namespace pg {

PG_KNOB({.name = "PG_DUMP", .kind = env::KnobKind::String, .default_value = "",
         .doc = "regex of pass names after which the graph is printed (e.g. '.*')"});

namespace {

bool is_const_value(const Graph& g, NodeId id, double v) { return g[id].op == Op::Const && g[id].scalar == v; }

void maybe_dump(const Graph& g, const std::string& pass) {
    std::string pattern = env::get("PG_DUMP");
    if (pattern.empty()) return;
    if (!std::regex_match(pass, std::regex(pattern))) return;
    std::string text = print(g);
    if (dump_dir().empty()) {
        fmt::print(stderr, "=== graph after {} ===\n{}", pass, text);
        return;
    }
    dump_file(pass + ".graph", text);
}

}  // namespace

Graph simplify(const Graph& g) {
    return rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        auto in = [&](size_t i) { return map[n.inputs[i]]; };
        switch (n.op) {
            case Op::Mul:
                if (is_const_value(dst, in(1), 1.0)) return in(0);
                if (is_const_value(dst, in(0), 1.0)) return in(1);
                break;
            case Op::Add:
                if (is_const_value(dst, in(1), 0.0)) return in(0);
                if (is_const_value(dst, in(0), 0.0)) return in(1);
                break;
            case Op::Sub:
            case Op::Div:
                if (is_const_value(dst, in(1), n.op == Op::Sub ? 0.0 : 1.0)) return in(0);
                break;
            case Op::Neg:
                if (dst[in(0)].op == Op::Neg) return dst[in(0)].inputs[0];
                break;
            case Op::Cast:
                if (dst[in(0)].dtype == n.dtype) return in(0);
                break;
            case Op::Permute:
                if (dst[in(0)].op == Op::Permute) {
                    const Node& inner = dst[in(0)];
                    std::vector<int64_t> p(n.ints.size());
                    for (size_t i = 0; i < p.size(); ++i) p[i] = inner.ints[n.ints[i]];
                    return build::permute(dst, inner.inputs[0], p);
                }
                break;
            default: break;
        }
        return copy_node(dst, n, map);
    });
}

Graph transpose_products(const Graph& g) {
    const std::vector<std::vector<NodeId>> users = g.users();
    std::vector<bool> output(static_cast<size_t>(g.size()), false);
    for (const Output& o : g.outputs()) output[o.id] = true;
    return rebuild(g, [&](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        if (n.op != Op::Permute) return copy_node(dst, n, map);
        const size_t r = n.ints.size();
        for (size_t d = 0; d < r; ++d)
            if (n.ints[d] != static_cast<int64_t>(d < r - 2 ? d : 2 * r - 3 - d)) return copy_node(dst, n, map);
        const NodeId m = n.inputs[0];
        if (g[m].op != Op::Matmul || users[m].size() != 1 || output[m]) return copy_node(dst, n, map);
        const auto last = static_cast<int64_t>(r) - 1;
        NodeId bt = build::transpose(dst, map[g[m].inputs[1]], last - 1, last);
        NodeId at = build::transpose(dst, map[g[m].inputs[0]], last - 1, last);
        return build::matmul(dst, bt, at);
    });
}

Graph split_reductions(const Graph& g) {
    return rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        if (n.op != Op::Sum && n.op != Op::ReduceMax) return copy_node(dst, n, map);
        NodeId in = map[n.inputs[0]];
        const Shape& s = dst[in].shape;
        // The trailing block of reduced axes (ignoring unit axes), if a kept non-unit axis
        // separates it from other reduced axes.
        std::vector<int64_t> inner, outer;
        bool in_trailing = true;
        for (int64_t d = static_cast<int64_t>(s.size()) - 1; d >= 0; --d) {
            bool reduced = std::find(n.ints.begin(), n.ints.end(), d) != n.ints.end();
            if (!reduced && s[d] > 1) in_trailing = false;
            if (reduced) (in_trailing ? inner : outer).insert((in_trailing ? inner : outer).begin(), d);
        }
        if (inner.empty() || outer.empty()) return copy_node(dst, n, map);
        return build::reduce(dst, n.op, build::reduce(dst, n.op, in, inner), outer);
    });
}

namespace {

// Stage sizes of split_outer_reductions: each stage sums kOuterStageRows rows per output, fewer
// than MappingConfig::min_split_extent (32), so that one thread sums them serially and a warp's
// lanes read neighbouring columns; stages repeat while more than kOuterFinalRows rows remain, and
// the last one, strided but reading at most kOuterFinalRows x columns partials, is the old form.
constexpr int64_t kOuterStageRows = 16, kOuterFinalRows = 1024;

// The rows R (the product of the reduced extents) and columns C (the rest) of a sum over the
// leading `axes` of `shape`, or {0, 0} when a reduced axis follows a kept one.
std::pair<int64_t, int64_t> outer_rows(const Shape& shape, const std::vector<int64_t>& axes) {
    int64_t rows = 1;
    for (size_t i = 0; i < axes.size(); ++i) {
        if (axes[i] != static_cast<int64_t>(i)) return {0, 0};
        rows *= shape[i];
    }
    return {rows, numel(shape) / std::max<int64_t>(rows, 1)};
}

}  // namespace

Graph split_outer_reductions(const Graph& g) {
    return rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        if (n.op != Op::Sum || !is_float(n.dtype)) return copy_node(dst, n, map);
        NodeId in = map[n.inputs[0]];
        auto [rows, cols] = outer_rows(dst[in].shape, n.ints);
        if (rows <= kOuterFinalRows || cols < 2 || rows % kOuterStageRows != 0) return copy_node(dst, n, map);
        NodeId x = build::reshape(dst, build::cast(dst, in, DType::f32), {rows, cols});
        while (rows > kOuterFinalRows && rows % kOuterStageRows == 0) {
            rows /= kOuterStageRows;
            NodeId slices = build::reshape(dst, x, {rows, kOuterStageRows, cols});
            x = build::reshape(dst, build::sum(dst, slices, {1}), {rows, cols});
        }
        return build::reshape(dst, build::cast(dst, build::sum(dst, x, {0}), n.dtype), n.shape);
    });
}

Graph widen_matmuls(const Graph& g) {
    return rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        if (n.op != Op::Matmul || n.dtype == DType::f32) return copy_node(dst, n, map);
        NodeId a = build::cast(dst, map[n.inputs[0]], DType::f32);
        NodeId b = build::cast(dst, map[n.inputs[1]], DType::f32);
        return build::cast(dst, build::matmul(dst, a, b), n.dtype);
    });
}

Graph widen_scatters(const Graph& g) {
    return rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) -> NodeId {
        if (n.op != Op::ScatterAdd || (n.dtype != DType::bf16 && n.dtype != DType::f16)) return copy_node(dst, n, map);
        NodeId src = build::cast(dst, map[n.inputs[1]], DType::f32);
        return build::cast(dst, build::scatter_add(dst, map[n.inputs[0]], src, n.shape[0]), n.dtype);
    });
}

bool AttentionTemplates::serves(const Graph& g, const Node& n) const {
    if (!attn::is_template_op(n.op)) return false;
    const Node& q = g[n.inputs[0]];
    auto has = [](const auto& list, auto x) { return std::find(list.begin(), list.end(), x) != list.end(); };
    return has(dtypes, q.dtype) && (head_dims.empty() || has(head_dims, q.shape[3]));
}

bool LinearCeTemplates::serves(const Graph& g, const Node& n) const {
    if (!ce::is_template_op(n.op)) return false;
    const Node& x = g[n.inputs[0]];
    return std::find(dtypes.begin(), dtypes.end(), x.dtype) != dtypes.end() && x.shape[1] % dim_multiple == 0;
}

Graph run_passes(const Graph& g, const PassOptions& opts) {
    struct Pass {
        const char* name;
        std::function<Graph(const Graph&)> run;
        bool primitive_after;  // but the templates kept
    };
    std::vector<Pass> passes = {
        {"decompose",
         [&opts](const Graph& x) {
             return decompose(x, [&opts](const Graph& h, const Node& n) {
                 return opts.attention.serves(h, n) || opts.linear_ce.serves(h, n);
             });
         },
         true},
        {"transpose_products", [](const Graph& x) { return transpose_products(x); }, true},
        {"simplify", [](const Graph& x) { return simplify(x); }, true},
        {"split_reductions", [](const Graph& x) { return split_reductions(x); }, true},
        {"widen_scatters", [](const Graph& x) { return widen_scatters(x); }, true},
    };
    if (opts.split_outer_reductions)
        passes.push_back({"split_outer_reductions", [](const Graph& x) { return split_outer_reductions(x); }, true});
    if (opts.widen_low_precision_matmuls)
        passes.push_back({"widen_matmuls", [](const Graph& x) { return widen_matmuls(x); }, true});
    verify(g, "input");
    maybe_dump(g, "input");
    Graph cur = rebuild(g, [](Graph& dst, const Node& n, const std::vector<NodeId>& map) { return copy_node(dst, n, map); });
    for (const Pass& p : passes) {
        cur = p.run(cur);
        verify(cur, p.name, p.primitive_after && opts.attention.dtypes.empty() && opts.linear_ce.dtypes.empty());
        maybe_dump(cur, p.name);
    }
    return cur;
}

}  // namespace pg
