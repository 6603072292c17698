// Document-isolated LoRA test-time training (see ttt_lora.h).
#include "frontend/train/ttt_lora.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "base/env.h"
#include "base/error.h"
#include "frontend/eval/lora_plan.h"
#include "frontend/train/adapter_step.h"
#include "frontend/train/lora_adapter.h"
#include "runtime/executable.h"

namespace pg {

using env::KnobKind;

#define PG_LORA_KNOB(NAME, DOC) \
    PG_KNOB({.name = NAME, .kind = KnobKind::String, .default_value = "", .doc = DOC " (empty: the method's default)"})
PG_LORA_KNOB("LORA_TTT_TARGETS", "ttt_lora_*: adapted layers, of q,k,v,o,mlp,head (doc: head,q,v; batch: all six)");
PG_LORA_KNOB("LORA_TTT_RANK", "ttt_lora_*: adapter rank (doc 8, batch 96)");
PG_LORA_KNOB("LORA_TTT_ALPHA", "ttt_lora_*: output scale alpha/rank; 0 scales by 1 (doc 0, batch 144)");
PG_LORA_KNOB("LORA_TTT_CHUNK", "ttt_lora_*: targets scored then trained per step (doc 256, batch 32)");
PG_LORA_KNOB("LORA_TTT_CONTEXT",
             "ttt_lora_*: window length in tokens, ending at the chunk's end (doc 1024, batch 2048)");
PG_LORA_KNOB("LORA_TTT_BATCH_DOCS", "ttt_lora_*: documents per batch, one adapter set each (64)");
PG_LORA_KNOB("LORA_TTT_LR", "ttt_lora_*: Adam learning rate (doc 0.01, batch 1e-4)");
PG_LORA_KNOB("LORA_TTT_BETA1", "ttt_lora_*: Adam beta1 (doc 0.9, batch 0)");
PG_LORA_KNOB("LORA_TTT_BETA2", "ttt_lora_*: Adam beta2 (doc 0.95, batch 0.999)");
PG_LORA_KNOB("LORA_TTT_EPS", "ttt_lora_*: Adam epsilon (1e-10)");
PG_LORA_KNOB("LORA_TTT_WD", "ttt_lora_*: decoupled weight decay, AdamW (doc 0, batch 0.5)");
PG_LORA_KNOB("LORA_TTT_RESET",
             "ttt_lora_*: what a new batch resets: all (B zeroed, A re-drawn) or b (A warm-starts, PR #1767)");
PG_KNOB({.name = "LORA_TTT_SEED", .kind = KnobKind::Int, .default_value = "1",
         .doc = "ttt_lora_*: seed of the adapters' A draws"});
#undef PG_LORA_KNOB

LoraTttConfig lora_doc_defaults() {
    LoraTttConfig c;
    c.targets = {"head", "q", "v"};
    c.adam = {.beta1 = 0.9, .beta2 = 0.95, .eps = 1e-10, .weight_decay = 0};
    return c;
}

LoraTttConfig lora_batch_defaults() {
    LoraTttConfig c;
    c.targets = {"q", "k", "v", "o", "mlp", "head"};
    c.rank = 96;
    c.alpha = 144;
    c.chunk = 32;
    c.context = 2048;
    c.lr = 1e-4;
    c.adam = {.beta1 = 0.0, .beta2 = 0.999, .eps = 1e-10, .weight_decay = 0.5};
    return c;
}

namespace {

template <typename T>
void override_number(const char* knob, T& out) {
    const std::string v = env::get(knob);
    if (v.empty()) return;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    PG_CHECK(ec == std::errc() && end == v.data() + v.size(), "{}={} is not a number", knob, v);
}

std::vector<std::string> split_list(const std::string& list) {
    std::vector<std::string> out;
    for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        out.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
    }
    return out;
}

}  // namespace

LoraTttConfig lora_ttt_config_from_settings(bool batched) {
    LoraTttConfig c = batched ? lora_batch_defaults() : lora_doc_defaults();
    if (const std::string t = env::get("LORA_TTT_TARGETS"); !t.empty()) c.targets = split_list(t);
    override_number("LORA_TTT_RANK", c.rank);
    override_number("LORA_TTT_ALPHA", c.alpha);
    override_number("LORA_TTT_CHUNK", c.chunk);
    override_number("LORA_TTT_CONTEXT", c.context);
    override_number("LORA_TTT_BATCH_DOCS", c.batch_docs);
    override_number("LORA_TTT_LR", c.lr);
    override_number("LORA_TTT_BETA1", c.adam.beta1);
    override_number("LORA_TTT_BETA2", c.adam.beta2);
    override_number("LORA_TTT_EPS", c.adam.eps);
    override_number("LORA_TTT_WD", c.adam.weight_decay);
    const std::string reset = env::get("LORA_TTT_RESET");
    PG_CHECK(reset.empty() || reset == "all" || reset == "b", "LORA_TTT_RESET={}: use all or b", reset);
    c.redraw_a = reset != "b";
    c.seed = static_cast<uint64_t>(env::get_int("LORA_TTT_SEED"));
    check_lora_targets(c.targets);
    PG_CHECK(c.rank >= 1, "LORA_TTT_RANK={} must be at least 1 (a rank-0 adapter cannot learn anything)", c.rank);
    PG_CHECK(c.chunk >= 1 && c.chunk <= c.context,
             "LORA_TTT_CHUNK={} must be between 1 and the context window LORA_TTT_CONTEXT={}", c.chunk, c.context);
    PG_CHECK(c.batch_docs >= 1, "LORA_TTT_BATCH_DOCS={} must be at least 1", c.batch_docs);
    PG_CHECK(c.alpha >= 0, "LORA_TTT_ALPHA={} must be 0 (scale 1) or positive", c.alpha);
    PG_CHECK(c.lr > 0, "LORA_TTT_LR={} must be positive", c.lr);
    PG_CHECK(c.adam.beta1 >= 0 && c.adam.beta1 < 1 && c.adam.beta2 >= 0 && c.adam.beta2 < 1,
             "LORA_TTT_BETA1={} / LORA_TTT_BETA2={} must be in [0, 1)", c.adam.beta1, c.adam.beta2);
    PG_CHECK(c.adam.eps > 0, "LORA_TTT_EPS={} must be positive", c.adam.eps);
    PG_CHECK(c.adam.weight_decay >= 0, "LORA_TTT_WD={} must be 0 or positive", c.adam.weight_decay);
    return c;
}

HostTensor lora_a_init(uint64_t seed, int64_t batch, const std::string& name, const Shape& shape) {
    std::seed_seq seq{seed, static_cast<uint64_t>(batch), static_cast<uint64_t>(std::hash<std::string>()(name))};
    std::mt19937_64 gen(seq);
    const double bound = 1.0 / std::sqrt(static_cast<double>(shape[1]));
    std::uniform_real_distribution<float> dist(static_cast<float>(-bound), static_cast<float>(bound));
    HostTensor t(DType::f32, shape);
    auto* p = reinterpret_cast<float*>(t.data());
    for (int64_t i = 0; i < t.numel(); ++i) p[i] = dist(gen);
    return t;
}

namespace {

// The compiled adapter step with the model's weights in place and the batch buffers.
class LoraRunner {
public:
    LoraRunner(Session& session, const GptConfig& model, const io::TensorMap& weights, int64_t rows,
               const LoraTttConfig& cfg)
        : cfg_(cfg),
          rows_(rows),
          step_(build_adapter_step(model, rows, cfg.context,
                                   make_lora_adapter({cfg.targets, cfg.rank, cfg.scale(), rows}), cfg.adam)),
          exe_(compile_executable(session, *step_.graph)),
          ids_(DType::i32, {rows, cfg.context}),
          targets_(DType::i32, {rows, cfg.context}),
          loss_weights_(DType::f32, {rows * cfg.context}) {
        set_model_weights(*exe_, *step_.params, weights);
        exe_->set_scalar("adapter_lr", cfg.lr);
    }

    // Fresh adapters and optimizer state for batch b.
    void reset(int64_t b) {
        for (const ParamSpec& p : step_.params->specs()) {
            const bool a = p.name.find(".lora_a.") != std::string::npos;
            if (p.group == kAdapterGroup && a && (cfg_.redraw_a || b == 0))
                exe_->set(p.name, lora_a_init(cfg_.seed, b, p.name, p.shape));
            else if ((p.group == kAdapterGroup && !a) || p.group == "state")
                exe_->set(p.name, HostTensor(DType::f32, p.shape));
        }
    }

    // Scores (and trains on) one step's rows; returns the losses [rows * context].
    std::vector<float> run(const std::vector<eval::LoraRow>& rows, int64_t step, std::span<const uint16_t> stream) {
        const int64_t W = cfg_.context;
        auto* x = reinterpret_cast<int32_t*>(ids_.data());
        auto* y = reinterpret_cast<int32_t*>(targets_.data());
        auto* lw = reinterpret_cast<float*>(loss_weights_.data());
        std::fill(x, x + rows_ * W, 0);
        std::fill(y, y + rows_ * W, 0);
        std::fill(lw, lw + rows_ * W, 0.0f);
        for (size_t r = 0; r < rows.size(); ++r) {
            const eval::EvalWindow& w = rows[r].window;
            const int64_t base = static_cast<int64_t>(r) * W;
            for (int64_t j = 0; j < w.length; ++j) {
                x[base + j] = stream[static_cast<size_t>(w.start + j)];
                y[base + j] = stream[static_cast<size_t>(w.start + j + 1)];
            }
            if (!rows[r].train) continue;
            for (int64_t j = w.score_begin; j < w.score_end; ++j)
                lw[base + j] = 1.0f / static_cast<float>(w.scored());
        }
        exe_->set("ids", ids_);
        exe_->set("targets", targets_);
        exe_->set("loss_weights", loss_weights_);
        exe_->set_scalar("step", static_cast<double>(step + 1));
        exe_->run();
        const HostTensor losses = exe_->get("losses");
        const auto* l = reinterpret_cast<const float*>(losses.data());
        return {l, l + losses.numel()};
    }

private:
    const LoraTttConfig& cfg_;
    int64_t rows_;
    ModelGraph step_;
    std::unique_ptr<Executable> exe_;
    HostTensor ids_, targets_, loss_weights_;
};

}  // namespace

TttLoraResult evaluate_ttt_lora(Session& session, const GptConfig& model, const io::TensorMap& weights,
                                std::span<const uint16_t> stream, const eval::ByteLuts& luts, uint16_t bos_id,
                                const LoraTttConfig& cfg, std::vector<float>* target_losses,
                                const std::function<void(int64_t, int64_t)>& after_batch) {
    const auto n = static_cast<int64_t>(stream.size());
    const std::vector<eval::DocSpan> docs = eval::split_documents(stream, bos_id);
    PG_CHECK(!docs.empty(), "the validation stream holds no document to score");
    const std::vector<eval::LoraBatch> batches =
        eval::plan_lora_batches(docs, n, cfg.batch_docs, cfg.chunk, cfg.context);
    LoraRunner runner(session, model, weights, std::min<int64_t>(cfg.batch_docs, static_cast<int64_t>(docs.size())),
                      cfg);
    TttLoraResult out;
    if (target_losses) {
        target_losses->assign(stream.size(), std::numeric_limits<float>::quiet_NaN());
        out.target_step.assign(stream.size(), -1);
    }
    int64_t global_step = 0;
    for (size_t b = 0; b < batches.size(); ++b) {
        runner.reset(static_cast<int64_t>(b));
        for (size_t s = 0; s < batches[b].steps.size(); ++s) {
            const std::vector<eval::LoraRow>& rows = batches[b].steps[s];
            const std::vector<float> losses = runner.run(rows, static_cast<int64_t>(s), stream);
            for (size_t r = 0; r < rows.size(); ++r) {
                const eval::EvalWindow& w = rows[r].window;
                if (w.length == 0) continue;
                const std::span<const float> scored(losses.data() + r * static_cast<size_t>(cfg.context) +
                                                        static_cast<size_t>(w.score_begin),
                                                    static_cast<size_t>(w.scored()));
                out.acc.add_targets(scored, stream, w.first_target(), luts);
                ++out.windows;
                if (!target_losses) continue;
                std::copy(scored.begin(), scored.end(), target_losses->begin() + w.first_target());
                std::fill_n(out.target_step.begin() + w.first_target(), scored.size(), global_step);
            }
            ++global_step;
        }
        if (after_batch) after_batch(static_cast<int64_t>(b) + 1, static_cast<int64_t>(batches.size()));
    }
    return out;
}

}  // namespace pg
