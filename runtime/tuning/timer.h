// Candidate timing for the autotuner: warm-up calls, then repetitions that each start with the
// caches flushed (a sweep over a buffer larger than the last-level cache), so that a candidate is
// not flattered by data its predecessor left in cache. The median repetition is the candidate's
// time. A call that throws, or one that runs past the timeout, makes the candidate infinitely
// slow (a running call cannot be interrupted: it is the last one made).
#pragma once
#include <functional>
#include <vector>

namespace pg {

struct TimingOptions {
    int warmup = 2;
    int reps = 5;
    double timeout_s = 2.0;  // per call
    bool flush = true;
};

// Median seconds per call of each candidate, or +infinity. The repetitions are interleaved (one
// call of every candidate, then the next round), so that a change in the machine's load (it is
// shared) hits every candidate alike instead of the one that happened to run then.
std::vector<double> time_candidates(const std::vector<std::function<void()>>& fns, const TimingOptions& options);

// Evicts the caches: writes and reads back a buffer of twice the last-level cache (sysconf), at
// most 64 MiB.
void flush_caches();

}  // namespace pg
