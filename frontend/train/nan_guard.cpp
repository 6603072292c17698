// Diagnosis and checkpoint after a non-finite step (see nan_guard.h).
#include "frontend/train/nan_guard.h"

#include <fmt/format.h>

#include <optional>
#include <vector>

#include "frontend/train/step_runner.h"
#include "runtime/nan_check.h"

namespace pg {

namespace {

// "name (element i is nan)" for the first non-finite tensor among `names`, or nullopt.
template <class Names>
std::optional<std::string> first_non_finite(const StepRunner& runner, const Names& names) {
    for (const std::string& name : names) {
        HostTensor t = runner.get_state(name);
        int64_t i = find_non_finite(t);
        if (i >= 0) return fmt::format("{} (element {} is {})", name, i, non_finite_text(t.data(), t.dtype, i));
    }
    return std::nullopt;
}

std::vector<std::string> state_names(const StepRunner& runner) {
    std::vector<std::string> out;
    for (const ParamSpec& p : runner.state_specs()) out.push_back(p.name);
    return out;
}

std::vector<std::string> accumulator_names(const StepRunner& runner) {
    std::vector<std::string> out;
    for (const ParamSpec& p : runner.graphs().model_specs) out.push_back(grad_acc_name(p.name));
    return out;
}

// Replays the micro-step whose batch is still loaded with every kernel output checked; the first
// kernel that writes a non-finite value, or nullopt (no NaN on replay).
std::optional<std::string> replay_checked(StepRunner& runner) {
    Executable& micro = runner.micro_executable();
    std::optional<std::string> kernel;
    try {
        micro.check_outputs(true);
        micro.run();
    } catch (const NonFiniteError& e) {
        kernel = fmt::format("the output of kernel {}, replaying micro-step {}", e.kernel(), runner.last_micro());
    }
    micro.check_outputs(nan_check_mode() == NanCheck::Full);
    return kernel;
}

}  // namespace

NanStop handle_non_finite_step(StepRunner& runner, int64_t step, const std::function<std::string()>& save_last_good) {
    NanStop stop;
    if (std::optional<std::string> bad_state = first_non_finite(runner, state_names(runner))) {
        stop.tensor = *bad_state;
        stop.message = fmt::format(
            "non-finite at step {}: {}; the state itself is not finite (first: {}), so it came in through an "
            "earlier update whose loss was finite. No checkpoint written: resume from the newest periodic "
            "checkpoint (CHECKPOINT_EVERY) with PG_NAN_CHECK=grad to stop before such an update",
            step, runner.fault(), stop.tensor);
        return stop;
    }
    std::optional<std::string> found;
    if (!runner.fault_kernel().empty())
        found = "the output of kernel " + runner.fault_kernel();
    else
        found = replay_checked(runner);
    if (!found) found = first_non_finite(runner, accumulator_names(runner));
    stop.tensor = found ? *found : "none found (the value came from the loss read alone)";
    stop.checkpoint = save_last_good();
    stop.message = fmt::format(
        "non-finite at step {}: {}; first non-finite tensor: {}. The update was not applied; the last good state "
        "(after step {}) is in {}",
        step, runner.fault(), stop.tensor, step - 1, stop.checkpoint);
    return stop;
}

}  // namespace pg
