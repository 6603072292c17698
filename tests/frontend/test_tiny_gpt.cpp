// The tiny GPT (2 blocks, d=64, GQA attention, relu² MLP, tied embeddings, softcap CE) trains
// with Adam through the CPU JIT: the loss falls, the fused and unfused plans give the same
// losses, and fusion launches clearly fewer kernels.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <random>

#include "frontend/train_step.h"
#include "graph/interpreter.h"
#include "runtime/cpu_executable.h"

namespace pg {
namespace {

GptConfig tiny_config() {
    GptConfig c;
    c.vocab_size = 96;
    c.num_layers = 2;
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    c.mlp_mult = 2;
    return c;
}

// Random tokens from a skewed distribution (token = floor(V * u^3)): a unigram model can learn
// it, so the loss must fall well below ln V within a few dozen steps.
std::vector<HostTensor> random_batches(int count, int64_t B, int64_t T, int64_t V, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<double> u(0, 1);
    std::vector<HostTensor> out;
    for (int i = 0; i < count; ++i) {
        HostTensor t(DType::i64, {B, T + 1});
        for (int64_t k = 0; k < t.numel(); ++k) t.set(k, std::floor(static_cast<double>(V) * std::pow(u(rng), 3.0)));
        out.push_back(std::move(t));
    }
    return out;
}

void split(const HostTensor& seq, HostTensor& ids, HostTensor& targets) {
    int64_t B = seq.shape[0], T = seq.shape[1] - 1;
    ids = HostTensor(DType::i64, {B, T});
    targets = HostTensor(DType::i64, {B, T});
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T; ++t) {
            ids.set(b * T + t, seq.get(b * (T + 1) + t));
            targets.set(b * T + t, seq.get(b * (T + 1) + t + 1));
        }
}

std::vector<double> train(const TrainStepGraph& step, const std::vector<HostTensor>& batches, int steps,
                          const ScheduleOptions& opts, int* launches) {
    CpuExecutable exe(*step.graph, opts);
    for (const auto& [name, value] : step.params->initialize(1337))
        if (exe.has_leaf(name)) exe.set(name, value);
    *launches = exe.stats().launches();
    std::vector<double> losses;
    for (int s = 0; s < steps; ++s) {
        HostTensor ids, targets;
        split(batches[s % batches.size()], ids, targets);
        exe.set("ids", ids);
        exe.set("targets", targets);
        exe.set_scalar("step", s + 1);
        exe.set_scalar("lr.embed", 0.05);
        exe.set_scalar("lr.matrix", 0.01);
        exe.set_scalar("lr.scalar", 0.01);
        exe.run();
        losses.push_back(exe.get("loss").get(0));
    }
    return losses;
}

// The reference interpreter's loss of the step's first batch, from the initial weights.
double interpreter_loss(const TrainStepGraph& step, const HostTensor& batch) {
    Feeds feeds;
    for (auto& [name, value] : step.params->initialize(1337)) feeds[name] = value;
    HostTensor ids, targets;
    split(batch, ids, targets);
    feeds["ids"] = ids;
    feeds["targets"] = targets;
    for (const char* s : {"step", "lr.embed", "lr.matrix", "lr.scalar"})
        feeds[s] = HostTensor::from_doubles(DType::f32, {}, {1.0});
    return interpret(*step.graph, feeds, {step.graph->output("loss")})[0].get(0);
}

}  // namespace

TEST_CASE("frontend: tiny GPT trains with Adam through the CPU JIT, fused == unfused") {
    const int64_t B = 4, T = 32;
    GptConfig cfg = tiny_config();
    TrainStepGraph step = build_gpt_adam_step(cfg, B, T, AdamConfig{});
    auto batches = random_batches(4, B, T, cfg.vocab_size, 7);

    // The first step's loss equals the reference interpreter's on the same weights and batch.
    {
        double ref = interpreter_loss(step, batches[0]);
        int launches = 0;
        double got = train(step, batches, 1, schedule_options_from_env(), &launches)[0];
        // fp32 forward of ~200 ops vs fp64: 1e-5 relative.
        CHECK(std::fabs(got - ref) <= 1e-5 * std::fabs(ref));
        CHECK(std::fabs(ref - std::log(static_cast<double>(cfg.vocab_size))) < 0.5);
    }

    int fused_launches = 0, unfused_launches = 0;
    ScheduleOptions fused = schedule_options_from_env();
    ScheduleOptions unfused = fused;
    unfused.fusion = false;
    std::vector<double> lf = train(step, batches, 50, fused, &fused_launches);
    std::vector<double> lu = train(step, batches, 50, unfused, &unfused_launches);
    MESSAGE(fmt::format("kernels per step: fused {}, unfused {}; loss {:.4f} -> {:.4f}", fused_launches,
                        unfused_launches, lf.front(), lf.back()));
    CHECK(lf.back() < lf.front() - 0.5);
    for (size_t i = 0; i < lf.size(); ++i) {
        INFO("step ", i);
        CHECK(std::fabs(lf[i] - lu[i]) <= 1e-5 * std::fabs(lu[i]));
    }
    CHECK(fused_launches * 2 < unfused_launches);
}

TEST_CASE("frontend: tiny GPT with bf16 activations (fp32 masters) matches the interpreter and trains") {
    const int64_t B = 4, T = 32;
    GptConfig cfg = tiny_config();
    cfg.compute_dtype = DType::bf16;
    TrainStepGraph step = build_gpt_adam_step(cfg, B, T, AdamConfig{});
    auto batches = random_batches(4, B, T, cfg.vocab_size, 9);
    double ref = interpreter_loss(step, batches[0]);
    int launches = 0;
    std::vector<double> losses = train(step, batches, 30, schedule_options_from_env(), &launches);
    MESSAGE(fmt::format("bf16: first loss {:.5f} (interpreter {:.5f}), after 30 steps {:.4f}", losses[0], ref,
                        losses.back()));
    // Both sides round every bf16 node identically; an f32-vs-f64 difference before a rounding can
    // flip single elements by one bf16 ulp (2^-8), which the mean over 128 tokens mostly averages:
    // 5e-3 relative on the loss.
    CHECK(std::fabs(losses[0] - ref) <= 5e-3 * std::fabs(ref));
    CHECK(losses.back() < losses.front() - 0.5);
}

}  // namespace pg
