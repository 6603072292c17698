// Codegen fuzzing: random well-typed graphs (elementwise ops with numpy broadcasting, reductions,
// movement ops, matmuls, softmax / RMSNorm, and the gradients of all of it by the autodiff) run
// through the fused and the unfused CPU JIT and compared with the reference interpreter.
//
// A case is a seed plus a list of steps; building a graph from the list never fails (every step
// adapts to the shapes it meets), so a failing case shrinks by dropping steps while it still
// fails, and is reported in the graph's text form (graph/text.h), ready for a regression test.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "graph/graph.h"

namespace pg::testing {

enum class FuzzOp : uint8_t { Unary, Binary, Reduce, Permute, Reshape, Slice, Pad, Concat, Broadcast, Matmul,
                              Normalize, kCount };

struct FuzzStep {
    FuzzOp op = FuzzOp::Unary;
    uint32_t a = 0, b = 0;  // operands: indices into the values so far, modulo their count
    uint64_t bits = 0;      // the step's own random choices (which op, axes, extents, ...)
};

struct FuzzCase {
    uint64_t seed = 0;
    std::vector<FuzzStep> steps;
    bool gradients = true;  // also output the gradient of sum(out * cotangent) wrt every param
};

// 2..max_steps random steps from `seed`. Six steps with their gradients make graphs of 20-60
// nodes: enough to combine every kind of op, small enough to compile in a fraction of a second.
FuzzCase random_fuzz_case(uint64_t seed, int max_steps = 6);

// The case's graph: outputs "out" and, with gradients, "d.<param>" for every param.
Graph build_fuzz_graph(const FuzzCase& c);

// Normwise relative tolerance against the fp64 interpreter, with the scale floored at 1
// (floored_error in jit_check.h): feeds are U(-1, 1) and every value is built from O(1) terms, so
// an exact zero reached by cancellation (the gradient of sum(softmax(x)), say) is judged by its
// absolute error. f32 rounding (6e-8) through up to ~10 ops and their gradients, with sums of up
// to a few hundred terms, stays well below 1e-4; a codegen bug shows as O(1).
inline constexpr double kFuzzTolerance = 1e-4;
inline constexpr double kFuzzScaleFloor = 1.0;

// Runs the graph through the fused JIT (every matmul on OpenBLAS) and the unfused JIT (every
// matmul generated) and the interpreter; nullopt when every value agrees within kFuzzTolerance,
// else what went wrong (the variant and value, or the exception).
std::optional<std::string> check_fuzz_graph(const Graph& g, uint64_t feed_seed);

// Drops steps (and the gradients) while `c` keeps failing; returns the smallest failing case.
FuzzCase shrink_fuzz_case(const FuzzCase& c);

// A report of a failing case: the seed, the failure, and the shrunk graph's text form.
std::string describe_fuzz_failure(const FuzzCase& c);

}  // namespace pg::testing
