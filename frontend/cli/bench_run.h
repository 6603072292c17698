// One measurement of `pgolf bench`: the configured training step (micro-steps with gradient
// accumulation, then Muon + Adam: frontend/train/step_graphs.h) built and compiled twice, first
// with an empty kernel cache (cold) and then with the cache that compile filled (warm; without
// `cold`, once through the user's cache), and timed
// over `steps` steps after `warmup` untimed ones, with every kernel's time recorded (PG_PROFILE);
// and the alternating A/B step timing of `pgolf tune`'s acceptance check.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "frontend/train/hyperparams.h"
#include "runtime/executable.h"

namespace pg::cli {

struct BenchMode {
    bool fusion = true;  // PG_FUSION
    bool tuned = true;   // PG_TUNE: the tuning database's decisions, or the heuristics
    std::string name() const;  // "fused", "unfused tuned", ...
};

struct BenchOptions {
    int steps = 20, warmup = 3;
    bool cold = true;  // false: one compile through the user's kernel cache (compile_cold_s < 0)
};

struct BenchResult {
    BenchMode mode;
    std::string target;                      // the micro-step's Target::to_string()
    double compile_cold_s = -1, compile_warm_s = 0;  // cold < 0: not measured
    std::vector<double> step_ms;             // the timed steps, in order
    std::string clock;                       // how: "cuda events" (GPU) or "host clock" (CPU)
    double median_ms = 0, min_ms = 0, max_ms = 0;
    double first_loss = 0, last_loss = 0;
    int kernels_per_step = 0;                // launches and library calls of one whole step
    int64_t state_bytes = 0, private_bytes = 0;  // session tensors; executables' inputs and arenas
    std::vector<KernelTime> kernels;         // per step of a whole training step, slowest first
    int tuned_steps = 0;                     // plan steps that run a tuned configuration
};

BenchResult run_bench(const Hyperparams& h, const BenchMode& mode, const BenchOptions& options);

// The configured step compiled (through the user's kernel cache) once per tuning database, each
// path standing for PG_TUNE_DB (a missing file: the heuristics), then timed in `rounds`
// alternating rounds (A B A B ...) of one step each, every run from the same initial state, the
// first round after `warmup` untimed steps: the shared machine's load changes then hit every
// database alike. The step times in ms, per database. `pgolf tune`'s acceptance check uses it.
std::vector<std::vector<double>> time_alternating(const Hyperparams& h, const std::vector<std::string>& dbs, int warmup,
                                                  int rounds);

double median(std::vector<double> values);  // the upper median; values must not be empty

// Model FLOPs per training token: 6 per weight of every matmul (forward 2, backward 4; the tied
// embedding counts once, as the output head) plus the attention products, 12 * layers * seq_len
// * model_dim (QK^T and AV, forward and backward, without halving for the causal mask, as PaLM's
// MFU counts them). The optimizer's Newton-Schulz iterations are not model FLOPs.
double model_flops_per_token(const Hyperparams& h);

}  // namespace pg::cli
