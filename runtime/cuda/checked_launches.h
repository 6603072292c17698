// Checked, one-by-one execution of a step's launches for bring-up: each launch is enqueued, then
// the stream is synchronized and checked, so that a fault (an illegal address, a launch failure)
// is reported with the name of the kernel that caused it instead of surfacing later at some
// unrelated synchronization. CudaExecutable runs its first step this way before capturing the
// CUDA graph, and every step under PG_CUDA_SYNC=1. Kept free of the Driver API so that the error
// path is unit-tested without a GPU.
#pragma once
#include <cstddef>
#include <functional>
#include <string>

namespace pg {

struct CheckedLaunches {
    std::function<void(size_t)> enqueue;        // enqueue launch i
    std::function<void()> wait;                 // synchronize and throw pg::Error on a fault
    std::function<std::string(size_t)> describe;  // "k012_mul entry k012_mul_p0 grid 64x1x1 block 256"
    // Optional: runs after launch i completed without a fault; what it throws passes through
    // unchanged (PG_NAN_CHECK=full checks the launch's output here).
    std::function<void(size_t)> after;
};

// Runs launches 0..count-1, each followed by wait(). A pg::Error from either is rethrown as a
// pg::Error naming launch i (describe(i)), its position, the original message, and that the CUDA
// context is unusable afterwards; nothing after launch i is enqueued. after(i), when set, runs
// between a launch's wait and the next launch.
void run_checked(size_t count, const CheckedLaunches& launches);

}  // namespace pg
