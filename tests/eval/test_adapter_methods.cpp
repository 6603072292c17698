// The methods that train adapters over the frozen weights, on a small model:
// - LoRA TTT (ttt_lora_doc, ttt_lora_batch) against tests/parity/lora_ttt.py, a PyTorch reference
//   written from spec 2.5 that runs each document alone (no batching) with the same starting A;
//   SLOT (non-record) against tests/parity/slot.py, written from spec 4.7: every target's loss
//   agrees;
// - the schedule (frontend/eval/lora_plan.h) scores every target once, inside its own document,
//   and never trains on a document's last chunk;
// - bad settings (LORA_TTT_RANK=0 among them) are refused naming the setting.
// Legality (the perturbation test) is in test_eval_methods.cpp, with every legal method.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <cmath>
#include <fstream>

#include "base/env.h"
#include "base/error.h"
#include "frontend/data/data_settings.h"
#include "frontend/data/tokenizer.h"
#include "frontend/data/validation.h"
#include "frontend/eval/lora_plan.h"
#include "frontend/train/adapter_step.h"
#include "frontend/train/lora_adapter.h"
#include "frontend/train/method_eval.h"
#include "frontend/train/ttt_lora.h"
#include "runtime/executable.h"
#include "tests/support/skip.h"
#include "tests/support/tiny_run.h"
#include "tests/support/torch_reference.h"

namespace pg {
namespace {

using reference::model_json;
using reference::stream_tensor;
using reference::torch_available;

using Settings = std::vector<std::pair<const char*, const char*>>;

// Small forms of the two methods: ~40 chunks per document, two batches of documents. Adam's eps
// is 0.1 here, not the methods' 1e-10: with eps 1e-10 an Adam step is lr * sign(g) for every
// element, so a gradient within rounding of zero flips its update by 2 lr between two f32
// implementations; one flip moves a loss by ~2e-5 and over 40 steps the runs drift chaotically
// (measured: up to 2.6 nats apart, though both adapt alike). eps = 0.1 makes the step smooth in g
// and keeps every other part of the method (windows, batches, resets, scale, moments, decay).
const Settings kDocSettings = {{"LORA_TTT_RANK", "4"},       {"LORA_TTT_CHUNK", "16"}, {"LORA_TTT_CONTEXT", "48"},
                               {"LORA_TTT_BATCH_DOCS", "4"}, {"LORA_TTT_LR", "0.01"},  {"LORA_TTT_EPS", "0.1"}};
const Settings kBatchSettings = {{"LORA_TTT_RANK", "4"},     {"LORA_TTT_ALPHA", "6"},  {"LORA_TTT_CHUNK", "16"},
                                 {"LORA_TTT_CONTEXT", "40"}, {"LORA_TTT_BATCH_DOCS", "4"}, {"LORA_TTT_LR", "0.003"},
                                 {"LORA_TTT_EPS", "0.1"}};

// Row `row` of a [rows, in, rank] tensor.
HostTensor row_of(const HostTensor& t, int64_t row) {
    HostTensor out(DType::f32, {t.shape[1], t.shape[2]});
    for (int64_t i = 0; i < out.numel(); ++i) out.set(i, t.get(row * out.numel() + i));
    return out;
}

// The reference's input: weights, stream and each document's starting A, in stream-order indices.
io::TensorMap reference_inputs(const io::TensorMap& weights, std::span<const uint16_t> stream, const GptConfig& model,
                               const LoraTttConfig& cfg, const std::vector<eval::DocSpan>& docs) {
    io::TensorMap in = weights;
    in["stream"] = stream_tensor(stream);
    const auto batches = eval::plan_lora_batches(docs, static_cast<int64_t>(stream.size()), cfg.batch_docs, cfg.chunk,
                                                 cfg.context);
    const int64_t rows = std::min<int64_t>(cfg.batch_docs, static_cast<int64_t>(docs.size()));
    ModelGraph step = build_adapter_step(model, rows, cfg.context,
                                         make_lora_adapter({cfg.targets, cfg.rank, cfg.scale(), rows}), cfg.adam);
    for (size_t b = 0; b < batches.size(); ++b)
        for (size_t r = 0; r < batches[b].docs.size(); ++r) {
            size_t d = 0;
            while (docs[d].start != batches[b].docs[r].start) ++d;
            for (const ParamSpec& p : step.params->specs())
                if (p.name.find(".lora_a.") != std::string::npos)
                    in[fmt::format("a.{}.{}", d, p.name)] = row_of(
                        lora_a_init(cfg.seed, static_cast<int64_t>(b), p.name, p.shape), static_cast<int64_t>(r));
        }
    return in;
}

void write_reference_config(const std::filesystem::path& path, const GptConfig& m, const LoraTttConfig& cfg,
                            const std::vector<eval::DocSpan>& docs) {
    std::string spans;
    for (const eval::DocSpan& d : docs) spans += fmt::format("{}[{}, {}]", spans.empty() ? "" : ", ", d.start, d.end);
    std::ofstream(path) << fmt::format(
        R"({{{}, "docs": [{}], "chunk": {}, "context": {}, "scale": {}, "lr": {}, "beta1": {}, "beta2": {},
            "eps": {}, "wd": {}}})",
        model_json(m), spans, cfg.chunk, cfg.context, cfg.scale(), cfg.lr, cfg.adam.beta1, cfg.adam.beta2, cfg.adam.eps,
        cfg.adam.weight_decay);
}

}  // namespace

TEST_CASE("eval: ttt_lora_doc and ttt_lora_batch equal a PyTorch reference written from the spec") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    TinyRun run("lora");
    Hyperparams h = read_hyperparams();
    const int64_t seq = h.train_seq_len;
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq, h.model.vocab_size);
    std::span<const uint16_t> stream(val.tokens);
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    const io::TensorMap weights = reference::weights_without_zeros(h.model, seq);
    const std::vector<eval::DocSpan> docs = eval::split_documents(stream, 1);
    REQUIRE(docs.size() >= 5);  // two batches of 4
    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    const MethodEvalSetup setup{h.model, seq, 8, 16, true};
    const MethodResult sliding = evaluate_method(eval::find_eval_method("sliding"), setup, weights, *session, stream,
                                                 luts, progress, [](const std::string&) {});
    for (const auto& [method, settings] :
         {std::pair{"ttt_lora_doc", kDocSettings}, {"ttt_lora_batch", kBatchSettings}}) {
        INFO("method ", std::string(method));
        std::vector<std::unique_ptr<env::ScopedOverride>> overrides;
        for (const auto& [k, v] : settings) overrides.push_back(std::make_unique<env::ScopedOverride>(k, v));
        const MethodResult r = evaluate_method(eval::find_eval_method(method), setup, weights, *session, stream, luts,
                                               progress, [](const std::string&) {});
        const LoraTttConfig cfg = lora_ttt_config_from_settings(std::string(method) == "ttt_lora_batch");
        io::write_safetensors(run.dir / "ref_in.safetensors", reference_inputs(weights, stream, h.model, cfg, docs));
        write_reference_config(run.dir / "ref.json", h.model, cfg, docs);
        const HostTensor ref = reference::run_torch_script("lora_ttt.py", run.dir).at("losses");
        double worst = 0;
        int64_t adapted = 0;
        for (size_t t = 1; t < stream.size(); ++t) {
            const double want = ref.get(static_cast<int64_t>(t));
            worst = std::max(worst, std::fabs(r.target_losses[t] - want) / std::max(1.0, std::fabs(want)));
            adapted += std::fabs(ref.get(static_cast<int64_t>(t)) - sliding.target_losses[t]) > 1e-3;
        }
        // Both sides f32 with different summation orders, through ~40 Adam steps per document:
        // measured 7.6e-6 (doc) and 1.2e-4 (batch, twice the steps' drift); 5e-4 relative leaves
        // room for that and none for a wrong window, chunk, reset, scale or optimizer step (the
        // adaptation itself moves the losses by ~3e-2 on average).
        CHECK(worst < 5e-4);
        CHECK(adapted > static_cast<int64_t>(stream.size()) / 2);  // the adapters (and windows) did change the losses
        MESSAGE(fmt::format("{}: val_bpb {:.5f} (sliding {:.5f}), worst relative difference {:.2e}", method,
                            r.acc.val_bpb(), sliding.acc.val_bpb(), worst));
    }
}

TEST_CASE("eval: slot (non-record) equals a PyTorch reference written from the spec") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    TinyRun run("slot");
    env::ScopedOverride allow("NON_RECORD", "1"), steps("SLOT_STEPS", "3"), lr("SLOT_LR", "0.1");
    Hyperparams h = read_hyperparams();
    const int64_t seq = h.train_seq_len, rows = 16;
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq, h.model.vocab_size);
    std::span<const uint16_t> stream(val.tokens);
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    const io::TensorMap weights = reference::weights_without_zeros(h.model, seq);
    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    const MethodEvalSetup setup{h.model, seq, 8, rows, true};
    const MethodResult r = evaluate_method(eval::find_eval_method("slot"), setup, weights, *session, stream, luts,
                                           progress, [](const std::string&) {});
    CHECK(r.non_record);
    const MethodResult sliding = evaluate_method(eval::find_eval_method("sliding"), setup, weights, *session, stream,
                                                 luts, progress, [](const std::string&) {});
    const eval::WindowPlan plan = eval::plan_sliding_windows(static_cast<int64_t>(stream.size()), seq, 8);
    std::string windows;
    for (const eval::EvalWindow& w : plan.windows)
        windows += fmt::format("{}[{}, {}, {}]", windows.empty() ? "" : ", ", w.start, w.length, w.score_begin);
    io::TensorMap in = weights;
    in["stream"] = stream_tensor(stream);
    io::write_safetensors(run.dir / "ref_in.safetensors", in);
    std::ofstream(run.dir / "ref.json") << fmt::format(R"({{{}, "seq_len": {}, "rows": {}, "windows": [{}], "steps": 3,
        "lr": 0.1}})", model_json(h.model), seq, rows, windows);
    const HostTensor ref = reference::run_torch_script("slot.py", run.dir).at("losses");
    double worst = 0, moved = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        const double want = ref.get(static_cast<int64_t>(t));
        worst = std::max(worst, std::fabs(r.target_losses[t] - want) / std::max(1.0, std::fabs(want)));
        moved += std::fabs(want - sliding.target_losses[t]);
    }
    // Three AdamW steps of one d-vector per batch, both sides f32: measured 1.7e-7; 1e-5 relative
    // leaves room for summation order and none for a wrong step count, lr or batch.
    CHECK(worst < 1e-5);
    CHECK(moved / static_cast<double>(stream.size() - 1) > 3e-3);  // the delta does move the losses
    MESSAGE(fmt::format("slot: val_bpb {:.5f} (sliding {:.5f}), worst relative difference {:.2e}", r.acc.val_bpb(),
                        sliding.acc.val_bpb(), worst));
}

TEST_CASE("eval: the LoRA schedule scores each target once inside its document") {
    std::vector<uint16_t> stream(300, 5);
    for (size_t s : {0, 70, 100, 230}) stream[s] = 1;
    const auto docs = eval::split_documents(stream, 1);
    const auto batches = eval::plan_lora_batches(docs, 300, 3, 16, 40);
    REQUIRE(batches.size() == 2);
    CHECK(batches[0].docs[0].start == 100);  // the longest document first
    std::vector<int> scored(300, 0);
    for (const eval::LoraBatch& b : batches)
        for (const auto& step : b.steps)
            for (size_t r = 0; r < step.size(); ++r) {
                const eval::EvalWindow& w = step[r].window;
                if (w.length == 0) continue;
                const eval::DocSpan& d = b.docs[r];
                CHECK(w.start >= d.start);
                CHECK(w.length <= 40);
                const int64_t last = w.start + w.score_end;  // the chunk's last target
                CHECK(last <= d.last_target(300));
                CHECK(step[r].train == (last < d.last_target(300)));
                for (int64_t t = w.first_target(); t <= last; ++t) ++scored[static_cast<size_t>(t)];
            }
    for (size_t t = 1; t < 300; ++t) CHECK(scored[t] == 1);
}

TEST_CASE("eval: bad LoRA settings are refused naming the setting") {
    auto message = [](const char* key, const char* value) {
        env::ScopedOverride s(key, value);
        try {
            lora_ttt_config_from_settings(true);
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    CHECK(message("LORA_TTT_RANK", "0").find("LORA_TTT_RANK=0") != std::string::npos);
    CHECK(message("LORA_TTT_CHUNK", "4096").find("LORA_TTT_CHUNK=4096") != std::string::npos);
    CHECK(message("LORA_TTT_TARGETS", "q,ffn").find("LORA_TTT_TARGETS") != std::string::npos);
    CHECK(message("LORA_TTT_LR", "fast").find("LORA_TTT_LR=fast") != std::string::npos);
    CHECK(message("LORA_TTT_RESET", "never").find("LORA_TTT_RESET=never") != std::string::npos);
}

}  // namespace pg
