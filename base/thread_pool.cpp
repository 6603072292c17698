// The process-wide CPU thread pool (see thread_pool.h).
//
// A job is `num_tasks` calls of one function pointer with a context pointer, so parallel_for
// needs no allocation. Workers (and the caller) claim task indices with a CAS on `ticket_`; the
// last task to finish wakes the caller through `pending_`. Idle workers spin briefly before they
// sleep on a futex (C++20 atomic wait), because a training step launches kernels back to back
// and a futex wake costs ~5-10 us per worker per launch.
#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/env.h"
#include "base/error.h"

namespace pg {

PG_KNOB({.name = "PG_THREADS",
         .kind = env::KnobKind::Int,
         .default_value = "0",
         .doc = "threads of the CPU thread pool, the caller included (0 = hardware concurrency)"});

namespace {

// How long an idle worker, or a caller waiting for its job's last chunk, spins before sleeping.
// 50 us covers the gap between consecutive kernel launches of a step (a few us of executor work)
// while costing an idle process little CPU.
constexpr auto kSpinTime = std::chrono::microseconds(50);

thread_local bool t_in_pool = false;  // this thread is running a pool task

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// Spins until pred() holds or kSpinTime has passed; returns whether pred() holds.
template <class Pred>
bool spin_until(Pred pred) {
    auto deadline = std::chrono::steady_clock::now() + kSpinTime;
    while (true) {
        for (int i = 0; i < 64; ++i) {
            if (pred()) return true;
            cpu_relax();
        }
        if (std::chrono::steady_clock::now() >= deadline) return pred();
    }
}

struct InPoolScope {
    bool previous = t_in_pool;
    InPoolScope() { t_in_pool = true; }
    ~InPoolScope() { t_in_pool = previous; }
};

struct ForContext {
    const std::function<void(int64_t, int64_t)>* fn;
    int64_t begin, size, chunks;
};

// Chunk i of `chunks` near-equal contiguous chunks of [begin, begin + size).
void run_for_chunk(const void* ctx, int64_t i) {
    const auto& c = *static_cast<const ForContext*>(ctx);
    int64_t base = c.size / c.chunks, extra = c.size % c.chunks;
    int64_t lo = c.begin + base * i + std::min(i, extra);
    int64_t hi = lo + base + (i < extra ? 1 : 0);
    (*c.fn)(lo, hi);
}

void run_task(const void* ctx, int64_t i) {
    (*static_cast<const std::vector<std::function<void()>>*>(ctx))[static_cast<size_t>(i)]();
}

int resolve_threads() {
    int64_t n = env::get_int("PG_THREADS");
    PG_CHECK(n >= 0 && n <= 4096, "PG_THREADS={} is out of range: use 0 (all hardware threads) or 1..4096", n);
    if (n == 0) n = std::max(1u, std::thread::hardware_concurrency());
    return static_cast<int>(n);
}

}  // namespace

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) {
    PG_ASSERT(num_threads >= 1, "a thread pool needs at least one thread, got {}", num_threads);
    workers_.reserve(static_cast<size_t>(num_threads - 1));
    for (int i = 1; i < num_threads; ++i) workers_.emplace_back([this] { worker_main(); });
}

ThreadPool::~ThreadPool() {
    {
        std::lock_guard lock(job_mu_);
        stop_ = true;
        generation_.fetch_add(1, std::memory_order_release);
    }
    generation_.notify_all();
    for (std::thread& t : workers_) t.join();
}

ThreadPool& ThreadPool::global() {
    static ThreadPool pool(resolve_threads());
    return pool;
}

void ThreadPool::parallel_for(int64_t begin, int64_t end, const std::function<void(int64_t, int64_t)>& fn,
                              int64_t min_chunk) {
    int64_t size = end - begin;
    if (size <= 0) return;
    min_chunk = std::max<int64_t>(min_chunk, 1);
    int64_t chunks = std::min<int64_t>(num_threads_, (size + min_chunk - 1) / min_chunk);
    if (chunks <= 1 || t_in_pool) {
        fn(begin, end);
        return;
    }
    std::unique_lock lock(dispatch_mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
        fn(begin, end);
        return;
    }
    ForContext ctx{&fn, begin, size, chunks};
    dispatch(&run_for_chunk, &ctx, chunks);
}

void ThreadPool::run_all(const std::vector<std::function<void()>>& tasks) {
    if (tasks.empty()) return;
    if (tasks.size() == 1 || num_threads_ == 1 || t_in_pool) {
        std::exception_ptr first;
        for (const auto& t : tasks) {
            try {
                t();
            } catch (...) {
                if (!first) first = std::current_exception();
            }
        }
        if (first) std::rethrow_exception(first);
        return;
    }
    PG_ASSERT(tasks.size() < (1u << 31), "too many tasks for one job: {}", tasks.size());
    std::lock_guard lock(dispatch_mu_);
    dispatch(&run_task, &tasks, static_cast<int64_t>(tasks.size()));
}

void ThreadPool::dispatch(TaskFn fn, const void* ctx, int64_t num_tasks) {
    Job job;
    {
        std::lock_guard lock(job_mu_);
        error_ = nullptr;
        pending_.store(static_cast<int32_t>(num_tasks), std::memory_order_relaxed);
        job = Job{fn, ctx, num_tasks, generation_.load(std::memory_order_relaxed) + 1};
        job_ = job;
        ticket_.store(static_cast<uint64_t>(job.gen) << 32, std::memory_order_release);
        generation_.store(job.gen, std::memory_order_release);
    }
    generation_.notify_all();
    {
        InPoolScope scope;
        run_claimed(job);
    }
    wait_for_pending();
    std::exception_ptr err;
    {
        std::lock_guard lock(error_mu_);
        err = std::exchange(error_, nullptr);
    }
    if (err) std::rethrow_exception(err);
}

void ThreadPool::run_claimed(const Job& job) {
    while (true) {
        uint64_t t = ticket_.load(std::memory_order_acquire);
        if (static_cast<uint32_t>(t >> 32) != job.gen) return;
        int64_t task = static_cast<int64_t>(t & 0xffffffffu);
        if (task >= job.num_tasks) return;
        if (!ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel)) continue;
        try {
            job.fn(job.ctx, task);
        } catch (...) {
            std::lock_guard lock(error_mu_);
            if (!error_) error_ = std::current_exception();
        }
        if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
}

void ThreadPool::wait_for_pending() {
    if (spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; })) return;
    while (true) {
        int32_t left = pending_.load(std::memory_order_acquire);
        if (left == 0) return;
        pending_.wait(left, std::memory_order_acquire);
    }
}

void ThreadPool::worker_main() {
    t_in_pool = true;
    uint32_t seen = 0;
    while (true) {
        if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; }))
            generation_.wait(seen, std::memory_order_acquire);
        Job job;
        {
            std::lock_guard lock(job_mu_);
            if (stop_) return;
            job = job_;
        }
        seen = job.gen;
        run_claimed(job);
    }
}

}  // namespace pg
