// `pgolf compile --estimate`'s tables: each plan's memory plan and its performance-model estimate
// (codegen/perf_model.h) as a per-kernel table of the kernels that take the most estimated time.
#pragma once
#include <string>

#include "codegen/exec_plan.h"
#include "codegen/perf_model.h"

namespace pg::cli {

// "memory plan: arena N B (X MiB), unshared M B; params P B, inputs I B" for one plan.
std::string memory_plan_line(const ExecPlan& plan);

// Prints the `top` kernels of `e` by estimated time (each with its FLOPs by unit, bytes, bound
// and share of the graph's time), then the time by kind of step and the graph's totals.
void print_estimate(const std::string& graph_name, const StepEstimate& e, int top);

}  // namespace pg::cli
