// `pgolf tune`: autotunes every workload of the training step that `pgolf train` would run with
// the same settings (the micro-step, the optimizer and the evaluation graphs) on this machine and
// stores the decisions in the tuning database (PG_TUNE_DB). The trainer, `pgolf bench` and
// `pgolf compile` then use them; PG_TUNE=off ignores them.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/train/step_graphs.h"
#include "runtime/executable.h"
#include "runtime/tuning/cpu_autotune.h"

namespace pg::cli {
namespace {

constexpr const char* kUsage = R"(pgolf tune [--SETTING=value ...] [options]

Builds the graphs `pgolf train` runs with the same settings (micro-step, optimizer, evaluation)
and, for every workload in them (a kernel's signature and shapes), times a search space of
configurations on this machine: which matmuls run on OpenBLAS and which as generated loop
kernels, how many threads each loop kernel spreads over, how each OpenBLAS call splits its rows.
Every candidate is timed after warm-up with the caches flushed; failures and timeouts count as
infinitely slow; the winner is checked against the reference (the interpreter, or the
heuristic's own output) before it is stored. Decisions go to the tuning database, PG_TUNE_DB
(default: tuning.json in the kernel cache directory), under this machine's identity; workloads
it already holds are reused, not timed again. The trainer, `pgolf bench` and `pgolf compile` use
the decisions; PG_TUNE=off ignores them.

Runs on the CPU backend (PG_BACKEND=cpu); GPU tuning is not implemented yet.

Options:
  --reps N        timed repetitions per candidate (default 5; the median counts)
  --warmup N      untimed calls before them (default 2)
  --timeout S     seconds after which one call makes a candidate infinitely slow (default 2)
  --retune        time every workload, even those the database holds
  --no-flush      do not flush the caches before each timed call (quicker, less faithful)
  --quiet         no line per workload, totals only)";

struct TuneArgs {
    AutotuneOptions options;
    bool quiet = false;
};

TuneArgs parse_args(std::vector<std::string> args) {
    TuneArgs a;
    auto take = [&](const char* flag) {
        auto it = std::find(args.begin(), args.end(), flag);
        if (it == args.end()) return false;
        args.erase(it);
        return true;
    };
    a.options.retune = take("--retune");
    a.quiet = take("--quiet");
    a.options.timing.flush = !take("--no-flush");
    auto opts = parse_options(args, {"reps", "warmup", "timeout"}, "tune");
    auto number = [&](const char* key, double fallback) {
        if (!opts.count(key)) return fallback;
        try {
            return std::stod(opts[key]);
        } catch (const std::exception&) {
            throw Error(fmt::format("pgolf tune: --{} needs a number, got '{}'", key, opts[key]));
        }
    };
    a.options.timing.reps = static_cast<int>(number("reps", 5));
    a.options.timing.warmup = static_cast<int>(number("warmup", 2));
    a.options.timing.timeout_s = number("timeout", 2);
    PG_CHECK(a.options.timing.reps >= 1 && a.options.timing.warmup >= 0 && a.options.timing.timeout_s > 0,
             "pgolf tune: --reps must be >= 1, --warmup >= 0 and --timeout > 0");
    return a;
}

std::string progress_line(const WorkloadResult& r) {
    if (r.reused) return fmt::format("  reused  {:<16} {}", r.decision, r.workload);
    if (r.decision.empty()) return fmt::format("  failed  every candidate failed: {}", r.workload);
    double gain = r.tuned_us > 0 ? r.default_us / r.tuned_us : 1;
    return fmt::format("  tuned   {:<16} {:9.1f} -> {:9.1f} us ({:.2f}x; {} candidates, {} failed)  {}", r.decision,
                       r.default_us, r.tuned_us, gain, r.candidates, r.failed, r.workload);
}

int run_tune(std::vector<std::string> args) {
    TuneArgs a = parse_args(std::move(args));
    std::unique_ptr<Session> probe = open_session();
    PG_CHECK(probe->device().kind() == TargetKind::Cpu,
             "pgolf tune times kernels on the CPU backend only; GPU tuning is not implemented yet (use PG_BACKEND=cpu)");
    std::string path = TuningDb::default_path();
    PG_CHECK(!path.empty(), "no place for the tuning database: set PG_TUNE_DB=FILE (or PG_CACHE_DIR)");
    TuningDb db = TuningDb::load(path);
    DeviceIdentity device = cpu_identity();
    Hyperparams h = read_hyperparams();
    fmt::print("pgolf tune: GPT {} layers, d {}, vocab {}, {} tokens per step of seq {}\n  device: {}\n  database: {}{}\n",
               h.model.num_layers, h.model.model_dim, h.model.vocab_size, h.train_batch_tokens, h.train_seq_len,
               device.key, path, db.corrupt() ? " (corrupt: starting afresh)" : "");
    TrainingGraphs step = build_training_graphs(h);
    ModelGraph eval = build_eval_graph(h.model, h.val_rows(), h.train_seq_len);
    int done = 0;
    a.options.progress = [&](const WorkloadResult& r) {
        ++done;
        if (!a.quiet) fmt::print("[{:3}]{}\n", done, progress_line(r));
        std::fflush(stdout);
    };
    CpuAutotuner tuner(db, device, a.options);
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& [name, graph] : std::vector<std::pair<std::string, const Graph*>>{
             {"micro-step", step.micro.graph.get()}, {"optimizer", step.optimizer.graph.get()}, {"eval", eval.graph.get()}}) {
        fmt::print("{}:\n", name);
        tuner.tune(*graph);
    }
    int tuned = 0, reused = 0, changed = 0, failed = 0;
    for (const WorkloadResult& r : tuner.results()) {
        (r.reused ? reused : tuned)++;
        changed += !r.reused && r.tuned_us < r.default_us;
        failed += r.failed;
    }
    db.save(path);
    fmt::print("tuned {} workloads ({} away from the heuristic), reused {}; {} candidates failed; {:.1f} s; wrote {} "
               "({} records)\n",
               tuned, changed, reused, failed,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), path, db.size());
    return 0;
}

PG_COMMAND({.name = "tune",
            .summary = "autotune every kernel of the configured training step on this machine",
            .usage = kUsage,
            .run = run_tune});

}  // namespace
}  // namespace pg::cli
