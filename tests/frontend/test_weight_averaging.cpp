// SWA and EMA as device state (frontend/train/weight_averaging.h): over three real training steps
// of the tiny GPT with snapshots taken after steps 1 and 3 only, the device's swa_sum equals the
// sum of the weights read back after those steps (exact: the same f32 additions), swa_count is 2,
// and the exported weights are their mean; with the EMA on, the exported weights are the EMA
// shadow, which after step 1 equals δ·w0 + (1−δ)·w1 of the weights read back (f32 rounding of two
// products and a sum: 1e-6 relative). With SWA_MAX_SNAPSHOTS=2 and a snapshot offered after every
// one of three steps, the sum holds the first two steps' weights only (exact) and the count is 2.
#include <doctest/doctest.h>

#include <random>

#include "frontend/train/step_runner.h"
#include "frontend/train/weight_averaging.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

void fill_batch(std::mt19937_64& rng, HostTensor& ids, HostTensor& targets) {
    for (int64_t i = 0; i < ids.numel(); ++i) {
        ids.set(i, static_cast<double>(rng() % 96));
        targets.set(i, static_cast<double>(rng() % 96));
    }
}

}  // namespace

TEST_CASE("weight averaging: SWA sums the chosen steps' weights on the device, EMA tracks them, export takes the average") {
    Hyperparams h = testing::tiny_training(1);
    h.recipe.swa = true;
    h.recipe.ema = true;
    h.recipe.ema_decay = 0.75;
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(3)) runner.set_state(name, value);
    const std::vector<ParamSpec>& specs = runner.graphs().model_specs;
    std::map<std::string, HostTensor> w0, sum;
    for (const ParamSpec& p : specs) w0[p.name] = runner.get_state(p.name).to(DType::f32);
    std::mt19937_64 rng(1);
    std::map<std::string, HostTensor> w1;
    for (int s = 0; s < 3; ++s) {
        StepSchedule sched;
        sched.swa_take = s != 1;
        runner.set_scalars(s, sched);
        runner.run([&](int64_t, HostTensor& ids, HostTensor& targets) { fill_batch(rng, ids, targets); });
        for (const ParamSpec& p : specs) {
            HostTensor w = runner.get_state(p.name).to(DType::f32);
            if (s == 0) w1[p.name] = w;
            if (!sched.swa_take) continue;
            if (!sum.count(p.name)) sum[p.name] = HostTensor(DType::f32, p.shape);
            for (int64_t i = 0; i < w.numel(); ++i) sum[p.name].set(i, sum[p.name].get(i) + w.get(i));
        }
        if (s == 0)
            for (const ParamSpec& p : specs) {
                HostTensor want(DType::f32, p.shape);
                for (int64_t i = 0; i < want.numel(); ++i)
                    want.set(i, 0.75 * w0[p.name].get(i) + 0.25 * w1[p.name].get(i));
                INFO(p.name);
                CHECK(max_rel_error(runner.get_state(p.name + ".ema"), want) <= 1e-6);
            }
    }
    CHECK(runner.get_state("swa_count").get(0) == 2);
    std::map<std::string, HostTensor> state;
    for (const ParamSpec& p : runner.state_specs()) state[p.name] = runner.get_state(p.name);
    for (const ParamSpec& p : specs) {
        INFO(p.name);
        CHECK(max_rel_error(runner.get_state(p.name + ".swa_sum"), sum[p.name]) == 0);
    }
    RecipeSettings swa_only = h.recipe;
    swa_only.ema = false;
    std::map<std::string, HostTensor> swa_export = averaged_weights(swa_only, specs, state);
    std::map<std::string, HostTensor> ema_export = averaged_weights(h.recipe, specs, state);
    for (const ParamSpec& p : specs) {
        HostTensor mean(DType::f32, p.shape);
        for (int64_t i = 0; i < mean.numel(); ++i) mean.set(i, sum[p.name].get(i) / 2);
        INFO(p.name);
        CHECK(max_rel_error(swa_export.at(p.name).to(DType::f32), mean) <= 1e-7);
        CHECK(max_rel_error(ema_export.at(p.name).to(DType::f32), state.at(p.name + ".ema")) == 0);
    }
}

TEST_CASE("weight averaging: SWA_MAX_SNAPSHOTS stops the sum after that many snapshots") {
    Hyperparams h = testing::tiny_training(1);
    h.recipe.swa = true;
    h.recipe.swa_max_snapshots = 2;
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(3)) runner.set_state(name, value);
    const std::vector<ParamSpec>& specs = runner.graphs().model_specs;
    std::map<std::string, HostTensor> sum;
    std::mt19937_64 rng(2);
    for (int s = 0; s < 3; ++s) {  // every step offers a snapshot; only the first two are summed
        StepSchedule sched;
        sched.swa_take = true;
        runner.set_scalars(s, sched);
        runner.run([&](int64_t, HostTensor& ids, HostTensor& targets) { fill_batch(rng, ids, targets); });
        if (s == 2) continue;
        for (const ParamSpec& p : specs) {
            HostTensor w = runner.get_state(p.name).to(DType::f32);
            if (!sum.count(p.name)) sum[p.name] = HostTensor(DType::f32, p.shape);
            for (int64_t i = 0; i < w.numel(); ++i) sum[p.name].set(i, sum[p.name].get(i) + w.get(i));
        }
    }
    CHECK(runner.get_state("swa_count").get(0) == 2);
    for (const ParamSpec& p : specs) {
        INFO(p.name);
        CHECK(max_rel_error(runner.get_state(p.name + ".swa_sum"), sum[p.name]) == 0);
    }
}

}  // namespace pg
