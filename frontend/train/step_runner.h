// StepRunner: runs the training step of step_graphs.h in a session: grad_accum micro-step graphs
// that accumulate gradients, then the optimizer graph, all over the session's parameter, state
// and accumulator buffers. Per step nothing crosses between host and device but the token
// batches, the runtime scalars (learning rates, momentum, step) and the micro-steps' losses;
// with PG_DEBUG=1 each step prints those byte counts. With several ranks (comm::world(), given to
// the session) the last micro-step runs the graph whose gradient accumulators are all-reduced
// (TrainingGraphs::micro_sync, bucketed and overlapped with backward), and loss() is the mean
// over all ranks.
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
    // Runs one optimizer step over micro_steps() micro-batches.
    void run(const BatchSource& next_batch);
    // The same, with the micro-batches taken from `loader` as the baseline takes them.
    void run(data::DistributedTokenLoader& loader);
    double loss() const { return loss_; }  // mean training loss of the last step
    // Host<->device bytes of the last step, its scalars included.
    const TransferStats& last_transfers() const { return last_transfers_; }

    int64_t micro_steps() const { return graphs_.micro_steps; }
    int64_t micro_rows() const { return graphs_.micro_rows; }
    const TrainingGraphs& graphs() const { return graphs_; }
    Executable& micro_executable() { return *micro_exe_; }
    Executable& optimizer_executable() { return *optimizer_exe_; }

    std::string backend() const;
    std::string summary() const;
    std::string profile_report(int top) const;
    int64_t param_count() const;

private:
    void set_recipe_switches(const StepSchedule& s);

    const Hyperparams& h_;
    Session& session_;
    TrainingGraphs graphs_;
    std::unique_ptr<Executable> micro_exe_, optimizer_exe_;
    std::unique_ptr<Executable> sync_exe_;  // the last micro-step of a data-parallel step
    HostTensor ids_, targets_;
    double loss_ = 0;
    int64_t steps_run_ = 0;
    TransferStats step_start_, last_transfers_;
    comm::Communicator* comm_ = nullptr;  // set when the world has several ranks
    bool scalars_set_ = false;
};

}  // namespace pg
