// Test support: compiles a graph for a backend (fused, unfused, with and without the library /
// template GEMM), runs it on the given feeds and compares every output and state update with the
// reference interpreter. One harness for the CPU JIT and the GPU.
#pragma once
#include <random>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/interpreter.h"

namespace pg::testing {

// Random feeds for every Param/Input leaf of g (floats ~ U(-1, 1), integers in [0, int_high)) and
// every runtime scalar (U(0.5, 1.5)).
Feeds random_feeds(const Graph& g, uint64_t seed, int64_t int_high = 8);

struct JitCheckResult {
    double max_error = 0;        // worst normwise relative error over outputs and variants
    int fused_launches = 0;      // per step, fused plan
    int unfused_launches = 0;    // per step, PG_FUSION=0 plan
};

// One compiled variant of a graph: fusion on or off, and the GEMM threshold (1: every matmul to
// the library / template GEMM; 0: none, generated loops).
struct JitVariant {
    const char* name;
    bool fusion;
    int64_t gemm_min_flops;
};

// The worst normwise relative error of a variant against the interpreter, and where.
struct VariantError {
    std::string variant, value;  // value: "output <name>" or "update of <name>"
    double error = 0;
};

// max_rel_error(a, b) with the scale max|b| floored at `floor` (0: none). For values whose terms
// are O(1) a floor of 1 turns the error of an exact zero reached by cancellation (rounding noise
// of the terms' size over a reference of ~0) into the absolute error it is.
double floored_error(const HostTensor& a, const HostTensor& b, double floor);

// Compiles `g` as `variant` in a fresh session of `backend`, runs it on `feeds` and compares every
// output and state update with `expected` (interpret_all's order) by floored_error; one entry per
// value.
std::vector<VariantError> variant_errors(const std::string& backend, const Graph& g, const Feeds& feeds,
                                         const std::vector<HostTensor>& expected, const JitVariant& variant,
                                         int* launches = nullptr, double scale_floor = 0);

// Runs the four variants on a session of `backend` ("cpu" or "cuda") and CHECKs every output and
// state update against the interpreter within `tol` (normwise relative).
JitCheckResult check_backend(const std::string& backend, const Graph& g, const Feeds& feeds, double tol);

// check_backend on the CPU JIT.
inline JitCheckResult check_jit(const Graph& g, const Feeds& feeds, double tol = 1e-5) {
    return check_backend("cpu", g, feeds, tol);
}

}  // namespace pg::testing
