// One training step against the interpreter (see step_check.h).
#include "tests/support/step_check.h"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "frontend/train/step_runner.h"
#include "frontend/train/trainer.h"
#include "graph/interpreter.h"
#include "tests/support/skewed_batches.h"

namespace pg::testing {
namespace {

constexpr uint64_t kInitSeed = 1337;
constexpr int kDistinctSteps = 4;

// The feeds of micro-batch `micro` of step `step`: `state` plus the batch's ids and targets.
Feeds micro_feeds(const TrainingGraphs& graphs, const Feeds& state, const SkewedBatches& batches, int64_t step,
                  int64_t micro, int64_t seq_len) {
    Feeds feeds = state;
    feeds["ids"] = HostTensor(DType::i32, {graphs.micro_rows, seq_len});
    feeds["targets"] = feeds["ids"];
    batches.fill(step, micro, feeds["ids"], feeds["targets"]);
    return feeds;
}

// The interpreter's step: returns the mean loss; `state` (every param and accumulator by name)
// is advanced in place.
double interpret_step(const TrainingGraphs& graphs, Feeds& state, const SkewedBatches& batches, const Feeds& scalars,
                      int64_t seq_len) {
    double loss = 0;
    for (int64_t m = 0; m < graphs.micro_steps; ++m) {
        const Graph& g = *graphs.micro.graph;
        std::vector<HostTensor> out = interpret_all(g, micro_feeds(graphs, state, batches, 0, m, seq_len));
        loss += out[0].get(0) / static_cast<double>(graphs.micro_steps);
        for (size_t u = 0; u < g.updates().size(); ++u) state[g[g.updates()[u].state].name] = out[1 + u];
    }
    Feeds feeds = state;
    feeds.insert(scalars.begin(), scalars.end());
    const Graph& g = *graphs.optimizer.graph;
    std::vector<HostTensor> out = interpret_all(g, feeds);
    for (size_t u = 0; u < g.updates().size(); ++u) state[g[g.updates()[u].state].name] = out[u];
    return loss;
}

std::string kind_of(const ParamSpec& p) {
    return p.group == "state" ? p.name.substr(p.name.rfind('.') + 1) : p.group;
}

}  // namespace

std::string StepCheckResult::summary() const {
    std::string s = fmt::format("loss {:.1e}; worst by kind:", loss_error);
    for (const auto& [kind, err] : worst) s += fmt::format(" {} {:.1e}", kind, err);
    return s;
}

double step_tolerance(const std::string& kind) { return kind == "embed" || kind == "scalar" ? 2e-3 : 1e-4; }

StepCheckResult check_step_against_interpreter(const std::string& backend, const Hyperparams& h) {
    std::unique_ptr<Session> session = open_session(backend);
    StepRunner runner(h, *session);
    Feeds state;
    for (const auto& [name, value] : runner.graphs().optimizer.params->initialize(kInitSeed)) state[name] = value;
    for (const ParamSpec& p : runner.state_specs()) runner.set_state(p.name, state.at(p.name));
    SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 1, 7);

    runner.set_scalars(0, 1.0);
    runner.run(batches.source(0));
    Feeds scalars;
    auto scalar = [](double v) { return HostTensor::from_doubles(DType::f32, {}, {v}); };
    scalars["step"] = scalar(1);
    scalars["lr.embed"] = scalar(h.tied_embed_lr);
    scalars["lr.scalar"] = scalar(h.scalar_lr);
    scalars["lr.matrix"] = scalar(h.matrix_lr);
    scalars["muon_momentum"] = scalar(muon_momentum(h, 0));
    double ref_loss = interpret_step(runner.graphs(), state, batches, scalars, h.train_seq_len);

    StepCheckResult r;
    r.loss_error = std::fabs(runner.loss() - ref_loss) / std::fabs(ref_loss);
    CHECK(r.loss_error <= 1e-5);  // fp32 forward of ~200 ops against fp64
    for (const ParamSpec& p : runner.state_specs()) {
        double err = max_rel_error(runner.get_state(p.name), state.at(p.name));
        std::string kind = kind_of(p);
        r.worst[kind] = std::max(r.worst[kind], err);
        INFO(backend, ": ", p.name, " (", kind, ") after one step");
        CHECK(err <= step_tolerance(kind));
    }
    return r;
}

TrainRun train_on_skewed_batches(const std::string& backend, const Hyperparams& h, int steps, uint64_t seed) {
    std::unique_ptr<Session> session = open_session(backend);
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(kInitSeed)) runner.set_state(name, value);
    SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size,
                          kDistinctSteps, seed);
    TrainRun r;
    r.launches = runner.micro_executable().launches();
    for (int64_t s = 0; s < steps; ++s) {
        runner.set_scalars(s, 1.0);
        runner.run([&](int64_t micro, HostTensor& ids, HostTensor& targets) {
            if (s == 0 && micro == 1) r.first_micro_loss = runner.micro_executable().get("loss").get(0);
            batches.fill(s, micro, ids, targets);
        });
        r.losses.push_back(runner.loss());
    }
    r.last_step = runner.last_transfers();
    return r;
}

double interpreter_first_loss(const Hyperparams& h, uint64_t seed) {
    TrainingGraphs graphs = build_training_graphs(h);
    SkewedBatches batches(graphs.micro_steps, graphs.micro_rows, h.train_seq_len, h.model.vocab_size, kDistinctSteps,
                          seed);
    Feeds state;
    for (auto& [name, value] : graphs.micro.params->initialize(kInitSeed)) state[name] = value;
    const Graph& g = *graphs.micro.graph;
    return interpret(g, micro_feeds(graphs, state, batches, 0, 0, h.train_seq_len), {g.output("loss")})[0].get(0);
}

}  // namespace pg::testing
