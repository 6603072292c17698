// Test support: compiles a graph for the CPU JIT (fused, unfused, with and without BLAS), runs it
// on the given feeds and compares every output and state update with the reference interpreter.
#pragma once
#include <random>
#include <string>

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

// Runs the variants and CHECKs every output against the interpreter within `tol`.
JitCheckResult check_jit(const Graph& g, const Feeds& feeds, double tol = 1e-5);

}  // namespace pg::testing
