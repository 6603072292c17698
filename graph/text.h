// Stable text form of a graph (print and parse) for golden tests and PG_DUMP. One node per line:
//   %7 = mul f32[4,8] (%3, %6)
//   %2 = param f32[8,8] name="w"
//   %5 = sum f32[4,1] (%4) ints=[1]
//   %9 = const f32[4,8] scalar=0.5
// followed by `output "loss" %12` and `update %2 <- %20` lines (`update %2 <- %20 all_reduce_avg` when the
// value is averaged across data-parallel ranks first, `broadcast_from 1` when rank 1's is stored).
#pragma once
#include <string>

#include "graph/graph.h"

namespace pg {

std::string print(const Graph& g);
Graph parse(const std::string& text);  // throws pg::Error with the line number on bad input

// Checks the whole graph: topological order, every node's type re-inferred, outputs and updates
// valid; with `primitive_only`, no composite ops. Throws InternalError naming the pass.
void verify(const Graph& g, const char* after_pass, bool primitive_only = false);

}  // namespace pg
