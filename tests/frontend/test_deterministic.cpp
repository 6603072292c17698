// PG_DETERMINISTIC=1: two `pgolf train` runs with the same seed and settings but different thread
// counts (1 and 2: a different split of every parallel kernel and, by default, of every OpenBLAS
// product) give identical loss curves and bit-identical final weights, under a wallclock cap whose
// timed warmdown makes two default runs differ (the control); and the warmdown no longer follows
// the wallclock.
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

// The final weights of a `pgolf train` run of the tiny model with `settings`, into `dir`. The
// warmdown is longer than the run and the cap far away, so the default's timed schedule scales
// every learning rate by (time left) / (WARMDOWN_ITERS x measured step time): timing-dependent.
io::TensorMap run_and_load(const std::filesystem::path& dir, const std::string& settings) {
    std::string cmd =
        fmt::format("{} {} TRAIN_LOG_EVERY=1 MAX_WALLCLOCK_SECONDS=60 WARMDOWN_ITERS=100000 RUN_DIR='{}' {} train",
                    testing::knob_assignments(), settings, dir.string(), PG_BINARY);
    testing::CommandResult r = testing::run_command(cmd);
    INFO(r.output);
    REQUIRE(r.status == 0);
    return io::load_checkpoint(dir / io::kCheckpointFileName).tensors;
}

bool same_tensors(const io::TensorMap& a, const io::TensorMap& b) {
    if (a.size() != b.size()) return false;
    for (const auto& [name, t] : a)
        if (!b.contains(name) || b.at(name).bytes != t.bytes) return false;
    return true;
}

}  // namespace

TEST_CASE("deterministic: PG_DETERMINISTIC=1 runs at 1 and 2 threads give identical losses and weights") {
    TinyRun run;
    io::TensorMap one = run_and_load(run.dir / "det1", "PG_DETERMINISTIC=1 PG_THREADS=1");
    io::TensorMap two = run_and_load(run.dir / "det2", "PG_DETERMINISTIC=1 PG_THREADS=2");
    std::vector<std::string> a = loss_curve(testing::read_file(run.dir / "det1" / "train.log"));
    std::vector<std::string> b = loss_curve(testing::read_file(run.dir / "det2" / "train.log"));
    CHECK(a.size() == 12);
    CHECK(a == b);
    CHECK(same_tensors(one, two));
    // The control: the same two runs without the mode follow their own clocks and end apart.
    io::TensorMap x = run_and_load(run.dir / "default1", "PG_THREADS=2");
    io::TensorMap y = run_and_load(run.dir / "default2", "PG_THREADS=2");
    CHECK(!same_tensors(x, y));
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
