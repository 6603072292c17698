// `pgolf bench` and `pgolf tune` end to end on a tiny CPU configuration: bench's JSON holds the
// step time, kernel count and memory of both the fused and the unfused step (and unfused runs
// more kernels) and its PNG lies beside it; tune writes a database, a second run reuses every
// decision, and a corrupted database gets a warning naming it and is replaced.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <fstream>

#include "tests/support/test_files.h"

namespace pg {
namespace {

namespace test = pg::testing;

// 1 layer of d 64, 8 micro-steps of one 32-token sequence; its own cache and database.
std::string tiny(const test::TempDir& dir) {
    return "PG_THREADS=2 NUM_LAYERS=1 MODEL_DIM=64 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=96 TRAIN_SEQ_LEN=32 "
           "TRAIN_BATCH_TOKENS=256 VAL_BATCH_SIZE=256 PG_CACHE_DIR=" + (dir / "cache").string() +
           " PG_TUNE_DB=" + (dir / "tuning.json").string() + " " PG_BINARY;
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("cli: pgolf bench --fusion both --json reports both modes") {
    test::TempDir dir;
    auto r = test::run_command(tiny(dir) + " bench --fusion both --tuned off --steps 2 --warmup 1 --top 3 --json " +
                               (dir / "bench.json").string());
    INFO(r.output);
    REQUIRE(r.status == 0);
    CHECK(has(r.output, "step median (ms)"));
    CHECK(has(r.output, "slowest kernels"));
    auto j = nlohmann::json::parse(test::read_file(dir / "bench.json"));
    REQUIRE(j["modes"].size() == 2);
    CHECK(j["peak_flops"].get<double>() > 0);
    for (const auto& m : j["modes"]) {
        CHECK(m["step_ms"]["median"].get<double>() > 0);
        CHECK(m["step_ms"]["all"].size() == 2);
        CHECK(m["kernels_per_step"].get<int>() > 0);
        CHECK(m["clock"] == "host clock");  // the CPU backend: cuda events on a GPU (runtime/step_timer.h)
        CHECK(m["memory_bytes"]["total"].get<int64_t>() > m["memory_bytes"]["state"].get<int64_t>());
        CHECK(m["compile_cold_s"].get<double>() > 0);
        CHECK(m["mfu"].get<double>() > 0);
        CHECK(m["kernels"].size() > 0);
    }
    CHECK(j["modes"][0]["fusion"] == true);
    CHECK(test::read_file(dir / "bench.png").rfind("\x89PNG", 0) == 0);
    CHECK(j["modes"][1]["kernels_per_step"].get<int>() > j["modes"][0]["kernels_per_step"].get<int>());
}

TEST_CASE("cli: pgolf tune writes a database, reuses it, and replaces a corrupt one") {
    test::TempDir dir;
    const std::string tune = tiny(dir) + " tune --reps 1 --warmup 0 --no-flush --no-step-check --quiet";
    auto r = test::run_command(tune);
    INFO(r.output);
    REQUIRE(r.status == 0);
    auto db = nlohmann::json::parse(test::read_file(dir / "tuning.json"));
    REQUIRE(db["devices"].size() == 1);
    const auto& section = db["devices"].begin().value();
    CHECK(section["kernels"].size() > 0);
    CHECK(section["matmuls"].size() > 0);
    CHECK(has(r.output, "reused 0;"));

    r = test::run_command(tune);
    CHECK(r.status == 0);
    CHECK(has(r.output, "tuned 0 workloads"));
    CHECK_FALSE(has(r.output, "reused 0;"));

    std::ofstream(dir / "tuning.json") << "{\"format\": 1, \"devices\": [truncated";
    r = test::run_command(tune);
    CHECK(r.status == 0);
    CHECK(has(r.output, "warning: tuning database " + (dir / "tuning.json").string()));
    CHECK(has(r.output, "ignoring it"));
    CHECK(has(r.output, "reused 0;"));
    CHECK(nlohmann::json::parse(test::read_file(dir / "tuning.json"))["devices"].size() == 1);
}

}  // namespace pg
