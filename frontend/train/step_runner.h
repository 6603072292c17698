// StepRunner: one optimizer step of the trainer, either as one graph over all of the step's
// sequences, or (PG_MICRO_STEPS=1, the default) as grad_accum micro-step graphs that accumulate
// gradients followed by an apply graph that runs the optimizer, so that activation memory is that
// of one micro-batch, as the baseline's loop over micro-steps. Both give the same step up to the
// summation order of the mean loss.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "frontend/data/token_stream.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"

namespace pg {

class StepRunner {
public:
    explicit StepRunner(const Hyperparams& h);

    // The params and optimizer state that define training (checkpointed); not the accumulators.
    const std::vector<ParamSpec>& state_specs() const { return state_specs_; }
    std::map<std::string, HostTensor> initial_state(uint64_t seed) const;
    void set_state(const std::string& name, const HostTensor& value);
    HostTensor get_state(const std::string& name) const;

    void set_scalars(int64_t step, double lr_mul);
    // Loads the step's micro-batches from `loader` and runs one optimizer step.
    void run(data::DistributedTokenLoader& loader);
    double loss() const { return loss_; }  // mean training loss of the last step

    std::string backend() const;
    std::string summary() const;
    std::string profile_report(int top) const;
    int64_t param_count() const;

private:
    HostTensor batch_tensor() const;

    const Hyperparams& h_;
    bool micro_;
    int64_t micro_rows_;
    ModelGraph single_, micro_graph_, apply_graph_;
    std::unique_ptr<Executable> single_exe_, micro_exe_, apply_exe_;
    std::vector<ParamSpec> state_specs_, model_specs_;
    double loss_ = 0;
};

}  // namespace pg
