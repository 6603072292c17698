// The training step on a backend against the reference interpreter, every tensor: one step of
// StepRunner (micro-steps, then the optimizer) from the initial state, next to the interpreter
// running the same two graphs (the micro-step graph once per micro-batch, carrying the gradient
// accumulators, then the optimizer graph). Shared by the CPU test and the GPU test.
#pragma once
#include <map>
#include <string>

#include "frontend/train/hyperparams.h"

namespace pg::testing {

struct StepCheckResult {
    double loss_error = 0;                     // relative, the step's mean loss
    std::map<std::string, double> worst;       // normwise relative error by kind (param group, or
                                               // momentum_buffer / exp_avg / exp_avg_sq)
    std::string summary() const;               // "loss 7.9e-08; worst by kind: embed 1.3e-05 ..."
};

// Tolerance per tensor kind (normwise relative; f32 Newton-Schulz, PG_MUON_NS_DTYPE=f32).
// Gradients agree to ~1e-5 (fp32 through the backward pass against fp64), and so do the
// optimizer states, linear in them: 1e-4 for momentum buffers and Adam moments. Muon's five
// Newton-Schulz iterations amplify gradient differences ~10x: 1e-4 for the matrices (measured on
// the CPU: 5e-6). Adam's first step moves each element by about -lr * sign(g): where a gradient
// is within fp32 noise of zero its sign, and so a whole lr-sized move, may differ: 2e-3 for the
// embedding and scalars (measured on the CPU: 1.3e-5, no flip).
double step_tolerance(const std::string& kind);

// Runs the check on a session of `backend` ("cpu" or "cuda") and CHECKs the loss within 1e-5 and
// every weight and optimizer-state tensor within step_tolerance(kind).
StepCheckResult check_step_against_interpreter(const std::string& backend, const Hyperparams& h);

}  // namespace pg::testing
