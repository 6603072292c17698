// Op cases shared by the backend harnesses (CPU JIT in tests/codegen, CUDA in tests/cuda): each
// builds a small graph whose value is checked against the reference interpreter, so that every
// backend is held to the same list.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pg::testing {

struct OpCase {
    std::string name;
    std::function<NodeId(Graph&)> build;  // returns the node to check
};

// Composite ops (CE with softcap, RMSNorm + partial RoPE, causal GQA attention) through their
// decompositions.
std::vector<OpCase> composite_op_cases();

}  // namespace pg::testing
