// The codegen fuzzer's seeded run: random graphs (see tests/support/graph_fuzzer.h) through the
// fused and unfused CPU JIT against the interpreter. A failure prints the shrunk graph in text
// form. PG_FUZZ_GRAPHS and PG_FUZZ_SEED (test-only environment variables, read here and by
// scripts/fuzz.sh) lengthen the run or move it to other seeds. The suite runs 150 graphs from
// seed 1: 0.3 s of CPU per graph with a cold kernel cache (its LLVM compiles; after any codegen
// change), about 1 s in all once the cache is warm.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "graph/autodiff.h"
#include "graph/build.h"
#include "graph/text.h"
#include "tests/support/graph_fuzzer.h"
#include "tests/support/jit_check.h"

namespace pg {
namespace {

int64_t env_int(const char* name, int64_t fallback) {
    const char* v = std::getenv(name);
    return v && *v ? std::strtoll(v, nullptr, 10) : fallback;
}

}  // namespace

TEST_CASE("fuzz: random graphs and their gradients, fused and unfused JIT, match the interpreter") {
    const int64_t count = env_int("PG_FUZZ_GRAPHS", 150);
    const int64_t first = env_int("PG_FUZZ_SEED", 1);
    auto t0 = std::chrono::steady_clock::now();
    int64_t failures = 0;
    for (int64_t seed = first; seed < first + count; ++seed) {
        testing::FuzzCase c = testing::random_fuzz_case(static_cast<uint64_t>(seed));
        if (!testing::check_fuzz_graph(testing::build_fuzz_graph(c), c.seed)) continue;
        ++failures;
        FAIL_CHECK(testing::describe_fuzz_failure(c));
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE(fmt::format("fuzz: {} graphs from seed {}: {} failing, {:.1f} s", count, first, failures, s));
}

TEST_CASE("fuzz: an exact zero reached by cancellation is judged by its absolute error") {
    // Seed 157: the gradient of sum(softmax(x)) is 0 up to rounding; relative to a reference of
    // ~1e-17 the JIT's 1e-8 was an error of 1e21 before the floor.
    HostTensor jit = HostTensor::from_doubles(DType::f32, {3}, {1e-8, -2e-8, 0});
    HostTensor ref = HostTensor::from_doubles(DType::f32, {3}, {1e-17, 0, 0});
    CHECK(max_rel_error(jit, ref) > 1e8);
    CHECK(testing::floored_error(jit, ref, 1.0) == doctest::Approx(2e-8));
    HostTensor big = HostTensor::from_doubles(DType::f32, {2}, {100, 50});
    HostTensor off = HostTensor::from_doubles(DType::f32, {2}, {101, 50});
    CHECK(testing::floored_error(off, big, 1.0) == doctest::Approx(0.01));  // above the floor: relative
    // The shrunk graph of that case passes now.
    Graph g;
    NodeId x = build::param(g, "p1", {3});
    NodeId out = build::sum(g, build::softmax(g, x), {0});
    NodeId cot = build::param(g, "cot", {1});
    NodeId loss = build::reshape(g, build::sum(g, build::mul(g, out, cot), {0}), {});
    g.set_output("out", out);
    g.set_output("d.p1", gradients(g, loss, {x})[0]);
    std::optional<std::string> failure = testing::check_fuzz_graph(g, 157);
    CHECK_MESSAGE(!failure, failure.value_or(""));
}

TEST_CASE("fuzz: the seeds of the long runs that found bugs pass") {
    // 1900: the lowering's memo keyed by freed index expressions (tests/codegen/test_lower_memo.cpp).
    for (uint64_t seed : {1900u}) {
        testing::FuzzCase c = testing::random_fuzz_case(seed);
        std::optional<std::string> failure = testing::check_fuzz_graph(testing::build_fuzz_graph(c), c.seed);
        CHECK_MESSAGE(!failure, failure.value_or(""));
    }
}

TEST_CASE("fuzz: cases are reproducible and shrinking keeps a case well-typed") {
    for (uint64_t seed : {3u, 17u, 99u}) {
        testing::FuzzCase c = testing::random_fuzz_case(seed);
        CHECK(print(testing::build_fuzz_graph(c)) == print(testing::build_fuzz_graph(testing::random_fuzz_case(seed))));
        for (size_t drop = 0; drop < c.steps.size(); ++drop) {
            testing::FuzzCase smaller = c;
            smaller.steps.erase(smaller.steps.begin() + static_cast<long>(drop));
            CHECK_NOTHROW(testing::build_fuzz_graph(smaller));
        }
    }
}

}  // namespace pg
