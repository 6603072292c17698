// Evaluation methods end to end on a small model (TinyRun's data and 2-layer d32 settings, weights
// drawn with a larger embedding scale so that every token moves the losses):
// - legality: for each legal method, changing validation token p leaves the loss of every target
//   before p unchanged (bit for bit), while the losses from p on do change; the illegal pre-eval
//   TTT fails the same test;
// - the n-gram methods equal the brute-force references of tests/support/ngram_reference.h fed the
//   model's distribution at each target, and the model's log-probability output agrees with its
//   cross-entropy output;
// - `pgolf eval --methods ... --token-losses FILE` writes a TSV that sums back to the method's
//   val_bpb; bad settings and illegal methods are refused naming the setting; a non-record score
//   is marked in submission.json.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <fstream>
#include <numbers>
#include <sstream>

#include "base/env.h"
#include "base/error.h"
#include "frontend/cli/command.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/data/validation.h"
#include "frontend/eval/token_losses.h"
#include "frontend/export/safetensors.h"
#include "frontend/export/submission_json.h"
#include "frontend/train/evaluator.h"
#include "frontend/train/method_eval.h"
#include "tests/support/ngram_reference.h"
#include "tests/support/test_files.h"
#include "tests/support/tiny_run.h"

namespace pg {
namespace {

struct Fixture {
    TinyRun run{"evalmethods"};
    env::ScopedOverride stride{"EVAL_STRIDE", "8"};
    env::ScopedOverride tilt_min{"TILT_MIN_ORDER", "2"}, tilt_max{"TILT_MAX_ORDER", "4"};
    env::ScopedOverride ttt_chunk{"TTT_CHUNK_TOKENS", "512"};  // 12 chunks of 16 training sequences
    env::ScopedOverride phase_docs{"TTT_PHASE_DOCS", "1,3"};   // phases inside the 6 validation documents
    // LoRA windows of 64 with chunks of 16: ~40 steps per document, short graphs.
    env::ScopedOverride lora_context{"LORA_TTT_CONTEXT", "64"}, lora_chunk{"LORA_TTT_CHUNK", "16"};
    // Three LoRA batches, so that ttt_phased's phases (after the 1st and 3rd queue documents) come
    // between batches and their training reaches documents scored later.
    env::ScopedOverride lora_batch{"LORA_TTT_BATCH_DOCS", "2"};
    Hyperparams h = read_hyperparams();
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), h.train_seq_len, h.model.vocab_size);
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    std::unique_ptr<Session> session = open_session();
    io::TensorMap weights = draw_weights();
    ProgressLine progress;

    io::TensorMap draw_weights() const {
        io::TensorMap w = build_eval_graph(h.model, 1, h.train_seq_len).params->initialize(7);
        HostTensor& emb = w.at("tok_emb.weight");
        for (int64_t i = 0; i < emb.numel(); ++i) emb.set(i, emb.get(i) * 100);  // std 0.5: logits far from flat
        // The output projections start at zero (blocks would pass nothing on and the model would
        // see one token): give every all-zero weight small deterministic values.
        for (auto& [name, t] : w) {
            bool zero = true;
            for (int64_t i = 0; i < t.numel() && zero; ++i) zero = t.get(i) == 0;
            for (int64_t i = 0; zero && i < t.numel(); ++i) t.set(i, 0.05 * std::sin(1.0 + static_cast<double>(i)));
        }
        return w;
    }
    MethodEvalSetup setup() const { return {h.model, h.train_seq_len, 8, 16, true}; }
    MethodResult evaluate(const eval::EvalMethod& m, std::span<const uint16_t> stream) {
        return evaluate_method(m, setup(), weights, *session, stream, luts, progress, [](const std::string&) {});
    }
};

// A scorer that keeps the model's row at every target and scores it unchanged.
class RowRecorder final : public eval::TargetScorer {
public:
    std::map<int64_t, std::vector<float>> rows;
    void predict(std::span<const uint16_t> past, std::span<const float> lp) override {
        model_ = lp;
        rows[static_cast<int64_t>(past.size())].assign(lp.begin(), lp.end());
    }
    double log_prob(int64_t token) const override { return model_[static_cast<size_t>(token)]; }
    void observe(std::span<const uint16_t>, uint16_t) override {}

private:
    std::span<const float> model_;
};

// Whether target t is scored before the method can know token p (= target p): earlier in the
// method's scoring order (stream order, or MethodResult::target_order for the methods that go
// through documents longest first), or in the same step and earlier in the stream.
bool scored_before(const MethodResult& r, size_t t, size_t p) {
    if (r.target_order.empty()) return t < p;
    return r.target_order[t] < r.target_order[p] || (r.target_order[t] == r.target_order[p] && t < p);
}

int run_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "pgolf");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return cli::main(static_cast<int>(argv.size()), argv.data());
}

}  // namespace

TEST_CASE("eval: every legal method is causal on a small model (perturbation test)") {
    Fixture f;
    const auto& stream = f.val.tokens;
    REQUIRE(stream.size() > 600);
    const size_t p = 517;  // inside a window's context, not on a window boundary
    auto changed = stream;
    changed[p] = static_cast<uint16_t>((changed[p] + 1) % 320);
    for (const eval::EvalMethod& m : eval::eval_methods()) {
        if (!m.legal()) continue;
        INFO("method ", m.name);
        MethodResult a = f.evaluate(m, stream);
        MethodResult b = f.evaluate(m, changed);
        size_t before = 0, unchanged = 0, after_changed = 0;
        for (size_t t = 1; t < stream.size(); ++t) {
            REQUIRE(!std::isnan(a.target_losses[t]));  // every target scored
            const bool same = a.target_losses[t] == b.target_losses[t];
            if (scored_before(a, t, p)) {
                ++before;
                unchanged += same;
                if (!same) FAIL_CHECK("target ", t, " changed");
            } else {
                after_changed += !same;
            }
        }
        CHECK(before >= p - 1);       // at least the stream's earlier targets are scored before p is known
        CHECK(unchanged == before);   // none of them moved
        CHECK(after_changed > 10);    // the perturbation is visible where it may be
    }
    // The test catches the illegal methods: pre-eval TTT lets token p change earlier scores, and
    // SLOT's delta, fitted on a batch of windows, lets it change the batch's earlier targets.
    env::ScopedOverride allow("NON_RECORD", "1");
    for (const char* name : {"ttt_pre_eval", "slot"}) {
        INFO("method ", name);
        const eval::EvalMethod& m = eval::find_eval_method(name);
        MethodResult a = f.evaluate(m, stream), b = f.evaluate(m, changed);
        CHECK(a.non_record);
        size_t leaked = 0;
        for (size_t t = 1; t < p; ++t) leaked += a.target_losses[t] != b.target_losses[t];
        CHECK(leaked > 10);  // a legal method leaks none
    }
}

TEST_CASE("eval: n-gram methods on a small model equal the references fed the model's distribution") {
    Fixture f;
    std::span<const uint16_t> stream(f.val.tokens);
    const eval::EvalMethod& sliding = eval::find_eval_method("sliding");
    const eval::WindowPlan plan = eval::plan_eval_windows(sliding, static_cast<int64_t>(stream.size()),
                                                          f.h.train_seq_len, 8);
    Evaluator ev(f.h.model, 16, f.h.train_seq_len, *f.session, true);
    ev.set_weights(f.weights);
    RowRecorder rec;
    ev.set_scorer(&rec);
    std::vector<float> via_log_probs;
    ev.record_target_losses(&via_log_probs);
    ev.evaluate(plan, stream, f.luts);
    REQUIRE(rec.rows.size() == stream.size() - 1);

    // The log-probability output (log_softmax of the softcapped logits) against the graph's
    // cross-entropy: two f32 computations of one number, ~1e-6 apart at losses of ~6 nats.
    MethodResult plain = f.evaluate(sliding, stream);
    for (size_t t = 1; t < stream.size(); ++t)
        CHECK(via_log_probs[t] == doctest::Approx(plain.target_losses[t]).epsilon(1e-5));

    const eval::TiltConfig tilt{.min_order = 2, .max_order = 4};
    const eval::MixConfig mix{};
    MethodResult tilted = f.evaluate(eval::find_eval_method("ngram_tilt"), stream);
    MethodResult mixed = f.evaluate(eval::find_eval_method("ngram_mix"), stream);
    int hinted = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        const auto& lp = rec.rows.at(static_cast<int64_t>(t));
        // Losses are stored as float: 1e-6 relative is a few float ulps.
        CHECK(tilted.target_losses[t] == doctest::Approx(reference::tilt_loss(stream, t, lp, tilt)).epsilon(1e-6));
        CHECK(mixed.target_losses[t] == doctest::Approx(reference::mix_loss(stream, t, lp, mix)).epsilon(1e-6));
        hinted += tilted.target_losses[t] != via_log_probs[t];
    }
    CHECK(hinted > 100);
    MESSAGE(fmt::format("val_bpb sliding {:.4f} ngram_tilt {:.4f} ngram_mix {:.4f}", plain.acc.val_bpb(),
                        tilted.acc.val_bpb(), mixed.acc.val_bpb()));
}

TEST_CASE("eval: pgolf eval --token-losses writes a TSV that sums to the method's val_bpb") {
    Fixture f;
    const auto model = f.run.dir / "model.safetensors";
    io::write_safetensors(model, f.weights);
    const auto tsv = f.run.dir / "losses.tsv";
    REQUIRE(run_cli({"eval", "--model", model.string(), "--methods", "sliding,ngram_mix", "--token-losses",
                     tsv.string()}) == 0);
    for (const char* name : {"sliding", "ngram_mix"}) {
        INFO("method ", name);
        std::ifstream in(f.run.dir / fmt::format("losses.{}.tsv", name));
        std::string header;
        std::getline(in, header);
        CHECK(header == "position\ttoken\tloss_nats\tbytes");
        int64_t pos = 0, token = 0, bytes = 0, rows = 0, prev = 0, byte_sum = 0;
        double loss = 0, loss_sum = 0;
        while (in >> pos >> token >> loss >> bytes) {
            CHECK(pos == prev + 1);  // every target, in stream order
            CHECK(token == f.val.tokens[static_cast<size_t>(pos)]);
            prev = pos;
            ++rows;
            loss_sum += loss;
            byte_sum += bytes;
        }
        MethodResult r = f.evaluate(eval::find_eval_method(name), f.val.tokens);
        CHECK(rows == static_cast<int64_t>(f.val.tokens.size()) - 1);
        CHECK(byte_sum == static_cast<int64_t>(r.acc.bytes()));
        // 9-digit losses summed in double: the bpb agrees to ~1e-8.
        CHECK(loss_sum / std::numbers::ln2 / static_cast<double>(byte_sum) == doctest::Approx(r.acc.val_bpb()).epsilon(1e-7));
    }
}

TEST_CASE("eval: a non-record score is marked in submission.json") {
    testing::TempDir dir;
    io::SubmissionInfo info = io::submission_from_settings();
    info.eval_method = "backoff_cache";
    info.non_record = true;
    io::write_submission_json(dir / "submission.json", info);
    const io::SubmissionInfo back = io::read_submission_json(dir / "submission.json");
    CHECK(back.non_record);
    CHECK(back.eval_method == "backoff_cache");
    CHECK(io::submission_json_text(info).find("\"non_record\": true") != std::string::npos);
}

TEST_CASE("eval: bad evaluation settings and illegal methods are refused naming the setting") {
    auto message = [](auto&& fn) {
        try {
            fn();
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    const eval::EvalMethod& sliding = eval::find_eval_method("sliding");
    CHECK(message([&] { eval::plan_eval_windows(sliding, 1000, 32, 64); }).find("EVAL_STRIDE=64") != std::string::npos);
    CHECK(message([] { eval::find_eval_method("magic"); }).find("ngram_tilt") != std::string::npos);
    const eval::EvalMethod& cache = eval::find_eval_method("backoff_cache");
    CHECK(message([&] { eval::check_eval_method_allowed(cache); }).find("NON_RECORD=1") != std::string::npos);
    CHECK(eval::parse_eval_methods("all").size() == 8);  // the illegal ones are left out
    env::ScopedOverride allow("NON_RECORD", "1");
    CHECK(eval::check_eval_method_allowed(cache).find("condition 2") != std::string::npos);
    CHECK(eval::parse_eval_methods("all").size() == 11);
    CHECK(eval::check_eval_method_allowed(sliding).empty());
    CHECK(eval::check_eval_method_allowed(eval::find_eval_method("slot")).find("condition") != std::string::npos);
}

}  // namespace pg
