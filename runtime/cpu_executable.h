// CpuExecutable: an ExecPlan on the CPU. Construction compiles the plan's kir kernels with the
// LLVM ORC JIT (through the kernel cache) and turns its Gemm steps into OpenBLAS calls over the
// operands' strided views; run() replays the steps (kernels split across cores by the thread
// pool), state-update copies last. Collective steps (the gradient all-reduce) go to the session's
// communicator (MPI): each bucket is issued as a non-blocking request right after the kernel that
// finishes its last gradient, progressed between the kernels that follow, and completed before the
// copies.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/executable.h"

namespace pg {

class CpuProgram;
struct BlasMatmul;

struct CpuPlanStats {
    int loop_kernels = 0, blas_calls = 0, scatter_kernels = 0, attention_kernels = 0, linear_ce_kernels = 0;
    int64_t arena_bytes = 0, naive_bytes = 0;
    double plan_seconds = 0, compile_seconds = 0;
    int cache_hits = 0;
    int launches() const { return loop_kernels + blas_calls + scatter_kernels + attention_kernels + linear_ce_kernels; }
};

class CpuExecutable final : public Executable {
public:
    CpuExecutable(Session& session, const Graph& g, const Target& target = cpu_target());
    ~CpuExecutable() override;

    void run() override;
    int launches() const override { return stats_.launches(); }
    std::string summary() const override;
    // With PG_PROFILE=1, run() times every step; this lists the `top` most expensive steps with
    // their total time and share, and resets nothing.
    std::string profile_report(int top) const override;
    void check_outputs(bool on) override { check_outputs_ = on; }

    std::vector<KernelTime> profile() const override;

    // Tuning hooks (runtime/tuning/cpu_autotune.h). Runs step `i` (a Kernel or Gemm step) alone
    // with `config` in place of its own (none: its own): a CpuLoopConfig or CpuGemmConfig. A loop
    // blocking other than the step's own is compiled on first use and kept. Its inputs are whatever the buffers hold: run the steps in
    // plan order, since the arena reuses a buffer once its last reader has run.
    void run_step(size_t i, const KernelConfig& config);
    // Compiles what run_step(i, config) needs beyond the step's own binary (a loop blocking's
    // variant), so that a timing of run_step does not include the JIT compile.
    void prepare_step(size_t i, const KernelConfig& config);
    // The bytes of step i's output buffer.
    std::string_view step_output(size_t i) const;

    const CpuPlanStats& stats() const { return stats_; }
    const Graph& graph() const { return plan_.graph; }  // after passes (primitive only)
    const Schedule& schedule() const { return plan_.schedule; }

private:
    struct Step;

    void build_steps();
    // Step i's kernel compiled with `blocking` (its rows / inner; threads ignored), kept.
    Step& blocking_variant(size_t i, const CpuLoopConfig& blocking);
    void check_output(size_t step) const;  // throws NonFiniteError
    void run_one(const Step& st) const;
    void issue_collectives(comm::Communicator* c, size_t before_step) const;

    std::unique_ptr<CpuProgram> program_;
    std::map<std::pair<size_t, std::string>, std::pair<std::unique_ptr<CpuProgram>, std::unique_ptr<Step>>> variants_;
    std::vector<Step> steps_;
    std::vector<std::vector<size_t>> issue_before_;  // [i]: collective steps issued before step i
    CpuPlanStats stats_;
    bool profile_ = false;
    bool check_outputs_ = false;
    std::vector<double> step_seconds_;
    int64_t profiled_runs_ = 0;
};

}  // namespace pg
