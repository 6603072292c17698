// Parity with PyTorch on CPU (the external oracle, tests/parity/baseline_gpt.py written from the
// spec): from the same weights and batch, moved through safetensors, the loss and every parameter
// gradient match in fp32; and the trainer's own step path (StepRunner: micro-step graphs with
// gradient accumulation, then the Muon + Adam optimizer graph, in a session) matches the oracle's
// training loop over three steps, weights and every optimizer-state tensor after each step, with
// both Newton-Schulz dtypes. Skips with a printed reason where Debian's python3-torch is absent.
//
// Tolerances (normwise relative, see graph/tensor_data.h): loss 1e-5 — both sides run ~300 fp32
// ops whose rounding (6e-8 each) adds up to a few 1e-7, with different summation orders; gradients
// 1e-4 — the backward pass doubles the depth and sums over the batch in different orders, and
// small gradients of zero-mean sums lose relative precision; the training steps: see
// parity_tolerance.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "base/env.h"
#include "frontend/export/safetensors.h"
#include "frontend/train/step_runner.h"
#include "frontend/train/trainer.h"
#include "graph/autodiff.h"
#include "runtime/cpu_executable.h"
#include "tests/support/skip.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

const char* kPython = "/usr/bin/python3";

bool torch_available() {
    return std::system(fmt::format("{} -c 'import torch' >/dev/null 2>&1", kPython).c_str()) == 0;
}

GptConfig parity_config() {
    GptConfig c;
    c.vocab_size = 96;
    c.num_layers = 3;  // one encoder block, two decoder blocks: a skip connection and a block without
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.mlp_mult = 2;
    return c;
}

// Random weights everywhere (the baseline's zero-initialised projections would make many
// gradients trivially zero).
std::map<std::string, HostTensor> random_weights(const ParamSet& ps, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::map<std::string, HostTensor> w;
    for (const ParamSpec& p : ps.specs()) {
        if (p.group == "state" || p.group == "gradacc") continue;
        HostTensor t(DType::f32, p.shape);
        double scale = p.shape.size() == 2 && p.group != "scalar" ? 1.0 / std::sqrt(static_cast<double>(p.shape[1])) : 0.2;
        std::normal_distribution<double> d(0, scale);
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, (p.group == "scalar" ? 1.0 : 0.0) + d(rng));
        w.emplace(p.name, std::move(t));
    }
    return w;
}

struct Fixture {
    std::filesystem::path dir;
    GptConfig cfg = parity_config();
    int64_t B = 2, T = 16;
    HostTensor ids{DType::i64, {2, 16}}, targets{DType::i64, {2, 16}};

    Fixture() {
        dir = std::filesystem::temp_directory_path() / fmt::format("pgolf_parity_{}", ::getpid());
        std::filesystem::create_directories(dir);
        std::mt19937_64 rng(3);
        for (int64_t i = 0; i < ids.numel(); ++i) {
            ids.set(i, static_cast<double>(rng() % 96));
            targets.set(i, static_cast<double>(rng() % 96));
        }
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    // The model, and the trainer's settings the oracle reproduces (h's; unused by "grads").
    void write_config(const std::string& ns_dtype, const Hyperparams& h = {}, int steps = 0,
                      bool autocast = false) const {
        std::ofstream(dir / "config.json") << fmt::format(
            R"({{"vocab": {}, "layers": {}, "dim": {}, "heads": {}, "kv_heads": {}, "mlp_mult": {},
                "ns_dtype": "{}", "ns_steps": {}, "matrix_lr": {}, "scalar_lr": {}, "embed_lr": {},
                "muon_momentum": {}, "muon_momentum_warmup_start": {}, "muon_momentum_warmup_steps": {},
                "iterations": {}, "warmdown_iters": {}, "beta1": {}, "beta2": {}, "eps": {},
                "steps": {}, "micro_steps": {}, "autocast": {}}})",
            cfg.vocab_size, cfg.num_layers, cfg.model_dim, cfg.num_heads, cfg.num_kv_heads, cfg.mlp_mult, ns_dtype,
            h.muon_backend_steps, h.matrix_lr, h.scalar_lr, h.tied_embed_lr, h.muon_momentum,
            h.muon_momentum_warmup_start, h.muon_momentum_warmup_steps, h.iterations, h.warmdown_iters, h.beta1,
            h.beta2, h.adam_eps, steps, h.grad_accum_steps(), autocast ? "true" : "false");
    }

    io::TensorMap run_torch(const std::string& mode, const std::map<std::string, HostTensor>& weights,
                            const io::TensorMap& batches = {}) const {
        io::TensorMap in = weights;
        in.insert(batches.begin(), batches.end());
        in["batch.ids"] = ids;
        in["batch.targets"] = targets;
        io::write_safetensors(dir / "in.safetensors", in);
        std::string cmd = fmt::format("{} {}/tests/parity/run_parity.py {} {} {} {}", kPython, PG_SOURCE_DIR, mode,
                                      (dir / "config.json").string(), (dir / "in.safetensors").string(),
                                      (dir / "out.safetensors").string());
        REQUIRE(std::system(cmd.c_str()) == 0);
        return io::read_safetensors(dir / "out.safetensors").tensors;
    }
};

}  // namespace

namespace {

struct GradRun {
    double loss = 0, torch_loss = 0;
    std::map<std::string, double> errors;  // normwise relative error of each gradient
};

// The loss and every gradient of the model on the fixture's batch, from random weights, in pgolf
// (activations in cfg.compute_dtype) and in the oracle (under CPU autocast to bf16 when `autocast`).
GradRun compare_gradients(Fixture& fx, const GptConfig& cfg, bool autocast) {
    fx.write_config("f32", {}, 0, autocast);
    Graph g;
    ParamSet ps(g);
    Tensor ids = input(g, "ids", {fx.B, fx.T}, DType::i64);
    Tensor targets = input(g, "targets", {fx.B, fx.T}, DType::i64);
    Tensor loss = gpt_loss(ps, cfg, ids, targets);
    g.set_output("loss", loss.id());
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : ps.specs()) wrt.push_back(p.node);
    std::vector<NodeId> grads = gradients(g, loss.id(), wrt);
    for (size_t i = 0; i < wrt.size(); ++i) g.set_output("grad." + ps.specs()[i].name, grads[i]);

    auto weights = random_weights(ps, 11);
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, g);
    for (const ParamSpec& p : ps.specs()) {
        HostTensor w = weights.at(p.name).to(p.dtype);  // a bf16 embedding: both sides start from its values
        exe.set(p.name, w);
        weights[p.name] = w.to(DType::f32);
    }
    exe.set("ids", fx.ids);
    exe.set("targets", fx.targets);
    exe.run();
    io::TensorMap ref = fx.run_torch("grads", weights);
    GradRun r{exe.get("loss").get(0), ref.at("loss").get(0), {}};
    for (const ParamSpec& p : ps.specs())
        r.errors[p.name] = max_rel_error(exe.get("grad." + p.name).to(DType::f32), ref.at("grad." + p.name));
    return r;
}

}  // namespace

TEST_CASE("frontend: loss and every gradient match PyTorch (fp32)") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    Fixture fx;
    GradRun r = compare_gradients(fx, fx.cfg, false);
    MESSAGE(fmt::format("loss: pgolf {:.7f}, torch {:.7f}", r.loss, r.torch_loss));
    CHECK(std::fabs(r.loss - r.torch_loss) <= 1e-5 * std::fabs(r.torch_loss));
    double worst = 0;
    for (const auto& [name, err] : r.errors) {
        worst = std::max(worst, err);
        INFO("gradient of ", name);
        CHECK(err <= 1e-4);
    }
    MESSAGE(fmt::format("{} gradients, worst normwise relative error {:.2e}", r.errors.size(), worst));
}

TEST_CASE("frontend: with bf16 activations, loss and gradients match PyTorch under CPU autocast") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    Fixture fx;
    GptConfig cfg = fx.cfg;
    cfg.compute_dtype = DType::bf16;
    GradRun r = compare_gradients(fx, cfg, true);
    std::vector<std::pair<double, std::string>> sorted;
    for (const auto& [name, err] : r.errors) sorted.emplace_back(err, name);
    std::sort(sorted.begin(), sorted.end());
    MESSAGE(fmt::format("bf16: loss pgolf {:.6f}, torch autocast {:.6f}; {} gradients, median error {:.2e}, worst "
                        "{:.2e} ({})",
                        r.loss, r.torch_loss, sorted.size(), sorted[sorted.size() / 2].first, sorted.back().first,
                        sorted.back().second));
    // The two differ in where they round: pgolf rounds every activation op to bf16 (2^-9 relative
    // each), autocast only the matmuls' outputs, keeping fp32 in between. The mean over 32 tokens'
    // losses averages the differences (measured 5.8e-4 relative): 2e-3. Gradients pass ~40 ops
    // each way; most differ by ~1.5e-2 (measured median), and those of the per-channel control
    // tensors (q_gain, attn_scale, ...), sums over every token whose terms cancel, by up to 3e-2
    // (measured worst, q_gain): 6e-2.
    CHECK(std::fabs(r.loss - r.torch_loss) <= 2e-3 * std::fabs(r.torch_loss));
    for (const auto& [name, err] : r.errors) {
        INFO("gradient of ", name);
        CHECK(err <= 6e-2);
    }
}

namespace {

// The tolerance (normwise relative) of a weight or optimizer-state tensor after any of the steps,
// by kind: the param group of a weight, or the state's kind (momentum_buffer, exp_avg, exp_avg_sq).
double parity_tolerance(const std::string& kind, bool bf16_ns) {
    // f32 Newton-Schulz: every tensor is a short chain of fp32 ops over gradients that agree to
    // ~1e-6 (the first case); five Newton-Schulz iterations amplify differences ~10x, and each
    // step feeds the weights back into the next gradients: 1e-4 (measured worst: 1.4e-5, embed).
    if (!bf16_ns) return 1e-4;
    // bf16 Newton-Schulz: both sides round every iterate to bf16 (2^-8 = 4e-3 relative), but an
    // fp32 difference in a sum flips single roundings, differently in the two implementations'
    // summation orders, so Muon's updates differ by ~1e-2 of their size. Measured worst after
    // three steps: matrix weights 3.0e-3 (the update is ~lr / |w| ~ 30% of them), and, because the
    // second and third steps' gradients are taken at those weights, momentum 4.5e-3, exp_avg
    // 6.7e-3, exp_avg_sq 5.1e-3, scalars 5.1e-4. The tied embedding is worst (2.2e-2): Adam scales
    // each element's gradient to about lr, and rows of rarely seen tokens have gradients near zero
    // whose sign the weight difference flips, each flip moving an element by up to 2 lr = 0.1
    // against elements of ~0.125. Tolerances about 2.5x the measured worst:
    if (kind == "embed") return 5e-2;
    if (kind == "scalar") return 2e-3;
    if (kind == "matrix") return 1e-2;
    return 2e-2;  // momentum_buffer, exp_avg, exp_avg_sq
}

void check_training_parity(const std::string& ns_dtype) {
    Fixture fx;
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", ns_dtype);
    Hyperparams h = testing::parity_training(fx.cfg, fx.T);
    const int steps = 3;
    fx.write_config(ns_dtype, h, steps);
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    REQUIRE(runner.micro_steps() == 2);
    REQUIRE(runner.micro_rows() == 2);
    auto weights = random_weights(*runner.graphs().optimizer.params, 12);
    for (const auto& [name, value] : runner.initial_state(0)) runner.set_state(name, value);  // zero state
    for (const auto& [name, value] : weights) runner.set_state(name, value);
    io::TensorMap batches;
    std::mt19937_64 rng(5);
    for (int s = 0; s < steps; ++s)
        for (int m = 0; m < 2; ++m)
            for (const char* part : {"ids", "targets"}) {
                HostTensor t(DType::i32, {2, fx.T});
                for (int64_t i = 0; i < t.numel(); ++i) t.set(i, static_cast<double>(rng() % 96));
                batches[fmt::format("batch.s{}.m{}.{}", s, m, part)] = t;
            }
    io::TensorMap ref = fx.run_torch("train", weights, batches);
    std::map<std::string, double> worst;  // by group, optimizer state by kind
    for (int s = 0; s < steps; ++s) {
        runner.set_scalars(s, lr_multiplier(h, s, 0));
        runner.run([&](int64_t m, HostTensor& ids, HostTensor& targets) {
            ids = batches.at(fmt::format("batch.s{}.m{}.ids", s, m));
            targets = batches.at(fmt::format("batch.s{}.m{}.targets", s, m));
        });
        for (const ParamSpec& p : runner.state_specs()) {
            double err = max_rel_error(runner.get_state(p.name), ref.at(fmt::format("s{}.{}", s, p.name)));
            std::string kind = p.group == "state" ? p.name.substr(p.name.rfind('.') + 1) : p.group;
            worst[kind] = std::max(worst[kind], err);
            INFO("after step ", s + 1, ": ", p.name, " (", kind, ")");
            CHECK(err <= parity_tolerance(kind, ns_dtype == "bf16"));
        }
    }
    std::string summary;
    for (const auto& [kind, err] : worst) summary += fmt::format(" {} {:.1e}", kind, err);
    MESSAGE(fmt::format("{} NS: {} state tensors after each of {} steps; worst normwise relative error by kind:{}",
                        ns_dtype, runner.state_specs().size(), steps, summary));
}

}  // namespace

TEST_CASE("frontend: three training steps (2 micro-steps each, Muon + Adam, schedules active) match PyTorch, f32 Newton-Schulz") {
    if (!torch_available()) {
        PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    }
    check_training_parity("f32");
}

TEST_CASE("frontend: three training steps match PyTorch with bf16 Newton-Schulz (the default)") {
    if (!torch_available()) {
        PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    }
    check_training_parity("bf16");
}

}  // namespace pg
