// SIGINT / SIGTERM handling for the trainer (see stop_signals.h).
#include "frontend/train/stop_signals.h"

#include <unistd.h>

namespace pg {

namespace {

volatile std::sig_atomic_t g_requested = 0;

// Async-signal-safe: a flag and one write(2).
void on_signal(int signal) {
    g_requested = signal;
    static const char kMessage[] =
        "\npgolf: stop requested; finishing the current step and writing a checkpoint (signal again to quit now)\n";
    ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    (void)ignored;
}

void install(int signal, struct sigaction* previous) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESETHAND;  // the second signal takes the default action: exit at once
    sigaction(signal, &action, previous);
}

}  // namespace

StopSignals::StopSignals() {
    g_requested = 0;
    install(SIGINT, &previous_int_);
    install(SIGTERM, &previous_term_);
}

StopSignals::~StopSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
}

int StopSignals::requested() const { return g_requested; }

const char* signal_name(int signal) {
    switch (signal) {
        case SIGINT: return "SIGINT";
        case SIGTERM: return "SIGTERM";
        default: return "a signal";
    }
}

}  // namespace pg
