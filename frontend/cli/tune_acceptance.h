// The whole-step acceptance check of `pgolf tune`: decisions picked workload by workload, each
// timed alone, need not make the training step faster (on the shared 2-core machine the tuned
// main-job step was 1.49x slower: benchmarks/results/2026-12-01-cpu-bench-tune-vs-torch.md), and
// the trainer uses the database by default. So the new database is stored only when the whole
// step (micro-steps + optimizer) runs faster with it than with the previous one by a margin.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "frontend/train/hyperparams.h"
#include "runtime/tuning/tuning_db.h"

namespace pg::cli {

// Step times (ms) under the previous database and under the candidate one.
struct StepTimings {
    std::vector<double> previous_ms, candidate_ms;
};

// Times the step under the databases at two paths (PG_TUNE_DB; a missing file: the heuristics).
// Injectable so that tests can feed fixed numbers.
using StepTimer = std::function<StepTimings(const std::string& previous_db, const std::string& candidate_db)>;

struct StepVerdict {
    double previous_ms = 0, candidate_ms = 0;  // medians
    bool accepted = false;
};

// Times the step with the database at `path` (the previous decisions, or none) and with
// `candidate`; writes `candidate` to `path` only when its median step is faster by `margin`
// (0.03: 3%). Rejected, `path` keeps the previous decisions; a corrupt file there is replaced by
// an empty database (no decisions: the heuristics).
StepVerdict accept_if_faster(const TuningDb& candidate, const std::string& path, const StepTimer& timer, double margin);

// The real timer: pgolf bench's step timing, `rounds` alternating rounds after `warmup` steps.
StepTimer bench_step_timer(const Hyperparams& h, int warmup, int rounds);

}  // namespace pg::cli
