// Vector-Jacobian products of the primitive ops, used by the reverse pass in autodiff.cpp.
#pragma once
#include <vector>

#include "graph/graph.h"

namespace pg::autodiff_detail {

// Adds to g the gradients of the inputs of the primitive node `id`, given the gradient `grad` of
// its output (same shape and dtype as the node). Input i gets a gradient only where want[i] is
// set (others are kNoNode); each gradient has its input's shape and dtype.
std::vector<NodeId> primitive_vjp(Graph& g, NodeId id, NodeId grad, const std::vector<bool>& want);

}  // namespace pg::autodiff_detail
