// CPU emulation of a graph's GPU plan, for checking generated CUDA without a GPU: every kernel
// source of the plan (the real prelude, kir kernels, SIMT GEMMs) is compiled by the host C++
// compiler against tests/cuda/cuda_host_shim.h, loaded, and launched kernel by kernel on host
// buffers, exactly in the plan's order and with the plan's block sizes (grid-stride kernels run
// on at most 2 blocks, which also exercises their strides). What it cannot check: the PTX itself
// (bf16/f16 cvt and mma.sync run as their documented host equivalents), the Driver API runtime
// and real concurrency between blocks.
#pragma once
#include <string>
#include <vector>

#include "codegen/target.h"
#include "graph/graph.h"
#include "graph/interpreter.h"

namespace pg::testing {

// "" when a host C++ compiler ("c++") can be run, else why not.
std::string host_compiler_missing();

struct EmulatedRun {
    std::vector<HostTensor> values;  // outputs, then updated states (as interpret_all)
    int kernels = 0, launches = 0;
    // Shared-memory accesses through ldmatrix and cp.async (the tensor-core GEMM's): phases
    // (8x8 matrices, quarter warps) and the wavefronts they took; equal means no bank conflict.
    long long smem_phases = 0, smem_wavefronts = 0;
};

// Plans g for the CUDA `target` with the compile driver, compiles every kernel for the host and
// runs one step.
EmulatedRun emulate_cuda(const Graph& g, const Feeds& feeds, const Target& target);

}  // namespace pg::testing
