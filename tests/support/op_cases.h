// The op table: one list of small graphs that every backend harness runs against the reference
// interpreter (the CPU JIT fused/unfused x BLAS on/off in tests/codegen, the CUDA host emulation
// and the GPU in tests/cuda). Coverage is measured, not declared: a case covers the ops that occur
// in the graph it builds, and tests/ops/test_op_table.cpp fails when an op of the IR occurs in no
// case.
#pragma once
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pg::testing {

struct OpCase {
    std::string name;
    std::function<NodeId(Graph&)> build;  // returns the node to check
    // Normwise relative tolerance against the fp64 interpreter: 1e-5 for f32 graphs a few ops deep
    // (a few fp32 ulps, 6e-8, times the depth), looser where stated with the reason.
    double tol = 1e-5;
};

// Every case; integer leaves take values in [0, 8) (random_feeds' default), which every index
// range of the table admits.
const std::vector<OpCase>& op_table();

// The ops occurring in the graph a case builds.
std::set<Op> ops_of(const OpCase& c);

// All cases in one graph (leaves renamed "<case index>.<name>", outputs "case<i>"), so that a
// harness with a costly compile (the host emulation) compiles the table once per variant.
Graph merged_op_table();

}  // namespace pg::testing
