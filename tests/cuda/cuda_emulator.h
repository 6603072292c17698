// CPU emulation of a graph's GPU plan, for checking generated CUDA without a GPU: every kernel
// source of the plan (the real prelude, kir kernels, SIMT GEMMs) is compiled by the host C++
// compiler against tests/cuda/cuda_host_shim.h, loaded, and launched kernel by kernel on host
// buffers, exactly in the plan's order and with the plan's block sizes (grid-stride kernels run
// on at most 2 blocks, which also exercises their strides). What it cannot check: the PTX itself
// (bf16/f16 cvt and mma.sync run as their documented host equivalents), the Driver API runtime
// and real concurrency between blocks. On request it also counts the global-memory sectors each
// warp-wide request touches (EmulateOptions::global_sectors, compiled by clang with coverage hooks).
#pragma once
#include <string>
#include <vector>

#include "codegen/target.h"
#include "graph/graph.h"
#include "graph/interpreter.h"

namespace pg::testing {

// "" when a host C++ compiler ("c++") can be run, else why not.
std::string host_compiler_missing();

// Global-memory traffic of one launch (EmulateOptions::global_sectors): warp-wide requests of
// plain loads and stores, the distinct 32-byte sectors they touched and the bytes the lanes asked
// for. Fully coalesced: sectors * 32 == bytes.
struct GlobalTraffic {
    std::string kernel;  // the plan step's name
    long long requests = 0, sectors = 0, bytes = 0;
    double sectors_per_request() const { return requests ? static_cast<double>(sectors) / static_cast<double>(requests) : 0; }
    double efficiency() const { return sectors ? static_cast<double>(bytes) / (32.0 * static_cast<double>(sectors)) : 1; }
};

struct EmulatedRun {
    std::vector<HostTensor> values;  // outputs, then updated states (as interpret_all)
    std::vector<GlobalTraffic> global;  // per launch, with EmulateOptions::global_sectors
    int kernels = 0, launches = 0;
    // Shared-memory accesses through ldmatrix and cp.async (the tensor-core GEMM's): phases
    // (8x8 matrices, quarter warps) and the wavefronts they took; equal means no bank conflict.
    long long smem_phases = 0, smem_wavefronts = 0;
};

struct EmulateOptions {
    // Count global sectors per request (GlobalTraffic): compiles with clang's load/store
    // coverage hooks (slower; needs clang++).
    bool global_sectors = false;
};

// "" when the global_sectors mode can run (clang++ on PATH), else why not.
std::string sector_counting_missing();

// Plans g for the CUDA `target` with the compile driver, compiles every kernel for the host and
// runs one step.
EmulatedRun emulate_cuda(const Graph& g, const Feeds& feeds, const Target& target, const EmulateOptions& options = {});

}  // namespace pg::testing
