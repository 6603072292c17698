// The CPU autotuner: for every workload of a graph, a search space of configurations, each timed
// on this machine (timer.h), the fastest checked against the reference and stored in the tuning
// database. Workloads already in the database for this device are reused, not re-timed.
//
//   workload                      candidates                                   checked against
//   matmul (library or loop)      OpenBLAS, generated loop kernel (each        the reference
//                                 compiled alone on its own operands; a       interpreter (fp64)
//                                 compile failure prunes the candidate)
//   Loop / ScatterAdd step        thread split: all threads (heuristic), 1,    the heuristic's
//                                 and each power of two below the pool size;   output, bit for bit
//                                 then, with the split's winner, the loop
//                                 blockings (codegen/llvm/loop_blocking.h),
//                                 each compiled on first use
//   Gemm step (OpenBLAS)          row blocks: heuristic, 1, 2, 4, ... up to    the heuristic's
//                                 2x the pool size and m / 16                  output (f32 rounding)
//
// Matmul placement is tuned first, because it decides which steps the plan has; the graph is
// then compiled with those decisions and every step is tuned in plan order, each right after its
// producers have run, so that its inputs hold real values (no denormal garbage skews a timing).
// A winner within kMinGain of the heuristic keeps the heuristic: noise is not a decision.
#pragma once
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/tuning/timer.h"
#include "runtime/tuning/tuning_db.h"

namespace pg {

class CpuExecutable;

struct WorkloadResult {
    std::string workload;
    std::string decision;          // config_string of the winner, or "library" / "generated"
    double default_us = 0, tuned_us = 0;
    int candidates = 0, failed = 0;  // failed: compile errors, exceptions, timeouts, wrong results
    bool reused = false;             // in the database before this run, not timed
};

struct AutotuneOptions {
    TimingOptions timing;
    bool retune = false;  // time workloads the database already holds
    std::function<void(const WorkloadResult&)> progress;
};

class CpuAutotuner {
public:
    CpuAutotuner(TuningDb& db, DeviceIdentity device, AutotuneOptions options);

    // Tunes every workload of `g` (any graph the trainer compiles), recording decisions in the
    // database (the caller saves it).
    void tune(const Graph& g);
    const std::vector<WorkloadResult>& results() const { return results_; }

private:
    void tune_matmuls(const Graph& primitive);
    void tune_steps(const Graph& g);
    WorkloadResult tune_step(CpuExecutable& exe, size_t i, KernelConfig& winner);
    void report(WorkloadResult r);

    TuningDb& db_;
    DeviceIdentity device_;
    AutotuneOptions options_;
    std::vector<WorkloadResult> results_;
    std::set<std::string> decided_;  // reported in this run
};

}  // namespace pg
