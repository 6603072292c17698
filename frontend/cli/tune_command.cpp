// `pgolf tune`: autotunes every workload of the training step that `pgolf train` would run with
// the same settings (the micro-step, the optimizer and the evaluation graphs) on this machine and
// stores the decisions in the tuning database (PG_TUNE_DB). The trainer, `pgolf bench` and
// `pgolf compile` then use them; PG_TUNE=off ignores them.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/error.h"
#include "codegen/compile_plan.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/cli/tune_acceptance.h"
#include "frontend/train/step_graphs.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/executable.h"
#include "runtime/tuning/cpu_autotune.h"
#include "runtime/tuning/cuda_autotune.h"
#include "runtime/tuning/cuda_prune.h"

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
it already holds are reused, not timed again.

Whole-step check: decisions timed kernel by kernel need not make the step faster, so when any
workload was newly tuned, the full training step (micro-steps + optimizer, timed as `pgolf
bench` does) runs with the database's previous decisions (or the heuristics) and with the new
ones, alternating A B A B after warm-up; the new decisions are stored only if the step's median
is faster by the margin (default 3%), otherwise the previous database is kept. Both medians and
the verdict are printed. The trainer, `pgolf bench` and `pgolf compile` use
the decisions; PG_TUNE=off ignores them.

On the CPU backend: matmul placement, thread splits, loop blockings and OpenBLAS row blocks. On
the CUDA backend (a GPU present): every GEMM step's (with --loops also every loop kernel's)
search space of tile or mapping configurations, each compiled alone with NVRTC and pruned on
compile failure, spills, registers or shared memory, the survivors timed with CUDA events (L2
flushed before each timed run), the winner checked against the heuristic's output and stored
under the GPU's identity. Without a GPU, --arch ARCH does only the pruning, for that arch, and
stores nothing.

Options:
  --reps N        timed repetitions per candidate (default 5; the median counts)
  --warmup N      untimed calls before them (default 2)
  --timeout S     seconds after which one call makes a candidate infinitely slow (default 2)
  --retune        time every workload, even those the database holds
  --no-flush      do not flush the caches before each timed call (quicker, less faithful)
  --quiet         no line per workload, totals only
  --step-reps N   alternating A/B rounds of the whole-step check (default 5; after 2 warm-up steps)
  --margin P      percent by which the new step must be faster to be stored (default 3)
  --no-step-check store the new decisions without timing the whole step
  --arch ARCH     the GPU arch to compile candidates for (default: the GPU's); without a GPU,
                  prune only, for ARCH (e.g. sm_90a)
  --loops         on a GPU or with --arch: loop kernels too (slow: ~19 NVRTC compiles per kernel))";

struct TuneArgs {
    AutotuneOptions options;
    bool quiet = false, loops = false;
    bool step_check = true;
    int step_reps = 5;
    // The step's median must drop by 3%, so that noise between the two alternated medians alone
    // does not store a set that is no faster (the trainer would use it by default).
    double margin = 0.03;
    std::string arch;  // the GPU arch; without a GPU: prune candidates for it instead of tuning the CPU
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
    a.loops = take("--loops");
    a.step_check = !take("--no-step-check");
    a.options.timing.flush = !take("--no-flush");
    auto opts = parse_options(args, {"reps", "warmup", "timeout", "arch", "step-reps", "margin"}, "tune");
    a.arch = opts.count("arch") ? opts["arch"] : "";
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
    a.step_reps = static_cast<int>(number("step-reps", 5));
    a.margin = number("margin", 3) / 100;
    PG_CHECK(a.step_reps >= 1 && a.margin >= 0 && a.margin < 1,
             "pgolf tune: --step-reps must be >= 1 and --margin (percent) in [0, 100)");
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

using NamedGraphs = std::vector<std::pair<std::string, const Graph*>>;

// --arch without a GPU: every GEMM (and with --loops every loop) workload's candidates, pruned by NVRTC.
int prune_gpu(const TuneArgs& a, const NamedGraphs& graphs) {
    LibraryStatus nvrtc = nvrtc_status();
    PG_CHECK(nvrtc.ok, "{}", nvrtc.detail);
    std::string arch = CudaProgram::resolve_arch(a.arch);
    std::set<std::string> seen;
    int workloads = 0, candidates = 0, kept = 0;
    for (const auto& [name, graph] : graphs) {
        ExecPlan plan = compile_plan(*graph, cuda_target(arch));
        fmt::print("{}:\n", name);
        for (const PlanStep& st : plan.steps) {
            bool wanted = st.kind == PlanStep::Kind::Gemm || (a.loops && st.kind == PlanStep::Kind::Kernel);
            if (!wanted || !seen.insert(st.workload).second) continue;
            std::vector<CudaCandidate> pruned = prune_by_compile(st, cuda_search_space(st), arch);
            int k = static_cast<int>(std::count_if(pruned.begin(), pruned.end(), [](auto& c) { return c.kept; }));
            ++workloads;
            candidates += static_cast<int>(pruned.size());
            kept += k;
            fmt::print("  {:3} of {:3} candidates kept  {}\n", k, pruned.size(), st.workload);
            if (a.quiet) continue;
            for (const CudaCandidate& c : pruned)
                fmt::print("      {:<36} regs {:3}  {}\n", config_string(c.config), c.registers, c.why);
        }
    }
    fmt::print("{} workloads for {}: {} candidates, {} kept after compiling; timing them needs a GPU "
               "(PG_BACKEND=cuda on one): nothing stored\n",
               workloads, arch, candidates, kept);
    return 0;
}

// Stores the database, after the whole-step check when anything new was tuned and it is enabled.
void store(const TuneArgs& a, const Hyperparams& h, const TuningDb& db, const std::string& path, bool anything_new) {
    if (!a.step_check || !anything_new) {
        db.save(path);
        fmt::print("wrote {} ({} records)\n", path, db.size());
        return;
    }
    fmt::print("whole step: previous decisions against new ones, {} alternating rounds...\n", a.step_reps);
    std::fflush(stdout);
    StepVerdict v = accept_if_faster(db, path, bench_step_timer(h, 2, a.step_reps), a.margin);
    fmt::print("whole step median: previous {:.2f} ms, new {:.2f} ms ({:+.1f}%; needs -{:.0f}%): {}\n", v.previous_ms,
               v.candidate_ms, 100 * (v.candidate_ms / v.previous_ms - 1), 100 * a.margin,
               v.accepted ? fmt::format("accepted, wrote {} ({} records)", path, db.size())
                          : fmt::format("rejected, kept the previous decisions in {}", path));
}

// Tunes the graphs with `tuner` (CpuAutotuner or CudaAutotuner) and prints the totals; whether
// anything was newly tuned.
template <class Tuner>
bool tune_graphs(Tuner& tuner, const NamedGraphs& graphs) {
    auto t0 = std::chrono::steady_clock::now();
    for (const auto& [name, graph] : graphs) {
        fmt::print("{}:\n", name);
        tuner.tune(*graph);
    }
    int tuned = 0, reused = 0, changed = 0, failed = 0;
    for (const WorkloadResult& r : tuner.results()) {
        (r.reused ? reused : tuned)++;
        changed += !r.reused && r.tuned_us < r.default_us;
        failed += r.failed;
    }
    fmt::print("tuned {} workloads ({} away from the heuristic), reused {}; {} candidates failed; {:.1f} s\n", tuned,
               changed, reused, failed, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return tuned > 0;
}

int run_tune(std::vector<std::string> args) {
    TuneArgs a = parse_args(std::move(args));
    Hyperparams h = read_hyperparams();
    TrainingGraphs step = build_training_graphs(h);
    ModelGraph eval = build_eval_graph(h.model, h.val_rows(), h.train_seq_len);
    const NamedGraphs graphs{
        {"micro-step", step.micro.graph.get()}, {"optimizer", step.optimizer.graph.get()}, {"eval", eval.graph.get()}};
    const bool gpu = selected_backend() == "cuda";
    if (!a.arch.empty() && !gpu) return prune_gpu(a, graphs);
    std::string path = TuningDb::default_path();
    PG_CHECK(!path.empty(), "no place for the tuning database: set PG_TUNE_DB=FILE (or PG_CACHE_DIR)");
    TuningDb db = TuningDb::load(path);
    DeviceIdentity device = gpu ? cuda_identity() : cpu_identity();
    fmt::print("pgolf tune: GPT {} layers, d {}, vocab {}, {} tokens per step of seq {}\n  device: {}\n  database: {}{}\n",
               h.model.num_layers, h.model.model_dim, h.model.vocab_size, h.train_batch_tokens, h.train_seq_len,
               device.key, path, db.corrupt() ? " (corrupt: starting afresh)" : "");
    int done = 0;
    a.options.progress = [&](const WorkloadResult& r) {
        ++done;
        if (!a.quiet) fmt::print("[{:3}]{}\n", done, progress_line(r));
        std::fflush(stdout);
    };
    bool anything_new = false;
    if (gpu) {
        CudaAutotuneOptions o{.base = a.options, .loops = a.loops, .arch = CudaProgram::resolve_arch(a.arch)};
        CudaAutotuner tuner(db, device, o);
        anything_new = tune_graphs(tuner, graphs);
    } else {
        CpuAutotuner tuner(db, device, a.options);
        anything_new = tune_graphs(tuner, graphs);
    }
    store(a, h, db, path, anything_new);
    return 0;
}

PG_COMMAND({.name = "tune",
            .summary = "autotune every kernel of the configured training step on this machine",
            .usage = kUsage,
            .run = run_tune});

}  // namespace
}  // namespace pg::cli
