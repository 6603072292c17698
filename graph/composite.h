// Registry of composite ops (softmax, cross-entropy, RMSNorm, RoPE, attention): each has a
// reference decomposition into primitives and, optionally, a gradient rule that is cheaper than
// differentiating the decomposition. ops/ registers them; the interpreter, autodiff and the
// decompose pass use them.
#pragma once
#include <functional>
#include <vector>

#include "graph/graph.h"

namespace pg {

struct CompositeRule {
    // Adds the primitive expansion of `n` to g, with n's inputs given as `in` (ids in g); returns
    // the id of the result. It may use other composites; the decompose pass expands until none
    // remain.
    std::function<NodeId(Graph& g, const Node& n, const std::vector<NodeId>& in)> decompose;
    // Optional: given the node `node` in g and the gradient `grad` of its output, adds the
    // gradients of its inputs (kNoNode for inputs without a gradient, e.g. integer targets).
    std::function<std::vector<NodeId>(Graph& g, NodeId node, NodeId grad)> vjp;
};

bool register_composite(Op op, CompositeRule rule);
const CompositeRule& composite_rule(Op op);  // InternalError if op has no registered rule

// Expands every composite node into primitives (repeatedly, until none remain), except the nodes
// for which keep(graph, node) holds (node's inputs are ids in graph): a backend runs those as
// templates (codegen keeps attention for its flash-attention templates).
Graph decompose(const Graph& g, const std::function<bool(const Graph&, const Node&)>& keep = {});

}  // namespace pg

#define PG_COMPOSITE_CONCAT2(a, b) a##b
#define PG_COMPOSITE_CONCAT(a, b) PG_COMPOSITE_CONCAT2(a, b)
#define PG_REGISTER_COMPOSITE(op, ...) \
    static const bool PG_COMPOSITE_CONCAT(pg_composite_, __LINE__) = ::pg::register_composite(op, ::pg::CompositeRule __VA_ARGS__)
