// Variant settings (see variant_knobs.h).
#include "frontend/models/variant_knobs.h"

#include <sstream>

#include "base/env.h"
#include "base/error.h"
#include "frontend/models/layer_plan.h"
#include "frontend/models/registry.h"

namespace pg {

using env::KnobKind;

PG_KNOB({.name = "MODEL", .kind = KnobKind::String, .default_value = "gpt",
         .doc = "model family from the registry (frontend/models/registry.h); `gpt` = the baseline plus the record pieces"});
PG_KNOB({.name = "MODEL_FAMILY", .kind = KnobKind::String, .default_value = "",
         .doc = "older name of MODEL, still read (empty = MODEL decides)"});
PG_KNOB({.name = "MLP_ACTIVATION", .kind = KnobKind::String, .default_value = "relu2",
         .doc = "MLP activation: relu2, or leaky_relu2 = leaky_relu(z, LEAKY_RELU_SLOPE)^2",
         .choices = {"relu2", "leaky_relu2"}});
PG_KNOB({.name = "LEAKY_RELU_SLOPE", .kind = KnobKind::Float, .default_value = "0.5", .doc = "negative slope of leaky_relu2"});
PG_KNOB({.name = "SMEAR_GATE", .kind = KnobKind::Int, .default_value = "0",
         .doc = "SmearGate: 0 off, 1 static per-dim gate after the embedding norm, 2 input-dependent BOS-masked (v2)",
         .choices = {"0", "1", "2"}});
PG_KNOB({.name = "SMEAR_BOS_ID", .kind = KnobKind::Int, .default_value = "1", .doc = "BOS token id SmearGate v2 never smears into"});
PG_KNOB({.name = "BIGRAM_VOCAB_SIZE", .kind = KnobKind::Int, .default_value = "0", .doc = "BigramHash buckets (0 = off)"});
PG_KNOB({.name = "BIGRAM_DIM", .kind = KnobKind::Int, .default_value = "128", .doc = "BigramHash table width"});
PG_KNOB({.name = "VE_ENABLED", .kind = KnobKind::Bool, .default_value = "0", .doc = "shared value embedding (VE)"});
PG_KNOB({.name = "VE_DIM", .kind = KnobKind::Int, .default_value = "128", .doc = "value embedding table width"});
PG_KNOB({.name = "VE_LAYERS", .kind = KnobKind::String, .default_value = "9,10",
         .doc = "comma-separated layers whose value projection gets the value embedding"});
PG_KNOB({.name = "VALUE_RESIDUAL", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "value residual learning: v_i += lambda_i * v_0 for layers i > 0 (lambda init 0)"});
PG_KNOB({.name = "XSA_LAST_N", .kind = KnobKind::Int, .default_value = "0",
         .doc = "exclusive self-attention on the last N layers (NUM_LAYERS = all)"});
PG_KNOB({.name = "ROPE_DIMS", .kind = KnobKind::Int, .default_value = "0", .doc = "rotated head dims (0 = all; even)"});
PG_KNOB({.name = "ROPE_NTK_REF_LEN", .kind = KnobKind::Int, .default_value = "0",
         .doc = "NTK-aware RoPE: base * (T/ref)^(rd/(rd-2)) for sequences longer than this (0 = off)"});
PG_KNOB({.name = "LN_SCALE", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "scale the normalised sublayer inputs of layer i by 1/sqrt(i+1)"});
PG_KNOB({.name = "SKIP_GATES_ENABLED", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "sigmoid-gated U-Net skips: sigma(g)*x + (1-sigma(g))*w*skip"});
PG_KNOB({.name = "LOOP_START", .kind = KnobKind::Int, .default_value = "-1", .doc = "first looped layer (depth recurrence)"});
PG_KNOB({.name = "LOOP_END", .kind = KnobKind::Int, .default_value = "-1", .doc = "last looped layer (inclusive)"});
PG_KNOB({.name = "NUM_LOOPS", .kind = KnobKind::Int, .default_value = "0",
         .doc = "extra passes over LOOP_START..LOOP_END (0 = no recurrence)"});
PG_KNOB({.name = "PARALLEL_START_LAYER", .kind = KnobKind::Int, .default_value = "-1",
         .doc = "two-lane parallel residuals from this physical layer on (-1 = off)"});
PG_KNOB({.name = "ATTN_OUT_GATE", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "per-head attention output gate 2*sigmoid(W x[0:12])"});

PG_KNOB({.name = "ORTHO_INIT", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "orthogonal init (gain 1) of every non-zero-init linear with both dims >= 64"});
PG_KNOB({.name = "OVERTONE_INIT", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "Overtone init of tok_emb: N(0, TIED_EMBED_INIT_STD) with singular values S_1 * k^-1/2"});
PG_KNOB({.name = "ATTN_DOC_MASK", .kind = KnobKind::Bool, .default_value = "0",
         .doc = "document masking at BOS: attention stays inside each document of a packed row (VarLen attention)"});
PG_KNOB({.name = "DOC_BOS_ID", .kind = KnobKind::Int, .default_value = "1",
         .doc = "the token that opens a document, for ATTN_DOC_MASK (BOS, 1 in every tokenizer of the challenge)"});

namespace {

std::vector<int64_t> parse_layers(const std::string& text) {
    std::vector<int64_t> out;
    std::stringstream ss(text);
    std::string item;
    while (std::getline(ss, item, ',')) {
        if (item.empty()) continue;
        size_t used = 0;
        int64_t v = -1;
        try {
            v = std::stoll(item, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        PG_CHECK(used == item.size(), "VE_LAYERS='{}': '{}' is not a layer number", text, item);
        out.push_back(v);
    }
    return out;
}

void validate(const GptConfig& cfg) {
    const VariantConfig& v = cfg.variant;
    const int64_t L = cfg.num_layers, Dh = cfg.model_dim / cfg.num_heads;
    PG_CHECK(v.xsa_last_n >= 0 && v.xsa_last_n <= L,
             "XSA_LAST_N={} asks for XSA on more layers than the model's NUM_LAYERS={} (use 0..{})", v.xsa_last_n, L, L);
    PG_CHECK(v.rope_dims == 0 || (v.rope_dims > 0 && v.rope_dims % 2 == 0 && v.rope_dims <= Dh),
             "ROPE_DIMS={} must be 0 (all) or an even number of dims up to the head dim MODEL_DIM/NUM_HEADS={}",
             v.rope_dims, Dh);
    PG_CHECK(v.rope_ntk_ref_len >= 0, "ROPE_NTK_REF_LEN={} must be >= 0", v.rope_ntk_ref_len);
    PG_CHECK(v.leaky_slope >= 0 && v.leaky_slope <= 1, "LEAKY_RELU_SLOPE={} must be in [0, 1]", v.leaky_slope);
    PG_CHECK(v.bigram_vocab_size == 0 || (v.bigram_vocab_size >= 2 && v.bigram_dim > 0),
             "BIGRAM_VOCAB_SIZE={} must be 0 (off) or >= 2, with BIGRAM_DIM={} > 0", v.bigram_vocab_size, v.bigram_dim);
    PG_CHECK(!v.ve_enabled || v.ve_dim > 0, "VE_DIM={} must be positive", v.ve_dim);
    if (v.ve_enabled)
        for (int64_t i : v.ve_layers)
            PG_CHECK(i >= 0 && i < L, "VE_LAYERS names layer {}, outside the model's NUM_LAYERS={} layers", i, L);
    PG_CHECK(v.parallel_start_layer < L, "PARALLEL_START_LAYER={} is outside the model's NUM_LAYERS={} layers",
             v.parallel_start_layer, L);
    PG_CHECK((v.smear_gate != 2 && !v.attn_out_gate) || cfg.model_dim >= kGateWindow,
             "SMEAR_GATE=2 and ATTN_OUT_GATE read the first {} dims; MODEL_DIM={} is smaller", kGateWindow,
             cfg.model_dim);
    PG_CHECK(v.num_loops >= 0, "NUM_LOOPS={} must be >= 0", v.num_loops);
    plan_layers(cfg);  // validates LOOP_START / LOOP_END
}

// MODEL, or its older name MODEL_FAMILY when only that one is set.
std::string model_family() {
    const std::string model = env::get("MODEL"), alias = env::get("MODEL_FAMILY");
    if (alias.empty()) return model;
    PG_CHECK(env::source("MODEL") == "default" || alias == model,
             "MODEL={} and MODEL_FAMILY={} disagree; MODEL_FAMILY is MODEL's older name: set one of them", model, alias);
    return alias;
}

}  // namespace

void read_variant_settings(GptConfig& cfg) {
    cfg.model = model_family();
    find_model(cfg.model);
    VariantConfig& v = cfg.variant;
    v.activation = env::get("MLP_ACTIVATION") == "leaky_relu2" ? MlpActivation::leaky_relu2 : MlpActivation::relu2;
    v.leaky_slope = env::get_float("LEAKY_RELU_SLOPE");
    v.smear_gate = static_cast<int>(env::get_int("SMEAR_GATE"));
    v.smear_bos_id = env::get_int("SMEAR_BOS_ID");
    v.bigram_vocab_size = env::get_int("BIGRAM_VOCAB_SIZE");
    v.bigram_dim = env::get_int("BIGRAM_DIM");
    v.ve_enabled = env::get_bool("VE_ENABLED");
    v.ve_dim = env::get_int("VE_DIM");
    v.ve_layers = parse_layers(env::get("VE_LAYERS"));
    v.value_residual = env::get_bool("VALUE_RESIDUAL");
    v.xsa_last_n = env::get_int("XSA_LAST_N");
    v.rope_dims = env::get_int("ROPE_DIMS");
    v.rope_ntk_ref_len = env::get_int("ROPE_NTK_REF_LEN");
    v.ln_scale = env::get_bool("LN_SCALE");
    v.skip_gates = env::get_bool("SKIP_GATES_ENABLED");
    v.loop_start = env::get_int("LOOP_START");
    v.loop_end = env::get_int("LOOP_END");
    v.num_loops = env::get_int("NUM_LOOPS");
    v.parallel_start_layer = env::get_int("PARALLEL_START_LAYER");
    v.attn_out_gate = env::get_bool("ATTN_OUT_GATE");
    v.ortho_init = env::get_bool("ORTHO_INIT");
    v.overtone_init = env::get_bool("OVERTONE_INIT");
    v.attn_doc_mask = env::get_bool("ATTN_DOC_MASK");
    v.doc_bos_id = env::get_int("DOC_BOS_ID");
    validate(cfg);
}

const std::vector<std::string>& variant_knob_names() {
    static const std::vector<std::string> names = {
        "MODEL", "MODEL_FAMILY", "MLP_ACTIVATION", "LEAKY_RELU_SLOPE", "SMEAR_GATE",          "SMEAR_BOS_ID",
        "BIGRAM_VOCAB_SIZE", "BIGRAM_DIM",  "VE_ENABLED",       "VE_DIM",              "VE_LAYERS",
        "VALUE_RESIDUAL", "XSA_LAST_N",     "ROPE_DIMS",        "ROPE_NTK_REF_LEN",    "LN_SCALE",
        "SKIP_GATES_ENABLED", "LOOP_START", "LOOP_END",         "NUM_LOOPS",           "PARALLEL_START_LAYER",
        "ATTN_OUT_GATE", "ORTHO_INIT", "OVERTONE_INIT", "ATTN_DOC_MASK", "DOC_BOS_ID"};
    return names;
}

}  // namespace pg
