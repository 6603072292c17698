// PG_DETERMINISTIC=1: two `pgolf train` runs with the same seed and settings but different thread
// counts (1 and 2: a different split of every parallel kernel and, by default, of every OpenBLAS
// product) give identical loss curves and bit-identical final weights; and the warmdown no
// longer follows the wallclock.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <regex>
#include <string>
#include <vector>

#include "base/env.h"
#include "frontend/export/checkpoint.h"
#include "frontend/train/trainer.h"
#include "tests/support/knob_env.h"
#include "tests/support/tiny_run.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {

// Every "train_loss:<x>" of a log, in order.
std::vector<std::string> loss_curve(const std::string& log) {
    std::vector<std::string> out;
    std::regex re("step:\\d+/\\d+ train_loss:([0-9.naif-]+)");
    for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it) out.push_back((*it)[1]);
    return out;
}

}  // namespace

TEST_CASE("deterministic: PG_DETERMINISTIC=1 runs at 1 and 2 threads give identical losses and weights") {
    TinyRun run;
    std::vector<std::filesystem::path> dirs;
    for (int threads : {1, 2}) {
        dirs.push_back(run.dir / fmt::format("threads{}", threads));
        // A wallclock cap far away still switches the default warmdown to the timed schedule.
        std::string cmd = fmt::format(
            "{} PG_DETERMINISTIC=1 PG_THREADS={} TRAIN_LOG_EVERY=1 MAX_WALLCLOCK_SECONDS=3600 RUN_DIR='{}' {} train",
            testing::knob_assignments(), threads, dirs.back().string(), PG_BINARY);
        testing::CommandResult r = testing::run_command(cmd);
        INFO(r.output);
        REQUIRE(r.status == 0);
    }
    std::vector<std::string> a = loss_curve(testing::read_file(dirs[0] / "train.log"));
    std::vector<std::string> b = loss_curve(testing::read_file(dirs[1] / "train.log"));
    CHECK(a.size() == 12);
    CHECK(a == b);
    io::Checkpoint ca = io::load_checkpoint(dirs[0] / io::kCheckpointFileName);
    io::Checkpoint cb = io::load_checkpoint(dirs[1] / io::kCheckpointFileName);
    REQUIRE(ca.tensors.size() == cb.tensors.size());
    for (const auto& [name, t] : ca.tensors) {
        INFO("tensor ", name);
        CHECK(cb.tensors.at(name).bytes == t.bytes);
    }
}

TEST_CASE("deterministic: the warmdown follows ITERATIONS, not the wallclock") {
    Hyperparams h;
    h.iterations = 12;
    h.warmdown_iters = 4;
    h.max_wallclock_seconds = 600;
    // By default a slow run (500 s after 10 steps) is already in its timed warmdown at step 2.
    CHECK(lr_multiplier(h, 2, 500'000) < 1.0);
    env::ScopedOverride det("PG_DETERMINISTIC", "1");
    for (double elapsed_ms : {0.0, 500'000.0, 599'000.0}) {
        CHECK(lr_multiplier(h, 2, elapsed_ms) == 1.0);
        CHECK(lr_multiplier(h, 9, elapsed_ms) == 0.75);  // (12 - 9) / 4, as without a cap
    }
}

}  // namespace pg
