// Parity with PyTorch on CPU (the external oracle, tests/parity/baseline_gpt.py written from the
// spec): from the same weights and batch, moved through safetensors, the loss and every parameter
// gradient match in fp32, and one optimizer step (Muon on block matrices, Adam on the rest)
// gives the same parameters. Skips with a printed reason where Debian's python3-torch is absent.
//
// Tolerances (normwise relative, see graph/tensor_data.h): loss 1e-5 — both sides run ~300 fp32
// ops whose rounding (6e-8 each) adds up to a few 1e-7, with different summation orders; gradients
// 1e-4 — the backward pass doubles the depth and sums over the batch in different orders, and
// small gradients of zero-mean sums lose relative precision; parameters after one step 1e-4 —
// Adam's first step is lr * g / (|g| + eps), whose sign flips only for |g| near 0, and Muon's
// five f32 Newton–Schulz iterations amplify input differences by at most ~10x.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "frontend/export/safetensors.h"
#include "frontend/train/step_runner.h"
#include "graph/autodiff.h"
#include "runtime/cpu_executable.h"
#include "base/env.h"

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

    void write_config(const std::string& ns_dtype) const {
        std::ofstream(dir / "config.json") << fmt::format(
            R"({{"vocab": {}, "layers": {}, "dim": {}, "heads": {}, "kv_heads": {}, "mlp_mult": {},
                "ns_dtype": "{}", "ns_steps": 5, "matrix_lr": 0.04, "scalar_lr": 0.04, "embed_lr": 0.05,
                "muon_momentum": 0.9, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8}})",
            cfg.vocab_size, cfg.num_layers, cfg.model_dim, cfg.num_heads, cfg.num_kv_heads, cfg.mlp_mult, ns_dtype);
    }

    io::TensorMap run_torch(const std::string& mode, const std::map<std::string, HostTensor>& weights) const {
        io::TensorMap in = weights;
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

TEST_CASE("frontend: loss and every gradient match PyTorch (fp32)") {
    if (!torch_available()) {
        MESSAGE("skipped: /usr/bin/python3 cannot import torch (Debian python3-torch)");
        return;
    }
    Fixture fx;
    fx.write_config("f32");
    Graph g;
    ParamSet ps(g);
    Tensor ids = input(g, "ids", {fx.B, fx.T}, DType::i64);
    Tensor targets = input(g, "targets", {fx.B, fx.T}, DType::i64);
    Tensor loss = gpt_loss(ps, fx.cfg, ids, targets);
    g.set_output("loss", loss.id());
    std::vector<NodeId> wrt;
    for (const ParamSpec& p : ps.specs()) wrt.push_back(p.node);
    std::vector<NodeId> grads = gradients(g, loss.id(), wrt);
    for (size_t i = 0; i < wrt.size(); ++i) g.set_output("grad." + ps.specs()[i].name, grads[i]);

    auto weights = random_weights(ps, 11);
    std::unique_ptr<Session> session = open_session("cpu");
    CpuExecutable exe(*session, g);
    for (const auto& [name, value] : weights) exe.set(name, value);
    exe.set("ids", fx.ids);
    exe.set("targets", fx.targets);
    exe.run();

    io::TensorMap ref = fx.run_torch("grads", weights);
    double ours = exe.get("loss").get(0), theirs = ref.at("loss").get(0);
    MESSAGE(fmt::format("loss: pgolf {:.7f}, torch {:.7f}", ours, theirs));
    CHECK(std::fabs(ours - theirs) <= 1e-5 * std::fabs(theirs));
    double worst = 0;
    for (const ParamSpec& p : ps.specs()) {
        double err = max_rel_error(exe.get("grad." + p.name), ref.at("grad." + p.name));
        worst = std::max(worst, err);
        INFO("gradient of ", p.name);
        CHECK(err <= 1e-4);
    }
    MESSAGE(fmt::format("{} gradients, worst normwise relative error {:.2e}", ps.specs().size(), worst));
}

TEST_CASE("frontend: one training step (2 micro-steps, Muon + Adam) matches PyTorch (fp32 Newton-Schulz)") {
    if (!torch_available()) {
        MESSAGE("skipped: /usr/bin/python3 cannot import torch (Debian python3-torch)");
        return;
    }
    Fixture fx;
    fx.write_config("f32");
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", "f32");
    // The trainer's step: WORLD_SIZE=4 makes grad_accum 2, so the batch's two sequences run as
    // two micro-steps of one sequence each, accumulated, then the optimizer graph (PyTorch takes
    // both sequences in one step: equal-sized micro-batches give the same mean loss).
    Hyperparams h;
    h.model = fx.cfg;
    h.train_seq_len = fx.T;
    h.world_size = 4;
    h.train_batch_tokens = fx.B * fx.T * h.world_size;
    h.beta1 = 0.9;
    h.beta2 = 0.95;
    h.adam_eps = 1e-8;
    h.tied_embed_lr = 0.05;
    h.scalar_lr = 0.04;
    h.matrix_lr = 0.04;
    h.muon_momentum = 0.9;
    h.muon_momentum_warmup_steps = 0;
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    REQUIRE(runner.micro_steps() == 2);
    REQUIRE(runner.micro_rows() == 1);
    auto weights = random_weights(*runner.graphs().optimizer.params, 12);
    for (const auto& [name, value] : runner.initial_state(0)) runner.set_state(name, value);  // zero state
    for (const auto& [name, value] : weights) runner.set_state(name, value);
    HostTensor ids = fx.ids.to(DType::i32), targets = fx.targets.to(DType::i32);
    runner.set_scalars(0, 1.0);
    runner.run([&](int64_t micro, HostTensor& mids, HostTensor& mtargets) {
        std::memcpy(mids.data(), ids.bytes.data() + micro * mids.bytes.size(), mids.bytes.size());
        std::memcpy(mtargets.data(), targets.bytes.data() + micro * mtargets.bytes.size(), mtargets.bytes.size());
    });

    io::TensorMap ref = fx.run_torch("update", weights);
    double worst_muon = 0, worst_adam = 0;
    for (const ParamSpec& p : runner.graphs().model_specs) {
        double err = max_rel_error(runner.get_state(p.name), ref.at(p.name));
        (p.group == "matrix" ? worst_muon : worst_adam) = std::max(p.group == "matrix" ? worst_muon : worst_adam, err);
        INFO("updated ", p.name, " (", p.group, ")");
        CHECK(err <= 1e-4);
    }
    MESSAGE(fmt::format("after one step: worst error Muon params {:.2e}, Adam params {:.2e}", worst_muon, worst_adam));
}

}  // namespace pg
