// SIGINT / SIGTERM handling for the trainer (see stop_signals.h).
#include "frontend/train/stop_signals.h"

#include <unistd.h>

#include <atomic>

namespace pg {

namespace {

// Lock-free, so async-signal-safe; atomic because the two signals can land in two threads at once.
std::atomic<int> g_requested{0};

// Whether our handler is installed for SIGINT / SIGTERM (a signal the process ignores, e.g.
// SIGINT of a background job, stays ignored).
volatile std::sig_atomic_t g_armed_int = 0, g_armed_term = 0;

void set_default(int signal) {
    struct sigaction action {};
    action.sa_handler = SIG_DFL;
    sigemptyset(&action.sa_mask);
    sigaction(signal, &action, nullptr);
}

// Async-signal-safe: a flag, sigaction, raise and one write(2).
void on_signal(int signal) {
    int none = 0;
    if (!g_requested.compare_exchange_strong(none, signal)) {  // the second signal, raced into another thread
        set_default(signal);
        ::raise(signal);
        return;
    }
    if (g_armed_int) set_default(SIGINT);  // the next signal of either kind takes the default action
    if (g_armed_term) set_default(SIGTERM);
    static const char kMessage[] =
        "\npgolf: stop requested; finishing the current step and writing a checkpoint (signal again to quit now)\n";
    ssize_t ignored = ::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
    (void)ignored;
}

// Installs the handler unless the signal is ignored; returns whether it did.
bool install(int signal, struct sigaction* previous) {
    struct sigaction action {};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaddset(&action.sa_mask, SIGINT);  // one handler at a time, whichever signal came first
    sigaddset(&action.sa_mask, SIGTERM);
    sigaction(signal, &action, previous);
    if (previous->sa_handler != SIG_IGN) return true;
    sigaction(signal, previous, nullptr);
    return false;
}

}  // namespace

StopSignals::StopSignals() {
    g_requested = 0;
    g_armed_int = install(SIGINT, &previous_int_);
    g_armed_term = install(SIGTERM, &previous_term_);
}

StopSignals::~StopSignals() {
    sigaction(SIGINT, &previous_int_, nullptr);
    sigaction(SIGTERM, &previous_term_, nullptr);
}

int StopSignals::requested() const { return g_requested.load(); }

const char* signal_name(int signal) {
    switch (signal) {
        case SIGINT: return "SIGINT";
        case SIGTERM: return "SIGTERM";
        default: return "a signal";
    }
}

}  // namespace pg
