// The composite-op registry and the decompose pass (see composite.h). Rules are registered from
// static initialisers in ops/, so the table lives in a function-local static that exists before
// the first registration, whatever the order of static initialisation across translation units.
#include "graph/composite.h"

#include <array>

#include "base/error.h"

namespace pg {
namespace {

constexpr size_t kOpCount = 0
#define PG_OP_COUNT(name, text, kind, arity) +1
    PG_OPS(PG_OP_COUNT)
#undef PG_OP_COUNT
    ;

struct Registry {
    std::array<CompositeRule, kOpCount> rules;
    std::array<bool, kOpCount> present{};
};

Registry& registry() {
    static Registry r;
    return r;
}

// A decomposition may use other composites (cross-entropy uses log-softmax, attention uses
// softmax); nesting is shallow, so a pass count this large means a rule expands into itself.
constexpr int kMaxDecomposePasses = 16;

using Keep = std::function<bool(const Graph&, const Node&)>;

bool expands(const Graph& g, const Node& n, const Keep& keep) {
    return op_kind(n.op) == OpKind::Composite && !(keep && keep(g, n));
}

bool has_composites(const Graph& g, const Keep& keep) {
    std::vector<bool> live = live_nodes(g);
    for (NodeId i = 0; i < g.size(); ++i)
        if (live[i] && expands(g, g[i], keep)) return true;
    return false;
}

}  // namespace

bool register_composite(Op op, CompositeRule rule) {
    PG_ASSERT(op_kind(op) == OpKind::Composite, "{} is not a composite op", op_name(op));
    PG_ASSERT(rule.decompose, "composite {} registered without a decomposition", op_name(op));
    Registry& r = registry();
    size_t i = static_cast<size_t>(op);
    PG_ASSERT(!r.present[i], "composite {} registered twice", op_name(op));
    r.rules[i] = std::move(rule);
    r.present[i] = true;
    return true;
}

const CompositeRule& composite_rule(Op op) {
    const Registry& r = registry();
    size_t i = static_cast<size_t>(op);
    PG_ASSERT(op_kind(op) == OpKind::Composite && r.present[i],
              "no composite rule registered for {}", op_name(op));
    return r.rules[i];
}

Graph decompose(const Graph& g, const Keep& keep) {
    auto expand = [&keep](Graph& dst, const Node& n, const std::vector<NodeId>& map) {
        if (op_kind(n.op) != OpKind::Composite) return copy_node(dst, n, map);
        std::vector<NodeId> in;
        in.reserve(n.inputs.size());
        for (NodeId i : n.inputs) in.push_back(map[i]);
        Node local = n;
        local.inputs = in;
        if (!expands(dst, local, keep)) return copy_node(dst, n, map);
        NodeId out = composite_rule(n.op).decompose(dst, local, in);
        PG_ASSERT(dst[out].shape == n.shape && dst[out].dtype == n.dtype,
                  "decomposition of {} gives {} {}, expected {} {}", op_name(n.op),
                  dtype_name(dst[out].dtype), shape_str(dst[out].shape), dtype_name(n.dtype),
                  shape_str(n.shape));
        return out;
    };
    Graph cur = rebuild(g, expand);
    for (int pass = 1; has_composites(cur, keep); ++pass) {
        PG_ASSERT(pass < kMaxDecomposePasses, "decompose did not converge after {} passes", pass);
        cur = rebuild(cur, expand);
    }
    return cur;
}

}  // namespace pg
