// The architecture options of the record submissions (pgolf-spec §4.1), as one plain struct that
// the GPT builder reads. Every default is the challenge's baseline, so an all-default
// VariantConfig builds exactly the baseline GPT. The comment on each field names the setting
// (the records' train_gpt.py environment names) that sets it; frontend/models/variant_knobs.cpp
// declares and validates them.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace pg {

enum class MlpActivation { relu2, leaky_relu2 };

struct VariantConfig {
    MlpActivation activation = MlpActivation::relu2;  // MLP_ACTIVATION
    double leaky_slope = 0.5;                         // LEAKY_RELU_SLOPE: α of leaky_relu(z, α)²
    int smear_gate = 0;                               // SMEAR_GATE: 0 off, 1 static (v1), 2 input-dependent, BOS-masked (v2)
    int64_t smear_bos_id = 1;                         // SMEAR_BOS_ID: the BOS token v2 does not smear into
    int64_t bigram_vocab_size = 0;                    // BIGRAM_VOCAB_SIZE: hash buckets (0 = off)
    int64_t bigram_dim = 128;                         // BIGRAM_DIM
    bool ve_enabled = false;                          // VE_ENABLED
    int64_t ve_dim = 128;                             // VE_DIM
    std::vector<int64_t> ve_layers = {9, 10};         // VE_LAYERS: physical layers fed by the shared table
    bool value_residual = false;                      // VALUE_RESIDUAL: v_i += λ_i·v_0 for i > 0
    int64_t xsa_last_n = 0;                           // XSA_LAST_N: exclusive self-attention on the last N layers
    int64_t rope_dims = 0;                            // ROPE_DIMS: rotated head dims (0 = all)
    int64_t rope_ntk_ref_len = 0;                     // ROPE_NTK_REF_LEN: NTK base scaling above this length (0 = off)
    bool ln_scale = false;                            // LN_SCALE: sublayer inputs × 1/√(layer+1)
    bool skip_gates = false;                          // SKIP_GATES_ENABLED: sigmoid-gated U-Net skips
    int64_t loop_start = -1, loop_end = -1;           // LOOP_START / LOOP_END: looped physical layers (inclusive)
    int64_t num_loops = 0;                            // NUM_LOOPS: extra passes over [LOOP_START, LOOP_END]
    int64_t parallel_start_layer = -1;                // PARALLEL_START_LAYER: two-lane residuals from here (-1 = off)
    bool attn_out_gate = false;                       // ATTN_OUT_GATE: per-head 2σ(W·x[0:12]) on the attention output
    bool ortho_init = false;                          // ORTHO_INIT: orthogonal init of non-zero-init linears >= 64x64
    bool overtone_init = false;                       // OVERTONE_INIT: Overtone spectral init of tok_emb
    bool attn_doc_mask = false;                       // ATTN_DOC_MASK: attention within documents (VarLen, §4.4)
    int64_t doc_bos_id = 1;                           // DOC_BOS_ID: the token that opens a document (§1.1)
};

// The gate input width of SmearGate v2 and of the attention output gate (the records' 12).
constexpr int64_t kGateWindow = 12;

}  // namespace pg
