// Type inference and checking of one node against its inputs: the single place that knows each
// op's typing rules. A user mistake (mismatched shapes, bad axis) throws pg::Error naming the op
// and every shape involved.
#pragma once
#include "graph/node.h"

namespace pg {

class Graph;

// Checks n's inputs and attributes and sets n.shape / n.dtype to the op's result type. For ops
// whose result type is an attribute (leaves, Reshape, Broadcast, Slice, Pad, ScatterAdd, Cast),
// the given shape/dtype are validated and kept.
void infer_node(const Graph& g, Node& n);

}  // namespace pg
