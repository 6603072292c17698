// pgolf tune's whole-step acceptance check follows the step timings it is given: a candidate
// database whose step is slower (or faster by less than the margin) is not stored and the previous
// file stays as it was; a faster one is stored; a corrupt previous file is replaced by an empty
// database when the candidate is rejected. The timer is injected, so the numbers are fixed.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "frontend/cli/tune_acceptance.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {

namespace test = pg::testing;

const DeviceIdentity kDevice{"cpu test device", {{"model", "test"}}};

TuningDb candidate_db() {
    TuningDb db;
    db.set_matmul(kDevice, "matmul f32 [64,32]x[32,96]", {.library = false, .default_us = 30, .tuned_us = 11});
    return db;
}

// A timer returning fixed step times; it records which files it was asked to time and what the
// candidate's file held.
struct FixedTimer {
    std::vector<double> previous, candidate;
    std::string seen_previous, seen_candidate_text;
    cli::StepTimer timer() {
        return [this](const std::string& previous_db, const std::string& candidate_db) {
            seen_previous = previous_db;
            seen_candidate_text = test::read_file(candidate_db);
            return cli::StepTimings{previous, candidate};
        };
    }
};

}  // namespace

TEST_CASE("tune acceptance: a slower or barely faster candidate is not stored, a faster one is") {
    test::TempDir dir;
    const std::string path = (dir / "tuning.json").string();
    FixedTimer slower{{100, 101, 99, 100, 102}, {120, 118, 125, 119, 121}};
    cli::StepVerdict v = cli::accept_if_faster(candidate_db(), path, slower.timer(), 0.03);
    CHECK_FALSE(v.accepted);
    CHECK(v.previous_ms == 100);
    CHECK(v.candidate_ms == 120);
    CHECK(slower.seen_previous == path);
    CHECK(slower.seen_candidate_text.find("matmul f32 [64,32]x[32,96]") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(path));
    CHECK_FALSE(std::filesystem::exists(path + ".candidate"));

    FixedTimer within_margin{{100, 100, 100}, {98, 98, 98}};
    CHECK_FALSE(cli::accept_if_faster(candidate_db(), path, within_margin.timer(), 0.03).accepted);
    CHECK_FALSE(std::filesystem::exists(path));

    FixedTimer faster{{100, 103, 97}, {80, 82, 79}};
    v = cli::accept_if_faster(candidate_db(), path, faster.timer(), 0.03);
    CHECK(v.accepted);
    CHECK(v.candidate_ms == 80);
    REQUIRE(std::filesystem::exists(path));
    const TuningDb stored = TuningDb::load(path);
    const MatmulRecord* r = stored.find_matmul(kDevice, "matmul f32 [64,32]x[32,96]");
    REQUIRE(r != nullptr);
    CHECK_FALSE(r->library);

    TuningDb other;
    other.set_matmul(kDevice, "matmul f32 [8,8]x[8,8]", {.library = true, .default_us = 1, .tuned_us = 1});
    CHECK_FALSE(cli::accept_if_faster(other, path, slower.timer(), 0.03).accepted);
    CHECK(TuningDb::load(path).find_matmul(kDevice, "matmul f32 [64,32]x[32,96]") != nullptr);
    CHECK(TuningDb::load(path).find_matmul(kDevice, "matmul f32 [8,8]x[8,8]") == nullptr);
}

TEST_CASE("tune acceptance: a rejected candidate replaces a corrupt previous file by an empty database") {
    test::TempDir dir;
    const std::string path = (dir / "tuning.json").string();
    std::ofstream(path) << "{\"format\": 1, \"devices\": [truncated";
    TuningDb loaded = TuningDb::load(path);
    REQUIRE(loaded.corrupt());
    loaded.set_matmul(kDevice, "matmul f32 [64,32]x[32,96]", {.library = false, .default_us = 30, .tuned_us = 11});
    FixedTimer slower{{100}, {150}};
    CHECK_FALSE(cli::accept_if_faster(loaded, path, slower.timer(), 0.03).accepted);
    const TuningDb after = TuningDb::load(path);
    CHECK_FALSE(after.corrupt());
    CHECK(after.size() == 0);
}

}  // namespace pg
