// Timing a span of work on a session's device, as `pgolf bench` times its steps: on CUDA with
// events recorded on the device's stream (the GPU's clock: what the kernels and copies of the span
// take, host gaps included only where they leave the stream idle), on the CPU with the host's
// steady clock (the work runs on the calling thread and its pool).
#pragma once
#include <memory>

#include "runtime/session.h"

namespace pg {

class StepTimer {
public:
    virtual ~StepTimer() = default;
    virtual void start() = 0;
    // Milliseconds since start(), once the device has finished everything issued before.
    virtual double stop_ms() = 0;
    // "cuda events" or "host clock": what the figures are, for reports.
    virtual const char* clock() const = 0;
};

std::unique_ptr<StepTimer> make_step_timer(const Session& session);

}  // namespace pg
