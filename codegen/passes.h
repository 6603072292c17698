// The graph pass pipeline run before scheduling: a literal, named list. PG_DUMP=<regex> prints
// the graph after every pass whose name matches (to PG_DUMP_DIR/<pass>.graph when that is set,
// else to stderr).
#pragma once
#include "graph/graph.h"

namespace pg {

// verify -> decompose -> simplify -> verify(primitive only)
Graph run_passes(const Graph& g);

// Algebraic clean-up of a primitive graph: x*1, x+0, x-0, x/1, neg(neg x), permute(permute x),
// cast to the same type. (Common subexpressions already collapse by interning.)
Graph simplify(const Graph& g);

}  // namespace pg
