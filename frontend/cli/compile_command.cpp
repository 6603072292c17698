// `pgolf compile`: builds exactly the graphs `pgolf train` runs with the same settings (the
// micro-step graph, the optimizer graph with Muon's Newton-Schulz and Adam, and the evaluation
// graph), plans each for the GPU with the compile driver and compiles every CUDA kernel with
// NVRTC, without running anything (no GPU needed). Prints each graph's kernel counts, then the
// compile times, cache hits and ptxas' registers and spills per kernel.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/error.h"
#include "codegen/compile_plan.h"
#include "frontend/cli/command.h"
#include "frontend/train/step_graphs.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/tuning/tuning_db.h"

namespace pg::cli {
namespace {

constexpr const char* kUsage = R"(pgolf compile [--arch ARCH] [--SETTING=value ...] [options]

Builds the graphs that `pgolf train` runs with the same settings: the micro-step graph (forward,
backward, gradient accumulation over TRAIN_BATCH_TOKENS / 8 per micro-step), the optimizer graph
(clipping, Muon with its Newton-Schulz iterations, Adam) and the evaluation graph (VAL_BATCH_SIZE
windows), plans each for the GPU and compiles every CUDA kernel with NVRTC. Nothing runs, so no
GPU is needed. Prints each graph's kernel counts, every kernel's launch mapping, registers and
spills (ptxas), then the totals: kernel count, compile wall time, the slowest NVRTC program and
the cache hits.

Settings are the trainer's (NUM_LAYERS, MODEL_DIM, TRAIN_SEQ_LEN, TRAIN_BATCH_TOKENS, ...; `pgolf
env` lists them), as environment variables or --flags such as --num-layers=4.

Options:
  --arch ARCH            target GPU architecture, e.g. sm_90a (H100) or sm_80 (A100); default:
                         PG_CUDA_ARCH, else the installed GPU's
  --unfused              one kernel per op (as PG_FUSION=0)
  --no-cache             compile everything, ignoring and not filling the kernel cache
  --quiet                totals only, no per-kernel table)";

struct CompileArgs {
    std::string arch;
    bool unfused = false, use_cache = true, quiet = false;
};

CompileArgs parse_args(const std::vector<std::string>& args) {
    CompileArgs a;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (flag == "--arch") {
            PG_CHECK(i + 1 < args.size(), "--arch needs a value, e.g. --arch sm_90a");
            a.arch = args[++i];
        } else if (flag.rfind("--arch=", 0) == 0) {
            a.arch = flag.substr(7);
        } else if (flag == "--unfused" || flag == "--no-cache" || flag == "--quiet") {
            a.unfused |= flag == "--unfused";
            a.use_cache &= flag != "--no-cache";
            a.quiet |= flag == "--quiet";
        } else {
            throw Error(fmt::format("unknown argument '{}'; `pgolf compile --help` lists the options", flag));
        }
    }
    return a;
}

// The tuning database's decisions for the installed GPU: none without one (decisions are per
// device: name, SM count, driver, NVRTC) or under PG_TUNE=off.
std::shared_ptr<const TunedDecisions> installed_gpu_decisions() {
    if (!TuningDb::enabled() || !cuda_unavailable_reason().empty()) return nullptr;
    return TuningDb::load(TuningDb::default_path()).decisions(cuda_identity());
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct NamedGraph {
    std::string name;
    const Graph* graph;
};

// Prints the plan's kernels, whose reports start at index `first` of `program`; returns the index
// after them.
size_t print_kernel_table(const ExecPlan& plan, const CudaProgram& program, size_t first) {
    fmt::print("\n{:<20} {:>5} {:>8} {:>13} {:>6}  {}\n", "kernel", "batch", "regs", "spill st/ld", "cache", "mapping");
    size_t i = first;
    for (const PlanStep& st : plan.steps) {
        if (!st.cuda) continue;
        const CudaKernelReport& r = program.report(i++);
        std::string regs, spills;
        for (const CudaEntryReport& e : r.entries) {
            regs += fmt::format("{}{}", regs.empty() ? "" : "/", e.registers);
            spills += fmt::format("{}{}/{}", spills.empty() ? "" : " ", e.spill_stores, e.spill_loads);
        }
        fmt::print("{:<20} {:>5} {:>8} {:>13} {:>6}  {}\n", r.name, r.batch, regs, spills, r.cache_hit ? "hit" : "-",
                   st.cuda->mapping);
    }
    fmt::print("\n");
    return i;
}

int run_compile(std::vector<std::string> args) {
    CompileArgs a = parse_args(args);
    LibraryStatus nvrtc = nvrtc_status();
    PG_CHECK(nvrtc.ok, "{}", nvrtc.detail);
    if (a.arch.empty() && env::get("PG_CUDA_ARCH").empty()) {
        std::string why = cuda_unavailable_reason();
        PG_CHECK(why.empty(), "no GPU to take the architecture from ({}); pass --arch, e.g. --arch sm_90a (H100) or "
                 "--arch sm_80 (A100)", why);
    }
    a.arch = CudaProgram::resolve_arch(a.arch);  // fail on a bad --arch before building anything
    Hyperparams h = read_hyperparams();
    const GptConfig& m = h.model;
    fmt::print("pgolf compile: GPT {} layers, d {}, {} heads / {} kv, vocab {}, mlp x{}; {} tokens per step of seq {}; "
               "{}\n",
               m.num_layers, m.model_dim, m.num_heads, m.num_kv_heads, m.vocab_size, m.mlp_mult, h.train_batch_tokens,
               h.train_seq_len, a.unfused ? "unfused" : "fused");
    fmt::print("  compiler: {}\n", nvrtc.detail);

    auto t0 = std::chrono::steady_clock::now();
    TrainingGraphs step = build_training_graphs(h);
    ModelGraph eval = build_eval_graph(h.model, h.val_rows(), h.train_seq_len);
    fmt::print("  graphs built in {:.2f} s: {} micro-steps of {} sequences, the optimizer, evaluation of {} sequences\n",
               seconds_since(t0), step.micro_steps, step.micro_rows, h.val_rows());
    Target target = cuda_target(a.arch);
    target.fusion = target.fusion && !a.unfused;
    target.tuned = installed_gpu_decisions();
    fmt::print("  tuning: {}\n", target.tuned ? fmt::format("{} decisions from {}", target.tuned->kernels.size(),
                                                                TuningDb::default_path())
                                               : "none (the documented heuristics)");
    std::vector<NamedGraph> graphs = {{"micro-step", step.micro.graph.get()},
                                      {"optimizer", step.optimizer.graph.get()},
                                      {"eval", eval.graph.get()}};
    std::vector<ExecPlan> plans;
    std::vector<CudaKernelSource> sources;
    for (const NamedGraph& ng : graphs) {
        plans.push_back(compile_plan(*ng.graph, target));
        const ExecPlan& p = plans.back();
        fmt::print("  {:<10} {} nodes after passes; {} (planned in {:.2f} s)\n", ng.name, p.graph.size(),
                   p.summary(false), p.timings.total());
        for (CudaKernelSource& k : p.cuda_sources()) {
            k.name = ng.name.substr(0, 5) + "_" + k.name;  // unique across the graphs
            sources.push_back(std::move(k));
        }
    }
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {a.arch, a.use_cache});
    const CudaCompileStats& st = program->stats();
    if (!a.quiet) {
        size_t first = 0;
        for (const ExecPlan& p : plans) first = print_kernel_table(p, *program, first);
    }
    fmt::print("{}\n", to_string(st));
    fmt::print("total: {} kernels ({} distinct) for {}, compiled in {:.2f} s wall (slowest NVRTC program {:.2f} s), "
               "{} from the cache; whole command {:.2f} s\n",
               st.kernels, st.distinct, st.arch, st.seconds, st.slowest_batch_seconds, st.cache_hits,
               seconds_since(t0));
    return 0;
}

PG_COMMAND({.name = "compile",
            .summary = "compile every CUDA kernel of the graphs `pgolf train` runs, with NVRTC (no GPU needed)",
            .usage = kUsage,
            .run = run_compile});

}  // namespace
}  // namespace pg::cli
