// One `pgolf bench` measurement (see bench_run.h).
#include "frontend/cli/bench_run.h"

#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/step_runner.h"
#include "runtime/kernel_cache.h"
#include "runtime/step_timer.h"
#include "runtime/tuning/tuning_db.h"

namespace pg::cli {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// An empty kernel cache directory for the cold compile, removed when the measurement ends.
struct ColdCache {
    std::string dir;
    ColdCache() {
        std::string pattern = (std::filesystem::temp_directory_path() / "pgolf-bench-XXXXXX").string();
        PG_CHECK(mkdtemp(pattern.data()) != nullptr, "cannot create a temporary kernel cache under {}",
                 std::filesystem::temp_directory_path().string());
        dir = pattern;
    }
    ~ColdCache() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

// A fixed step of skewed random tokens (token = floor(V * u^3)), the same for every mode.
std::vector<HostTensor> token_batches(const Hyperparams& h, const StepRunner& runner) {
    std::mt19937_64 rng(1);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<HostTensor> micro(static_cast<size_t>(runner.micro_steps()),
                                  HostTensor(DType::i32, {runner.micro_rows(), h.train_seq_len + 1}));
    for (HostTensor& t : micro)
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, std::floor(h.model.vocab_size * std::pow(u(rng), 3.0)));
    return micro;
}

struct StepRun {
    std::vector<double> ms;  // the timed steps, in order
    double first_loss = 0, last_loss = 0;
    std::string clock;
};

// `warmup` untimed then `steps` timed steps from the initial state on the fixed tokens, timed on
// the session's device (runtime/step_timer.h: CUDA events on a GPU).
StepRun run_steps(const Hyperparams& h, StepRunner& runner, Session& session, int warmup, int steps) {
    std::unique_ptr<StepTimer> timer = make_step_timer(session);
    for (const auto& [name, value] : runner.initial_state(static_cast<uint64_t>(h.seed))) runner.set_state(name, value);
    std::vector<HostTensor> micro = token_batches(h, runner);
    const int64_t T = h.train_seq_len;
    auto source = [&](int64_t m, HostTensor& ids, HostTensor& targets) {
        const HostTensor& t = micro[static_cast<size_t>(m)];
        for (int64_t row = 0; row < ids.shape[0]; ++row)
            for (int64_t c = 0; c < T; ++c) {
                ids.set(row * T + c, t.get(row * (T + 1) + c));
                targets.set(row * T + c, t.get(row * (T + 1) + c + 1));
            }
    };
    StepRun run;
    run.clock = timer->clock();
    for (int s = 0; s < warmup + steps; ++s) {
        runner.set_scalars(s, 1.0);
        timer->start();
        runner.run(source);
        const double ms = timer->stop_ms();
        if (s >= warmup) run.ms.push_back(ms);
        if (s == 0) run.first_loss = runner.loss();
    }
    run.last_loss = runner.loss();
    return run;
}

void time_steps(const Hyperparams& h, StepRunner& runner, Session& session, const BenchOptions& o, BenchResult& r) {
    StepRun run = run_steps(h, runner, session, o.warmup, o.steps);
    r.step_ms = run.ms;
    r.clock = run.clock;
    r.first_loss = run.first_loss;
    r.last_loss = run.last_loss;
    r.median_ms = median(r.step_ms);
    r.min_ms = *std::min_element(r.step_ms.begin(), r.step_ms.end());
    r.max_ms = *std::max_element(r.step_ms.begin(), r.step_ms.end());
}

// The kernels of one whole step: the micro-step's times micro_steps, then the optimizer's.
void collect_kernels(StepRunner& runner, BenchResult& r) {
    for (KernelTime k : runner.micro_executable().profile()) {
        k.name = "micro " + k.name;
        k.seconds *= static_cast<double>(runner.micro_steps());
        r.kernels.push_back(std::move(k));
    }
    for (KernelTime k : runner.optimizer_executable().profile()) {
        k.name = "optim " + k.name;
        r.kernels.push_back(std::move(k));
    }
    std::sort(r.kernels.begin(), r.kernels.end(), [](const KernelTime& a, const KernelTime& b) { return a.seconds > b.seconds; });
    for (Executable* e : {&runner.micro_executable(), &runner.optimizer_executable()})
        for (const PlanStep& st : e->plan().steps) r.tuned_steps += st.tuned;
}

}  // namespace

double median(std::vector<double> values) {
    PG_CHECK(!values.empty(), "median of no values");
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

std::vector<std::vector<double>> time_alternating(const Hyperparams& h, const std::vector<std::string>& dbs, int warmup,
                                                  int rounds) {
    env::ScopedOverride tune("PG_TUNE", "on");
    std::vector<std::unique_ptr<Session>> sessions;
    std::vector<std::unique_ptr<StepRunner>> runners;
    for (const std::string& db : dbs) {
        env::ScopedOverride path("PG_TUNE_DB", db);
        sessions.push_back(open_session());
        runners.push_back(std::make_unique<StepRunner>(h, *sessions.back()));
    }
    std::vector<std::vector<double>> ms(dbs.size());
    for (int round = 0; round < rounds; ++round)
        for (size_t i = 0; i < runners.size(); ++i)
            ms[i].push_back(run_steps(h, *runners[i], *sessions[i], round == 0 ? warmup : 0, 1).ms.front());
    return ms;
}

std::string BenchMode::name() const { return fmt::format("{} {}", fusion ? "fused" : "unfused", tuned ? "tuned" : "heuristic"); }

double model_flops_per_token(const Hyperparams& h) {
    const GptConfig& m = h.model;
    const double d = static_cast<double>(m.model_dim);
    const double kv = d / static_cast<double>(m.num_heads) * static_cast<double>(m.num_kv_heads);
    const double per_layer = d * d + 2 * d * kv + d * d + 2 * static_cast<double>(m.mlp_mult) * d * d;
    const double weights = static_cast<double>(m.num_layers) * per_layer + static_cast<double>(m.vocab_size) * d;
    return 6 * weights + 12 * static_cast<double>(m.num_layers) * static_cast<double>(h.train_seq_len) * d;
}

BenchResult run_bench(const Hyperparams& h, const BenchMode& mode, const BenchOptions& options) {
    BenchResult r;
    r.mode = mode;
    env::ScopedOverride fusion("PG_FUSION", mode.fusion ? "1" : "0");
    env::ScopedOverride tune("PG_TUNE", mode.tuned ? "on" : "off");
    env::ScopedOverride profile("PG_PROFILE", "1");
    // The tuning database lives in the kernel cache directory by default: pin its path before the
    // cold compile moves the cache.
    env::ScopedOverride db("PG_TUNE_DB", TuningDb::default_path());
    std::optional<ColdCache> cold;
    if (options.cold) cold.emplace();
    env::ScopedOverride cache("PG_CACHE_DIR", cold ? cold->dir : env::get("PG_CACHE_DIR"));
    if (cold) {
        KernelCache::global().clear_memory();
        auto t0 = Clock::now();
        std::unique_ptr<Session> session = open_session();
        StepRunner runner(h, *session);
        r.compile_cold_s = seconds_since(t0);
    }
    KernelCache::global().clear_memory();
    auto t0 = Clock::now();
    std::unique_ptr<Session> session = open_session();
    StepRunner runner(h, *session);
    r.compile_warm_s = seconds_since(t0);
    r.target = runner.micro_executable().plan().target.to_string();
    time_steps(h, runner, *session, options, r);
    r.kernels_per_step = static_cast<int>(runner.micro_steps()) * runner.micro_executable().launches() +
                         runner.optimizer_executable().launches();
    r.state_bytes = session->bytes();
    r.private_bytes = runner.micro_executable().private_bytes() + runner.optimizer_executable().private_bytes();
    collect_kernels(runner, r);
    return r;
}

}  // namespace pg::cli
