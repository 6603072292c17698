// Test support: two small configurations of the record architecture pieces (the parity tests'
// models, vocabulary 96, width 64, 4 heads / 2 KV heads) and their description for the PyTorch
// oracle (tests/parity/variant_gpt.py's "variant" options).
#pragma once
#include <nlohmann/json.hpp>

#include "frontend/models/gpt.h"

namespace pg::testing {

constexpr int64_t kVocab = 96;

inline GptConfig small_config(int64_t layers) {
    GptConfig c;
    c.vocab_size = kVocab;
    c.num_layers = layers;
    c.model_dim = 64;
    c.num_heads = 4;
    c.num_kv_heads = 2;
    return c;
}

inline GptConfig eleven_layer_stack() {
    GptConfig c = small_config(4);
    VariantConfig& v = c.variant;
    c.mlp_mult = 3.0;
    v.activation = MlpActivation::leaky_relu2;
    v.smear_gate = 1;
    v.bigram_vocab_size = 64;
    v.bigram_dim = 16;
    v.ve_enabled = true;
    v.ve_dim = 16;
    v.ve_layers = {2, 3};
    v.value_residual = true;
    v.xsa_last_n = 2;
    v.rope_dims = 8;
    v.rope_ntk_ref_len = 8;
    v.ln_scale = true;
    return c;
}

inline GptConfig recurrent_stack() {
    GptConfig c = small_config(5);
    VariantConfig& v = c.variant;
    c.mlp_mult = 3.5;
    v.loop_start = 1;
    v.loop_end = 2;
    v.num_loops = 1;
    v.parallel_start_layer = 3;
    v.xsa_last_n = 5;
    v.skip_gates = true;
    v.smear_gate = 2;
    v.smear_bos_id = 1;
    v.attn_out_gate = true;
    v.ve_enabled = true;
    v.ve_dim = 8;
    v.ve_layers = {3, 4};
    v.rope_dims = 8;
    v.ln_scale = true;
    return c;
}

inline nlohmann::json variant_json(const GptConfig& c) {
    const VariantConfig& v = c.variant;
    return {{"mlp_mult", c.mlp_mult},
            {"mlp_activation", v.activation == MlpActivation::relu2 ? "relu2" : "leaky_relu2"},
            {"leaky_relu_slope", v.leaky_slope}, {"smear_gate", v.smear_gate}, {"smear_bos_id", v.smear_bos_id},
            {"bigram_vocab_size", v.bigram_vocab_size}, {"bigram_dim", v.bigram_dim}, {"ve_enabled", v.ve_enabled},
            {"ve_dim", v.ve_dim}, {"ve_layers", v.ve_layers}, {"value_residual", v.value_residual},
            {"xsa_last_n", v.xsa_last_n}, {"rope_dims", v.rope_dims}, {"rope_ntk_ref_len", v.rope_ntk_ref_len},
            {"ln_scale", v.ln_scale}, {"skip_gates_enabled", v.skip_gates}, {"loop_start", v.loop_start},
            {"loop_end", v.loop_end}, {"num_loops", v.num_loops}, {"parallel_start_layer", v.parallel_start_layer},
            {"attn_out_gate", v.attn_out_gate}};
}

}  // namespace pg::testing
