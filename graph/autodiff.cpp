// Reverse-mode autodiff (see autodiff.h). Nodes are stored in topological order, so one sweep over
// the ancestors of the loss in decreasing id order visits every node after all of its users; each
// node's gradient is the build::add sum of its users' contributions. Only float nodes that depend
// on a requested node get gradients (integer and bool values, and everything upstream of them
// only, are skipped). Composite ops use their registered gradient rule; without one, their
// decomposition is built into the same graph and a nested reverse sweep over it, stopped at the
// composite's inputs, yields the inputs' gradients.
#include "graph/autodiff.h"

#include <algorithm>
#include <unordered_map>

#include "base/error.h"
#include "graph/autodiff_rules.h"
#include "graph/build.h"
#include "graph/composite.h"

namespace pg {
namespace {

using GradMap = std::unordered_map<NodeId, NodeId>;

// A reverse sweep from `root`, whose gradient is `seed`, towards `sources`. When `stop_at_sources`
// is set the sweep does not go past the sources (used for a composite's decomposition, whose
// sources are the composite's inputs); otherwise sources are only where gradients are wanted.
GradMap reverse_sweep(Graph& g, NodeId root, NodeId seed, const std::vector<NodeId>& sources,
                      bool stop_at_sources);

void accumulate(Graph& g, GradMap& grads, NodeId node, NodeId grad, Op from) {
    PG_ASSERT(g[grad].shape == g[node].shape && g[grad].dtype == g[node].dtype,
              "the gradient rule of {} gives {} {} for an input of type {} {}", op_name(from),
              dtype_name(g[grad].dtype), shape_str(g[grad].shape), dtype_name(g[node].dtype),
              shape_str(g[node].shape));
    auto [it, inserted] = grads.emplace(node, grad);
    if (!inserted) it->second = build::add(g, it->second, grad);
}

// Gradients of a composite's inputs: its registered rule, or a sweep over its decomposition.
std::vector<NodeId> composite_vjp(Graph& g, NodeId id, NodeId grad) {
    const CompositeRule& rule = composite_rule(g[id].op);
    if (rule.vjp) return rule.vjp(g, id, grad);
    const Node n = g[id];
    NodeId out = rule.decompose(g, n, n.inputs);
    PG_ASSERT(g[out].shape == n.shape && g[out].dtype == n.dtype,
              "decomposition of {} changes its type", op_name(n.op));
    GradMap sub = reverse_sweep(g, out, grad, n.inputs, true);
    // An input passed twice (attention(x, x, x)) gets its total gradient once.
    std::vector<NodeId> r(n.inputs.size(), kNoNode);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
        bool first = std::find(n.inputs.begin(), n.inputs.begin() + static_cast<long>(i),
                               n.inputs[i]) == n.inputs.begin() + static_cast<long>(i);
        auto it = sub.find(n.inputs[i]);
        if (first && it != sub.end()) r[i] = it->second;
    }
    return r;
}

// The nodes that the sweep from root visits, in increasing id order: root's ancestors, not
// expanded past stopping sources.
std::vector<NodeId> sweep_order(const Graph& g, NodeId root, const std::vector<char>& stop) {
    std::vector<char> seen(static_cast<size_t>(root) + 1, 0);
    std::vector<NodeId> stack{root}, order;
    seen[static_cast<size_t>(root)] = 1;
    while (!stack.empty()) {
        NodeId i = stack.back();
        stack.pop_back();
        order.push_back(i);
        if (stop[static_cast<size_t>(i)]) continue;
        for (NodeId in : g[i].inputs)
            if (!seen[static_cast<size_t>(in)]) {
                seen[static_cast<size_t>(in)] = 1;
                stack.push_back(in);
            }
    }
    std::sort(order.begin(), order.end());
    return order;
}

// needs[i]: node i (of `order`) is a float value that is a source or depends on one.
std::vector<char> needs_mask(const Graph& g, const std::vector<NodeId>& order,
                             const std::vector<char>& is_source, const std::vector<char>& stop) {
    std::vector<char> needs(is_source.size(), 0);
    for (NodeId i : order) {
        const Node& n = g[i];
        if (!is_float(n.dtype)) continue;
        bool depends = is_source[static_cast<size_t>(i)] != 0;
        if (!stop[static_cast<size_t>(i)])
            for (NodeId in : n.inputs) depends |= needs[static_cast<size_t>(in)] != 0;
        needs[static_cast<size_t>(i)] = depends;
    }
    return needs;
}

GradMap reverse_sweep(Graph& g, NodeId root, NodeId seed, const std::vector<NodeId>& sources,
                      bool stop_at_sources) {
    std::vector<char> is_source(static_cast<size_t>(root) + 1, 0);
    for (NodeId s : sources)
        if (s <= root) is_source[static_cast<size_t>(s)] = 1;
    std::vector<char> stop = stop_at_sources ? is_source : std::vector<char>(is_source.size(), 0);
    std::vector<NodeId> order = sweep_order(g, root, stop);
    std::vector<char> needs = needs_mask(g, order, is_source, stop);

    GradMap grads;
    if (!needs[static_cast<size_t>(root)]) return grads;
    grads.emplace(root, seed);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        NodeId i = *it;
        auto found = grads.find(i);
        if (stop[static_cast<size_t>(i)] || found == grads.end()) continue;
        NodeId grad = found->second;
        const std::vector<NodeId> inputs = g[i].inputs;
        Op op = g[i].op;
        std::vector<bool> want(inputs.size());
        bool any = false;
        for (size_t k = 0; k < inputs.size(); ++k)
            any |= (want[k] = needs[static_cast<size_t>(inputs[k])] != 0);
        if (!any) continue;
        std::vector<NodeId> in_grads = op_kind(op) == OpKind::Composite
                                           ? composite_vjp(g, i, grad)
                                           : autodiff_detail::primitive_vjp(g, i, grad, want);
        PG_ASSERT(in_grads.size() == inputs.size(),
                  "the gradient rule of {} gives {} gradients for {} inputs", op_name(op),
                  in_grads.size(), inputs.size());
        for (size_t k = 0; k < inputs.size(); ++k)
            if (want[k] && in_grads[k] != kNoNode) accumulate(g, grads, inputs[k], in_grads[k], op);
    }
    return grads;
}

}  // namespace

std::vector<NodeId> gradients(Graph& g, NodeId loss, const std::vector<NodeId>& wrt) {
    PG_CHECK(loss >= 0 && loss < g.size(), "gradients: loss node {} is not in the graph", loss);
    PG_CHECK(is_float(g[loss].dtype) && numel(g[loss].shape) == 1 && g[loss].shape.size() <= 1,
             "gradients: the loss must be a float scalar of shape [] or [1], got {} {}",
             dtype_name(g[loss].dtype), shape_str(g[loss].shape));
    for (NodeId w : wrt) {
        PG_CHECK(w >= 0 && w < g.size(), "gradients: node {} is not in the graph", w);
        PG_CHECK(is_float(g[w].dtype),
                 "gradients: cannot differentiate with respect to {} node {} of dtype {}",
                 op_name(g[w].op), w, dtype_name(g[w].dtype));
    }
    NodeId seed = build::constant_like(g, 1.0, loss);
    GradMap grads = reverse_sweep(g, loss, seed, wrt, false);
    std::vector<NodeId> r;
    r.reserve(wrt.size());
    for (NodeId w : wrt) {
        auto it = grads.find(w);
        r.push_back(it != grads.end() ? it->second : build::constant_like(g, 0.0, w));
    }
    return r;
}

}  // namespace pg
