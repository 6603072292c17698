// The whole op table (tests/support/op_cases.h) through the CPU JIT against the reference
// interpreter, fused and unfused, with and without OpenBLAS; tolerances per case, with reasons,
// in the table.
#include <doctest/doctest.h>

#include "base/env.h"

#include "tests/support/jit_check.h"
#include "tests/support/op_cases.h"

namespace pg {

TEST_CASE("jit: every case of the op table, fused/unfused x BLAS on/off, matches the interpreter") {
    env::ScopedOverride fused_ce("PG_FUSED_CE", "1");  // the CPU template too (off by default there)
    for (const testing::OpCase& c : testing::op_table()) {
        Graph g;
        g.set_output("out", c.build(g));
        INFO("case ", c.name);
        testing::check_jit(g, testing::random_feeds(g, 1), c.tol);
    }
}

}  // namespace pg
