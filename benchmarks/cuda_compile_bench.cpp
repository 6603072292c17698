// CUDA compile-time benchmark: the baseline GPT's training step as `pgolf train` runs it (9 x 512,
// micro-steps of 64 x 1024 per device, the Muon + Adam optimizer graph) compiled with NVRTC from a cold kernel cache (a fresh PG_CACHE_DIR) and then
// started warm (the in-memory cache cleared, so every batch is read from disk as a new process
// would). No GPU needed. Targets: cold < 30 s and warm < 2 s on 2 cores.
// Usage: cuda_compile_bench [--arch sm_90a] [--warm-reps N] [--preset baseline|tiny]
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/env.h"
#include "base/thread_pool.h"
#include "codegen/compile_plan.h"
#include "frontend/train/step_graphs.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/cuda/nvrtc_compiler.h"
#include "runtime/kernel_cache.h"

using namespace pg;

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct StartTimes {
    double build = 0, passes = 0, plan = 0, compile = 0, total = 0;
    CudaCompileStats stats;
};

// Everything a process does before its first step: graph, passes, schedule, rendering, NVRTC or
// cache.
StartTimes start(const Hyperparams& h, const std::string& arch) {
    StartTimes t;
    auto t0 = Clock::now();
    TrainingGraphs step = build_training_graphs(h);
    t.build = since(t0);
    std::vector<CudaKernelSource> sources;
    for (const ModelGraph* m : {&step.micro, &step.optimizer}) {
        ExecPlan plan = compile_plan(*m->graph, cuda_target(arch));
        t.passes += plan.timings.passes;
        t.plan += plan.timings.total() - plan.timings.passes;
        for (CudaKernelSource& k : plan.cuda_sources()) {
            k.name = (m == &step.micro ? "micro_" : "optim_") + k.name;
            sources.push_back(std::move(k));
        }
    }
    std::unique_ptr<CudaProgram> program = CudaProgram::compile(sources, {arch, true});
    t.compile = program->stats().seconds;
    t.stats = program->stats();
    t.total = since(t0);
    return t;
}

void print(const char* what, const StartTimes& t) {
    fmt::print("{:<5} total {:6.2f} s = graph {:.2f} + passes {:.2f} + schedule/render {:.2f} + compile {:.2f}  | {}\n",
               what, t.total, t.build, t.passes, t.plan, t.compile, to_string(t.stats));
}

}  // namespace

int main(int argc, char** argv) {
    std::string arch = "sm_90a", preset = "baseline";
    int warm_reps = 3;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string flag = argv[i];
        if (flag == "--arch") arch = argv[i + 1];
        else if (flag == "--warm-reps") warm_reps = std::max(1, std::atoi(argv[i + 1]));
        else if (flag == "--preset") preset = argv[i + 1];
        else {
            fmt::print(stderr, "unknown flag {}\n", flag);
            return 2;
        }
    }
    LibraryStatus nvrtc = nvrtc_status();
    if (!nvrtc.ok) {
        fmt::print(stderr, "{}\n", nvrtc.detail);
        return 1;
    }
    Hyperparams h;  // the baseline: 8 micro-steps of 64 x 1024
    if (preset == "tiny") {
        h.model.vocab_size = 96;
        h.model.num_layers = 2;
        h.model.model_dim = 64;
        h.model.num_heads = 4;
        h.model.num_kv_heads = 2;
        h.train_seq_len = 32;
        h.train_batch_tokens = 8 * 4 * 32;
    }
    const GptConfig& cfg = h.model;
    const int64_t batch = h.rows_per_step() / h.grad_accum_steps(), seq = h.train_seq_len;
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / fmt::format("pgolf-cuda-bench-{}", static_cast<long>(getpid()));
    fs::remove_all(dir);
    env::ScopedOverride cache("PG_CACHE_DIR", dir.string());
    fmt::print("cuda_compile_bench: {} GPT ({} layers, d {}, vocab {}), batch {} x {}, {}; {}; {} compile threads, "
               "{} hardware threads; cache {}\n",
               preset, cfg.num_layers, cfg.model_dim, cfg.vocab_size, batch, seq, arch, nvrtc.detail,
               ThreadPool::global().num_threads(), std::thread::hardware_concurrency(), dir.string());

    StartTimes cold = start(h, arch);
    print("cold", cold);
    std::vector<double> warm;
    for (int r = 0; r < warm_reps; ++r) {
        KernelCache::global().clear_memory();  // as a new process: every batch comes from disk
        StartTimes w = start(h, arch);
        print("warm", w);
        warm.push_back(w.total);
    }
    std::sort(warm.begin(), warm.end());
    fmt::print("result: cold {:.2f} s (target < 30 s), warm median {:.2f} s (target < 2 s)\n", cold.total,
               warm[warm.size() / 2]);
    fs::remove_all(dir);
    return 0;
}
