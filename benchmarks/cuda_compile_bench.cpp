// CUDA compile-time benchmark: the baseline GPT training step (9 x 512, batch 64 x 1024 per
// device, Adam) compiled with NVRTC from a cold kernel cache (a fresh PG_CACHE_DIR) and then
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

#include "codegen/passes.h"
#include "frontend/train_step.h"
#include "runtime/cuda/cuda_compile_plan.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/env.h"
#include "runtime/kernel_cache.h"
#include "runtime/thread_pool.h"

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
StartTimes start(const GptConfig& cfg, int64_t batch, int64_t seq, const std::string& arch) {
    StartTimes t;
    auto t0 = Clock::now();
    TrainStepGraph step = build_gpt_adam_step(cfg, batch, seq, AdamConfig{});
    t.build = since(t0);
    auto t1 = Clock::now();
    Graph g = run_passes(*step.graph);
    t.passes = since(t1);
    CompiledCudaPlan plan = compile_cuda_plan(g, cuda_schedule_options(), {arch, true});
    t.plan = plan.plan_seconds;
    t.compile = plan.program->stats().seconds;
    t.stats = plan.program->stats();
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
    GptConfig cfg;
    int64_t batch = 64, seq = 1024;
    if (preset == "tiny") {
        cfg.vocab_size = 96;
        cfg.num_layers = 2;
        cfg.model_dim = 64;
        cfg.num_heads = 4;
        cfg.num_kv_heads = 2;
        batch = 4;
        seq = 32;
    }
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / fmt::format("pgolf-cuda-bench-{}", static_cast<long>(getpid()));
    fs::remove_all(dir);
    env::ScopedOverride cache("PG_CACHE_DIR", dir.string());
    fmt::print("cuda_compile_bench: {} GPT ({} layers, d {}, vocab {}), batch {} x {}, {}; {}; {} compile threads, "
               "{} hardware threads; cache {}\n",
               preset, cfg.num_layers, cfg.model_dim, cfg.vocab_size, batch, seq, arch, nvrtc.detail,
               ThreadPool::global().num_threads(), std::thread::hardware_concurrency(), dir.string());

    StartTimes cold = start(cfg, batch, seq, arch);
    print("cold", cold);
    std::vector<double> warm;
    for (int r = 0; r < warm_reps; ++r) {
        KernelCache::global().clear_memory();  // as a new process: every batch comes from disk
        StartTimes w = start(cfg, batch, seq, arch);
        print("warm", w);
        warm.push_back(w.total);
    }
    std::sort(warm.begin(), warm.end());
    fmt::print("result: cold {:.2f} s (target < 30 s), warm median {:.2f} s (target < 2 s)\n", cold.total,
               warm[warm.size() / 2]);
    fs::remove_all(dir);
    return 0;
}
