// The training step on a backend against the reference interpreter, shared by the CPU and GPU
// tests: one step of StepRunner (micro-steps, then the optimizer) from the initial state next to
// the interpreter running the same two graphs (the micro-step graph once per micro-batch, carrying
// the gradient accumulators, then the optimizer graph), every tensor compared; and a short
// training run on the skewed batches of skewed_batches.h with the interpreter's first loss.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "frontend/train/hyperparams.h"
#include "runtime/session.h"

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

struct TrainRun {
    std::vector<double> losses;   // per step
    double first_micro_loss = 0;  // of the first micro-batch, before any update
    int launches = 0;             // micro-step graph, per micro-step
    TransferStats last_step;      // host<->device bytes of the last step
};

// `steps` training steps of `h` on `backend` from the initial state (seed 1337), over 4 distinct
// steps of skewed batches drawn with `seed`.
TrainRun train_on_skewed_batches(const std::string& backend, const Hyperparams& h, int steps, uint64_t seed);

// The interpreter's loss of the first micro-batch of train_on_skewed_batches(.., seed), from the
// initial weights.
double interpreter_first_loss(const Hyperparams& h, uint64_t seed);

}  // namespace pg::testing
