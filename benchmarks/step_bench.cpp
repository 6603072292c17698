// Training-step benchmark on the CPU backend: the GPT with Adam, fused vs unfused, median step
// time, kernel launches per step and compile time. Pair with benchmarks/torch_gpt.py (same
// arguments) for PyTorch eager on the same model and batch.
// Usage: step_bench B T LAYERS DIM HEADS KV_HEADS VOCAB [steps]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <random>

#include "frontend/train_step.h"
#include "runtime/cpu_executable.h"
#include "runtime/env.h"
#include "runtime/thread_pool.h"

using namespace pg;

namespace {

void bench(const TrainStepGraph& step, int64_t B, int64_t T, int64_t V, int steps, bool fusion) {
    auto t0 = std::chrono::steady_clock::now();
    ScheduleOptions opts = schedule_options_from_env();
    opts.fusion = fusion;
    CpuExecutable exe(*step.graph, opts);
    double build_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    for (const auto& [name, value] : step.params->initialize(1337))
        if (exe.has_leaf(name)) exe.set(name, value);
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    HostTensor ids(DType::i64, {B, T}), targets(DType::i64, {B, T});
    for (int64_t i = 0; i < ids.numel(); ++i) {
        ids.set(i, std::floor(static_cast<double>(V) * std::pow(u(rng), 3.0)));
        targets.set(i, std::floor(static_cast<double>(V) * std::pow(u(rng), 3.0)));
    }
    exe.set("ids", ids);
    exe.set("targets", targets);
    exe.set_scalar("lr.embed", 0.01);
    exe.set_scalar("lr.matrix", 0.01);
    exe.set_scalar("lr.scalar", 0.01);
    std::vector<double> ms;
    double first = 0, last = 0;
    for (int s = 0; s < steps; ++s) {
        exe.set_scalar("step", s + 1);
        auto a = std::chrono::steady_clock::now();
        exe.run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
        last = exe.get("loss").get(0);
        if (s == 0) first = last;
    }
    std::sort(ms.begin(), ms.end());
    if (env::get_bool("PG_PROFILE")) fmt::print("{}", exe.profile_report(12));
    const CpuPlanStats& st = exe.stats();
    fmt::print("pgolf {:<8} step_ms: {:8.3f}  launches/step: {:4d} (loop {}, blas {}, scatter {})  "
               "build+compile {:.2f}s (compile {:.2f}s, {} cache hits)  arena {:.2f} MiB  loss {:.4f} -> {:.4f}\n",
               fusion ? "fused" : "unfused", ms[ms.size() / 2], st.launches(), st.loop_kernels, st.blas_calls,
               st.scatter_kernels, build_s, st.compile_seconds, st.cache_hits, st.arena_bytes / 1048576.0, first, last);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 8) {
        fmt::print(stderr, "usage: step_bench B T LAYERS DIM HEADS KV_HEADS VOCAB [steps]\n");
        return 2;
    }
    int64_t a[7];
    for (int i = 0; i < 7; ++i) a[i] = std::atoll(argv[i + 1]);
    int steps = argc > 8 ? std::atoi(argv[8]) : 30;
    GptConfig cfg;
    cfg.num_layers = a[2];
    cfg.model_dim = a[3];
    cfg.num_heads = a[4];
    cfg.num_kv_heads = a[5];
    cfg.vocab_size = a[6];
    TrainStepGraph step = build_gpt_adam_step(cfg, a[0], a[1], AdamConfig{});
    fmt::print("threads: {}\n", ThreadPool::global().num_threads());
    bench(step, a[0], a[1], cfg.vocab_size, steps, true);
    bench(step, a[0], a[1], cfg.vocab_size, steps, false);
    return 0;
}
