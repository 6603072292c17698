// The reference interpreter (see interpreter.h): evaluates the nodes that the requested ones need,
// in graph order, feeding named leaves from Feeds, running primitives through interpreter_ops and
// composites through their registered reference decomposition, and rounding every node's result
// to its dtype. Values are freed as soon as their last user has run.
#include "graph/interpreter.h"

#include <cmath>
#include <functional>

#include "base/error.h"
#include "graph/build.h"
#include "graph/composite.h"
#include "graph/interpreter_ops.h"

namespace pg {
namespace {

using interp::Operand;
using interp::Values;

// Supplies the value of a named leaf (Param, Input, Scalar).
using LeafFn = std::function<Values(NodeId id, const Node& n)>;

bool is_named_leaf(Op op) {
    return op == Op::Param || op == Op::Input || op == Op::Scalar;
}

std::string type_str(DType t, const Shape& s) {
    return fmt::format("{}{}", dtype_name(t), shape_str(s));
}

// Rounds a node's fp64 result to its dtype. Integer dtypes accept only finite values in int64
// range: anything else (a NaN cast to int, an overflow) would be undefined behaviour in C++.
void round_result(const Node& n, Values& v) {
    constexpr double kInt64Bound = 9223372036854775808.0;  // 2^63
    bool integral = is_int(n.dtype);
    for (double& x : v) {
        PG_CHECK(!integral || (std::isfinite(x) && x >= -kInt64Bound && x < kInt64Bound),
                 "{}: value {} is not representable as {}", op_name(n.op), x, dtype_name(n.dtype));
        x = round_to_dtype(x, n.dtype);
    }
}

Values feed_value(const Feeds& feeds, const Node& n) {
    auto it = feeds.find(n.name);
    PG_CHECK(it != feeds.end(), "no feed for {} '{}' of type {}: add it to the feeds",
             op_name(n.op), n.name, type_str(n.dtype, n.shape));
    const HostTensor& t = it->second;
    PG_CHECK(t.dtype == n.dtype && t.shape == n.shape,
             "the feed for {} '{}' has type {}, expected {}", op_name(n.op), n.name,
             type_str(t.dtype, t.shape), type_str(n.dtype, n.shape));
    size_t expect_bytes = static_cast<size_t>(t.numel()) * dtype_size(t.dtype);
    PG_CHECK(t.bytes.size() == expect_bytes,
             "the feed for {} '{}' holds {} bytes, expected {} for {}", op_name(n.op), n.name,
             t.bytes.size(), expect_bytes, type_str(n.dtype, n.shape));
    return t.to_doubles();
}

std::vector<Values> evaluate(const Graph& g, const std::vector<NodeId>& want, const LeafFn& leaf);

// A composite op: interprets its reference decomposition, built over Input leaves that stand for
// the composite's operands (the decomposition may itself contain composites).
Values eval_composite(const Node& n, const std::vector<Operand>& in) {
    const CompositeRule& rule = composite_rule(n.op);
    PG_ASSERT(rule.decompose, "{} has no reference decomposition", op_name(n.op));
    Graph sub;
    std::vector<NodeId> ids;
    for (size_t i = 0; i < in.size(); ++i)
        ids.push_back(
            build::input(sub, fmt::format("in{}", i), in[i].node->shape, in[i].node->dtype));
    NodeId out = rule.decompose(sub, n, ids);
    PG_ASSERT(out >= 0 && out < sub.size(), "decomposition of {} returned node {}", op_name(n.op),
              out);
    PG_ASSERT(sub[out].shape == n.shape && sub[out].dtype == n.dtype,
              "decomposition of {} returns {}, expected {}", op_name(n.op),
              type_str(sub[out].dtype, sub[out].shape), type_str(n.dtype, n.shape));
    LeafFn operand = [&](NodeId id, const Node& leaf) -> Values {
        for (size_t i = 0; i < ids.size(); ++i)
            if (ids[i] == id) return *in[i].values;
        PG_UNREACHABLE("decomposition of {} introduced the leaf '{}'", op_name(n.op), leaf.name);
    };
    return std::move(evaluate(sub, {out}, operand)[0]);
}

std::vector<Values> evaluate(const Graph& g, const std::vector<NodeId>& want, const LeafFn& leaf) {
    std::vector<bool> needed(static_cast<size_t>(g.size()), false);
    for (NodeId id : want) {
        PG_CHECK(id >= 0 && id < g.size(), "cannot interpret node {}: the graph has {} nodes", id,
                 g.size());
        needed[id] = true;
    }
    for (NodeId i = g.size() - 1; i >= 0; --i)
        if (needed[i])
            for (NodeId in : g[i].inputs) needed[in] = true;
    // Remaining uses of each value; requested values are pinned by one extra use.
    std::vector<int> uses(static_cast<size_t>(g.size()), 0);
    for (NodeId i = 0; i < g.size(); ++i)
        if (needed[i])
            for (NodeId in : g[i].inputs) ++uses[in];
    for (NodeId id : want) ++uses[id];

    std::vector<Values> vals(static_cast<size_t>(g.size()));
    for (NodeId i = 0; i < g.size(); ++i) {
        if (!needed[i]) continue;
        const Node& n = g[i];
        Values v;
        if (is_named_leaf(n.op)) {
            v = leaf(i, n);
        } else {
            std::vector<Operand> ops;
            for (NodeId in : n.inputs) ops.push_back({&g[in], &vals[in]});
            v = op_kind(n.op) == OpKind::Composite ? eval_composite(n, ops)
                                                   : interp::eval_primitive(n, ops);
        }
        PG_ASSERT(static_cast<int64_t>(v.size()) == numel(n.shape), "{} produced {} values for {}",
                  op_name(n.op), v.size(), shape_str(n.shape));
        round_result(n, v);
        vals[i] = std::move(v);
        for (NodeId in : n.inputs)
            if (--uses[in] == 0) Values().swap(vals[in]);
    }
    std::vector<Values> out;
    out.reserve(want.size());
    for (NodeId id : want) out.push_back(vals[id]);
    return out;
}

}  // namespace

std::vector<HostTensor> interpret(const Graph& g, const Feeds& feeds,
                                  const std::vector<NodeId>& nodes) {
    LeafFn from_feeds = [&feeds](NodeId, const Node& n) { return feed_value(feeds, n); };
    std::vector<Values> vals = evaluate(g, nodes, from_feeds);
    std::vector<HostTensor> out;
    out.reserve(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i) {
        const Node& n = g[nodes[i]];
        out.push_back(HostTensor::from_doubles(n.dtype, n.shape, vals[i]));
    }
    return out;
}

std::vector<HostTensor> interpret_all(const Graph& g, const Feeds& feeds) {
    std::vector<NodeId> nodes;
    for (const Output& o : g.outputs()) nodes.push_back(o.id);
    for (const StateUpdate& u : g.updates()) nodes.push_back(u.value);
    return interpret(g, feeds, nodes);
}

}  // namespace pg
