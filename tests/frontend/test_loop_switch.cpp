// Depth recurrence switched on part way through training (ENABLE_LOOPING_AT, step_graphs.h): four
// real training steps of a 3-layer model whose layer 1 is looped once (virtual order 0,1,1,2; two
// U-Net skips, one without the loop), ITERATIONS=4 and ENABLE_LOOPING_AT=0.5, so the records'
// `step / ITERATIONS >= 0.5` turns the loop on at step 2. Before each step the runner's weights
// are read back and the step's batch is scored by two separate models built from the same
// weights: the non-recurrent one (NUM_LOOPS=0, its single skip weight the first row of the
// looped model's) and the recurrent one. Steps 0–1 must report the first's loss, steps 2–3 the
// second's. Tolerance 2e-6 relative: the same f32 forward pass, the step's mean taken over 8
// micro-step means instead of one mean over all 256 tokens (~1e-7 of reordering); the two models'
// losses differ by far more (checked, so that the comparison can tell them apart).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "frontend/models/gpt.h"
#include "frontend/train/schedule.h"
#include "frontend/train/step_runner.h"
#include "runtime/cpu_executable.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

constexpr int64_t kRows = 8, kT = 32;

GptConfig looped_model() {
    GptConfig c = testing::tiny_gpt();
    c.num_layers = 3;
    c.variant.loop_start = 1;
    c.variant.loop_end = 1;
    c.variant.num_loops = 1;
    c.variant.skip_gates = true;
    return c;
}

// Mean loss over one [kRows, kT] batch of a model built from `cfg`, in its own session.
struct Scorer {
    Graph g;
    ParamSet ps{g};
    std::unique_ptr<Session> session = open_session("cpu");
    std::unique_ptr<CpuExecutable> exe;

    explicit Scorer(const GptConfig& cfg) {
        Tensor ids = input(g, "ids", {kRows, kT}, DType::i32);
        Tensor targets = input(g, "targets", {kRows, kT}, DType::i32);
        g.set_output("loss", gpt_loss(ps, cfg, ids, targets).id());
        exe = std::make_unique<CpuExecutable>(*session, g);
    }
    // The runner's weights, cut to this model's shapes (the first rows of skip_weights / skip_gates).
    double score(StepRunner& runner, const HostTensor& ids, const HostTensor& targets) {
        for (const ParamSpec& p : ps.specs()) {
            HostTensor w = runner.get_state(p.name).to(DType::f32);
            HostTensor cut(DType::f32, p.shape);
            for (int64_t i = 0; i < cut.numel(); ++i) cut.set(i, w.get(i));
            exe->set(p.name, cut.to(p.dtype));
        }
        exe->set("ids", ids);
        exe->set("targets", targets);
        exe->run();
        return exe->get("loss").get(0);
    }
};

// Weights with every block active (the default init zeroes the output projections, which would
// make the looped and plain models agree).
void randomize(StepRunner& runner) {
    std::mt19937_64 rng(21);
    for (const ParamSpec& p : runner.graphs().model_specs) {
        HostTensor t(DType::f32, p.shape);
        const bool matrix = p.shape.size() == 2 && p.group != "scalar";
        std::normal_distribution<double> d(matrix ? 0.0 : 0.5, matrix ? 1.0 / std::sqrt(double(p.shape[1])) : 0.2);
        for (int64_t i = 0; i < t.numel(); ++i) t.set(i, d(rng));
        runner.set_state(p.name, t.to(p.dtype));
    }
}

}  // namespace

TEST_CASE("depth recurrence switches on at ENABLE_LOOPING_AT: the plain model's loss before, the looped one's after") {
    Hyperparams h = testing::tiny_training(1);
    h.model = looped_model();
    h.iterations = 4;
    h.max_wallclock_seconds = 0;
    h.recipe.enable_looping_at = 0.5;
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    REQUIRE(runner.graphs().micro_preloop.graph);
    for (const auto& [name, value] : runner.initial_state(1)) runner.set_state(name, value);
    randomize(runner);
    GptConfig plain_cfg = h.model;
    plain_cfg.variant.num_loops = 0;
    Scorer plain(plain_cfg), looped(h.model);
    RecipeSchedule schedule(h);
    std::mt19937_64 rng(4);
    for (int64_t step = 0; step < h.iterations; ++step) {
        HostTensor ids(DType::i32, {kRows, kT}), targets(DType::i32, {kRows, kT});
        for (int64_t i = 0; i < ids.numel(); ++i) {
            ids.set(i, static_cast<double>(rng() % 96));
            targets.set(i, static_cast<double>(rng() % 96));
        }
        const double want_plain = plain.score(runner, ids, targets), want_looped = looped.score(runner, ids, targets);
        runner.set_scalars(step, schedule.at(step, 0));
        runner.run([&](int64_t micro, HostTensor& mi, HostTensor& mt) {
            for (int64_t t = 0; t < kT; ++t) {
                mi.set(t, ids.get(micro * kT + t));
                mt.set(t, targets.get(micro * kT + t));
            }
        });
        INFO("step ", step, ": loss ", runner.loss(), ", plain ", want_plain, ", looped ", want_looped);
        CHECK(std::fabs(want_plain - want_looped) > 1e-3 * want_looped);
        const bool after_switch = step >= 2;
        CHECK(runner.looping() == after_switch);
        const double want = after_switch ? want_looped : want_plain;
        CHECK(std::fabs(runner.loss() - want) <= 2e-6 * want);
    }
}

TEST_CASE("without ENABLE_LOOPING_AT the recurrence runs from the first step and no pre-loop graph is built") {
    Hyperparams h = testing::tiny_training(1);
    h.model = looped_model();
    TrainingGraphs t = build_training_graphs(h);
    CHECK_FALSE(t.micro_preloop.graph);
    CHECK(RecipeSchedule(h).at(0, 0).looping);
}

}  // namespace pg
