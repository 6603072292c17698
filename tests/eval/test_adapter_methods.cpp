// The methods that train adapters over the frozen weights, on a small model:
// - LoRA TTT (ttt_lora_doc, ttt_lora_batch) against tests/parity/lora_ttt.py, a PyTorch reference
//   written from spec 2.5 that runs each document alone (no batching) with the same starting A;
//   SLOT (non-record) against tests/parity/slot.py, written from spec 4.7; ttt_phased in the
//   records' form (LoRA-scored) against the same LoRA reference run between phases whose global
//   SGD is tests/support/sgd_reference.h's host SGD on the first n_k queue documents: every
//   target's loss agrees;
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
#include "frontend/eval/ttt_phases.h"
#include "frontend/train/adapter_step.h"
#include "frontend/train/lora_adapter.h"
#include "frontend/train/method_eval.h"
#include "frontend/train/ttt_lora.h"
#include "runtime/executable.h"
#include "tests/support/sgd_reference.h"
#include "tests/support/skip.h"
#include "tests/support/tiny_run.h"
#include "tests/support/torch_reference.h"

namespace pg {
namespace {

using reference::model_json;
using reference::stream_tensor;
using reference::torch_available;

using Settings = std::vector<std::pair<const char*, const char*>>;

// Small forms of the two methods: ~60 chunks per ~1000-token document, two batches of documents,
// the methods' own Adam settings (eps 1e-10). The batched form's lr is 1e-3: at 3e-3 its six
// adapters adapt so fast that two f32 implementations, each stable (a 1e-6 change of the weights
// moves its own losses by 1e-6), drift apart by 1.6e-4.
const Settings kDocSettings = {{"LORA_TTT_RANK", "4"},       {"LORA_TTT_CHUNK", "16"}, {"LORA_TTT_CONTEXT", "48"},
                               {"LORA_TTT_BATCH_DOCS", "4"}, {"LORA_TTT_LR", "0.01"}};
const Settings kBatchSettings = {{"LORA_TTT_RANK", "4"},     {"LORA_TTT_ALPHA", "6"},  {"LORA_TTT_CHUNK", "16"},
                                 {"LORA_TTT_CONTEXT", "40"}, {"LORA_TTT_BATCH_DOCS", "4"}, {"LORA_TTT_LR", "0.001"}};

// The test model: every weight non-zero and the tied embedding scaled by 20, so that the model's
// predictions depend on the context and the adapters get real gradients. (At the initial scale,
// std ~0.005, the logits are nearly flat and a wrong window or adapter barely moves a loss: such
// a model hid a duplicated adapter in the reference until the phased test trained the weights.)
io::TensorMap test_weights(const GptConfig& model, int64_t seq) {
    io::TensorMap w = reference::weights_without_zeros(model, seq);
    HostTensor& emb = w.at("tok_emb.weight");
    for (int64_t i = 0; i < emb.numel(); ++i) emb.set(i, 20 * emb.get(i));
    return w;
}

// Row `row` of a [rows, in, rank] tensor.
// What the reference tests evaluate: the settings (read when constructed, after the test's
// overrides), the validation stream, its byte tables and the test weights.
struct EvalInputs {
    Hyperparams h = read_hyperparams();
    int64_t seq = h.train_seq_len;
    data::ValidationTokens val = data::load_validation_tokens(data::data_path(), seq, h.model.vocab_size);
    std::span<const uint16_t> stream{val.tokens};
    eval::ByteLuts luts = eval::build_byte_luts(data::Tokenizer::load(data::tokenizer_path()), h.model.vocab_size);
    io::TensorMap weights = test_weights(h.model, seq);
};

HostTensor row_of(const HostTensor& t, int64_t row) {
    HostTensor out(DType::f32, {t.shape[1], t.shape[2]});
    for (int64_t i = 0; i < out.numel(); ++i) out.set(i, t.get(row * out.numel() + i));
    return out;
}

// The reference's input: weights, stream and the starting A of each document of `scored` (a
// subset of `docs`, indexed by its position there); the batches (and so the A draws) are planned
// over all of `docs`.
io::TensorMap reference_inputs(const io::TensorMap& weights, std::span<const uint16_t> stream, const GptConfig& model,
                               const LoraTttConfig& cfg, const std::vector<eval::DocSpan>& docs,
                               const std::vector<eval::DocSpan>& scored) {
    io::TensorMap in = weights;
    in["stream"] = stream_tensor(stream);
    const auto batches = eval::plan_lora_batches(docs, static_cast<int64_t>(stream.size()), cfg.batch_docs, cfg.chunk,
                                                 cfg.context);
    const int64_t rows = std::min<int64_t>(cfg.batch_docs, static_cast<int64_t>(docs.size()));
    ModelGraph step = build_adapter_step(model, rows, cfg.context,
                                         make_lora_adapter({cfg.targets, cfg.rank, cfg.scale(), rows}), cfg.adam);
    for (size_t b = 0; b < batches.size(); ++b)
        for (size_t r = 0; r < batches[b].docs.size(); ++r)
            for (size_t d = 0; d < scored.size(); ++d) {
                if (scored[d].start != batches[b].docs[r].start) continue;
                for (const ParamSpec& p : step.params->specs())
                    if (p.group == kAdapterGroup && p.name.find(".lora_a.") != std::string::npos)
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

// Runs tests/parity/lora_ttt.py over the documents `scored` with `weights`; its losses.
HostTensor run_lora_reference(const std::filesystem::path& dir, const io::TensorMap& weights,
                              std::span<const uint16_t> stream, const GptConfig& model, const LoraTttConfig& cfg,
                              const std::vector<eval::DocSpan>& docs, const std::vector<eval::DocSpan>& scored) {
    io::write_safetensors(dir / "ref_in.safetensors", reference_inputs(weights, stream, model, cfg, docs, scored));
    write_reference_config(dir / "ref.json", model, cfg, scored);
    return reference::run_torch_script("lora_ttt.py", dir).at("losses");
}

}  // namespace

TEST_CASE("eval: ttt_lora_doc and ttt_lora_batch equal a PyTorch reference written from the spec") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    TinyRun run("lora");
    const EvalInputs inputs;
    const auto& [h, seq, val, stream, luts, weights] = inputs;
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
        const HostTensor ref = run_lora_reference(run.dir, weights, stream, h.model, cfg, docs, docs);
        double worst = 0;
        int64_t adapted = 0;
        for (size_t t = 1; t < stream.size(); ++t) {
            const double want = ref.get(static_cast<int64_t>(t));
            worst = std::max(worst, std::fabs(r.target_losses[t] - want) / std::max(1.0, std::fabs(want)));
            adapted += std::fabs(ref.get(static_cast<int64_t>(t)) - sliding.target_losses[t]) > 1e-3;
        }
        // Both sides f32 with different summation orders, through ~60 Adam steps per document:
        // measured 6.9e-7 (doc) and 1.8e-5 (batch); 2e-4 relative leaves room for that and none
        // for a wrong window, chunk, reset, scale or optimizer step (the adaptation moves val_bpb
        // by 0.12-0.6).
        CHECK(worst < 2e-4);
        CHECK(adapted > static_cast<int64_t>(stream.size()) / 2);  // the adapters (and windows) did change the losses
        MESSAGE(fmt::format("{}: val_bpb {:.5f} (sliding {:.5f}), worst relative difference {:.2e}", method,
                            r.acc.val_bpb(), sliding.acc.val_bpb(), worst));
    }
}

TEST_CASE("eval: slot (non-record) equals a PyTorch reference written from the spec") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    TinyRun run("slot");
    env::ScopedOverride allow("NON_RECORD", "1"), steps("SLOT_STEPS", "3"), lr("SLOT_LR", "0.1");
    const EvalInputs inputs;
    const auto& [h, seq, val, stream, luts, weights] = inputs;
    const int64_t rows = 16;
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
    // Three AdamW steps of one d-vector per batch, both sides f32: measured 8.8e-7; 1e-5 relative
    // leaves room for summation order and none for a wrong step count, lr or batch.
    CHECK(worst < 1e-5);
    CHECK(moved / static_cast<double>(stream.size() - 1) > 3e-3);  // the delta does move the losses
    MESSAGE(fmt::format("slot: val_bpb {:.5f} (sliding {:.5f}), worst relative difference {:.2e}", r.acc.val_bpb(),
                        sliding.acc.val_bpb(), worst));
}

TEST_CASE("eval: ttt_phased with LoRA scoring (the records' form) equals PyTorch LoRA TTT with host-SGD phases") {
    if (!torch_available()) PG_SKIP("/usr/bin/python3 cannot import torch (Debian python3-torch)");
    TinyRun run("phasedlora");
    constexpr int64_t kChunk = 128, kEpochs = 2;
    constexpr double kLr = 0.05, kClip = 0.5;
    std::vector<std::unique_ptr<env::ScopedOverride>> overrides;
    for (const auto& [k, v] : kBatchSettings) overrides.push_back(std::make_unique<env::ScopedOverride>(k, v));
    env::ScopedOverride b("LORA_TTT_BATCH_DOCS", "2"), d("TTT_PHASE_DOCS", "1,3"), c("TTT_CHUNK_TOKENS", "128"),
        e("TTT_PHASE_EPOCHS", "2"), l("TTT_PHASE_LR", "0.05"), f("TTT_FREEZE_BLOCKS", "1"), g("TTT_GRAD_CLIP", "0.5");
    const EvalInputs inputs;
    const auto& [h, seq, val, stream, luts, weights] = inputs;
    std::unique_ptr<Session> session = open_session();
    ProgressLine progress;
    const MethodEvalSetup setup{h.model, seq, 8, 16, true};
    auto quiet = [](const std::string&) {};
    const MethodResult r =
        evaluate_method(eval::find_eval_method("ttt_phased"), setup, weights, *session, stream, luts, progress, quiet);


    // The reference: each stretch of batches between phases scored by lora_ttt.py with the weights
    // of the moment; each phase's global SGD by the host SGD on the first n_k queue documents.
    const LoraTttConfig cfg = lora_ttt_config_from_settings(true);
    const std::vector<eval::DocSpan> docs = eval::split_documents(stream, 1);
    const auto batches = eval::plan_lora_batches(docs, static_cast<int64_t>(stream.size()), cfg.batch_docs, cfg.chunk,
                                                 cfg.context);
    const auto phases = eval::plan_lora_phases(batches, {1, 3});
    REQUIRE(phases.size() == 2);
    REQUIRE(phases[1].after_batch + 1 < batches.size());  // documents are scored after both phases
    std::unique_ptr<Session> ref_session = open_session();
    GptConfig masked = h.model;  // the phases train with document-masked attention
    masked.variant.attn_doc_mask = true;  // (an unmasked reference differs by 3.3e-3)
    reference::HostSgd sgd(*ref_session, masked, kChunk / seq, seq, 1, 0.9, kClip, weights);
    std::vector<double> ref(stream.size(), std::nan(""));
    size_t first = 0;
    for (size_t k = 0; k <= phases.size(); ++k) {
        const size_t end = k < phases.size() ? phases[k].after_batch + 1 : batches.size();
        std::vector<eval::DocSpan> scored;
        for (size_t bi = first; bi < end; ++bi) scored.insert(scored.end(), batches[bi].docs.begin(), batches[bi].docs.end());
        const HostTensor part = run_lora_reference(run.dir, sgd.weights(), stream, h.model, cfg, docs, scored);
        for (const eval::DocSpan& doc : scored)
            for (int64_t t = doc.first_target(); t <= doc.last_target(static_cast<int64_t>(stream.size())); ++t)
                ref[static_cast<size_t>(t)] = part.get(t);
        first = end;
        if (k == phases.size()) break;
        const std::vector<uint16_t> tokens = eval::concat_documents(stream, phases[k].docs);
        const int64_t chunks = (static_cast<int64_t>(tokens.size()) - 1 + kChunk - 1) / kChunk;
        REQUIRE(chunks >= 2);  // the phase trains
        sgd.reset_momentum();
        for (int64_t ci = 0; ci + 1 < chunks; ++ci)
            for (int64_t ep = 0; ep < kEpochs; ++ep)
                sgd.step(tokens, ci * kChunk, kLr * 0.5 * (1 + std::cos(M_PI * static_cast<double>(ci) / (chunks - 1))));
    }
    std::unique_ptr<Session> lora_session = open_session();
    const MethodResult lora = evaluate_method(eval::find_eval_method("ttt_lora_batch"), setup, weights, *lora_session,
                                              stream, luts, progress, quiet);
    double worst = 0;
    int64_t phased = 0;
    for (size_t t = 1; t < stream.size(); ++t) {
        REQUIRE(!std::isnan(ref[t]));
        worst = std::max(worst, std::fabs(r.target_losses[t] - ref[t]) / std::max(1.0, std::fabs(ref[t])));
        phased += std::fabs(r.target_losses[t] - lora.target_losses[t]) > 1e-3;
    }
    // As the LoRA case above, after the phases' f32 device SGD against the host's f64 updates:
    // measured 2.5e-5; 2e-4 relative.
    CHECK(worst < 2e-4);
    CHECK(phased > static_cast<int64_t>(stream.size()) / 4);  // the phases changed the later documents' losses
    MESSAGE(fmt::format("ttt_phased (lora): val_bpb {:.5f} (ttt_lora_batch {:.5f}), worst relative difference {:.2e}",
                        r.acc.val_bpb(), lora.acc.val_bpb(), worst));
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
