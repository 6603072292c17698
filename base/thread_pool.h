// The process-wide CPU thread pool: splits every parallel kernel launch across cores
// (parallel_for) and bounds parallel kernel compilation (run_all). One job runs at a time; the
// calling thread always takes part, so a pool of N threads owns N - 1 workers.
#pragma once
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pg {

class ThreadPool {
public:
    // num_threads counts the calling thread: 1 means "no workers, everything inline".
    explicit ThreadPool(int num_threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    // The shared pool, created on first use with PG_THREADS threads (0 = hardware concurrency).
    static ThreadPool& global();

    int num_threads() const { return num_threads_; }

    // Splits [begin, end) into at most num_threads() contiguous chunks of at least min_chunk
    // elements and runs fn(chunk_begin, chunk_end) on them concurrently; returns when all are done.
    // A single chunk runs inline. Calls made from inside a pool task, or while another thread's
    // job holds the pool, also run inline (never deadlock, never wait behind a compile job). The
    // first exception thrown by fn is rethrown here after every chunk has finished. No allocation.
    void parallel_for(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& fn,
                      int64_t min_chunk = 1);

    // Runs every task, at most num_threads() at a time, and returns when all have finished. Waits
    // for the pool if another thread's job holds it; runs sequentially when called from inside a
    // pool task. Every task runs even if one throws; the first exception is then rethrown.
    void run_all(const std::vector<std::function<void()>>& tasks);

private:
    using TaskFn = void (*)(const void* ctx, int64_t task);

    struct Job {
        TaskFn fn = nullptr;
        const void* ctx = nullptr;
        int64_t num_tasks = 0;
        uint32_t gen = 0;
    };

    void dispatch(TaskFn fn, const void* ctx, int64_t num_tasks);  // dispatch_mu_ held
    void run_claimed(const Job& job);
    void wait_for_pending();
    void worker_main();

    int num_threads_;
    std::vector<std::thread> workers_;
    std::mutex dispatch_mu_;  // one job at a time

    // The current job, published under job_mu_ (workers snapshot it under the same lock).
    std::mutex job_mu_;
    Job job_;
    bool stop_ = false;
    // Bumped (under job_mu_) for every job; workers sleep on it.
    std::atomic<uint32_t> generation_{0};
    // High 32 bits: the job's generation; low 32 bits: the next unclaimed task. Claiming with a
    // CAS on both halves means a late worker can never take a task of a newer job with the
    // snapshot of an older one.
    std::atomic<uint64_t> ticket_{0};
    std::atomic<int32_t> pending_{0};  // tasks of the current job not yet finished
    std::mutex error_mu_;
    std::exception_ptr error_;
};

}  // namespace pg
