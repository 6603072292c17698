// The tuning database and the CPU autotuner: decisions survive a save and a load (a readable
// JSON file), a corrupt file or record is ignored, PG_TUNE=off hides the database, a tuned thread
// split or loop blocking computes bit-identical results, and the autotuner stores a decision for every workload of
// a graph, reuses them on a second run, and leaves a plan that still matches the reference.
#include <doctest/doctest.h>

#include <cmath>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/env.h"
#include "graph/build.h"
#include "graph/interpreter.h"
#include "codegen/llvm/loop_blocking.h"
#include "runtime/cpu_executable.h"
#include "runtime/tuning/config_json.h"
#include "runtime/tuning/cpu_autotune.h"
#include "runtime/tuning/tuning_db.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {
namespace b = build;

DeviceIdentity test_device() { return {"cpu test / 2 threads", {{"model", "test"}}}; }

// softmax-like rows over x @ w: a matmul, reductions and elementwise kernels.
Graph small_graph() {
    Graph g;
    NodeId x = b::param(g, "x", {48, 32});
    NodeId w = b::param(g, "w", {32, 40});
    NodeId e = b::unary(g, Op::Exp, b::mul(g, b::matmul(g, x, w), 0.1));
    g.set_output("out", b::div(g, e, b::sum(g, e, {1})));
    return g;
}

Feeds small_feeds() {
    HostTensor x(DType::f32, {48, 32}), w(DType::f32, {32, 40});
    for (int64_t i = 0; i < x.numel(); ++i) x.set(i, std::sin(0.37 * static_cast<double>(i)));
    for (int64_t i = 0; i < w.numel(); ++i) w.set(i, std::cos(0.11 * static_cast<double>(i)));
    return {{"x", x}, {"w", w}};
}

HostTensor run_cpu(const Graph& g, const Feeds& feeds, const Target& t) {
    std::unique_ptr<Session> s = open_session("cpu");
    CpuExecutable exe(*s, g, t);
    for (const auto& [name, value] : feeds) exe.set(name, value);
    exe.run();
    return exe.get("out");
}

int smallest_divisor(int64_t n) {
    for (int d = 2; d < n; ++d)
        if (n % d == 0) return d;
    return static_cast<int>(n);
}

AutotuneOptions quick() {
    AutotuneOptions o;
    o.timing = {.warmup = 0, .reps = 1, .timeout_s = 5, .flush = false};
    return o;
}

}  // namespace

TEST_CASE("tuning db: decisions round-trip through a readable JSON file") {
    testing::TempDir dir;
    std::string path = (dir / "tuning.json").string();
    DeviceIdentity dev = test_device();
    TuningDb db;
    db.set_kernel(dev, "loop add f32 [4] kir 0123456789ab", {CpuLoopConfig{1}, 20.5, 6.25});
    db.set_kernel(dev, "loop matmul f32 [64,64] kir 0123456789ab", {CpuLoopConfig{0, 4, 32}, 9, 7});
    gemm::GemmConfig tiles;
    tiles.tile_m = tiles.tile_n = 64;
    tiles.tile_k = 16;
    db.set_kernel(dev, "gemm f32 64x64x64 batch 1 nn lda 64 ldb 64", {tiles, 3, 2});
    db.set_matmul(dev, "matmul f32 [64,32]x[32,96]", {false, 30, 11});
    db.save(path);
    std::string text = testing::read_file(path);
    CHECK(text.find("\"loop add f32 [4] kir 0123456789ab\"") != std::string::npos);
    CHECK(text.find("\"kind\": \"cpu_loop\"") != std::string::npos);
    CHECK(text.find("\"tile_k\": 16") != std::string::npos);

    TuningDb back = TuningDb::load(path);
    CHECK_FALSE(back.corrupt());
    CHECK(back.size() == 4);
    auto d = back.decisions(dev);
    REQUIRE(d);
    CHECK(std::get<CpuLoopConfig>(d->kernels.at("loop add f32 [4] kir 0123456789ab")).threads == 1);
    CHECK(std::get<CpuLoopConfig>(d->kernels.at("loop matmul f32 [64,64] kir 0123456789ab")) == CpuLoopConfig{0, 4, 32});
    // A record written before loop blocking existed (threads only) reads as unblocked.
    CHECK(std::get<CpuLoopConfig>(config_from_json({{"kind", "cpu_loop"}, {"threads", 1}})) == CpuLoopConfig{1, 0, 0});
    CHECK(std::get<gemm::GemmConfig>(d->kernels.at("gemm f32 64x64x64 batch 1 nn lda 64 ldb 64")) == tiles);
    CHECK(d->matmul_on_library.at("matmul f32 [64,32]x[32,96]") == false);
    CHECK(back.find_kernel(dev, "loop add f32 [4] kir 0123456789ab")->tuned_us == 6.25);
    CHECK(back.decisions({"cuda other", {}}) == nullptr);
}

TEST_CASE("tuning db: a GEMM configuration's split_k round-trips, reads as 1 when absent and is checked") {
    const gemm::GemmConfig split{gemm::GemmKind::Mma, 128, 128, 32, 2, 4, 3, 8};
    nlohmann::ordered_json j = config_to_json(split);
    CHECK(j.at("split_k") == 8);
    CHECK(std::get<gemm::GemmConfig>(config_from_json(j)) == split);
    j.erase("split_k");  // a database written before split-K
    CHECK(std::get<gemm::GemmConfig>(config_from_json(j)).split_k == 1);
    j["split_k"] = 17;
    CHECK_THROWS_WITH_AS(config_from_json(j), doctest::Contains("split_k 17 (1 to 16)"), Error);
}

TEST_CASE("tuning db: a corrupt file or record is ignored, PG_TUNE=off hides the database") {
    testing::TempDir dir;
    std::string path = (dir / "tuning.json").string();
    io::write_file_atomically(path, "{\"format\": 1, \"devices\": {\"cpu x\": {\"kernels\": {");
    TuningDb broken = TuningDb::load(path);
    CHECK(broken.corrupt());
    CHECK(broken.size() == 0);

    io::write_file_atomically(path, R"({"format": 1, "devices": {"cpu x": {"kernels": {
        "good": {"config": {"kind": "cpu_loop", "threads": 1}},
        "bad tiles": {"config": {"kind": "cuda_gemm", "mma": true, "tile_m": 100, "tile_n": 64, "tile_k": 16,
                                 "warps_m": 2, "warps_n": 2, "stages": 2}},
        "bad kind": {"config": {"kind": "fpga"}}}}}})");
    TuningDb partial = TuningDb::load(path);
    CHECK_FALSE(partial.corrupt());
    CHECK(partial.size() == 1);
    CHECK(partial.find_kernel({"cpu x", {}}, "good") != nullptr);

    std::unique_ptr<Session> s = open_session("cpu");
    DeviceIdentity dev = device_identity(*s);
    TuningDb db;
    db.set_kernel(dev, "some workload", {CpuLoopConfig{1}, 1, 1});
    db.save(path);
    env::ScopedOverride at("PG_TUNE_DB", path);
    CHECK(tuned_decisions(*s) != nullptr);
    env::ScopedOverride off("PG_TUNE", "off");
    CHECK(tuned_decisions(*s) == nullptr);
}

TEST_CASE("tuning: a thread split, a loop blocking and row blocks give the heuristic's results") {
    Graph g = small_graph();
    int blocked = 0;
    std::unique_ptr<Session> s = open_session("cpu");
    CpuExecutable exe(*s, g, cpu_target());
    for (const auto& [name, value] : small_feeds()) exe.set(name, value);
    // In plan order: each step's inputs are its producers' fresh outputs.
    for (size_t i = 0; i < exe.plan().steps.size(); ++i) {
        const PlanStep& st = exe.plan().steps[i];
        if (st.kind != PlanStep::Kind::Kernel && st.kind != PlanStep::Kind::Gemm) continue;
        exe.run_step(i, {});
        std::string heuristic(exe.step_output(i));
        KernelConfig other = st.kind == PlanStep::Kind::Kernel ? KernelConfig{CpuLoopConfig{1}} : KernelConfig{CpuGemmConfig{3}};
        exe.run_step(i, other);
        CHECK(std::string(exe.step_output(i)) == heuristic);
        std::optional<BlockableNest> nest = st.kind == PlanStep::Kind::Kernel ? blockable_nest(*st.kir) : std::nullopt;
        if (!nest) continue;
        // A loop blocking (compiled on first use) with the smallest blocks that divide the loops.
        exe.run_step(i, CpuLoopConfig{1, smallest_divisor(nest->rows), smallest_divisor(nest->inner)});
        CHECK(std::string(exe.step_output(i)) == heuristic);
        ++blocked;
    }
    CHECK(blocked > 0);
}

TEST_CASE("tuning: the CPU autotuner decides every workload once and the tuned plan stays exact") {
    Graph g = small_graph();
    DeviceIdentity dev = cpu_identity();
    TuningDb db;
    CpuAutotuner first(db, dev, quick());
    first.tune(g);
    REQUIRE_FALSE(first.results().empty());
    int matmuls = 0;
    for (const WorkloadResult& r : first.results()) {
        INFO(r.workload);
        CHECK_FALSE(r.reused);
        CHECK_FALSE(r.decision.empty());
        CHECK(r.tuned_us <= r.default_us);
        matmuls += r.workload.rfind("matmul ", 0) == 0;
    }
    CHECK(matmuls == 1);
    CHECK(db.size() == first.results().size());

    CpuAutotuner second(db, dev, quick());
    second.tune(g);
    CHECK(second.results().size() == first.results().size());
    for (const WorkloadResult& r : second.results()) CHECK(r.reused);

    // Whatever was decided, the plan computes what the interpreter computes (f32 against fp64 over
    // a 32-term dot product and a 40-term sum: 1e-5 is ~100 ulps, far above rounding).
    Target t = cpu_target();
    t.tuned = db.decisions(dev);
    Feeds feeds = small_feeds();
    CHECK(max_rel_error(run_cpu(g, feeds, t), interpret(g, feeds, {g.outputs()[0].id})[0]) < 1e-5);
}

}  // namespace pg
