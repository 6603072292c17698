// The GPU autotuner: for every GEMM step (with `loops` also every loop kernel) of a CUDA plan, the
// search space of cuda_prune.h, pruned by compile results (NVRTC failure, spills, registers,
// shared memory), the survivors timed on the GPU with device events, the fastest checked against
// the heuristic's output and stored in the tuning database under the GPU's identity.
//
//   timing      per candidate `warmup` untimed runs, then `reps` runs, each after the L2 cache
//               was flushed and between two events around the launch alone; the median counts.
//               Repetitions are interleaved across candidates (one run of each, then the next
//               round), as on the CPU. A run that throws (launch failure, fault) or takes longer
//               than the timeout makes the candidate infinitely slow.
//   decision    the fastest candidate replaces the heuristic only when it is kMinGain (5%)
//               faster; the heuristic itself is always timed, even when the limits prune it,
//               since it is what runs without a decision.
//   check       the winner's output against the heuristic's, normwise: 1e-5 for f32 (a GEMM tile
//               or reduction split only reorders f32 sums: ~k ulps of 6e-8) and 1e-2 for
//               bf16/f16 (one rounding of an 8-bit mantissa is 4e-3); a winner that fails keeps
//               the heuristic and counts as a failed candidate.
//
// The device is behind CudaCandidateRunner (the real one, cuda_step_runner.h, drives the GPU
// through CudaExecutable's tuning hooks; tests give a fake) and the pruning behind a function
// (prune_by_compile by default), so that the decision logic runs without a GPU.
#pragma once
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "graph/graph.h"
#include "runtime/tuning/cpu_autotune.h"
#include "runtime/tuning/cuda_prune.h"

namespace pg {

class CudaCandidateRunner {
public:
    virtual ~CudaCandidateRunner() = default;
    // The plan the runner executes (compiled for the tuner's target, heuristic configurations).
    virtual const ExecPlan& plan() const = 0;
    // Runs plan step i once with `config` (none: its own), compiling the candidate on first use.
    // Throws on any failure.
    virtual void run(size_t i, const KernelConfig& config) = 0;
    // Milliseconds of one run of step i with `config`, measured by device events around the
    // launch alone; with `flush` the L2 cache is flushed first (outside the events).
    virtual double timed_run_ms(size_t i, const KernelConfig& config, bool flush) = 0;
    // Step i's output as it stands (after the last run).
    virtual HostTensor output(size_t i) = 0;
};

struct CudaAutotuneOptions {
    AutotuneOptions base;  // timing (warm-up, reps, timeout, flush), retune, progress
    bool loops = false;    // loop kernels too, not only GEMMs
    std::string arch;      // NVRTC target of the plan and of the pruning compiles
    // The compile-result pruning; default: prune_by_compile(st, space, arch).
    std::function<std::vector<CudaCandidate>(const PlanStep&, const std::vector<KernelConfig>&)> prune;
    // Makes the runner of a graph's plan; default: cuda_step_runner (needs a GPU).
    std::function<std::unique_ptr<CudaCandidateRunner>(const Graph&, const Target&)> make_runner;
};

// Median milliseconds of each candidate of step i (+infinity where a run threw or a timed run
// passed the timeout), by the interleaved protocol above.
std::vector<double> time_cuda_candidates(CudaCandidateRunner& runner, size_t i, const std::vector<KernelConfig>& configs,
                                         const TimingOptions& timing);

// Whether `candidate` matches `heuristic` within the dtype's tolerance above.
bool cuda_output_matches(const HostTensor& candidate, const HostTensor& heuristic);

class CudaAutotuner {
public:
    CudaAutotuner(TuningDb& db, DeviceIdentity device, CudaAutotuneOptions options);

    // Tunes every GEMM (and loop) workload of `g`, recording decisions in the database.
    void tune(const Graph& g);
    const std::vector<WorkloadResult>& results() const { return results_; }

private:
    WorkloadResult decide(CudaCandidateRunner& runner, size_t i, KernelConfig& winner);
    void report(WorkloadResult r);

    TuningDb& db_;
    DeviceIdentity device_;
    CudaAutotuneOptions options_;
    std::vector<WorkloadResult> results_;
    std::set<std::string> decided_;
};

}  // namespace pg
