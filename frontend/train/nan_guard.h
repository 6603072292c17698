// What the trainer does when the non-finite guard of StepRunner (step_runner.h) stops a step:
// name the first non-finite tensor, keep the last good state, and say so in one clear line.
//
// The tensor is found after the failure, so that the guard costs nothing while all is well: the
// weights and optimizer state are scanned first (a NaN already in the state came in through an
// earlier update that no check saw); when they are finite, the failing micro-batch is replayed
// with every kernel output checked (CPU), which names the first kernel that produced a NaN or
// infinity; otherwise the first non-finite gradient accumulator is named.
//
// Because the guard stops before the optimizer, the session still holds the state after the
// previous step: that is the last good state, written as a resumable checkpoint. When the state
// itself is not finite there is no good state to write, and the message says where to go back.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

namespace pg {

class StepRunner;

struct NanStop {
    std::string message;     // the line the run ends with
    std::string tensor;      // the first non-finite tensor or kernel found
    std::string checkpoint;  // the last good state, or "" when the state was not finite
};

// `step`: the failed step (1-based). `save_last_good` writes the session's state as the
// checkpoint after step - 1 and returns its path.
NanStop handle_non_finite_step(StepRunner& runner, int64_t step, const std::function<std::string()>& save_last_good);

}  // namespace pg
