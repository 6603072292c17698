// Training-step benchmark on the CPU backend: the training step `pgolf train` runs (micro-steps
// with gradient accumulation, then Muon + Adam; frontend/train/step_graphs.h) for the settings in
// the environment (train_gpt.py's names: NUM_LAYERS, MODEL_DIM, TRAIN_BATCH_TOKENS, ...), fused
// and unfused: median step time over the steps after the first 3 (warm-up), kernel launches,
// compile time and the host<->device bytes of a step. It writes the initial weights and the step's
// token batches to PG_BENCH_INPUTS (default build/bench_inputs.safetensors) so that
// benchmarks/torch_gpt.py runs PyTorch eager on exactly the same step.
// Usage: [SETTINGS...] step_bench [steps]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <random>

#include "base/env.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/step_runner.h"

using namespace pg;

namespace {

using Clock = std::chrono::steady_clock;

// Steps excluded from the median on both sides of the comparison: first-touch of buffers, the
// pool's thread start-up, caches.
constexpr size_t kWarmupSteps = 3;

// The initial weights (state_dict names) and the micro-batches, for torch_gpt.py.
void write_inputs(const StepRunner& runner, const std::vector<HostTensor>& micro) {
    io::TensorMap inputs;
    std::map<std::string, HostTensor> init = runner.initial_state(1337);
    for (const ParamSpec& p : runner.graphs().model_specs) inputs[p.name] = init.at(p.name).to(DType::f32);
    for (size_t m = 0; m < micro.size(); ++m) inputs[fmt::format("batch.m{}", m)] = micro[m];
    const char* path = std::getenv("PG_BENCH_INPUTS");
    io::write_safetensors(path ? path : "build/bench_inputs.safetensors", inputs);
}

void bench(const Hyperparams& h, int steps, bool fusion) {
    env::ScopedOverride fuse("PG_FUSION", fusion ? "1" : "0");
    auto t0 = Clock::now();
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    double build_s = std::chrono::duration<double>(Clock::now() - t0).count();
    for (const auto& [name, value] : runner.initial_state(1337)) runner.set_state(name, value);
    // One fixed step of skewed random tokens (token = floor(V * u^3)).
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<HostTensor> micro(static_cast<size_t>(runner.micro_steps()),
                                  HostTensor(DType::i32, {runner.micro_rows(), h.train_seq_len + 1}));
    for (HostTensor& t : micro)
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, std::floor(h.model.vocab_size * std::pow(u(rng), 3.0)));
    if (fusion) write_inputs(runner, micro);
    auto source = [&](int64_t m, HostTensor& ids, HostTensor& targets) {
        const HostTensor& t = micro[static_cast<size_t>(m)];
        for (int64_t r = 0; r < ids.shape[0]; ++r)
            for (int64_t c = 0; c < h.train_seq_len; ++c) {
                ids.set(r * h.train_seq_len + c, t.get(r * (h.train_seq_len + 1) + c));
                targets.set(r * h.train_seq_len + c, t.get(r * (h.train_seq_len + 1) + c + 1));
            }
    };
    std::vector<double> ms;
    double first = 0;
    for (int s = 0; s < steps; ++s) {
        runner.set_scalars(s, 1.0);
        auto a = Clock::now();
        runner.run(source);
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
        if (s == 0) first = runner.loss();
    }
    ms.erase(ms.begin(), ms.begin() + std::min<size_t>(kWarmupSteps, ms.size() - 1));
    std::sort(ms.begin(), ms.end());
    if (env::get_bool("PG_PROFILE")) fmt::print("{}", runner.profile_report(12));
    fmt::print("pgolf {:<8} step_ms: {:8.3f}  build+compile {:.2f}s  loss {:.4f} -> {:.4f}\n  {}\n  per step: {}\n",
               fusion ? "fused" : "unfused", ms[ms.size() / 2], build_s, first, runner.loss(), runner.summary(),
               runner.last_transfers().to_string());
}

}  // namespace

int main(int argc, char** argv) {
    int steps = argc > 1 ? std::atoi(argv[1]) : 30;
    if (steps < 4) {
        fmt::print(stderr, "usage: [SETTINGS...] step_bench [steps >= 4]\n");
        return 2;
    }
    try {
        Hyperparams h = read_hyperparams();
        fmt::print("threads: {}; GPT {} x {}, {} micro-steps of {} x {} tokens\n", ThreadPool::global().num_threads(),
                   h.model.num_layers, h.model.model_dim, h.grad_accum_steps(),
                   h.rows_per_step() / h.grad_accum_steps(), h.train_seq_len);
        bench(h, steps, true);
        bench(h, steps, false);
    } catch (const Error& e) {
        fmt::print(stderr, "step_bench: {}\n", e.what());
        return 1;
    }
    return 0;
}
