// Reverse-mode autodiff: appends the backward graph to the same Graph.
#pragma once
#include <vector>

#include "graph/graph.h"

namespace pg {

// Gradients of the scalar (shape [] or [1]) float node `loss` with respect to each node in `wrt`
// (same shape and dtype as that node). A node that `loss` does not depend on gets a zero constant.
// Composite ops use their registered gradient rule, or the gradient of their decomposition.
std::vector<NodeId> gradients(Graph& g, NodeId loss, const std::vector<NodeId>& wrt);

}  // namespace pg
