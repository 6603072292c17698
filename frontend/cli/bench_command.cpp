// `pgolf bench`: the configured training step, fused and/or unfused, with and/or without the
// tuning database's decisions: compile time (cache cold and warm), step time (median, min, max),
// tokens/s, model FLOPs per token, MFU against the device's peak (CPU: the measured matmul peak,
// runtime/tuning/matmul_peak.h), kernels per step, memory and the slowest kernels; --json writes
// every figure and draws them beside it (<json stem>.png: step time per mode, the steps over time,
// and each mode's slowest kernels).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "base/atomic_file.h"
#include "base/error.h"
#include "base/thread_pool.h"
#include "frontend/cli/bench_run.h"
#include "frontend/cli/command.h"
#include "frontend/cli/model_args.h"
#include "frontend/report/plot.h"
#include "runtime/tuning/device_id.h"
#include "runtime/tuning/matmul_peak.h"

namespace pg::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr const char* kUsage = R"(pgolf bench [--SETTING=value ...] [options]

Builds the training step `pgolf train` runs with the same settings (NUM_LAYERS, MODEL_DIM,
TRAIN_BATCH_TOKENS, TRAIN_SEQ_LEN, ...: `pgolf env`), compiles it with an empty kernel cache
(cold) and again with the cache that compile filled (warm), and times --steps steps after
--warmup untimed ones on fixed random token batches (the same in every mode). Prints per mode:
build+compile time cold and warm, step time (median, min, max), tokens/s, model FLOPs per token,
MFU against the device's peak (on a CPU: the measured peak of a 1024^3 f32 matmul through the
runtime's OpenBLAS path), kernels per step, memory, and the slowest kernels with their share of
the step's kernel time (per-kernel clocks, PG_PROFILE, add well under 1% per step).

Options:
  --steps N            timed steps (default 20)
  --warmup N           untimed steps before them (default 3)
  --fusion on|off|both fused, unfused (PG_FUSION=0: one kernel per op) or both side by side (default on)
  --tuned on|off|both  with the tuning database's decisions (`pgolf tune`), with the heuristics, or
                       both (default on; "on" without a database is the heuristics)
  --top K              slowest kernels listed per mode (default 10)
  --cold on|off        off: skip the cold compile and compile once through the kernel cache; the
                       "warm" figure is then whatever that cache held (default on)
  --json FILE          every figure as JSON, and beside it FILE's stem .png: the step time of each
                       mode, the timed steps, and each mode's slowest kernels)";

struct Args {
    BenchOptions options;
    std::vector<BenchMode> modes;
    int top = 10;
    std::string json;
};

std::vector<bool> switch_values(const std::string& value, const std::string& flag) {
    if (value == "on") return {true};
    if (value == "off") return {false};
    PG_CHECK(value == "both", "pgolf bench: --{} takes on, off or both, got '{}'", flag, value);
    return {true, false};
}

int positive(const std::map<std::string, std::string>& o, const std::string& key, int fallback, int min) {
    auto it = o.find(key);
    if (it == o.end()) return fallback;
    int v = 0;
    try {
        v = std::stoi(it->second);
    } catch (const std::exception&) {
        v = min - 1;
    }
    PG_CHECK(v >= min, "pgolf bench: --{} needs an integer >= {}, got '{}'", key, min, it->second);
    return v;
}

Args parse_args(const std::vector<std::string>& args) {
    auto o = parse_options(args, {"steps", "warmup", "fusion", "tuned", "top", "json", "cold"}, "bench");
    Args a;
    a.options.steps = positive(o, "steps", 20, 1);
    a.options.warmup = positive(o, "warmup", 3, 0);
    a.top = positive(o, "top", 10, 0);
    a.json = o.count("json") ? o["json"] : "";
    std::vector<bool> cold = switch_values(o.count("cold") ? o["cold"] : "on", "cold");
    PG_CHECK(cold.size() == 1, "pgolf bench: --cold takes on or off");
    a.options.cold = cold[0];
    for (bool fusion : switch_values(o.count("fusion") ? o["fusion"] : "on", "fusion"))
        for (bool tuned : switch_values(o.count("tuned") ? o["tuned"] : "on", "tuned")) a.modes.push_back({fusion, tuned});
    return a;
}

struct Derived {
    double tokens_per_s = 0, flops_per_token = 0, achieved_flops = 0, mfu = 0;
};

Derived derive(const Hyperparams& h, const BenchResult& r, double peak) {
    Derived d;
    d.tokens_per_s = static_cast<double>(h.train_batch_tokens) / (r.median_ms / 1e3);
    d.flops_per_token = model_flops_per_token(h);
    d.achieved_flops = d.flops_per_token * d.tokens_per_s;
    d.mfu = peak > 0 ? d.achieved_flops / peak : 0;
    return d;
}

void print_table(const Hyperparams& h, const std::vector<BenchResult>& results, double peak) {
    fmt::print("\n{:<28}", "");
    for (const BenchResult& r : results) fmt::print("{:>22}", r.mode.name());
    auto row = [&](const char* label, auto cell) {
        fmt::print("\n{:<28}", label);
        for (const BenchResult& r : results) fmt::print("{:>22}", cell(r, derive(h, r, peak)));
    };
    row("build+compile cold (s)", [](const BenchResult& r, const Derived&) {
        return r.compile_cold_s < 0 ? std::string("-") : fmt::format("{:.2f}", r.compile_cold_s);
    });
    row("build+compile warm (s)", [](const BenchResult& r, const Derived&) { return fmt::format("{:.2f}", r.compile_warm_s); });
    row("step median (ms)", [](const BenchResult& r, const Derived&) { return fmt::format("{:.2f}", r.median_ms); });
    row("step min / max (ms)", [](const BenchResult& r, const Derived&) { return fmt::format("{:.2f} / {:.2f}", r.min_ms, r.max_ms); });
    row("tokens/s", [](const BenchResult&, const Derived& d) { return fmt::format("{:.0f}", d.tokens_per_s); });
    row("model GFLOP/s", [](const BenchResult&, const Derived& d) { return fmt::format("{:.2f}", d.achieved_flops / 1e9); });
    row("MFU (of measured peak)", [](const BenchResult&, const Derived& d) { return fmt::format("{:.1f}%", 100 * d.mfu); });
    row("kernels per step", [](const BenchResult& r, const Derived&) { return fmt::format("{}", r.kernels_per_step); });
    row("tuned plan steps", [](const BenchResult& r, const Derived&) { return fmt::format("{}", r.tuned_steps); });
    row("state memory (MiB)", [](const BenchResult& r, const Derived&) { return fmt::format("{:.2f}", r.state_bytes / 1048576.0); });
    row("arenas+inputs (MiB)", [](const BenchResult& r, const Derived&) { return fmt::format("{:.2f}", r.private_bytes / 1048576.0); });
    row("loss first -> last", [](const BenchResult& r, const Derived&) { return fmt::format("{:.4f} -> {:.4f}", r.first_loss, r.last_loss); });
    fmt::print("\n");
}

double kernel_total(const BenchResult& r) {
    double t = 0;
    for (const KernelTime& k : r.kernels) t += k.seconds;
    return t;
}

void print_top(const BenchResult& r, int top) {
    if (top == 0 || r.kernels.empty()) return;
    double total = kernel_total(r);
    fmt::print("\n{}: slowest kernels of {} ({:.2f} ms of kernel time per step)\n", r.mode.name(), r.kernels.size(), 1e3 * total);
    for (int i = 0; i < top && i < static_cast<int>(r.kernels.size()); ++i)
        fmt::print("  {:8.3f} ms {:5.1f}%  {}\n", 1e3 * r.kernels[i].seconds, 100 * r.kernels[i].seconds / total, r.kernels[i].name);
}

Json to_json(const Hyperparams& h, const BenchResult& r, double peak) {
    Derived d = derive(h, r, peak);
    Json kernels = Json::array();
    double total = kernel_total(r);
    for (const KernelTime& k : r.kernels)
        kernels.push_back({{"name", k.name}, {"kind", k.kind}, {"ms", 1e3 * k.seconds}, {"share", total > 0 ? k.seconds / total : 0}});
    return {{"mode", r.mode.name()},          {"fusion", r.mode.fusion},
            {"tuned", r.mode.tuned},          {"target", r.target}, {"clock", r.clock},
            {"compile_cold_s", r.compile_cold_s < 0 ? Json(nullptr) : Json(r.compile_cold_s)},
            {"compile_warm_s", r.compile_warm_s},
            {"step_ms", {{"median", r.median_ms}, {"min", r.min_ms}, {"max", r.max_ms}, {"all", r.step_ms}}},
            {"tokens_per_s", d.tokens_per_s}, {"model_flops_per_token", d.flops_per_token},
            {"model_flops_per_s", d.achieved_flops}, {"mfu", d.mfu},
            {"kernels_per_step", r.kernels_per_step}, {"tuned_plan_steps", r.tuned_steps},
            {"memory_bytes", {{"state", r.state_bytes}, {"arenas_and_inputs", r.private_bytes},
                              {"total", r.state_bytes + r.private_bytes}}},
            {"loss", {{"first", r.first_loss}, {"last", r.last_loss}}},
            {"kernels", kernels}};
}

Json settings_json(const Hyperparams& h, const Args& a) {
    const GptConfig& m = h.model;
    return {{"num_layers", m.num_layers}, {"model_dim", m.model_dim}, {"num_heads", m.num_heads},
            {"num_kv_heads", m.num_kv_heads}, {"mlp_mult", m.mlp_mult}, {"vocab_size", m.vocab_size},
            {"train_batch_tokens", h.train_batch_tokens}, {"train_seq_len", h.train_seq_len},
            {"steps", a.options.steps}, {"warmup", a.options.warmup}};
}

// The figure beside the JSON: median step time per mode, every timed step, each mode's slowest kernels.
report::Figure bench_figure(const std::vector<BenchResult>& results, int top) {
    report::Panel medians{"step time by mode (median)", "", "ms", {}, {}};
    report::Panel steps{"timed steps", "step", "ms", {}, {}};
    for (const BenchResult& r : results) {
        medians.bars.push_back({r.mode.name(), r.median_ms});
        report::Series s{r.mode.name(), {}, r.step_ms};
        for (size_t i = 0; i < r.step_ms.size(); ++i) s.x.push_back(static_cast<double>(i + 1));
        steps.series.push_back(std::move(s));
    }
    report::Figure f;
    f.panels = {medians, steps};
    for (const BenchResult& r : results) {
        report::Panel p{r.mode.name() + ": slowest kernels", "", "ms per step", {}, {}};
        for (int i = 0; i < std::max(top, 1) && i < static_cast<int>(r.kernels.size()); ++i)
            p.bars.push_back({r.kernels[i].name, 1e3 * r.kernels[i].seconds});
        if (!p.bars.empty()) f.panels.push_back(std::move(p));
    }
    f.height = 500 * static_cast<int>((f.panels.size() + 1) / 2);
    return f;
}

int run_bench_command(std::vector<std::string> args) {
    Args a = parse_args(args);
    Hyperparams h = read_hyperparams();
    std::unique_ptr<Session> probe = open_session();
    bool cpu = probe->device().kind() == TargetKind::Cpu;
    DeviceIdentity device = device_identity(*probe);
    probe.reset();
    fmt::print("pgolf bench: GPT {} layers, d {}, vocab {}; {} tokens per step of seq {}; {} steps after {} warm-up\n"
               "  device: {}\n",
               h.model.num_layers, h.model.model_dim, h.model.vocab_size, h.train_batch_tokens, h.train_seq_len,
               a.options.steps, a.options.warmup, device.key);
    // A GPU's peak needs its spec sheet; the CPU's is measured here.
    double peak = cpu ? cpu_matmul_peak() : 0;
    if (cpu) fmt::print("  measured matmul peak (1024^3 f32, {} threads): {:.2f} GFLOP/s\n", ThreadPool::global().num_threads(), peak / 1e9);
    std::vector<BenchResult> results;
    for (const BenchMode& mode : a.modes) {
        fmt::print("  running {} ...\n", mode.name());
        std::fflush(stdout);
        results.push_back(run_bench(h, mode, a.options));
    }
    print_table(h, results, peak);
    for (const BenchResult& r : results) print_top(r, a.top);
    if (!a.json.empty()) {
        Json modes = Json::array();
        for (const BenchResult& r : results) modes.push_back(to_json(h, r, peak));
        Json j = {{"settings", settings_json(h, a)}, {"device", device.key}, {"device_fields", device.fields},
                  {"peak_flops", peak}, {"peak_source", cpu ? "measured 1024^3 f32 matmul" : "unknown"},
                  {"modes", modes}};
        io::write_file_atomically(a.json, j.dump(2) + "\n", io::Durability::Atomic);
        std::filesystem::path png = std::filesystem::path(a.json).replace_extension(".png");
        report::write_png(png, bench_figure(results, std::min(a.top, 8)));
        fmt::print("\nwrote {} and {}\n", a.json, png.string());
    }
    return 0;
}

PG_COMMAND({.name = "bench",
            .summary = "time the configured training step: fused vs unfused, tuned vs heuristic, MFU",
            .usage = kUsage,
            .run = run_bench_command});

}  // namespace
}  // namespace pg::cli
