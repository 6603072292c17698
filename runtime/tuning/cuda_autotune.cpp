// The GPU autotuner's decisions (see cuda_autotune.h).
#include "runtime/tuning/cuda_autotune.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "codegen/compile_plan.h"
#include "runtime/tuning/cuda_step_runner.h"

namespace pg {
namespace {

constexpr double kMinGain = 0.05;  // as on the CPU (cpu_autotune.cpp): noise is not a decision
constexpr double kInf = std::numeric_limits<double>::infinity();

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The candidates to time: the heuristic (space[0]) always, then every one the pruning kept.
std::vector<KernelConfig> timed_configs(const std::vector<CudaCandidate>& pruned, const KernelConfig& heuristic) {
    std::vector<KernelConfig> out{heuristic};
    for (const CudaCandidate& c : pruned)
        if (c.kept && !(c.config == heuristic)) out.push_back(c.config);
    return out;
}

}  // namespace

std::vector<double> time_cuda_candidates(CudaCandidateRunner& runner, size_t i, const std::vector<KernelConfig>& configs,
                                         const TimingOptions& timing) {
    std::vector<bool> failed(configs.size(), false);
    std::vector<std::vector<double>> ms(configs.size());
    for (int round = 0; round < timing.warmup + timing.reps; ++round)
        for (size_t c = 0; c < configs.size(); ++c) {
            if (failed[c]) continue;
            try {
                if (round < timing.warmup) {
                    runner.run(i, configs[c]);
                    continue;
                }
                double t = runner.timed_run_ms(i, configs[c], timing.flush);
                failed[c] = !(t <= 1e3 * timing.timeout_s);
                ms[c].push_back(t);
            } catch (const std::exception&) {
                failed[c] = true;
            }
        }
    std::vector<double> out;
    for (size_t c = 0; c < configs.size(); ++c) out.push_back(failed[c] || ms[c].empty() ? kInf : median(ms[c]));
    return out;
}

bool cuda_output_matches(const HostTensor& candidate, const HostTensor& heuristic) {
    const double tol = heuristic.dtype == DType::f32 ? 1e-5 : 1e-2;
    return candidate.shape == heuristic.shape && max_rel_error(candidate, heuristic) <= tol;
}

CudaAutotuner::CudaAutotuner(TuningDb& db, DeviceIdentity device, CudaAutotuneOptions options)
    : db_(db), device_(std::move(device)), options_(std::move(options)) {
    if (!options_.prune) {
        options_.prune = [arch = options_.arch](const PlanStep& st, const std::vector<KernelConfig>& space) {
            return prune_by_compile(st, space, arch);
        };
    }
    if (!options_.make_runner) options_.make_runner = cuda_step_runner;
}

void CudaAutotuner::report(WorkloadResult r) {
    if (r.reused && decided_.count(r.workload)) return;
    decided_.insert(r.workload);
    if (options_.base.progress) options_.base.progress(r);
    results_.push_back(std::move(r));
}

// Prunes, times and checks step i's candidates; leaves the winner's output in the step's buffer.
WorkloadResult CudaAutotuner::decide(CudaCandidateRunner& runner, size_t i, KernelConfig& winner) {
    const PlanStep& st = runner.plan().steps[i];
    const std::vector<KernelConfig> space = cuda_search_space(st);
    const std::vector<CudaCandidate> pruned = options_.prune(st, space);
    const std::vector<KernelConfig> configs = timed_configs(pruned, space.front());
    WorkloadResult res{st.workload, "", kInf, kInf, static_cast<int>(space.size()), 0, false};
    res.failed = static_cast<int>(std::count_if(pruned.begin(), pruned.end(), [](const CudaCandidate& c) { return !c.kept; }));
    std::vector<double> ms = time_cuda_candidates(runner, i, configs, options_.base.timing);
    size_t best = 0;
    for (size_t c = 0; c < configs.size(); ++c) {
        res.failed += std::isinf(ms[c]);
        if (ms[c] < ms[best]) best = c;
    }
    res.default_us = 1e3 * ms[0];
    if (std::isinf(ms[0])) return res;  // no reference output to check a winner against: nothing stored
    if (best != 0 && !(ms[best] < (1 - kMinGain) * ms[0])) best = 0;
    if (best != 0) {
        runner.run(i, configs[0]);
        HostTensor reference = runner.output(i);
        runner.run(i, configs[best]);
        if (!cuda_output_matches(runner.output(i), reference)) {
            ++res.failed;
            best = 0;
        }
    }
    runner.run(i, configs[best]);
    winner = configs[best];
    res.tuned_us = 1e3 * ms[best];
    res.decision = config_string(winner);
    return res;
}

void CudaAutotuner::tune(const Graph& g) {
    Target t = cuda_target(options_.arch);
    std::unique_ptr<CudaCandidateRunner> runner = options_.make_runner(g, t);
    std::set<std::string> seen;
    for (size_t i = 0; i < runner->plan().steps.size(); ++i) {
        const PlanStep& st = runner->plan().steps[i];
        const bool wanted = st.kind == PlanStep::Kind::Gemm || (options_.loops && st.kind == PlanStep::Kind::Kernel);
        if (st.kind != PlanStep::Kind::Gemm && st.kind != PlanStep::Kind::Kernel) continue;
        const bool first = seen.insert(st.workload).second;
        const KernelRecord* known = options_.base.retune ? nullptr : db_.find_kernel(device_, st.workload);
        if (!wanted || !first || known) {
            if (wanted && first && known)
                report({st.workload, config_string(known->config), known->default_us, known->tuned_us, 0, 0, true});
            runner->run(i, {});  // its consumers need its output
            continue;
        }
        KernelConfig winner;
        WorkloadResult res = decide(*runner, i, winner);
        if (!res.decision.empty()) db_.set_kernel(device_, st.workload, {winner, res.default_us, res.tuned_us});
        report(res);
    }
}

}  // namespace pg
