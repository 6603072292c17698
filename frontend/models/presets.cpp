// The record presets (see presets.h). Each list gives the submission's stated settings first,
// then, marked "base", the values of the record it builds on where it is silent (pgolf-spec §4,
// §5). Settings the C++ stack does not have (FlashAttention, the n-gram/TTT/SLOT evaluations,
// mixed-precision export search) are left out; docs/presets.md lists them per preset.
#include "frontend/models/presets.h"

#include <fmt/format.h>

#include <algorithm>

#include "base/env.h"
#include "base/error.h"

namespace pg {

PG_KNOB({.name = "PRESET", .kind = env::KnobKind::String, .default_value = "",
         .doc = "record recipe to start from: pr297, pr401, pr376, pr1456, pr1539 (docs/presets.md); settings "
                "given as flags or environment variables still win"});

namespace {

using Settings = std::vector<std::pair<std::string, std::string>>;

// The 11-layer #414 lineage (rec 03-20 … 03-22) that pr401 states and pr376 / pr1456 build on.
Settings eleven_layer_stack() {
    return {{"NUM_LAYERS", "11"},        {"MODEL_DIM", "512"},          {"NUM_HEADS", "8"},
            {"NUM_KV_HEADS", "4"},       {"MLP_MULT", "3"},             {"ROPE_DIMS", "16"},
            {"ROPE_NTK_REF_LEN", "1024"}, {"LN_SCALE", "1"},            {"SMEAR_GATE", "1"},
            {"BIGRAM_VOCAB_SIZE", "2048"}, {"BIGRAM_DIM", "128"},       {"VE_ENABLED", "1"},
            {"VE_DIM", "128"},           {"VE_LAYERS", "9,10"},         {"XSA_LAST_N", "4"},
            {"LOGIT_SOFTCAP", "30"},     {"MATRIX_LR", "0.025"},        {"MUON_MOMENTUM", "0.99"},
            {"MUON_MOMENTUM_WARMUP_START", "0.92"}, {"MUON_MOMENTUM_WARMUP_STEPS", "1500"},
            {"MUON_WD", "0.04"},         {"TIED_EMBED_LR", "0.035"},    {"SCALAR_LR", "0.025"},
            {"ADAM_WD", "0.04"},         {"GRAD_CLIP_NORM", "0.3"},     {"EMA_ENABLED", "1"},
            {"EMA_DECAY", "0.997"},      {"SWA_ENABLED", "1"},          {"SWA_EVERY", "50"},
            {"SWA_THRESHOLD", "0.2"},    {"LATE_QAT_THRESHOLD", "0.15"}, {"QAT_BITS", "6"},
            {"WARMDOWN_ITERS", "3500"},  {"TRAIN_BATCH_TOKENS", "786432"}, {"TRAIN_SEQ_LEN", "2048"},
            {"ORTHO_INIT", "1"},         {"QUANT", "attn:int6,mlp:int6,emb:int8"}, {"COMPRESSOR", "zstd-22"}};
}

Settings with(Settings base, const Settings& changes) {
    for (const auto& [k, v] : changes) {
        auto it = std::find_if(base.begin(), base.end(), [&](const auto& e) { return e.first == k; });
        if (it != base.end()) it->second = v;
        else base.emplace_back(k, v);
    }
    return base;
}

std::vector<Preset> make_presets() {
    std::vector<Preset> out;
    out.push_back({"pr297", "9x512 MLP3x SmearGate BigramHash, ortho + Overtone init, SWA, late int6 QAT",
                   "PR #297 on PR #162 (rec 2026-03-20 Int6_MLP3x_SmearGate_BigramHash)", "1.1629",
                   {{"NUM_LAYERS", "9"}, {"MODEL_DIM", "512"}, {"MLP_MULT", "3"}, {"SMEAR_GATE", "1"},
                    {"BIGRAM_VOCAB_SIZE", "4096"}, {"BIGRAM_DIM", "128"}, {"ORTHO_INIT", "1"}, {"OVERTONE_INIT", "1"},
                    {"MUON_WD", "0.038"}, {"MATRIX_LR", "0.025"}, {"TRAIN_BATCH_TOKENS", "786432"},
                    {"TRAIN_SEQ_LEN", "2048"}, {"SWA_ENABLED", "1"}, {"SWA_EVERY", "50"}, {"SWA_THRESHOLD", "0.5"},
                    {"QAT_START_FRAC", "0.85"}, {"QAT_BITS", "6"}, {"QAT_LR_SCALE", "0.5"},
                    {"QUANT", "attn:int6,mlp:int6,emb:int8"}, {"COMPRESSOR", "zstd-22"},
                    // base (PR #162):
                    {"SCALAR_LR", "0.02"}, {"TIED_EMBED_LR", "0.03"}, {"MUON_MOMENTUM", "0.99"},
                    {"MUON_MOMENTUM_WARMUP_START", "0.92"}, {"MUON_MOMENTUM_WARMUP_STEPS", "1500"},
                    {"WARMDOWN_ITERS", "3000"}, {"GRAD_CLIP_NORM", "0.3"}}});
    out.push_back({"pr401", "11L 3x relu², partial RoPE + NTK, LN scale, U-Net, SmearGate, BigramHash, VE, XSA4, "
                   "EMA + tight SWA, late QAT",
                   "PR #401 (the #414 lineage, rec 2026-03-20 … 03-22)", "1.1243", eleven_layer_stack()});
    out.push_back({"pr376", "the #414-style 11L stack with LeakyReLU(0.5)², value residual, GPTQ-lite int6 + lzma",
                   "PR #376 on PR #414 (rec 2026-03-22 EMA_GPTQ-lite)", "n-gram backoff eval (evaluation issue)",
                   with(eleven_layer_stack(), {{"MLP_ACTIVATION", "leaky_relu2"}, {"LEAKY_RELU_SLOPE", "0.5"},
                                               {"VALUE_RESIDUAL", "1"},
                                               {"QUANT", "attn:int6@search,mlp:int6@search,emb:int8"},
                                               {"COMPRESSOR", "xz-9e"}})});
    out.push_back({"pr1456", "11L U-Net, XSA, VRL, SmearGate, BigramHash, VE, partial RoPE, LeakyReLU², softcap 15, "
                   "warmdown ratio 0.175, SWA of 7 + EMA, seq 1024",
                   "PR #1456 on the #414 lineage", "SLOT belongs to the evaluation issue",
                   with(eleven_layer_stack(),
                        {{"MLP_ACTIVATION", "leaky_relu2"}, {"VALUE_RESIDUAL", "1"}, {"LOGIT_SOFTCAP", "15"},
                         {"MUON_MOMENTUM", "0.95"}, {"MUON_MOMENTUM_WARMUP_START", "0.85"},
                         {"MUON_MOMENTUM_WARMUP_STEPS", "500"}, {"WARMDOWN_FRAC", "0.175"}, {"TRAIN_SEQ_LEN", "1024"},
                         {"SWA_MAX_SNAPSHOTS", "7"},
                         // the lineage's mixed precision (pgolf-spec §4.5, rec 03-20 Int5MLP): int5 MLP
                         {"QUANT", "attn:int6,mlp:int5,emb:int8"}})});
    out.push_back({"pr1539", "SP8192, 11 physical / 14 virtual layers, parallel residuals from 7, XSA all, "
                   "sigmoid-gated skips, VE 44, MuonEq-R 4 NS steps, cosine to 0.1",
                   "PR #1539 on the SP8192 depth-recurrence lineage (PR #1394 … #1493)", "see docs/presets.md",
                   {{"VOCAB_SIZE", "8192"}, {"NUM_LAYERS", "11"}, {"MODEL_DIM", "512"}, {"NUM_HEADS", "8"},
                    {"NUM_KV_HEADS", "4"}, {"LOOP_START", "3"}, {"LOOP_END", "5"}, {"NUM_LOOPS", "1"},
                    {"ENABLE_LOOPING_AT", "0.35"},
                    {"PARALLEL_START_LAYER", "7"}, {"XSA_LAST_N", "11"}, {"ROPE_DIMS", "16"},
                    {"MLP_ACTIVATION", "leaky_relu2"}, {"LEAKY_RELU_SLOPE", "0.5"}, {"SMEAR_GATE", "1"},
                    {"SKIP_GATES_ENABLED", "1"}, {"VE_ENABLED", "1"}, {"VE_DIM", "44"}, {"VE_LAYERS", "9,10"},
                    {"LOGIT_SOFTCAP", "30"}, {"LN_SCALE", "1"}, {"QK_GAIN_INIT", "5.25"}, {"MUON_EQ_R", "1"},
                    {"MUON_BACKEND_STEPS", "4"}, {"MUON_WD", "0.095"}, {"TIED_EMBED_LR", "0.03"},
                    {"SCALAR_LR", "0.02"}, {"ADAM_WD", "0.095"}, {"EMA_ENABLED", "1"}, {"EMA_DECAY", "0.9965"},
                    {"WARMDOWN_SHAPE", "cosine"}, {"MIN_LR", "0.1"}, {"WARMDOWN_FRAC", "0.72"},
                    // base (the SP8192 lineage, pgolf-spec §4.3):
                    {"MLP_MULT", "4"}, {"TRAIN_BATCH_TOKENS", "786432"}, {"TRAIN_SEQ_LEN", "2048"},
                    {"GRAD_CLIP_NORM", "0.3"}, {"MUON_MOMENTUM", "0.99"}, {"MUON_MOMENTUM_WARMUP_START", "0.92"},
                    {"MUON_MOMENTUM_WARMUP_STEPS", "1500"}, {"ORTHO_INIT", "1"},
                    // the lineage's export (PR #1394, pgolf-spec §4.5): GPTQ with SDClip, int6 k 12.85 on the
                    // matrices, int8 k 20 on the embedding, small tensors fp16, Brotli 11
                    {"QUANT", "attn:int6@sd12.85,mlp:int6@sd12.85,emb:int8@sd20,ctrl:fp16"}, {"GPTQ", "1"},
                    {"COMPRESSOR", "brotli-11"}}});
    return out;
}

}  // namespace

const std::vector<Preset>& presets() {
    static const std::vector<Preset> all = make_presets();
    return all;
}

const Preset& find_preset(const std::string& name) {
    std::string known;
    for (const Preset& p : presets()) {
        if (p.name == name) return p;
        known += (known.empty() ? "" : ", ") + p.name;
    }
    throw Error(fmt::format("PRESET={} is not a preset (presets: {}; see docs/presets.md)", name, known));
}

void apply_preset_setting() {
    env::clear_preset_values();
    const std::string name = env::get("PRESET");
    if (name.empty()) return;
    const Preset& p = find_preset(name);
    for (const auto& [k, v] : p.settings) env::set_preset_value(k, v, "preset " + p.name);
}

}  // namespace pg
