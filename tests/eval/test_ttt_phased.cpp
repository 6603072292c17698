// Phased / multi-phase global SGD test-time training (ttt_phased, TTT_PHASE_SCORING=sliding; the
// LoRA-scored form is tested in test_adapter_methods.cpp) against a host reference written
// from spec 2.5 methods 4-5: the sliding windows scored in stream order with the weights of the
// moment; when the next window's first target lies past document n_k's start, the reference trains
// on every target up to it (chunks of C tokens, the last one skipped, cosine lr over the phase's
// chunks, momentum restarted) with tests/support/sgd_reference.h's host SGD. The per-target losses
// agree; the phase planning and the bad TTT_PHASE_DOCS error are checked.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>

#include "base/env.h"
#include "base/error.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/data/validation.h"
#include "frontend/eval/ttt_phases.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/method_eval.h"
#include "tests/support/sgd_reference.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

constexpr int64_t kChunk = 128, kEpochs = 2, kFreeze = 1;
constexpr double kLr = 0.05, kMomentum = 0.9, kClip = 0.5;
const std::vector<int64_t> kPhaseDocs = {2, 4};

// The targets 1..P_k of each phase: P_k = the position of document n_k's BOS (the stream starts
// with document 0's BOS).
std::vector<int64_t> phase_ends(std::span<const uint16_t> stream) {
    std::vector<int64_t> bos;
    for (size_t i = 0; i < stream.size(); ++i)
        if (stream[i] == 1) bos.push_back(static_cast<int64_t>(i));
    REQUIRE(bos.size() > static_cast<size_t>(kPhaseDocs.back()));
    REQUIRE(bos[0] == 0);
    return {bos[static_cast<size_t>(kPhaseDocs[0])], bos[static_cast<size_t>(kPhaseDocs[1])]};
}

}  // namespace

TEST_CASE("eval: ttt_phased equals a host reference of global SGD on the scored documents") {
    TinyRun run("phased");
    env::ScopedOverride s1("EVAL_STRIDE", "8"), s2("TTT_CHUNK_TOKENS", std::to_string(kChunk)),
        s3("TTT_PHASE_EPOCHS", std::to_string(kEpochs)), s4("TTT_PHASE_LR", std::to_string(kLr)),
        s5("TTT_FREEZE_BLOCKS", std::to_string(kFreeze)), s6("TTT_GRAD_CLIP", std::to_string(kClip)),
        s7("TTT_PHASE_DOCS", "2,4"), s8("TTT_PHASE_SCORING", "sliding");
    Hyperparams h = read_hyperparams();
    const int64_t seq = h.train_seq_len, rows = kChunk / seq;
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq, h.model.vocab_size);
    std::span<const uint16_t> stream(val.tokens);
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    io::TensorMap weights = build_eval_graph(h.model, 1, seq).params->initialize(5);
    for (auto& [name, t] : weights)
        if (name.find("proj") != std::string::npos)
            for (int64_t i = 0; i < t.numel(); ++i) t.set(i, 0.02 * std::cos(static_cast<double>(i)));

    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    MethodEvalSetup setup{h.model, seq, 8, 16, true};
    MethodResult ttt = evaluate_method(eval::find_eval_method("ttt_phased"), setup, weights, *session, stream, luts,
                                       progress, [](const std::string&) {});
    MethodResult sliding = evaluate_method(eval::find_eval_method("sliding"), setup, weights, *session, stream, luts,
                                           progress, [](const std::string&) {});

    std::unique_ptr<Session> ref_session = open_session();
    Evaluator ev(h.model, 16, seq, *ref_session);
    reference::HostSgd sgd(*ref_session, h.model, rows, seq, kFreeze, kMomentum, kClip, weights);
    std::vector<float> ref;
    ev.record_target_losses(&ref);
    const std::vector<int64_t> ends = phase_ends(stream);
    const eval::WindowPlan plan = eval::plan_sliding_windows(static_cast<int64_t>(stream.size()), seq, 8);
    eval::WindowPlan part = plan;
    part.windows.clear();
    size_t k = 0;
    auto train = [&](int64_t last_target) {
        sgd.reset_momentum();
        const int64_t chunks = (last_target + kChunk - 1) / kChunk;
        for (int64_t c = 0; c + 1 < chunks; ++c)
            for (int64_t e = 0; e < kEpochs; ++e)
                sgd.step(stream, c * kChunk,
                         kLr * 0.5 * (1 + std::cos(std::numbers::pi * static_cast<double>(c) / (chunks - 1))));
    };
    for (const eval::EvalWindow& w : plan.windows) {
        if (k < ends.size() && w.first_target() > ends[k]) {
            ev.set_weights(sgd.weights());
            ev.evaluate(part, stream, luts);
            part.windows.clear();
            train(ends[k++]);
        }
        part.windows.push_back(w);
    }
    ev.set_weights(sgd.weights());
    ev.evaluate(part, stream, luts);
    REQUIRE(k == ends.size());

    int64_t adapted = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        INFO("target ", t);
        // f32 device arithmetic against f64 host updates over ~30 SGD steps: as test_ttt_sgd.cpp.
        CHECK(ttt.target_losses[t] == doctest::Approx(ref[t]).epsilon(1e-4));
        adapted += std::fabs(ttt.target_losses[t] - sliding.target_losses[t]) > 1e-3;
        if (static_cast<int64_t>(t) <= ends[0]) CHECK(ttt.target_losses[t] == sliding.target_losses[t]);
    }
    CHECK(adapted > (static_cast<int64_t>(stream.size()) - ends[0]) / 2);
    MESSAGE("val_bpb sliding ", sliding.acc.val_bpb(), " ttt_phased ", ttt.acc.val_bpb());
}

TEST_CASE("eval: ttt phases end at document starts; bad TTT_PHASE_DOCS is refused") {
    // Documents start at 0, 40, 90, 150 (BOS = 1); windows of 16 with stride 8.
    std::vector<uint16_t> stream(200, 7);
    for (size_t s : {0, 40, 90, 150}) stream[s] = 1;
    const std::vector<eval::DocSpan> docs = eval::split_documents(stream, 1);
    REQUIRE(docs.size() == 4);
    CHECK(docs[1].start == 40);
    CHECK(docs[1].end == 90);
    CHECK(docs[3].last_target(200) == 199);
    const eval::WindowPlan plan = eval::plan_sliding_windows(200, 16, 8);
    const auto phases = eval::plan_ttt_phases(plan, docs, eval::parse_phase_docs("1,3,4"));
    REQUIRE(phases.size() == 2);  // the boundary at the 4th (last) document is dropped
    CHECK(phases[0].last_target == 40);
    CHECK(phases[1].last_target == 150);
    for (size_t w = 0; w < plan.windows.size(); ++w)
        CHECK((plan.windows[w].first_target() <= 40) == (w < phases[0].end_window));
    // The LoRA-scored form: queue order is longest first (docs 1 and 2 hold 50 and 60 targets).
    const auto batches = eval::plan_lora_batches(docs, 200, 2, 16, 32);
    const auto lora_phases = eval::plan_lora_phases(batches, eval::parse_phase_docs("1,3,4"));
    REQUIRE(lora_phases.size() == 2);
    CHECK(lora_phases[0].after_batch == 0);  // the 1st queue document is in batch 0
    CHECK(lora_phases[1].after_batch == 1);  // the 3rd in batch 1
    REQUIRE(lora_phases[1].docs.size() == 3);
    CHECK(lora_phases[0].docs[0].start == 90);  // the longest document
    CHECK(eval::concat_documents(stream, lora_phases[0].docs).size() == 60);
    for (const char* bad : {"0", "3,2", "2,x", ""}) {
        INFO("TTT_PHASE_DOCS=", bad);
        try {
            eval::parse_phase_docs(bad);
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(std::string(e.what()).find("TTT_PHASE_DOCS") != std::string::npos);
        }
    }
}

}  // namespace pg
