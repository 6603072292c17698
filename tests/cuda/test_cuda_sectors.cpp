// Global sectors per request in the host emulation (EmulateOptions::global_sectors,
// tests/cuda/cuda_host_shim.h): a contiguous elementwise kernel is fully coalesced (every sector
// it touches is used whole: bytes == 32 x sectors), while a transpose, whose lanes read (or write)
// 4-byte elements a row apart, touches a sector per lane on one side: the count must see the
// difference, and the perf model (apply_sector_efficiency) charges the transpose's bytes divided
// by its measured efficiency. Counting only observes: the tiny GPT micro-step's values are the
// same bit for bit with and without it (its least efficient kernels are printed).
#include <doctest/doctest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "codegen/compile_plan.h"
#include "codegen/cuda/coalescing.h"
#include "codegen/perf_model.h"
#include "frontend/train/step_graphs.h"
#include "graph/build.h"
#include "tests/cuda/cuda_emulator.h"
#include "tests/support/epilogue_case.h"
#include "tests/support/jit_check.h"
#include "tests/support/skip.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {
namespace b = build;

// Sector counting needs a host C++ compiler and clang's coverage hooks.
#define PG_SKIP_UNLESS_SECTOR_COUNTING()                                                          \
    do {                                                                                          \
        if (std::string why = testing::host_compiler_missing(); !why.empty()) PG_SKIP(why);      \
        if (std::string why = testing::sector_counting_missing(); !why.empty()) PG_SKIP(why);    \
    } while (0)

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

// The tiny GPT's micro-step and a feed: its initial weights, random ids and targets.
struct TinyStep {
    TrainingGraphs step;
    Feeds feeds;
    Target target = cuda_target("sm_90a");
};

TinyStep tiny_step() {
    TinyStep t{build_training_graphs(testing::tiny_training()), {}};
    t.feeds = t.step.micro.params->initialize(1337);
    Feeds rnd = testing::random_feeds(*t.step.micro.graph, 5, 96);
    t.feeds["ids"] = rnd["ids"];
    t.feeds["targets"] = rnd["targets"];
    return t;
}

}  // namespace

TEST_CASE("cuda sectors: a contiguous elementwise kernel is coalesced, a transpose is not") {
    PG_SKIP_UNLESS_SECTOR_COUNTING();
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
    // The perf model with the measured efficiency: the transpose moves bytes / efficiency.
    const GpuPeaks& h100 = gpu_peaks("h100");
    StepEstimate est = estimate_plan(compile_plan(tr, cuda_target("sm_90a")), h100);
    REQUIRE(est.kernels.size() == 1);
    const double bytes = est.kernels[0].work.coalesced_bytes();
    // The static estimate (coalescing.h) already charges the transpose's strided side.
    CHECK(est.kernels[0].work.sector_efficiency < 0.75);
    apply_sector_efficiency(est, {{t.kernel, t.efficiency()}}, h100);
    CHECK(est.kernels[0].work.bytes == doctest::Approx(bytes / t.efficiency()));
    CHECK(est.kernels[0].work.sector_efficiency == t.efficiency());
    CHECK(est.kernels[0].memory_seconds == doctest::Approx(bytes / t.efficiency() / h100.hbm_bytes_per_s));
    CHECK(est.seconds == doctest::Approx(est.kernels[0].seconds));  // one kernel: the step is its time
    CHECK(est.bytes == doctest::Approx(bytes / t.efficiency()));
}

TEST_CASE("cuda sectors: a sum over 4096 rows runs in coalesced stages (split_outer_reductions); as one reduction it is not") {
    PG_SKIP_UNLESS_SECTOR_COUNTING();
    // The gradient of a per-channel scale: [B, T, d] -> [d], here d = 32 (one 128-byte row).
    Graph g;
    NodeId x = b::param(g, "x", {2, 2048, 32});
    NodeId y = b::param(g, "y", {2, 2048, 32});
    g.set_output("s", b::sum(g, b::mul(g, x, y), {0, 1}));
    Feeds feeds = testing::random_feeds(g, 3);
    const HostTensor want = interpret_all(g, feeds)[0];
    // The sectors every launch touched (what the GPU moves), and the values.
    auto sectors = [&](bool split, HostTensor& got) {
        Target t = cuda_target("sm_90a");
        t.split_outer_reductions = split;
        testing::EmulatedRun run = testing::emulate_cuda(g, feeds, t, {.global_sectors = true});
        long long total = 0;
        for (const testing::GlobalTraffic& l : run.global) {
            MESSAGE(l.kernel, ": efficiency ", l.efficiency(), ", ", l.bytes, " bytes, ", l.sectors, " sectors");
            total += l.sectors;
        }
        if (split) CHECK(run.global.at(0).efficiency() == 1.0);  // 16-row slices: every sector whole
        got = run.values[0];
        return total;
    };
    HostTensor staged, whole;
    const long long split = sectors(true, staged), one = sectors(false, whole);
    // The product's 1 MiB is read in full sectors, then 256 x 32 partials a row apart: 1.34 MB of
    // sectors; as one reduction 4 of every sector's 32 bytes serve: 8.4 MB.
    CHECK(split * 5 < one);
    // f32 sums in another order than the interpreter's fp64: 1e-5 (normwise).
    CHECK(max_rel_error(staged, want) <= 1e-5);
    CHECK(max_rel_error(whole, want) <= 1e-5);
}

TEST_CASE("cuda sectors: the static coalescing estimate (coalescing.h) finds the kernels the emulator finds wasteful") {
    PG_SKIP_UNLESS_SECTOR_COUNTING();
    TinyStep tiny = tiny_step();
    const Graph& g = *tiny.step.micro.graph;
    const Feeds& feeds = tiny.feeds;
    const Target& t = tiny.target;
    testing::EmulatedRun counted = testing::emulate_cuda(g, feeds, t, {.global_sectors = true});
    std::map<std::string, std::pair<long long, long long>> measured;  // step -> bytes asked, sectors
    for (const testing::GlobalTraffic& l : counted.global) {
        measured[l.kernel].first += l.bytes;
        measured[l.kernel].second += l.sectors;
    }
    // Both are bytes asked over sector bytes, summed over the kernel's accesses; they agree by
    // class, not digit for digit (the emulator sees exact addresses, edges and 16-byte accesses
    // split by the compiler; the model evaluates each index at the loops' middle). Wasteful
    // (measured <= 0.3: column sums a row apart, transposes): the model charges them (<= 0.35).
    // Charged by the model (<= 0.3): the emulator finds at most half of their sectors used.
    int wasteful = 0;
    std::string table;
    for (const PlanStep& st : compile_plan(g, t).steps) {
        if (st.kind != PlanStep::Kind::Kernel || !measured.count(st.name) || measured[st.name].second == 0) continue;
        double asked = 0, moved = 0;
        for (const cuda::BufferTraffic& b : cuda::buffer_traffic(*st.kir, std::get<cuda::MappingConfig>(st.config))) {
            asked += b.requested;
            moved += b.sector_bytes;
        }
        const double model = asked / moved, emulated = measured[st.name].first / (32.0 * measured[st.name].second);
        INFO(st.name, " (", st.cuda->mapping, "): model ", model, ", emulated ", emulated);
        if (emulated <= 0.3) CHECK(model <= 0.35);
        if (model <= 0.3) CHECK(emulated <= 0.55);
        wasteful += emulated <= 0.3;
        if (model < 0.9 || emulated < 0.9) table += fmt::format("\n  {:<20} model {:.3f} emulated {:.3f}", st.name, model, emulated);
    }
    CHECK(wasteful >= 10);  // the tiny step's column sums and transposes
    MESSAGE("kernels below 0.9 in either:", table);
}

TEST_CASE("cuda sectors: the tensor-core GEMM stores its tiles and runs its epilogues in whole sectors") {
    PG_SKIP_UNLESS_SECTOR_COUNTING();
    // The GEMMs of tests/support/epilogue_case.h: C, and the epilogues' residual reads and outputs,
    // leave through shared memory row-major. Straight from the mma fragments a warp's 2-element
    // stores spread over 8 rows: 0.4-0.5 of each sector (measured before the staging). The hooks do
    // not see cp.async, so these are the stores and the epilogues' accesses.
    Graph g = testing::epilogue_case(DType::bf16);
    testing::EmulatedRun run =
        testing::emulate_cuda(g, testing::random_feeds(g, 1), cuda_target("sm_90a"), {.global_sectors = true});
    int gemms = 0;
    for (const testing::GlobalTraffic& l : run.global) {
        if (l.kernel.find("gemm") == std::string::npos) continue;
        INFO(l.kernel, ": ", l.bytes, " bytes in ", l.sectors, " sectors");
        CHECK(l.efficiency() == 1.0);
        ++gemms;
    }
    CHECK(gemms == 3);
}

TEST_CASE("cuda sectors: counting leaves the tiny GPT micro-step's values unchanged; its kernels' sectors") {
    PG_SKIP_UNLESS_SECTOR_COUNTING();
    TinyStep tiny = tiny_step();
    const Graph& g = *tiny.step.micro.graph;
    const Feeds& feeds = tiny.feeds;
    const Target& t = tiny.target;
    testing::EmulatedRun plain = testing::emulate_cuda(g, feeds, t);
    testing::EmulatedRun counted = testing::emulate_cuda(g, feeds, t, {.global_sectors = true});
    REQUIRE(plain.values.size() == counted.values.size());
    for (size_t i = 0; i < plain.values.size(); ++i)  // the hooks only observe
        CHECK(std::memcmp(plain.values[i].data(), counted.values[i].data(), plain.values[i].bytes.size()) == 0);
    std::vector<testing::GlobalTraffic> worst = counted.global;
    std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.efficiency() < b.efficiency(); });
    std::string table;
    for (size_t i = 0; i < std::min<size_t>(worst.size(), 12); ++i)
        table += fmt::format("\n  {:<28} {:>8} requests {:>6.2f} sectors/request efficiency {:.3f}", worst[i].kernel,
                             worst[i].requests, worst[i].sectors_per_request(), worst[i].efficiency());
    MESSAGE(counted.global.size(), " launches; the least efficient:", table);
}

}  // namespace pg


