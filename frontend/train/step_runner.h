// StepRunner: runs the training step of step_graphs.h in a session: grad_accum micro-step graphs
// that accumulate gradients, then the optimizer graph, all over the session's parameter, state
// and accumulator buffers. Per step nothing crosses between host and device but the token
// batches, the runtime scalars (learning rates, momentum, step) and the micro-steps' losses;
// with PG_DEBUG=1 each step prints those byte counts. With several ranks (comm::world(), given to
// the session) the last micro-step runs the graph whose gradient accumulators are all-reduced
// (TrainingGraphs::micro_sync, bucketed and overlapped with backward), and loss() is the mean
// over all ranks. With parallel Muon, the optimizer graph is preceded by the shard graph
// (TrainingGraphs::muon_shard), which the guard treats as part of the optimizer. A run that
// switches depth recurrence on part way (ENABLE_LOOPING_AT) also holds the pre-loop micro-step
// graphs over the same buffers; the step's schedule picks which run.
//
// The non-finite guard (PG_NAN_CHECK, runtime/nan_check.h) lives here because the step's order
// gives it the last good state for free: the micro-steps only add into the gradient accumulators,
// and the optimizer alone writes weights and optimizer state. So run() checks each micro-step's
// loss as it reads it (and, with PG_NAN_CHECK=grad, the accumulated gradients' norm with the last
// loss), and when one is not finite it stops there and never runs the optimizer: the session
// still holds the state of the previous step.
#pragma once
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frontend/data/token_stream.h"
#include "frontend/train/schedule.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"
#include "runtime/nan_check.h"

namespace pg {

class StepRunner {
public:
    StepRunner(const Hyperparams& h, Session& session);

    // The params and optimizer state that define training (checkpointed); not the accumulators.
    const std::vector<ParamSpec>& state_specs() const { return graphs_.state_specs; }
    std::map<std::string, HostTensor> initial_state(uint64_t seed) const;
    void set_state(const std::string& name, const HostTensor& value);
    HostTensor get_state(const std::string& name) const;

    void set_scalars(int64_t step, double lr_mul);
    // The same with the recipe switches of the step (QAT in the forward pass, SWA snapshot).
    void set_scalars(int64_t step, const StepSchedule& s);
    // Fills micro-batch `micro` (int32 [micro_rows, seq_len] ids and targets).
    using BatchSource = std::function<void(int64_t micro, HostTensor& ids, HostTensor& targets)>;
    // Runs one optimizer step over micro_steps() micro-batches (unless the guard stops it).
    void run(const BatchSource& next_batch);
    // The same, with the micro-batches taken from `loader` as the baseline takes them.
    void run(data::DistributedTokenLoader& loader);
    double loss() const { return loss_; }  // mean training loss of the last step
    // Whether the last run() applied the optimizer; false when the guard stopped it.
    bool applied() const { return fault_.empty(); }
    // Why the guard stopped the last step ("" when it did not): which value was not finite.
    const std::string& fault() const { return fault_; }
    // The plan step that wrote the value, when an output check (PG_NAN_CHECK=full) caught it.
    const std::string& fault_kernel() const { return fault_kernel_; }
    // The micro-step whose batch is still in the micro-step executable's inputs, so that a replay
    // (micro_executable().run()) recomputes the failing one.
    int64_t last_micro() const { return last_micro_; }
    // The global gradient norm of the last step (PG_NAN_CHECK=grad; else NaN).
    double grad_norm() const { return grad_norm_; }
    // Multiplies the loss by (1 + NaN) in the next steps' micro-steps (PG_INJECT_NAN; the graph
    // has the "nan_inject" scalar only when that setting is on).
    void plant_nan(bool on);
    // Host<->device bytes of the last step, its scalars included.
    const TransferStats& last_transfers() const { return last_transfers_; }

    int64_t micro_steps() const { return graphs_.micro_steps; }
    int64_t micro_rows() const { return graphs_.micro_rows; }
    const TrainingGraphs& graphs() const { return graphs_; }
    Executable& micro_executable() { return looping_ ? *micro_exe_ : *preloop_exe_; }  // the micro-step in use
    // Whether the micro-steps run the looped layer order (always, without a loop switch).
    bool looping() const { return looping_; }
    Executable& optimizer_executable() { return *optimizer_exe_; }

    std::string backend() const;
    std::string summary() const;
    std::string profile_report(int top) const;
    int64_t param_count() const;

private:
    void set_recipe_switches(const StepSchedule& s);
    std::vector<Executable*> micro_executables();  // every micro-step graph compiled
    Executable& micro_executable(int64_t micro);  // the all-reduced graph for the last micro-step
    double run_micro(int64_t micro, const BatchSource& next_batch);  // its loss
    void check_grad_norm();
    void run_optimizer();

    const Hyperparams& h_;
    Session& session_;
    TrainingGraphs graphs_;
    std::unique_ptr<Executable> micro_exe_, optimizer_exe_;
    std::unique_ptr<Executable> sync_exe_;  // the last micro-step of a data-parallel step
    std::unique_ptr<Executable> muon_shard_exe_;  // parallel Muon's Newton-Schulz on this rank's share
    std::unique_ptr<Executable> preloop_exe_, preloop_sync_exe_;  // before ENABLE_LOOPING_AT
    bool looping_ = true;
    HostTensor ids_, targets_;
    NanCheck check_ = NanCheck::Loss;
    std::string fault_, fault_kernel_;
    int64_t last_micro_ = 0;
    double grad_norm_ = 0;
    double loss_ = 0;
    int64_t steps_run_ = 0;
    TransferStats step_start_, last_transfers_;
    comm::Communicator* comm_ = nullptr;  // set when the world has several ranks
    bool scalars_set_ = false;
};

}  // namespace pg
