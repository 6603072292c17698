// Graph: an append-only list of interned nodes in topological order (inputs always precede their
// users), plus the named outputs and the state updates (param <- new value) of a program.
// Adding a node infers and checks its type; an equal node already present is returned instead.
#pragma once
#include <deque>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/node.h"

namespace pg {

struct Output {
    std::string name;
    NodeId id;
};

// A collective over the ranks of a data-parallel run that a state update's value goes through
// before it is stored. AllReduceAvg: every rank stores the mean of all ranks' values (the
// gradient all-reduce). Broadcast: every rank stores rank `root`'s value (an optimizer update
// computed by one rank only: sharded Muon). ReduceScatterAvg: the value is W blocks along dim 0
// and rank r stores the mean over the ranks of block r (parallel Muon's bank gradients);
// AllGather: rank r's value is block r of the state, which every rank stores whole (parallel
// Muon's updates). These two write the state straight from the collective (no update copy), so the
// state's dim 0 is the value's / W, resp. W times it. In a world of one, and for the reference
// interpreter, all are the identity.
enum class UpdateCollective : uint8_t { None, AllReduceAvg, Broadcast, ReduceScatterAvg, AllGather };

// ReduceScatterAvg and AllGather: the collective itself writes the state (out of place).
inline bool collective_writes_state(UpdateCollective c) {
    return c == UpdateCollective::ReduceScatterAvg || c == UpdateCollective::AllGather;
}

// Whether a value of type `value` may be stored into `state` through `collective` (equal types,
// or for ReduceScatterAvg / AllGather the dim-0 ratio above).
bool update_types_match(const Node& state, const Node& value, UpdateCollective collective);

// After a step, the value of `value` becomes the new content of the leaf `state` (a Param).
struct StateUpdate {
    NodeId state;
    NodeId value;
    UpdateCollective collective = UpdateCollective::None;
    int root = 0;  // Broadcast
};

class Graph {
public:
    // Interns `n` after checking it with infer_node (shape/dtype/attribute rules); the node's
    // shape/dtype fields must already hold the inferred result (builders fill them).
    NodeId add(Node n);

    const Node& node(NodeId id) const { return nodes_.at(static_cast<size_t>(id)); }
    const Node& operator[](NodeId id) const { return node(id); }
    int32_t size() const { return static_cast<int32_t>(nodes_.size()); }

    void set_output(const std::string& name, NodeId id);
    void add_update(NodeId state, NodeId value, UpdateCollective collective = UpdateCollective::None, int root = 0);
    // Sets the collective of the update of `state` (added before).
    void set_update_collective(NodeId state, UpdateCollective collective, int root = 0);
    const std::vector<Output>& outputs() const { return outputs_; }
    const std::vector<StateUpdate>& updates() const { return updates_; }
    NodeId output(const std::string& name) const;  // throws pg::Error if absent

    // The leaf (Param/Input/Scalar) with this name, or kNoNode.
    NodeId find_leaf(const std::string& name) const;

    // users[i] = nodes that take node i as an input (one entry per use).
    std::vector<std::vector<NodeId>> users() const;

private:
    // A deque: references to nodes stay valid while more nodes are added (builders routinely
    // pass g[x].shape into calls that add nodes).
    std::deque<Node> nodes_;
    std::unordered_map<Node, NodeId, NodeHash> interned_;
    std::vector<Output> outputs_;
    std::vector<StateUpdate> updates_;
};

// Rebuilds `src` into a new graph, visiting nodes in order; `rewrite` returns the id of the node
// in the new graph that replaces node i (it may add several nodes), given the mapping so far.
// Outputs and updates are carried over through the mapping. Nodes that no output or update reaches
// are dropped.
Graph rebuild(const Graph& src,
              const std::function<NodeId(Graph& dst, const Node& n, const std::vector<NodeId>& map)>& rewrite);

// Copies node n with its inputs remapped through `map` into dst.
NodeId copy_node(Graph& dst, const Node& n, const std::vector<NodeId>& map);

// Nodes reachable backwards from the outputs and updates, as a mask.
std::vector<bool> live_nodes(const Graph& g);

}  // namespace pg
