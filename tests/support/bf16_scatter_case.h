// Test support: the embedding gradient of a bf16 table whose few rows are hit by many tokens, the
// case where accumulating a scatter in bf16 visibly loses precision. Shared by the CPU JIT check
// (tests/codegen) and the CUDA host emulation (tests/cuda), both held against the interpreter.
#pragma once
#include "graph/graph.h"
#include "graph/interpreter.h"

namespace pg::testing {

struct Bf16ScatterCase {
    Graph graph;     // output "grad": d/d emb of sum(gather(emb, ids) * w), all bf16
    Feeds feeds;     // ids cycle over the rows; w ~ U(0.5, 1.5), so every row sum grows steadily
    double tol = 0;  // normwise bound for f32 accumulation rounded once to bf16 (see the .cpp)
};

Bf16ScatterCase bf16_scatter_case();

// The gradient as a scatter that rounds to bf16 after every add, in token order (what a bf16
// accumulator gives at best): the tests check that it misses the reference by far more than tol,
// so that passing them shows f32 accumulation.
HostTensor bf16_accumulated_grad(const Bf16ScatterCase& c);

}  // namespace pg::testing
