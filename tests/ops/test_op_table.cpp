// The op table covers the IR: every op (leaves, elementwise, reductions, movement, index ops,
// matmul and every composite) occurs in the graph of at least one case, so the backend harnesses
// that run the table (CPU JIT, CUDA host emulation, GPU) exercise all of them. A new op without a
// case fails here.
#include <doctest/doctest.h>

#include <string>

#include "tests/support/op_cases.h"

namespace pg {

TEST_CASE("op table: every op of the IR occurs in some case") {
    std::set<Op> covered;
    for (const testing::OpCase& c : testing::op_table()) {
        std::set<Op> ops = testing::ops_of(c);
        covered.insert(ops.begin(), ops.end());
    }
    std::string missing;
#define PG_CHECK_COVERED(name, text, kind, arity) \
    if (!covered.count(Op::name)) missing += std::string(missing.empty() ? "" : ", ") + text;
    PG_OPS(PG_CHECK_COVERED)
#undef PG_CHECK_COVERED
    INFO("ops with no case in tests/support/op_cases.cpp: ", missing);
    CHECK(missing.empty());
}

TEST_CASE("op table: the merged graph holds every case under its own leaves") {
    Graph g = testing::merged_op_table();
    CHECK(g.outputs().size() == testing::op_table().size());
    CHECK(g.find_leaf("0.x") != kNoNode);
    CHECK(g.find_leaf("x") == kNoNode);
}

}  // namespace pg
