// Chunked SGD test-time training (ttt_sgd) against a host reference written from spec 2.5 method 2:
// the same small model scored window by window with the weights of the moment, chunk by chunk,
// with tests/support/sgd_reference.h's host SGD (gradient graph in another session, clipping,
// momentum and the cosine learning rate applied on the host in double). The
// per-target losses agree; the windows-to-chunks assignment and the bad-chunk error are checked.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "base/env.h"
#include "base/error.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/data/validation.h"
#include "frontend/eval/ttt_chunks.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/method_eval.h"
#include "runtime/executable.h"
#include "tests/support/sgd_reference.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

constexpr int64_t kChunk = 256, kEpochs = 2, kFreeze = 1;
constexpr double kLr = 0.05, kMomentum = 0.9, kClip = 0.5;

}  // namespace

TEST_CASE("eval: ttt_sgd equals a host reference of score-then-train chunks") {
    TinyRun run("ttt");
    env::ScopedOverride s1("EVAL_STRIDE", "8"), s2("TTT_CHUNK_TOKENS", std::to_string(kChunk)),
        s3("TTT_EPOCHS", std::to_string(kEpochs)), s4("TTT_LR", std::to_string(kLr)),
        s5("TTT_FREEZE_BLOCKS", std::to_string(kFreeze)), s6("TTT_GRAD_CLIP", std::to_string(kClip));
    Hyperparams h = read_hyperparams();
    const int64_t seq = h.train_seq_len, rows = kChunk / seq;
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq, h.model.vocab_size);
    std::span<const uint16_t> stream(val.tokens);
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    io::TensorMap weights = build_eval_graph(h.model, 1, seq).params->initialize(3);
    // Zero-initialised projections get small values so that every block trains from the start.
    for (auto& [name, t] : weights)
        if (name.find("proj") != std::string::npos)
            for (int64_t i = 0; i < t.numel(); ++i) t.set(i, 0.02 * std::cos(static_cast<double>(i)));

    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    MethodEvalSetup setup{h.model, seq, 8, 16, true};
    MethodResult ttt = evaluate_method(eval::find_eval_method("ttt_sgd"), setup, weights, *session, stream, luts,
                                       progress, [](const std::string&) {});
    MethodResult sliding = evaluate_method(eval::find_eval_method("sliding"), setup, weights, *session, stream, luts,
                                           progress, [](const std::string&) {});

    // The reference, in a session of its own.
    std::unique_ptr<Session> ref_session = open_session();
    Evaluator ev(h.model, 16, seq, *ref_session);
    reference::HostSgd sgd(*ref_session, h.model, rows, seq, kFreeze, kMomentum, kClip, weights);
    const eval::WindowPlan plan = eval::plan_sliding_windows(static_cast<int64_t>(stream.size()), seq, 8);
    const int64_t chunks = (static_cast<int64_t>(stream.size()) - 1 + kChunk - 1) / kChunk;
    REQUIRE(chunks >= 10);
    std::vector<float> ref;
    ev.record_target_losses(&ref);
    for (int64_t c = 0; c < chunks; ++c) {
        eval::WindowPlan part = plan;
        part.windows.clear();
        for (const eval::EvalWindow& win : plan.windows)
            if ((win.first_target() - 1) / kChunk == c) part.windows.push_back(win);
        ev.set_weights(sgd.weights());
        ev.evaluate(part, stream, luts);
        if (c + 1 == chunks) break;
        const double lr = kLr * 0.5 * (1 + std::cos(std::numbers::pi * static_cast<double>(c) / (chunks - 1)));
        for (int64_t e = 0; e < kEpochs; ++e) sgd.step(stream, c * kChunk, lr);
    }

    int64_t adapted = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        INFO("target ", t);
        // f32 device arithmetic against f64 host updates over ~20 SGD steps: 1e-4 relative leaves
        // room for that drift and none for a wrong chunk, order, lr or frozen block.
        CHECK(ttt.target_losses[t] == doctest::Approx(ref[t]).epsilon(1e-4));
        adapted += std::fabs(ttt.target_losses[t] - sliding.target_losses[t]) > 1e-3;
        if (static_cast<int64_t>(t) <= kChunk) CHECK(ttt.target_losses[t] == sliding.target_losses[t]);
    }
    CHECK(adapted > static_cast<int64_t>(stream.size()) / 2);  // the training did change the later chunks
    MESSAGE("val_bpb sliding ", sliding.acc.val_bpb(), " ttt_sgd ", ttt.acc.val_bpb());
}

TEST_CASE("eval: ttt chunks take each window by its first scored target; a chunk below a window is refused") {
    const eval::WindowPlan plan = eval::plan_sliding_windows(1001, 32, 8);
    const auto chunks = eval::plan_ttt_chunks(plan, 100);
    REQUIRE(chunks.size() == 10);
    size_t next = 0;
    for (size_t c = 0; c < chunks.size(); ++c) {
        CHECK(chunks[c].first_window == next);
        for (size_t w = chunks[c].first_window; w < chunks[c].end_window; ++w) {
            const int64_t t = plan.windows[w].first_target();
            CHECK((t > static_cast<int64_t>(c) * 100 && t <= static_cast<int64_t>(c + 1) * 100));
        }
        next = chunks[c].end_window;
        CHECK(chunks[c].train_sequences == (c + 1 < chunks.size() ? 3 : 0));
    }
    CHECK(next == plan.windows.size());
    CHECK(eval::ttt_chunk_lr(1.0, 0, 10) == 1.0);
    CHECK(eval::ttt_chunk_lr(1.0, 9, 10) == doctest::Approx(0.0));
    try {
        eval::plan_ttt_chunks(plan, 16);
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("TTT_CHUNK_TOKENS=16") != std::string::npos);
    }
}

}  // namespace pg
