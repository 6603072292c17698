// Tests of the CPU thread pool: chunking of parallel_for, concurrency, exceptions, nesting, and
// run_all.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/thread_pool.h"

using pg::ThreadPool;

namespace {

// Collects the chunks of one parallel_for call, sorted.
std::vector<std::pair<int64_t, int64_t>> chunks_of(ThreadPool& pool, int64_t begin, int64_t end, int64_t min_chunk = 1) {
    std::mutex mu;
    std::vector<std::pair<int64_t, int64_t>> chunks;
    pool.parallel_for(
        begin, end,
        [&](int64_t lo, int64_t hi) {
            std::lock_guard lock(mu);
            chunks.emplace_back(lo, hi);
        },
        min_chunk);
    std::sort(chunks.begin(), chunks.end());
    return chunks;
}

}  // namespace

TEST_CASE("parallel_for covers the range with at most num_threads contiguous chunks") {
    ThreadPool pool(4);
    CHECK(pool.num_threads() == 4);
    for (int64_t n : {1, 2, 3, 4, 5, 7, 100, 1001}) {
        auto chunks = chunks_of(pool, 10, 10 + n);
        CHECK(chunks.size() == static_cast<size_t>(std::min<int64_t>(4, n)));
        int64_t at = 10;
        for (auto [lo, hi] : chunks) {
            CHECK(lo == at);
            CHECK(hi > lo);
            CHECK(hi - lo <= n / static_cast<int64_t>(chunks.size()) + 1);
            at = hi;
        }
        CHECK(at == 10 + n);
    }
    CHECK(chunks_of(pool, 5, 5).empty());
    CHECK(chunks_of(pool, 5, 3).empty());
    // min_chunk bounds the number of chunks.
    CHECK(chunks_of(pool, 0, 100, 40).size() == 3);
    CHECK(chunks_of(pool, 0, 100, 1000).size() == 1);
}

TEST_CASE("parallel_for runs a single chunk inline on the caller") {
    ThreadPool pool(1);
    std::thread::id id;
    pool.parallel_for(0, 1000, [&](int64_t lo, int64_t hi) {
        CHECK(lo == 0);
        CHECK(hi == 1000);
        id = std::this_thread::get_id();
    });
    CHECK(id == std::this_thread::get_id());
}

TEST_CASE("parallel_for uses several threads and sums correctly over many calls") {
    ThreadPool pool(4);
    std::vector<int64_t> data(100000);
    for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<int64_t>(i);
    // Back-to-back calls, as a training step launches kernels.
    for (int rep = 0; rep < 2000; ++rep) {
        std::atomic<int64_t> total{0};
        pool.parallel_for(0, static_cast<int64_t>(data.size()), [&](int64_t lo, int64_t hi) {
            int64_t s = 0;
            for (int64_t i = lo; i < hi; ++i) s += data[static_cast<size_t>(i)];
            total += s;
        });
        REQUIRE(total.load() == 99999LL * 100000 / 2);
    }
    // Chunks that wait until all four have started prove they run concurrently; a pool that ran
    // them one after another would make the first wait out its 10 s deadline and fail, not hang.
    std::atomic<int> started{0}, saw_all{0};
    pool.parallel_for(0, 4, [&](int64_t, int64_t) {
        started++;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (started.load() < 4 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
        saw_all += started.load() == 4;
    });
    CHECK(saw_all.load() == 4);
}

TEST_CASE("parallel_for propagates the first exception after all chunks ran") {
    ThreadPool pool(3);
    std::atomic<int> ran{0};
    auto throwing = [&](int64_t lo, int64_t) {
        ran++;
        if (lo == 0) throw std::runtime_error("chunk failed");
    };
    CHECK_THROWS_WITH_AS(pool.parallel_for(0, 30, throwing), "chunk failed", std::runtime_error);
    CHECK(ran.load() == 3);
    // The pool stays usable.
    std::atomic<int64_t> n{0};
    pool.parallel_for(0, 30, [&](int64_t lo, int64_t hi) { n += hi - lo; });
    CHECK(n.load() == 30);
}

TEST_CASE("nested parallel_for runs inline instead of deadlocking") {
    ThreadPool pool(4);
    std::atomic<int64_t> n{0};
    pool.parallel_for(0, 8, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i)
            pool.parallel_for(0, 10, [&](int64_t a, int64_t b) { n += b - a; });
    });
    CHECK(n.load() == 80);
}

TEST_CASE("concurrent callers from several threads all complete") {
    ThreadPool pool(3);
    std::atomic<int64_t> n{0};
    std::vector<std::thread> callers;
    for (int t = 0; t < 4; ++t)
        callers.emplace_back([&] {
            for (int rep = 0; rep < 500; ++rep)
                pool.parallel_for(0, 64, [&](int64_t lo, int64_t hi) { n += hi - lo; });
        });
    for (auto& c : callers) c.join();
    CHECK(n.load() == 4 * 500 * 64);
}

TEST_CASE("run_all runs every task with bounded concurrency and rethrows") {
    ThreadPool pool(3);
    std::atomic<int> running{0}, peak{0}, done{0};
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 20; ++i)
        tasks.push_back([&] {
            int now = ++running;
            int p = peak.load();
            while (now > p && !peak.compare_exchange_weak(p, now)) {}
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
            --running;
            ++done;
        });
    pool.run_all(tasks);
    CHECK(done.load() == 20);
    CHECK(peak.load() <= 3);
    CHECK(peak.load() >= 2);

    std::atomic<int> ran{0};
    std::vector<std::function<void()>> failing;
    for (int i = 0; i < 6; ++i)
        failing.push_back([&, i] {
            ran++;
            if (i == 2) throw std::runtime_error("task 2 failed");
        });
    CHECK_THROWS_WITH_AS(pool.run_all(failing), "task 2 failed", std::runtime_error);
    CHECK(ran.load() == 6);
    pool.run_all({});
}

TEST_CASE("the global pool exists and works") {
    ThreadPool& pool = ThreadPool::global();
    CHECK(pool.num_threads() >= 1);
    CHECK(&pool == &ThreadPool::global());
    std::atomic<int64_t> n{0};
    pool.parallel_for(0, 1000, [&](int64_t lo, int64_t hi) { n += hi - lo; });
    CHECK(n.load() == 1000);
}
