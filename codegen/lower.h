// Lowering of scheduled kernels to kernel IR: a Loop kernel iterates its root's shape and
// evaluates the root's expression tree, loading materialised inputs and recomputing inlined ones;
// inlined reductions become inner loops with an accumulator. ScatterAdd kernels zero their output
// and add serially (indices may repeat).
#pragma once
#include <string>
#include <vector>

#include "codegen/kir.h"
#include "codegen/schedule.h"
#include "graph/graph.h"

namespace pg {

struct LoweredKernel {
    kir::Kernel kernel;
    std::vector<NodeId> buffer_nodes;  // kernel.buffers[i] holds node buffer_nodes[i]
};

LoweredKernel lower_kernel(const Graph& g, const Schedule& s, const ScheduledKernel& k, const std::string& name);

// The epilogue of a Gemm kernel with fused members (ScheduledKernel::epilogue): one loop nest over
// the product's shape that computes every member at the element and stores the stored ones. Its
// buffer 0 is the product, loaded only at the nest's own element (the GEMM template hands the
// element's value in instead: codegen/cuda/gemm_epilogue.h).
LoweredKernel lower_gemm_epilogue(const Graph& g, const Schedule& s, const ScheduledKernel& k, const std::string& name);

}  // namespace pg
