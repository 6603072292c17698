// `pgolf train` under signals, as a scheduler or a user sends them: one SIGTERM ends the run after
// the current step with a checkpoint, the line that says so and exit status 143 (128 + SIGTERM);
// a second signal while it stops (here SIGINT right after the SIGTERM) ends it at once, killed by
// that signal.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "tests/support/knob_env.h"
#include "tests/support/tiny_run.h"
#include "tests/support/test_files.h"

namespace pg {
namespace {

namespace fs = std::filesystem;

// Starts `pgolf train` (exec'd by the shell, so the pid is pgolf's) with the settings in force.
pid_t start_training(const fs::path& run_dir) {
    std::string cmd =
        fmt::format("exec env {} ITERATIONS=1000000 TRAIN_LOG_EVERY=1 RUN_DIR='{}' {} train >'{}' 2>&1",
                    testing::knob_assignments(), run_dir.string(), PG_BINARY, (run_dir / "out.txt").string());
    fs::create_directories(run_dir);
    pid_t pid = ::fork();
    if (pid == 0) {
        ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
        ::_exit(127);
    }
    return pid;
}

// Waits (up to two minutes: a cold kernel cache compiles first) until the log shows step 2.
bool wait_for_steps(const fs::path& log) {
    for (int i = 0; i < 120'000; ++i) {
        if (fs::exists(log) && testing::read_file(log).find("step:2/") != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
}

int wait_status(pid_t pid) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    return status;
}

}  // namespace

TEST_CASE("signals: SIGTERM stops pgolf train with a checkpoint and status 143; a second signal kills it") {
    TinyRun run;
    {
        const fs::path dir = run.dir / "term";
        pid_t pid = start_training(dir);
        bool started = wait_for_steps(dir / "train.log");
        if (!started) ::kill(pid, SIGKILL);
        REQUIRE(started);
        ::kill(pid, SIGTERM);
        int status = wait_status(pid);
        std::string log = testing::read_file(dir / "train.log");
        INFO(testing::read_file(dir / "out.txt"));
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 128 + SIGTERM);
        CHECK(log.find("stopped by SIGTERM after step") != std::string::npos);
        bool checkpoint = false;
        for (const auto& e : fs::directory_iterator(dir))
            checkpoint |= e.path().filename().string().starts_with("checkpoint_step");
        CHECK(checkpoint);
    }
    {
        const fs::path dir = run.dir / "twice";
        pid_t pid = start_training(dir);
        bool started = wait_for_steps(dir / "train.log");
        if (!started) ::kill(pid, SIGKILL);
        REQUIRE(started);
        ::kill(pid, SIGTERM);
        ::kill(pid, SIGINT);
        int status = wait_status(pid);
        INFO(testing::read_file(dir / "out.txt"));
        CHECK(WIFSIGNALED(status));
    }
}

}  // namespace pg
