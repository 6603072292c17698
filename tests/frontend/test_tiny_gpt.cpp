// The tiny GPT (2 blocks, d=64, GQA attention, relu² MLP, tied embeddings, softcap CE) trains
// with the training step `pgolf train` runs (8 micro-steps accumulating gradients, then Muon on
// the block matrices and Adam on the rest) in a CPU session: the first micro-step's loss equals
// the interpreter's, the loss falls, the fused and unfused plans give the same losses, fusion
// launches clearly fewer kernels, and a step moves nothing between host and device but the
// batches, the scalars and the losses.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>

#include "base/env.h"
#include "tests/support/step_check.h"
#include "tests/support/training_configs.h"

namespace pg {

using testing::TrainRun;

TEST_CASE("frontend: tiny GPT trains with the training step through the CPU JIT, fused == unfused") {
    // f32 Newton-Schulz: in bf16, an f32 reassociation difference that flips one bf16 rounding
    // changes Muon's update by 2^-8 relative, and the two plans' losses drift apart by ~1e-3 within
    // 20 steps; the bf16 path trains in the next case.
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", "f32");
    Hyperparams h = testing::tiny_training();
    double ref = testing::interpreter_first_loss(h, 7);
    TrainRun fused = testing::train_on_skewed_batches("cpu", h, 30, 7);
    TrainRun unfused;
    {
        env::ScopedOverride off("PG_FUSION", "0");
        unfused = testing::train_on_skewed_batches("cpu", h, 30, 7);
    }
    MESSAGE(fmt::format("kernels per micro-step: fused {}, unfused {}; loss {:.4f} -> {:.4f}; last step moved {}",
                        fused.launches, unfused.launches, fused.losses.front(), fused.losses.back(),
                        fused.last_step.to_string()));
    // fp32 forward of ~200 ops vs fp64: 1e-5 relative.
    CHECK(std::fabs(fused.first_micro_loss - ref) <= 1e-5 * std::fabs(ref));
    CHECK(std::fabs(ref - std::log(static_cast<double>(h.model.vocab_size))) < 0.5);
    CHECK(fused.losses.back() < fused.losses.front() - 0.5);
    // Same kernels' arithmetic in another grouping: equal up to f32 reassociation, which 30 steps
    // of Muon with f32 Newton-Schulz keep within 1e-5 (measured: 4e-7 after 30 steps).
    for (size_t i = 0; i < fused.losses.size(); ++i) {
        INFO("step ", i);
        CHECK(std::fabs(fused.losses[i] - unfused.losses[i]) <= 1e-5 * std::fabs(unfused.losses[i]));
    }
    MESSAGE(fmt::format("fused - unfused after {} steps: {:.2e}", fused.losses.size(),
                        fused.losses.back() - unfused.losses.back()));
    CHECK(fused.launches * 2 < unfused.launches);
    // Per step: 8 micro-batches of ids and targets (4 x 32 int32 each), the 5 scalars, 8 losses;
    // no weights, gradients or optimizer state.
    const TransferStats& t = fused.last_step;
    CHECK(t.to_device[static_cast<size_t>(Transfer::State)] + t.to_host[static_cast<size_t>(Transfer::State)] == 0);
    CHECK(t.to_device[static_cast<size_t>(Transfer::Input)] == 8 * 2 * 4 * 32 * 4);
    CHECK(t.to_host[static_cast<size_t>(Transfer::Output)] == 8 * 4);
    CHECK(t.to_device[static_cast<size_t>(Transfer::Scalar)] == 5 * 4);
}

TEST_CASE("frontend: one training step on the CPU equals the interpreter's, every weight and state tensor") {
    env::ScopedOverride ns("PG_MUON_NS_DTYPE", "f32");
    testing::StepCheckResult r = testing::check_step_against_interpreter("cpu", testing::tiny_training());
    MESSAGE("CPU step vs interpreter: " << r.summary());
}

TEST_CASE("frontend: tiny GPT with bf16 activations (fp32 masters) matches the interpreter and trains") {
    Hyperparams h = testing::tiny_training();
    h.model.compute_dtype = DType::bf16;
    double ref = testing::interpreter_first_loss(h, 9);
    TrainRun r = testing::train_on_skewed_batches("cpu", h, 30, 9);
    MESSAGE(fmt::format("bf16: first loss {:.5f} (interpreter {:.5f}), after 30 steps {:.4f}", r.first_micro_loss, ref,
                        r.losses.back()));
    // Both sides round every bf16 node identically; an f32-vs-f64 difference before a rounding can
    // flip single elements by one bf16 ulp (2^-8), which the mean over 128 tokens mostly averages:
    // 5e-3 relative on the loss.
    CHECK(std::fabs(r.first_micro_loss - ref) <= 5e-3 * std::fabs(ref));
    CHECK(r.losses.back() < r.losses.front() - 0.5);
}

}  // namespace pg
