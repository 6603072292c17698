// Runs that survive faults, end to end on the tiny trainer: a planted NaN stops the run before
// its update, naming the step and the first non-finite tensor, and leaves the last good state as
// a loadable checkpoint equal to the uninterrupted run's state at that step; SIGTERM mid-run
// writes a checkpoint, and RESUME_FROM=auto (skipping a newer, damaged checkpoint) ends
// bit-identical to an uninterrupted run.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/env.h"
#include "frontend/export/checkpoint.h"
#include "frontend/train/trainer.h"
#include "runtime/nan_check.h"
#include "tests/support/tiny_run.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {

namespace fs = std::filesystem;

TrainResult train_in(const fs::path& run_dir) {
    env::ScopedOverride dir("RUN_DIR", run_dir.string());
    return train(read_hyperparams());
}

bool all_finite(const io::TensorMap& tensors) {
    for (const auto& [name, t] : tensors)
        if (find_non_finite(t) >= 0) return false;
    return true;
}

void check_same_state(const io::TensorMap& a, const io::TensorMap& b) {
    REQUIRE(a.size() == b.size());
    for (const auto& [name, value] : b) {
        INFO("tensor ", name);
        CHECK(a.at(name).bytes == value.bytes);  // bit-identical
    }
}

// Sends SIGTERM to this process once `log` shows step `step`, from another thread (as a job
// scheduler would), and stops watching when `done` is set.
std::thread sigterm_at_step(const fs::path& log, int64_t step, const std::atomic<bool>& done) {
    return std::thread([log, step, &done] {
        const std::string mark = fmt::format("step:{}/", step);
        while (!done) {
            if (fs::exists(log) && testing::read_file(log).find(mark) != std::string::npos) {
                ::kill(::getpid(), SIGTERM);
                return;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    });
}

}  // namespace

TEST_CASE("fault tolerance: a planted NaN stops the run at its step, naming the tensor, with the last good state") {
    TinyRun run;
    env::ScopedOverride every("CHECKPOINT_EVERY", "4");
    TrainResult clean = train_in(run.dir / "clean");
    REQUIRE(clean.stop == TrainStop::Completed);

    for (std::string mode : {"loss", "full"}) {
        INFO("PG_NAN_CHECK=", mode);
        env::ScopedOverride check("PG_NAN_CHECK", mode);
        env::ScopedOverride plant("PG_INJECT_NAN", "5");
        TrainResult r = train_in(run.dir / ("nan_" + mode));
        CHECK(r.stop == TrainStop::NonFinite);
        CHECK(r.steps == 4);
        CHECK(r.losses.size() == 4);
        MESSAGE(r.stop_message);
        CHECK(r.stop_message.find("non-finite at step 5") != std::string::npos);
        // The planted multiply on the loss is the first kernel to produce a NaN: the CPU replay
        // (loss mode) or the output check (full mode) names it.
        CHECK(r.stop_message.find("kernel k") != std::string::npos);
        CHECK(r.stop_message.find("mul") != std::string::npos);
        REQUIRE(r.stop_checkpoint == (run.dir / ("nan_" + mode) / "checkpoint_step4.ckpt").string());
        io::Checkpoint ck = io::load_checkpoint(r.stop_checkpoint);
        CHECK(ck.get_int(io::kStepKey) == 4);
        CHECK(all_finite(ck.tensors));
        // The last good state is exactly the clean run's state after step 4: the NaN step's
        // update was never applied, and the planted (1 + 0) factor changes nothing else.
        check_same_state(ck.tensors, io::load_checkpoint(run.dir / "clean" / "checkpoint_step4.ckpt").tensors);
    }
}

TEST_CASE("fault tolerance: SIGTERM mid-run, then RESUME_FROM=auto, ends as the uninterrupted run") {
    TinyRun run;
    // 120 steps of a few ms: the signal, sent at step 3, lands long before the end even on a
    // loaded machine.
    env::ScopedOverride steps("ITERATIONS", "120");
    env::ScopedOverride warmdown("WARMDOWN_ITERS", "30");
    env::ScopedOverride log_every("TRAIN_LOG_EVERY", "1");
    // Every run here says RESUME_FROM=auto; in a fresh directory that starts from scratch.
    env::ScopedOverride resume("RESUME_FROM", "auto");
    TrainResult full = train_in(run.dir / "full");
    REQUIRE(full.stop == TrainStop::Completed);

    const fs::path dir = run.dir / "interrupted";
    std::atomic<bool> done{false};
    std::thread killer = sigterm_at_step(dir / "train.log", 3, done);
    TrainResult stopped = train_in(dir);
    done = true;
    killer.join();
    REQUIRE(stopped.stop == TrainStop::Signal);
    CHECK(stopped.stop_signal == SIGTERM);
    CHECK(stopped.steps >= 3);
    CHECK(stopped.steps < 120);
    CHECK(stopped.stop_message.find("stopped by SIGTERM after step") != std::string::npos);
    CHECK(fs::exists(stopped.stop_checkpoint));
    CHECK(!fs::exists(dir / io::kCheckpointFileName));  // no final export from a stopped run
    CHECK(testing::read_file(dir / "train.log").find("no valid checkpoint") != std::string::npos);

    // A newer checkpoint with one flipped byte in its tensor data: its digest fails, auto skips it.
    const fs::path damaged = dir / "checkpoint_step119.ckpt";
    std::string bytes = testing::read_file(stopped.stop_checkpoint);
    bytes[bytes.size() - 3] ^= 0x40;
    std::ofstream(damaged, std::ios::binary) << bytes;
    CHECK_THROWS_WITH_AS(io::load_checkpoint(damaged), doctest::Contains("is corrupt"), Error);

    TrainResult resumed = train_in(dir);
    REQUIRE(resumed.stop == TrainStop::Completed);
    CHECK(resumed.steps == 120);
    std::string log = testing::read_file(dir / "train.log");
    CHECK(log.find("warning: skipping checkpoint " + damaged.string()) != std::string::npos);
    CHECK(log.find("resumed from " + stopped.stop_checkpoint) != std::string::npos);
    check_same_state(resumed.state, full.state);
    CHECK(resumed.val_loss == full.val_loss);
}

}  // namespace pg
