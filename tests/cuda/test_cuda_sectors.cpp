// Global sectors per request in the host emulation (EmulateOptions::global_sectors,
// tests/cuda/cuda_host_shim.h): a contiguous elementwise kernel is fully coalesced (every sector
// it touches is used whole: bytes == 32 x sectors), while a transpose, whose lanes read (or write)
// 4-byte elements a row apart, touches a sector per lane on one side: the count must see the
// difference, which is what the perf model would charge it.
#include <doctest/doctest.h>

#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/support/jit_check.h"
#include "tests/support/skip.h"

namespace pg {
namespace {
namespace b = build;

// The traffic of the one kernel of g's plan (fused), emulated with sector counting.
testing::GlobalTraffic traffic_of(const Graph& g) {
    testing::EmulatedRun run =
        testing::emulate_cuda(g, testing::random_feeds(g, 1), cuda_target("sm_90a"), {.global_sectors = true});
    REQUIRE(run.global.size() == 1);
    const testing::GlobalTraffic& t = run.global[0];
    MESSAGE(t.kernel, ": ", t.requests, " requests, ", t.sectors, " sectors, ", t.bytes, " bytes (",
            t.sectors_per_request(), " sectors per request, efficiency ", t.efficiency(), ")");
    return t;
}

}  // namespace

TEST_CASE("cuda sectors: a contiguous elementwise kernel is coalesced, a transpose is not") {
    if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);
    if (std::string why = testing::sector_counting_missing(); !why.empty()) PG_SKIP(why);
    Graph ew;
    NodeId x = b::param(ew, "x", {64, 256});
    ew.set_output("y", b::add(ew, b::mul(ew, x, 2.0), 1.0));
    testing::GlobalTraffic e = traffic_of(ew);
    CHECK(e.requests > 0);
    CHECK(e.bytes == 32 * e.sectors);  // every sector used whole
    Graph tr;
    NodeId xt = b::param(tr, "x", {64, 256});
    tr.set_output("y", b::add(tr, b::transpose(tr, xt, 0, 1), 1.0));
    testing::GlobalTraffic t = traffic_of(tr);
    // One side of the transpose is strided by a row (1 KiB or 256 B): up to 8x the sectors.
    CHECK(t.efficiency() < 0.75);
}

}  // namespace pg
