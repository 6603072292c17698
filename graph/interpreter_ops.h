// Internal to the reference interpreter: the fp64 semantics of every primitive op (everything but
// the named leaves, which come from feeds, and composites, which run their decomposition).
#pragma once
#include <vector>

#include "graph/node.h"

namespace pg::interp {

using Values = std::vector<double>;

// One evaluated input of a node: its node (for shape and dtype) and its row-major values.
struct Operand {
    const Node* node;
    const Values* values;
};

// The unrounded result of the primitive op `n` (Const, Iota or any non-leaf, non-composite op)
// applied to `in`; the caller rounds it to n.dtype. Bad data (an index out of range, an integer
// division by zero) throws pg::Error.
Values eval_primitive(const Node& n, const std::vector<Operand>& in);

}  // namespace pg::interp
