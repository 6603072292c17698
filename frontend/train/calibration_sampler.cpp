// The self-generated calibration text (see calibration_sampler.h).
#include "frontend/train/calibration_sampler.h"

#include <algorithm>

#include "base/env.h"
#include "base/error.h"
#include "frontend/train/model_weights.h"

namespace pg {

namespace {

using env::KnobKind;
PG_KNOB({.name = "GPTQ_CALIB_NUM_SEQS", .kind = KnobKind::Int, .default_value = "64",
         .doc = "GPTQ_CALIB=selfgen: sequences the model generates for calibration"});
PG_KNOB({.name = "GPTQ_CALIB_SEQ_LEN", .kind = KnobKind::Int, .default_value = "2048",
         .doc = "GPTQ_CALIB=selfgen: tokens per generated sequence (the first one uniformly random)"});
PG_KNOB({.name = "GPTQ_CALIB_GEN_BATCH_SIZE", .kind = KnobKind::Int, .default_value = "8",
         .doc = "GPTQ_CALIB=selfgen: sequences generated together; must divide GPTQ_CALIB_NUM_SEQS"});
PG_KNOB({.name = "GPTQ_CALIB_TEMPERATURE", .kind = KnobKind::Float, .default_value = "0.8",
         .doc = "GPTQ_CALIB=selfgen: sampling temperature (0 = greedy)"});
PG_KNOB({.name = "GPTQ_CALIB_SEED", .kind = KnobKind::Int, .default_value = "42",
         .doc = "GPTQ_CALIB=selfgen: seed of the first tokens and of every draw"});

// Sets the position each row reads: row r of the window at `pos`.
void set_positions(HostTensor& at, int64_t seq_len, int64_t pos) {
    for (int64_t r = 0; r < at.numel(); ++r) at.set(r, static_cast<double>(r * seq_len + pos));
}

// Uniform over [0, vocab) (u·vocab can round up to vocab for a u just below 1).
int32_t first_token(std::mt19937_64& rng, int64_t vocab) {
    return static_cast<int32_t>(std::min<int64_t>(vocab - 1, static_cast<int64_t>(uniform01(rng) * static_cast<double>(vocab))));
}

int32_t argmax(const float* p, int64_t n) { return static_cast<int32_t>(std::max_element(p, p + n) - p); }

}  // namespace

SelfGenConfig selfgen_config_from_settings() {
    SelfGenConfig c;
    c.num_seqs = env::get_int("GPTQ_CALIB_NUM_SEQS");
    c.seq_len = env::get_int("GPTQ_CALIB_SEQ_LEN");
    c.batch = env::get_int("GPTQ_CALIB_GEN_BATCH_SIZE");
    c.temperature = env::get_float("GPTQ_CALIB_TEMPERATURE");
    c.seed = static_cast<uint64_t>(env::get_int("GPTQ_CALIB_SEED"));
    PG_CHECK(c.seq_len >= 2, "GPTQ_CALIB_SEQ_LEN={} must be at least 2 (a first token and one drawn)", c.seq_len);
    PG_CHECK(c.batch > 0 && c.num_seqs > 0 && c.num_seqs % c.batch == 0,
             "GPTQ_CALIB_NUM_SEQS={} must be a positive multiple of GPTQ_CALIB_GEN_BATCH_SIZE={}", c.num_seqs,
             c.batch);
    PG_CHECK(c.temperature >= 0, "GPTQ_CALIB_TEMPERATURE={} must not be negative (0 = greedy)", c.temperature);
    return c;
}

ModelGraph build_sampler_graph(const GptConfig& train_cfg, int64_t rows, int64_t seq_len) {
    GptConfig cfg = train_cfg;
    cfg.qat_bits = 0;  // as the evaluation graph: QAT fake-quantises the training forward pass only
    ModelGraph m;
    m.graph = std::make_unique<Graph>();
    m.params = std::make_unique<ParamSet>(*m.graph);
    Graph& g = *m.graph;
    Tensor ids = input(g, "ids", {rows, seq_len}, DType::i32);
    Tensor at = input(g, "at", {rows}, DType::i32);
    Tensor log_probs = gpt_log_probs(cfg, gpt_logits(*m.params, cfg, ids));
    // log_probs differs from the softcapped logits by a constant per position, so its softmax at a
    // temperature is the records' softmax(logits / T).
    g.set_output("probs", softmax(gather(log_probs, at) * runtime_scalar(g, "inv_temperature")).id());
    return m;
}

int32_t draw_token(const float* probs, int64_t vocab, double u) {
    double total = 0;
    for (int64_t i = 0; i < vocab; ++i) total += probs[i];
    const double target = u * total;
    double cum = 0;
    int32_t last = 0;
    for (int64_t i = 0; i < vocab; ++i) {
        if (probs[i] <= 0) continue;
        cum += probs[i];
        last = static_cast<int32_t>(i);
        if (cum > target) return last;
    }
    return last;  // u·total rounded up to the sum: the last token with any mass
}

double uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

TokenSampler::TokenSampler(const GptConfig& cfg, int64_t rows, int64_t seq_len, Session& session)
    : rows_(rows), seq_len_(seq_len), vocab_(cfg.vocab_size), at_(DType::i32, {rows}) {
    model_ = build_sampler_graph(cfg, rows, seq_len);
    exe_ = compile_executable(session, *model_.graph);
}

void TokenSampler::set_weights(const std::map<std::string, HostTensor>& weights) {
    set_model_weights(*exe_, model_, weights);
}

HostTensor TokenSampler::next_token_probs(const HostTensor& ids, int64_t pos, double temperature) {
    PG_ASSERT(pos >= 0 && pos < seq_len_, "position {} outside the window of {}", pos, seq_len_);
    set_positions(at_, seq_len_, pos);
    exe_->set("ids", ids);
    exe_->set("at", at_);
    exe_->set_scalar("inv_temperature", temperature > 0 ? 1.0 / temperature : 1.0);
    exe_->run();
    return exe_->get("probs");
}

HostTensor TokenSampler::generate(std::mt19937_64& rng, double temperature) {
    HostTensor ids(DType::i32, {rows_, seq_len_});  // zeros after the current position: never read
    auto* tok = static_cast<int32_t*>(ids.data());
    for (int64_t r = 0; r < rows_; ++r) tok[r * seq_len_] = first_token(rng, vocab_);
    for (int64_t pos = 0; pos + 1 < seq_len_; ++pos) {
        const HostTensor probs = next_token_probs(ids, pos, temperature);
        const auto* p = static_cast<const float*>(probs.data());
        for (int64_t r = 0; r < rows_; ++r) {
            const float* row = p + r * vocab_;
            tok[r * seq_len_ + pos + 1] = temperature > 0 ? draw_token(row, vocab_, uniform01(rng)) : argmax(row, vocab_);
        }
    }
    return ids;
}

std::vector<HostTensor> generate_calibration_tokens(const GptConfig& model, Session& session,
                                                    const std::map<std::string, HostTensor>& weights,
                                                    const SelfGenConfig& cfg) {
    TokenSampler sampler(model, cfg.batch, cfg.seq_len, session);
    sampler.set_weights(weights);
    std::mt19937_64 rng(cfg.seed);
    std::vector<HostTensor> batches;
    for (int64_t done = 0; done < cfg.num_seqs; done += cfg.batch) batches.push_back(sampler.generate(rng, cfg.temperature));
    return batches;
}

}  // namespace pg
