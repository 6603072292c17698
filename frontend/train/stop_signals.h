// StopSignals: a graceful stop on SIGINT / SIGTERM for the length of a training run. The first
// signal only raises a flag (and says so on stderr); the trainer sees it after the current step,
// writes a checkpoint and returns. The handler is installed with SA_RESETHAND, so a second signal
// gets the default action and ends the process at once. The previous handlers come back when the
// object is destroyed.
#pragma once
#include <csignal>

namespace pg {

class StopSignals {
public:
    StopSignals();   // installs the handlers; clears any earlier request
    ~StopSignals();  // restores the previous handlers
    StopSignals(const StopSignals&) = delete;
    StopSignals& operator=(const StopSignals&) = delete;

    // The signal that asked for a stop (SIGINT or SIGTERM), or 0.
    int requested() const;

private:
    struct sigaction previous_int_{}, previous_term_{};
};

// "SIGINT", "SIGTERM", or "a signal".
const char* signal_name(int signal);

}  // namespace pg
