// Node: one immutable, interned value of the graph IR (op, result type, inputs, attributes).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "graph/dtype.h"
#include "graph/op.h"
#include "graph/shape.h"

namespace pg {

using NodeId = int32_t;
constexpr NodeId kNoNode = -1;

struct Node {
    Op op = Op::Const;
    DType dtype = DType::f32;
    Shape shape;
    std::vector<NodeId> inputs;
    std::vector<int64_t> ints;  // op-specific integer attributes (see op.h)
    double scalar = 0.0;        // op-specific scalar attribute (see op.h)
    std::string name;           // leaf name (Param, Input, Scalar)

    bool operator==(const Node& o) const = default;
};

struct NodeHash {
    size_t operator()(const Node& n) const;
};

}  // namespace pg
