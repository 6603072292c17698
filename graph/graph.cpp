// Graph storage, interning and rebuilding (see graph.h).
#include "graph/graph.h"

#include <algorithm>

#include "base/error.h"
#include "graph/infer.h"

namespace pg {

size_t NodeHash::operator()(const Node& n) const {
    size_t h = std::hash<int>()(static_cast<int>(n.op)) * 31 + static_cast<size_t>(n.dtype);
    auto mix = [&h](size_t v) { h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2); };
    for (int64_t d : n.shape) mix(std::hash<int64_t>()(d));
    for (NodeId i : n.inputs) mix(std::hash<int32_t>()(i));
    for (int64_t v : n.ints) mix(std::hash<int64_t>()(v));
    mix(std::hash<double>()(n.scalar));
    mix(std::hash<std::string>()(n.name));
    return h;
}

NodeId Graph::add(Node n) {
    for (NodeId in : n.inputs)
        PG_ASSERT(in >= 0 && in < size(), "{} refers to node {} outside the graph", op_name(n.op), in);
    infer_node(*this, n);
    auto it = interned_.find(n);
    if (it != interned_.end()) return it->second;
    NodeId id = size();
    nodes_.push_back(n);
    interned_.emplace(std::move(n), id);
    return id;
}

void Graph::set_output(const std::string& name, NodeId id) {
    PG_ASSERT(id >= 0 && id < size());
    for (Output& o : outputs_)
        if (o.name == name) {
            o.id = id;
            return;
        }
    outputs_.push_back({name, id});
}

bool update_types_match(const Node& state, const Node& value, UpdateCollective collective) {
    if (state.dtype != value.dtype) return false;
    if (!collective_writes_state(collective)) return state.shape == value.shape;
    const Shape& whole = collective == UpdateCollective::ReduceScatterAvg ? value.shape : state.shape;
    const Shape& block = collective == UpdateCollective::ReduceScatterAvg ? state.shape : value.shape;
    if (whole.empty() || whole.size() != block.size() || block[0] < 1 || whole[0] % block[0] != 0) return false;
    return std::equal(whole.begin() + 1, whole.end(), block.begin() + 1);
}

void Graph::add_update(NodeId state, NodeId value, UpdateCollective collective, int root) {
    const Node& s = node(state);
    const Node& v = node(value);
    PG_CHECK(s.op == Op::Param, "state update target must be a param, got {}", op_name(s.op));
    PG_CHECK(update_types_match(s, v, collective),
             "state update of '{}' {} {} with a value of type {} {}", s.name, dtype_name(s.dtype),
             shape_str(s.shape), dtype_name(v.dtype), shape_str(v.shape));
    for (const StateUpdate& u : updates_)
        PG_CHECK(u.state != state, "param '{}' is updated twice in one step", s.name);
    updates_.push_back({state, value, collective, root});
}

void Graph::set_update_collective(NodeId state, UpdateCollective collective, int root) {
    for (StateUpdate& u : updates_)
        if (u.state == state) {
            PG_CHECK(update_types_match(node(state), node(u.value), collective),
                     "the update of '{}' cannot take that collective: its value's shape {} does not fit",
                     node(state).name, shape_str(node(u.value).shape));
            u.collective = collective;
            u.root = root;
            return;
        }
    throw Error(fmt::format("param '{}' has no update to give a collective", node(state).name));
}

NodeId Graph::output(const std::string& name) const {
    for (const Output& o : outputs_)
        if (o.name == name) return o.id;
    throw Error(fmt::format("the graph has no output named '{}'", name));
}

NodeId Graph::find_leaf(const std::string& name) const {
    for (NodeId i = 0; i < size(); ++i) {
        const Node& n = nodes_[i];
        if ((n.op == Op::Param || n.op == Op::Input || n.op == Op::Scalar) && n.name == name) return i;
    }
    return kNoNode;
}

std::vector<std::vector<NodeId>> Graph::users() const {
    std::vector<std::vector<NodeId>> u(nodes_.size());
    for (NodeId i = 0; i < size(); ++i)
        for (NodeId in : nodes_[i].inputs) u[in].push_back(i);
    return u;
}

std::vector<bool> live_nodes(const Graph& g) {
    std::vector<bool> live(g.size(), false);
    for (const Output& o : g.outputs()) live[o.id] = true;
    for (const StateUpdate& u : g.updates()) live[u.state] = live[u.value] = true;
    for (NodeId i = g.size() - 1; i >= 0; --i)
        if (live[i])
            for (NodeId in : g[i].inputs) live[in] = true;
    return live;
}

NodeId copy_node(Graph& dst, const Node& n, const std::vector<NodeId>& map) {
    Node c = n;
    for (NodeId& in : c.inputs) {
        PG_ASSERT(map[in] != kNoNode, "input {} of {} was not rebuilt", in, op_name(n.op));
        in = map[in];
    }
    return dst.add(std::move(c));
}

Graph rebuild(const Graph& src,
              const std::function<NodeId(Graph& dst, const Node& n, const std::vector<NodeId>& map)>& rewrite) {
    Graph dst;
    std::vector<bool> live = live_nodes(src);
    std::vector<NodeId> map(src.size(), kNoNode);
    for (NodeId i = 0; i < src.size(); ++i)
        if (live[i]) map[i] = rewrite(dst, src[i], map);
    for (const Output& o : src.outputs()) dst.set_output(o.name, map[o.id]);
    for (const StateUpdate& u : src.updates()) dst.add_update(map[u.state], map[u.value], u.collective, u.root);
    return dst;
}

}  // namespace pg
