// GPTQ calibration on self-generated text (frontend/train/calibration_sampler.h): the sampler graph's
// next-token distribution at a temperature equals softmax(log_probs / T) of the reference
// interpreter running the model's evaluation graph; temperature 0 is the interpreter's greedy
// decoding, and a temperature near 0 samples the same text; the host's draw follows the
// distribution; the text is a function of the seed and holds valid token ids; GPTQ calibrated on
// it still beats round-to-nearest on every layer of a trained model, measured on the training
// kind of text; the settings reject what they cannot do; `pgolf export` calibrates this way
// without any data.
#include <doctest/doctest.h>

#include <cmath>

#include "base/env.h"
#include "frontend/export/checkpoint.h"
#include "frontend/export/gptq.h"
#include "frontend/train/calibration.h"
#include "frontend/train/calibration_sampler.h"
#include "graph/interpreter.h"
#include "tests/export/export_test_util.h"
#include "tests/export/gptq_test_util.h"
#include "tests/support/training_configs.h"

using namespace pg;
using namespace pg::io;
using namespace pg::export_test;

namespace {

// The tiny GPT with every weight matrix drawn from N(0, 0.5²): the zero-initialised projections
// of a fresh model would make each next token a function of the current one alone, so a sampler
// reading the wrong position would go unnoticed.
io::TensorMap random_weights(const GptConfig& cfg) {
    io::TensorMap w = build_eval_graph(cfg, 1, 8).params->initialize(3);
    std::mt19937 rng(17);
    for (auto& [name, t] : w)
        if (t.shape.size() == 2) t = random_tensor(t.dtype, t.shape, rng, 0.5);
    return w;
}

// The interpreter's log-probabilities [rows * seq_len, vocab] of the evaluation graph over `ids`.
HostTensor interpreter_log_probs(const GptConfig& cfg, const io::TensorMap& weights, const HostTensor& ids) {
    const int64_t rows = ids.shape[0], seq_len = ids.shape[1];
    ModelGraph m = build_eval_graph(cfg, rows, seq_len, true);
    Feeds feeds = weights;
    feeds["ids"] = ids;
    feeds["targets"] = HostTensor(DType::i32, {rows, seq_len});
    return interpret(*m.graph, feeds, {m.graph->output("log_probs")})[0];
}

HostTensor random_ids(int64_t rows, int64_t seq_len, int64_t vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    HostTensor ids(DType::i32, {rows, seq_len});
    for (int64_t i = 0; i < ids.numel(); ++i) ids.set(i, static_cast<double>(rng() % static_cast<uint64_t>(vocab)));
    return ids;
}

SelfGenConfig small_selfgen(double temperature, uint64_t seed) {
    return SelfGenConfig{.num_seqs = 4, .seq_len = 12, .batch = 2, .temperature = temperature, .seed = seed};
}

}  // namespace

TEST_CASE("export: the sampler's next-token distribution is the interpreter's softmax(log_probs / T)") {
    const GptConfig cfg = testing::tiny_gpt();
    const io::TensorMap w = random_weights(cfg);
    std::unique_ptr<Session> session = open_session("cpu");
    TokenSampler sampler(cfg, 2, 12, *session);
    sampler.set_weights(w);
    const HostTensor ids = random_ids(2, 12, cfg.vocab_size, 5);
    const std::vector<double> lp = interpreter_log_probs(cfg, w, ids).to_doubles();
    const int64_t v = cfg.vocab_size;
    for (const int64_t pos : {0, 5, 11}) {
        for (const double t : {0.5, 1.0, 2.0}) {
            INFO("position " << pos << ", temperature " << t);
            HostTensor ref(DType::f32, {2, v});
            for (int64_t r = 0; r < 2; ++r) {
                const double* row = lp.data() + (r * 12 + pos) * v;
                double z = 0;
                for (int64_t i = 0; i < v; ++i) z += std::exp(row[i] / t);
                for (int64_t i = 0; i < v; ++i) ref.set(r * v + i, std::exp(row[i] / t) / z);
            }
            // An fp32 forward of ~200 ops against fp64 leaves ~1e-5 relative on the logits (about
            // 5e-5 absolute at their magnitude ~5), 1e-4 after the division by T = 0.5: each
            // probability within ~1e-4 of its value.
            CHECK(max_rel_error(sampler.next_token_probs(ids, pos, t), ref) < 2e-4);
        }
    }
}

TEST_CASE("export: temperature 0 decodes greedily as the interpreter, and a temperature near 0 samples the same") {
    const GptConfig cfg = testing::tiny_gpt();
    const io::TensorMap w = random_weights(cfg);
    std::unique_ptr<Session> session = open_session("cpu");
    const std::vector<HostTensor> greedy = generate_calibration_tokens(cfg, *session, w, small_selfgen(0, 9));
    int distinct_next = 0;
    for (const HostTensor& ids : greedy) {
        // Causal attention: one interpreter pass over the finished text gives every step's logits.
        const std::vector<double> lp = interpreter_log_probs(cfg, w, ids).to_doubles();
        for (int64_t r = 0; r < 2; ++r) {
            for (int64_t pos = 0; pos + 1 < 12; ++pos) {
                const double* row = lp.data() + (r * 12 + pos) * cfg.vocab_size;
                const auto chosen = static_cast<int64_t>(ids.get(r * 12 + pos + 1));
                const double best = *std::max_element(row, row + cfg.vocab_size);
                // Ties within the fp32 forward's error (~1e-4, see above) may go either way.
                CHECK(row[chosen] >= best - 1e-4);
                distinct_next += ids.get(r * 12 + pos + 1) != ids.get(r * 12 + pos);
            }
        }
    }
    CHECK(distinct_next > 11);  // the text is not one repeated token
    const std::vector<HostTensor> cold = generate_calibration_tokens(cfg, *session, w, small_selfgen(1e-4, 9));
    // The first batch only: the draws at T > 0 use the generator, so the later batches' first
    // tokens come from a different part of its stream than at T = 0.
    CHECK(cold[0].bytes == greedy[0].bytes);
}

TEST_CASE("export: self-generated text is a function of the seed and holds valid token ids") {
    const GptConfig cfg = testing::tiny_gpt();
    const io::TensorMap w = random_weights(cfg);
    std::unique_ptr<Session> session = open_session("cpu");
    const std::vector<HostTensor> a = generate_calibration_tokens(cfg, *session, w, small_selfgen(0.8, 42));
    const std::vector<HostTensor> b = generate_calibration_tokens(cfg, *session, w, small_selfgen(0.8, 42));
    const std::vector<HostTensor> c = generate_calibration_tokens(cfg, *session, w, small_selfgen(0.8, 43));
    REQUIRE(a.size() == 2);
    int same_as_other_seed = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].shape == Shape{2, 12});
        CHECK(a[i].bytes == b[i].bytes);
        same_as_other_seed += a[i].bytes == c[i].bytes;
        for (int64_t k = 0; k < a[i].numel(); ++k) {
            CHECK(a[i].get(k) >= 0);
            CHECK(a[i].get(k) < cfg.vocab_size);
        }
    }
    CHECK(same_as_other_seed == 0);
}

TEST_CASE("export: the host's draw follows the distribution it is given") {
    const std::vector<float> p = {0.5f, 0.25f, 0.0f, 0.2f, 0.05f};
    std::mt19937_64 rng(3);
    const int n = 40000;
    std::vector<int> count(p.size(), 0);
    for (int i = 0; i < n; ++i) ++count[static_cast<size_t>(draw_token(p.data(), 5, uniform01(rng)))];
    CHECK(count[2] == 0);
    for (size_t i = 0; i < p.size(); ++i) {
        // Binomial counts: within 5 standard deviations (a false alarm about once in 1.7 million).
        const double mean = n * p[i], sd = std::sqrt(n * p[i] * (1 - p[i]));
        CHECK(std::fabs(count[i] - mean) <= 5 * sd);
    }
    CHECK(draw_token(p.data(), 5, 0.0) == 0);
    CHECK(draw_token(p.data(), 5, 0.999999) == 4);
    const std::vector<float> tail = {0.3f, 0.7f, 0.0f};
    CHECK(draw_token(tail.data(), 3, std::nextafter(1.0, 0.0)) == 1);  // never a token without mass
}

TEST_CASE("export: GPTQ calibrated on self-generated text beats round-to-nearest on every layer") {
    Hyperparams h = testing::tiny_training();
    std::unique_ptr<Session> session = open_session("cpu");
    const io::TensorMap weights = train_tiny(*session, h, 25);
    const SelfGenConfig gen{.num_seqs = 8, .seq_len = 32, .batch = 4, .temperature = 0.8, .seed = 42};
    const HessianMap self = collect_selfgen_hessians(h.model, *session, weights, gen);
    // Judged on the kind of text the model was trained on, not on the calibration text itself.
    const HessianMap train = skewed_hessians(*session, h, weights, 4);
    CHECK(self.size() == train.size());
    CHECK(self.at("blocks.0.mlp.fc.weight").rows == 8 * 32);
    for (const char* fmt : {"int4", "int6@search"}) {
        const QuantFormat f = parse_quant_format(fmt, "test");
        for (const auto& [name, hess] : self) {
            INFO(fmt << " " << name);
            const HostTensor& w = weights.at(name);
            const QuantizedTensor g = gptq_quantize(name, w, hess, f, GptqConfig{});
            const QuantizedTensor rtn = gptq_quantize(name, w, identity_hessian(w.shape[1]), f, {true, 128, 0.0, 1});
            CHECK(output_error(w, g, train.at(name)) < output_error(w, rtn, train.at(name)));
        }
    }
}

TEST_CASE("export: the self-generation settings reject what they cannot do") {
    CHECK(error_of([] { selfgen_config_from_settings(); }).empty());
    {
        env::ScopedOverride n("GPTQ_CALIB_NUM_SEQS", "10");
        CHECK(error_of([] { selfgen_config_from_settings(); })
                  .find("GPTQ_CALIB_NUM_SEQS=10 must be a positive multiple of GPTQ_CALIB_GEN_BATCH_SIZE=8") !=
              std::string::npos);
    }
    {
        env::ScopedOverride t("GPTQ_CALIB_TEMPERATURE", "-1");
        CHECK(error_of([] { selfgen_config_from_settings(); }).find("GPTQ_CALIB_TEMPERATURE=-1") != std::string::npos);
    }
    CHECK(error_of([] { env::ScopedOverride c("GPTQ_CALIB", "valid"); }).find("expected one of: train, selfgen") !=
          std::string::npos);
    env::ScopedOverride c("GPTQ_CALIB", "selfgen");
    CHECK(gptq_config_from_settings().self_generated);
}

TEST_CASE("export: pgolf export with GPTQ_CALIB=selfgen calibrates on the model's own text, without data") {
    TempDir dir;
    Checkpoint c;
    c.tensors = random_weights(testing::tiny_gpt());
    c.set_config({{"VOCAB_SIZE", "96"}, {"NUM_LAYERS", "2"}, {"MODEL_DIM", "64"}, {"NUM_HEADS", "4"},
                  {"NUM_KV_HEADS", "2"}, {"MLP_MULT", "2"}});
    save_checkpoint(dir / "run.ckpt", c);
    const auto out = dir / "model.art";
    const CommandResult r =
        run_command("DATA_PATH=" + (dir / "nothing").string() +
                    " GPTQ=1 GPTQ_CALIB=selfgen GPTQ_CALIB_NUM_SEQS=2 GPTQ_CALIB_GEN_BATCH_SIZE=2 GPTQ_CALIB_SEQ_LEN=8 " +
                    PG_BINARY + " export --model " + (dir / "run.ckpt").string() + " --out " + out.string() +
                    " --quant all:int6");
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output.find("GPTQ on self-generated text") != std::string::npos);
    CHECK(std::filesystem::exists(out));
}
