// `pgolf compile`: builds the configured model's whole training step (forward, backward, Adam),
// schedules it for the GPU and compiles every CUDA kernel with NVRTC, without running anything
// (no GPU needed). Prints the kernel count, compile times, cache hits and ptxas' registers and
// spills per kernel.
#include <fmt/format.h>

#include <chrono>
#include <string>
#include <vector>

#include "codegen/passes.h"
#include "frontend/cli/command.h"
#include "frontend/train_step.h"
#include "runtime/cuda/cuda_compile_plan.h"
#include "runtime/cuda/cuda_libs.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace pg::cli {
namespace {

constexpr const char* kUsage = R"(pgolf compile [--arch ARCH] [--preset tiny|baseline] [model flags] [options]

Builds the training step of the configured GPT (forward, backward and Adam updates), schedules it
for the GPU and compiles every CUDA kernel with NVRTC. Nothing runs, so no GPU is needed. Prints
every kernel's launch mapping, registers and spills (ptxas), then the totals: kernel count,
compile wall time, the slowest NVRTC program and the cache hits.

Options:
  --arch ARCH            target GPU architecture, e.g. sm_90a (H100) or sm_80 (A100); default:
                         PG_CUDA_ARCH, else the installed GPU's
  --preset NAME          baseline (9 layers, d 512, the challenge's) or tiny (2 layers, d 64,
                         vocab 96, batch 4 x 32); the flags and settings below override it
  --num-layers N  --model-dim N  --num-heads N  --num-kv-heads N  --vocab-size N  --mlp-mult N
                         the GPT's shape (the settings NUM_LAYERS, MODEL_DIM, ...; `pgolf env`)
  --batch N              sequences per device (default 64: 524288 tokens over 8 GPUs)
  --seq-len N            tokens per sequence (default 1024; the setting TRAIN_SEQ_LEN)
  --unfused              one kernel per op (as PG_FUSION=0)
  --no-cache             compile everything, ignoring and not filling the kernel cache
  --quiet                totals only, no per-kernel table)";

struct CompileArgs {
    std::string arch;
    GptConfig model;
    int64_t batch = 64, seq_len = 1024;
    bool tiny = false, unfused = false, use_cache = true, quiet = false;
};

int64_t parse_count(const std::string& flag, const std::string& value) {
    size_t used = 0;
    int64_t v = 0;
    try {
        v = std::stoll(value, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    PG_CHECK(used == value.size() && used > 0 && v > 0, "{} expects a positive whole number, got '{}'", flag, value);
    return v;
}

// A registered training setting (NUM_LAYERS, ...) that is set to something other than its default
// wins over the preset: its --flag was consumed as the setting by apply_knob_flags before these
// arguments were parsed.
bool setting_given(const char* knob) {
    const env::Knob* k = env::find(knob);
    return k != nullptr && env::get(knob) != k->default_value;
}
void apply_setting(const char* knob, int64_t& field) {
    if (setting_given(knob)) field = env::get_int(knob);
}
void apply_setting(const char* knob, double& field) {
    if (setting_given(knob)) field = env::get_float(knob);
}

CompileArgs parse_args(const std::vector<std::string>& args) {
    CompileArgs a;
    std::vector<std::pair<std::string, std::string>> model_flags;
    for (size_t i = 0; i < args.size(); ++i) {
        std::string flag = args[i], inline_value;
        bool has_inline = false;
        if (auto eq = flag.find('='); flag.rfind("--", 0) == 0 && eq != std::string::npos) {
            inline_value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
            has_inline = true;
        }
        auto value = [&]() -> std::string {
            if (has_inline) return inline_value;
            PG_CHECK(i + 1 < args.size(), "{} needs a value", flag);
            return args[++i];
        };
        if (flag == "--arch") {
            a.arch = value();
        } else if (flag == "--preset") {
            std::string m = value();
            PG_CHECK(m == "baseline" || m == "tiny", "--preset is baseline or tiny, got '{}'", m);
            a.tiny = m == "tiny";
        } else if (flag == "--num-layers" || flag == "--model-dim" || flag == "--num-heads" || flag == "--num-kv-heads" ||
                   flag == "--vocab-size" || flag == "--mlp-mult" || flag == "--batch" || flag == "--seq-len") {
            model_flags.emplace_back(flag, value());
        } else if (flag == "--unfused" || flag == "--no-cache" || flag == "--quiet") {
            PG_CHECK(!has_inline, "{} takes no value", flag);
            a.unfused |= flag == "--unfused";
            a.use_cache &= flag != "--no-cache";
            a.quiet |= flag == "--quiet";
        } else {
            throw Error(fmt::format("unknown argument '{}'; `pgolf compile --help` lists the options", args[i]));
        }
    }
    if (a.tiny) {
        a.model.vocab_size = 96;
        a.model.num_layers = 2;
        a.model.model_dim = 64;
        a.model.num_heads = 4;
        a.model.num_kv_heads = 2;
        a.batch = 4;
        a.seq_len = 32;
    }
    apply_setting("NUM_LAYERS", a.model.num_layers);
    apply_setting("MODEL_DIM", a.model.model_dim);
    apply_setting("NUM_HEADS", a.model.num_heads);
    apply_setting("NUM_KV_HEADS", a.model.num_kv_heads);
    apply_setting("VOCAB_SIZE", a.model.vocab_size);
    apply_setting("MLP_MULT", a.model.mlp_mult);
    apply_setting("TRAIN_SEQ_LEN", a.seq_len);
    apply_setting("ROPE_BASE", a.model.rope_base);
    apply_setting("LOGIT_SOFTCAP", a.model.logit_softcap);
    apply_setting("QK_GAIN_INIT", a.model.qk_gain_init);
    apply_setting("TIED_EMBED_INIT_STD", a.model.tied_embed_init_std);
    for (const auto& [flag, v] : model_flags) {
        int64_t n = parse_count(flag, v);
        if (flag == "--num-layers") a.model.num_layers = n;
        if (flag == "--model-dim") a.model.model_dim = n;
        if (flag == "--num-heads") a.model.num_heads = n;
        if (flag == "--num-kv-heads") a.model.num_kv_heads = n;
        if (flag == "--vocab-size") a.model.vocab_size = n;
        if (flag == "--mlp-mult") a.model.mlp_mult = n;
        if (flag == "--batch") a.batch = n;
        if (flag == "--seq-len") a.seq_len = n;
    }
    return a;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run_compile(std::vector<std::string> args) {
    CompileArgs a = parse_args(args);
    const GptConfig& m = a.model;
    LibraryStatus nvrtc = nvrtc_status();
    PG_CHECK(nvrtc.ok, "{}", nvrtc.detail);
    if (a.arch.empty() && env::get("PG_CUDA_ARCH").empty()) {
        std::string why = cuda_unavailable_reason();
        PG_CHECK(why.empty(), "no GPU to take the architecture from ({}); pass --arch, e.g. --arch sm_90a (H100) or "
                 "--arch sm_80 (A100)", why);
    }
    a.arch = CudaProgram::resolve_arch(a.arch);  // fail on a bad --arch before building anything
    fmt::print("pgolf compile: GPT {} layers, d {}, {} heads / {} kv, vocab {}, mlp x{}; batch {} x {}; {}\n",
               m.num_layers, m.model_dim, m.num_heads, m.num_kv_heads, m.vocab_size, m.mlp_mult, a.batch, a.seq_len,
               a.unfused ? "unfused" : "fused");
    fmt::print("  compiler: {}\n", nvrtc.detail);

    auto t0 = std::chrono::steady_clock::now();
    TrainStepGraph step = build_gpt_adam_step(m, a.batch, a.seq_len, AdamConfig{});
    double build_s = seconds_since(t0);
    auto t1 = std::chrono::steady_clock::now();
    Graph g = run_passes(*step.graph);
    double passes_s = seconds_since(t1);
    ScheduleOptions so = cuda_schedule_options();
    so.fusion = so.fusion && !a.unfused;
    CompiledCudaPlan plan = compile_cuda_plan(g, so, {a.arch, a.use_cache});
    const CudaCompileStats& st = plan.program->stats();
    fmt::print("  graph: {} nodes after passes (build {:.2f} s, passes {:.2f} s); {} (planned in {:.2f} s)\n", g.size(),
               build_s, passes_s, describe(g, plan.schedule, false), plan.plan_seconds);

    if (!a.quiet) {
        fmt::print("\n{:<20} {:>5} {:>8} {:>13} {:>6}  {}\n", "kernel", "batch", "regs", "spill st/ld", "cache",
                   "mapping");
        for (size_t i = 0; i < plan.kernels.size(); ++i) {
            const CudaKernelReport& r = plan.program->report(i);
            std::string regs, spills;
            for (const CudaEntryReport& e : r.entries) {
                regs += fmt::format("{}{}", regs.empty() ? "" : "/", e.registers);
                spills += fmt::format("{}{}/{}", spills.empty() ? "" : " ", e.spill_stores, e.spill_loads);
            }
            fmt::print("{:<20} {:>5} {:>8} {:>13} {:>6}  {}\n", r.name, r.batch, regs, spills, r.cache_hit ? "hit" : "-",
                       plan.kernels[i].source.mapping);
        }
        fmt::print("\n");
    }
    fmt::print("{}\n", to_string(st));
    fmt::print("total: {} kernels ({} distinct) for {}, compiled in {:.2f} s wall (slowest NVRTC program {:.2f} s), "
               "{} from the cache; whole command {:.2f} s\n",
               st.kernels, st.distinct, st.arch, st.seconds, st.slowest_batch_seconds, st.cache_hits,
               seconds_since(t0));
    return 0;
}

PG_COMMAND({.name = "compile",
            .summary = "compile every CUDA kernel of the model's training step with NVRTC (no GPU needed)",
            .usage = kUsage,
            .run = run_compile});

}  // namespace
}  // namespace pg::cli
