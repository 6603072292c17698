// `pgolf compile`: builds exactly the graphs `pgolf train` runs with the same settings (the
// micro-step graph, the optimizer graph with Muon's Newton-Schulz and Adam, and the evaluation
// graph), plans each for the GPU with the compile driver and compiles every CUDA kernel with
// NVRTC, without running anything (no GPU needed). Prints each graph's kernel counts, then the
// compile times, cache hits and ptxas' registers and spills per kernel. With --estimate it prints
// the performance model's estimate (codegen/perf_model.h) instead of compiling.
#include <fmt/format.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/env.h"
#include "base/error.h"
#include "codegen/compile_plan.h"
#include "codegen/perf_model.h"
#include "frontend/cli/command.h"
#include "frontend/cli/estimate_table.h"
#include "frontend/train/compute_dtype.h"
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
  --quiet                totals only, no per-kernel table
  --estimate             no NVRTC compile: print the performance model's estimate of each graph on
                         a GPU (roofline per kernel: tensor-core and SIMT FLOPs, global-memory
                         bytes, launch overhead; GEMMs derated by their waves over the SMs and
                         their pipeline depth, see codegen/perf_model.h), the top
                         kernels by estimated time and the step totals; --arch defaults to sm_90a
  --gpu NAME             the GPU of --estimate: h100 (default) or h200
  --cpu                  plan for the CPU backend instead (nothing compiled): each graph's kernel
                         counts and memory plan (arena bytes)
  --top N                kernels listed per graph by --estimate (default 15))";

struct CompileArgs {
    std::string arch;
    bool unfused = false, use_cache = true, quiet = false;
    bool estimate = false, cpu = false;
    std::string gpu = "h100";
    int top = 15;
};

// The value of `--name VALUE` or `--name=VALUE` at args[i] (advancing i), or nullopt.
std::optional<std::string> flag_value(const std::vector<std::string>& args, size_t& i, const std::string& name) {
    if (args[i] == name) {
        PG_CHECK(i + 1 < args.size(), "{} needs a value; `pgolf compile --help` lists the options", name);
        return args[++i];
    }
    if (args[i].rfind(name + "=", 0) == 0) return args[i].substr(name.size() + 1);
    return std::nullopt;
}

int parse_top(const std::string& text) {
    int n = 0;
    try {
        n = std::stoi(text);
    } catch (const std::exception&) {
    }
    PG_CHECK(n > 0, "--top needs a positive count of kernels, got '{}'", text);
    return n;
}

CompileArgs parse_args(const std::vector<std::string>& args) {
    CompileArgs a;
    for (size_t i = 0; i < args.size(); ++i) {
        const std::string& flag = args[i];
        if (auto v = flag_value(args, i, "--arch")) {
            a.arch = *v;
        } else if (auto g = flag_value(args, i, "--gpu")) {
            a.gpu = *g;
        } else if (auto t = flag_value(args, i, "--top")) {
            a.top = parse_top(*t);
        } else if (flag == "--cpu") {
            a.cpu = true;
        } else if (flag == "--unfused" || flag == "--no-cache" || flag == "--quiet" || flag == "--estimate") {
            a.unfused |= flag == "--unfused";
            a.use_cache &= flag != "--no-cache";
            a.quiet |= flag == "--quiet";
            a.estimate |= flag == "--estimate";
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

// The trainer's settings for the planned target: PG_COMPUTE_DTYPE=auto follows the target (bf16 on
// CUDA), not the backend this machine would pick.
Hyperparams read_for_target(const CompileArgs& a) {
    Hyperparams h = read_hyperparams();
    h.model.compute_dtype = compute_dtype_for(a.cpu ? "cpu" : "cuda");
    return h;
}

void print_banner(const CompileArgs& a, const Hyperparams& h) {
    const GptConfig& m = h.model;
    fmt::print("pgolf compile: GPT {} layers, d {}, {} heads / {} kv, vocab {}, mlp x{}; {} tokens per step of seq {}; "
               "{}, {} activations\n",
               m.num_layers, m.model_dim, m.num_heads, m.num_kv_heads, m.vocab_size, m.mlp_mult, h.train_batch_tokens,
               h.train_seq_len, a.unfused ? "unfused" : "fused", dtype_name(m.compute_dtype));
}

struct PlannedGraphs {
    TrainingGraphs step;
    ModelGraph eval;
    std::vector<NamedGraph> graphs;  // micro-step, optimizer, eval (+ the pre-loop micro-step)
    std::vector<ExecPlan> plans;     // one per graph
};

// Builds the graphs `pgolf train` runs and plans each for a.arch, printing one line per graph
// with its memory plan.
PlannedGraphs plan_graphs(const CompileArgs& a, const Hyperparams& h) {
    auto t0 = std::chrono::steady_clock::now();
    PlannedGraphs p;
    p.step = build_training_graphs(h);
    p.eval = build_eval_graph(h.model, h.val_rows(), h.train_seq_len);
    fmt::print("  graphs built in {:.2f} s: {} micro-steps of {} sequences, the optimizer, evaluation of {} sequences\n",
               seconds_since(t0), p.step.micro_steps, p.step.micro_rows, h.val_rows());
    Target target = a.cpu ? cpu_target() : cuda_target(a.arch);
    target.fusion = target.fusion && !a.unfused;
    if (!a.cpu) target.tuned = installed_gpu_decisions();
    fmt::print("  tuning: {}\n", target.tuned ? fmt::format("{} decisions from {}", target.tuned->kernels.size(),
                                                                TuningDb::default_path())
                                               : "none (the documented heuristics)");
    p.graphs = {{"micro-step", p.step.micro.graph.get()},
                {"optimizer", p.step.optimizer.graph.get()},
                {"eval", p.eval.graph.get()}};
    if (p.step.micro_preloop.graph) p.graphs.push_back({"preloop", p.step.micro_preloop.graph.get()});
    for (const NamedGraph& ng : p.graphs) {
        const ExecPlan& plan = p.plans.emplace_back(compile_plan(*ng.graph, target));
        fmt::print("  {:<10} {} nodes after passes; {} (planned in {:.2f} s)\n", ng.name, plan.graph.size(),
                   plan.summary(false), plan.timings.total());
        fmt::print("  {:<10} {}\n", "", memory_plan_line(plan));
    }
    return p;
}

// The estimate of every graph, then of a training step: one GPU of an 8-GPU run does one
// micro-step and the optimizer; a single GPU does every micro-step and the optimizer.
void print_estimates(const CompileArgs& a, const PlannedGraphs& p, const Hyperparams& h) {
    const GpuPeaks& gpu = gpu_peaks(a.gpu);
    fmt::print("\nestimate on {} ({}): roofline per kernel, max(FLOPs / peak, bytes / HBM bandwidth) + {:.1f} us per "
               "launch, GEMMs derated by waves and pipeline depth; not a measurement (codegen/perf_model.h)\n",
               gpu.name, gpu.description, gpu.launch_seconds * 1e6);
    std::vector<double> seconds;
    for (size_t g = 0; g < p.plans.size(); ++g) {
        StepEstimate e = estimate_plan(p.plans[g], gpu);
        print_estimate(p.graphs[g].name, e, a.top);
        seconds.push_back(e.seconds);
    }
    double micro = seconds[0], optimizer = seconds[1];
    fmt::print("\ntraining step on {}: micro-step of {} tokens {:.3f} ms, optimizer {:.3f} ms; one GPU of 8 (one "
               "micro-step + the optimizer) {:.3f} ms; one GPU alone ({} micro-steps + the optimizer, {} tokens) "
               "{:.3f} ms\n",
               gpu.name, p.step.micro_rows * h.train_seq_len, micro * 1e3, optimizer * 1e3, (micro + optimizer) * 1e3,
               p.step.micro_steps, h.train_batch_tokens, (p.step.micro_steps * micro + optimizer) * 1e3);
}

// --estimate: plans only, no NVRTC (so it runs where none is installed).
int run_estimate(CompileArgs a) {
    gpu_peaks(a.gpu);  // fail on an unknown --gpu before building anything
    if (a.arch.empty()) a.arch = env::get("PG_CUDA_ARCH").empty() ? "sm_90a" : env::get("PG_CUDA_ARCH");
    Hyperparams h = read_for_target(a);
    print_banner(a, h);
    fmt::print("  target: {} (planned only, nothing compiled)\n", a.arch);
    print_estimates(a, plan_graphs(a, h), h);
    return 0;
}

// --cpu: the CPU backend's plans only (kernel counts and memory plans).
int run_cpu_plan(const CompileArgs& a) {
    PG_CHECK(!a.estimate, "--cpu plans for the CPU and --estimate estimates a GPU: pass one of them");
    Hyperparams h = read_for_target(a);
    print_banner(a, h);
    fmt::print("  target: cpu (planned only, nothing compiled)\n");
    plan_graphs(a, h);
    return 0;
}

int run_compile(std::vector<std::string> args) {
    CompileArgs a = parse_args(args);
    if (a.cpu) return run_cpu_plan(a);
    if (a.estimate) return run_estimate(a);
    LibraryStatus nvrtc = nvrtc_status();
    PG_CHECK(nvrtc.ok, "{}", nvrtc.detail);
    if (a.arch.empty() && env::get("PG_CUDA_ARCH").empty()) {
        std::string why = cuda_unavailable_reason();
        PG_CHECK(why.empty(), "no GPU to take the architecture from ({}); pass --arch, e.g. --arch sm_90a (H100) or "
                 "--arch sm_80 (A100)", why);
    }
    a.arch = CudaProgram::resolve_arch(a.arch);  // fail on a bad --arch before building anything
    Hyperparams h = read_for_target(a);
    print_banner(a, h);
    fmt::print("  compiler: {}\n", nvrtc.detail);
    auto t0 = std::chrono::steady_clock::now();
    PlannedGraphs planned = plan_graphs(a, h);
    std::vector<CudaKernelSource> sources;
    for (size_t g = 0; g < planned.plans.size(); ++g)
        for (CudaKernelSource& k : planned.plans[g].cuda_sources()) {
            k.name = planned.graphs[g].name.substr(0, 5) + "_" + k.name;  // unique across the graphs
            sources.push_back(std::move(k));
        }
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {a.arch, a.use_cache});
    const CudaCompileStats& st = program->stats();
    if (!a.quiet) {
        size_t first = 0;
        for (const ExecPlan& p : planned.plans) first = print_kernel_table(p, *program, first);
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
