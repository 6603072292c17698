// The reference interpreter: the executable specification of every op. Values are held as fp64,
// reductions and matmuls accumulate in fp64, and each node's result is rounded to its dtype.
// Composite ops are evaluated through their registered reference decomposition.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/tensor_data.h"

namespace pg {

// Leaf values by name: every Param, Input and Scalar that the requested nodes depend on must be
// present (missing or mistyped ones throw pg::Error naming the leaf).
using Feeds = std::map<std::string, HostTensor>;

// Evaluates the requested nodes.
std::vector<HostTensor> interpret(const Graph& g, const Feeds& feeds, const std::vector<NodeId>& nodes);

// Evaluates every output (in Graph::outputs order) and the new value of every state update
// (in Graph::updates order, appended after the outputs).
std::vector<HostTensor> interpret_all(const Graph& g, const Feeds& feeds);

}  // namespace pg
