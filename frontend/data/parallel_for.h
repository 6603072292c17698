// parallel_for: a minimal fork-join loop on std::thread for the data pipeline (document encoding).
// Kept inside frontend/data so the pipeline has no dependency on the runtime's thread pool.
#pragma once
#include <cstdint>
#include <functional>

namespace pg::data {

// Runs fn(i) for every i in [0, n) on up to `threads` threads (the calling thread is one of them),
// handing out indices dynamically. When a call throws, the remaining indices are abandoned and the
// first exception is rethrown once every thread has stopped.
void parallel_for(int64_t n, int threads, const std::function<void(int64_t)>& fn);

}  // namespace pg::data
