// The non-finite guard of the training step with PG_NAN_CHECK=grad: the global gradient norm it
// reads with the last micro-step's loss equals the norm of the accumulated gradients computed on
// the host in fp64, and a NaN in the gradients (with a finite loss) stops the step before the
// optimizer, so weights and optimizer state stay bit-identical, and the diagnosis names a kernel
// and hands over the last good state. A NaN already in the weights is named as such, and no
// checkpoint is written as if that state were good.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "base/env.h"
#include "frontend/train/nan_guard.h"
#include "frontend/train/step_runner.h"
#include "tests/support/skewed_batches.h"
#include "tests/support/training_configs.h"

namespace pg {
namespace {

// Runs the micro-steps of `batches` by hand and returns the fp64 norm of the accumulators.
double accumulated_grad_norm(StepRunner& runner, const testing::SkewedBatches& batches, const Hyperparams& h) {
    HostTensor ids(DType::i32, {runner.micro_rows(), h.train_seq_len}), targets = ids;
    StepRunner::BatchSource source = batches.source(0);
    for (int64_t m = 0; m < runner.micro_steps(); ++m) {
        source(m, ids, targets);
        runner.micro_executable().set("ids", ids);
        runner.micro_executable().set("targets", targets);
        runner.micro_executable().run();
    }
    double sq = 0;
    for (const ParamSpec& p : runner.graphs().model_specs) {
        HostTensor acc = runner.get_state(grad_acc_name(p.name));
        for (int64_t i = 0; i < acc.numel(); ++i) sq += acc.get(i) * acc.get(i);
        runner.set_state(grad_acc_name(p.name), HostTensor(acc.dtype, acc.shape));  // zero again
    }
    return std::sqrt(sq);
}

std::map<std::string, HostTensor> state_of(const StepRunner& runner) {
    std::map<std::string, HostTensor> out;
    for (const ParamSpec& p : runner.state_specs()) out.emplace(p.name, runner.get_state(p.name));
    return out;
}

}  // namespace

TEST_CASE("nan guard: PG_NAN_CHECK=grad checks the gradient norm and stops a NaN gradient before the update") {
    env::ScopedOverride check("PG_NAN_CHECK", "grad");
    Hyperparams h = testing::tiny_training(1);
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(1)) runner.set_state(name, value);
    testing::SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 1,
                                   7);

    const double expected = accumulated_grad_norm(runner, batches, h);
    runner.set_scalars(0, 1.0);
    runner.run(batches.source(0));
    REQUIRE(runner.applied());
    // f32 sums of ~25k squares against fp64: a few ulps of relative error.
    CHECK(runner.grad_norm() == doctest::Approx(expected).epsilon(1e-5));

    // A NaN in one gradient accumulator: the loss stays finite, the norm does not.
    const std::string first = runner.graphs().model_specs.front().name;
    HostTensor acc = runner.get_state(grad_acc_name(first));
    acc.set(0, std::numeric_limits<double>::quiet_NaN());
    runner.set_state(grad_acc_name(first), acc);
    std::map<std::string, HostTensor> before = state_of(runner);
    runner.set_scalars(1, 1.0);
    runner.run(batches.source(1));
    CHECK(std::isfinite(runner.loss()));
    CHECK(!runner.applied());
    CHECK(runner.fault().find("global gradient norm is nan") != std::string::npos);
    for (const auto& [name, value] : state_of(runner)) {
        INFO("state ", name);
        CHECK(value.bytes == before.at(name).bytes);
    }
    bool saved = false;
    NanStop stop = handle_non_finite_step(runner, 2, [&] {
        saved = true;
        return std::string("last_good.ckpt");
    });
    CHECK(saved);
    CHECK(stop.checkpoint == "last_good.ckpt");
    MESSAGE(stop.message);
    // The replayed micro-step's first NaN is the kernel that adds into that accumulator.
    CHECK(stop.tensor.find("kernel") != std::string::npos);
    CHECK(stop.message.find("non-finite at step 2") != std::string::npos);
}

}  // namespace pg

namespace pg {

TEST_CASE("nan guard: a NaN already in the weights is named, and no checkpoint claims it is good") {
    env::ScopedOverride check("PG_NAN_CHECK", "loss");
    Hyperparams h = testing::tiny_training(1);
    std::unique_ptr<Session> session = open_session("cpu");
    StepRunner runner(h, *session);
    for (const auto& [name, value] : runner.initial_state(1)) runner.set_state(name, value);
    // As after an update whose loss was finite but whose gradients were not (loss mode misses it).
    const std::string first = runner.graphs().model_specs.front().name;
    HostTensor w = runner.get_state(first);
    w.set(3, std::numeric_limits<double>::infinity());
    runner.set_state(first, w);
    testing::SkewedBatches batches(runner.micro_steps(), runner.micro_rows(), h.train_seq_len, h.model.vocab_size, 1,
                                   7);
    runner.set_scalars(0, 1.0);
    runner.run(batches.source(0));
    CHECK(!runner.applied());
    CHECK(runner.fault().find("micro-step 0: loss is") != std::string::npos);
    bool saved = false;
    NanStop stop = handle_non_finite_step(runner, 7, [&] {
        saved = true;
        return std::string("never");
    });
    CHECK(!saved);
    CHECK(stop.checkpoint.empty());
    CHECK(stop.tensor == first + " (element 3 is inf)");
    CHECK(stop.message.find("the state itself is not finite") != std::string::npos);
    CHECK(stop.message.find("PG_NAN_CHECK=grad") != std::string::npos);
}

}  // namespace pg
