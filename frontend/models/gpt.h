// The GPT family of the challenge: the baseline (pgolf-spec §3.3: token embedding, RMSNorm, U-Net
// skips between encoder and decoder halves with learned skip weights, blocks with resid_mix /
// attn_scale / mlp_scale, tied output head with logit softcap, mean cross-entropy) and, switched on
// by `variant`, the record submissions' architecture pieces (§4.1): SmearGate, BigramHash, value
// embeddings, value residual, XSA, partial/NTK RoPE, LN scale, gated skips, depth recurrence,
// parallel residuals, attention output gates. Parameter names follow the records' state_dicts.
#pragma once
#include "frontend/module.h"
#include "frontend/models/variant_config.h"
#include "frontend/nn/layers.h"

namespace pg {

struct GptConfig {
    int64_t vocab_size = 1024;
    int64_t num_layers = 9;
    int64_t model_dim = 512;
    int64_t num_heads = 8;
    int64_t num_kv_heads = 4;
    double mlp_mult = 2;  // MLP hidden = int(mlp_mult * model_dim), as the records
    double rope_base = 10000.0;
    double logit_softcap = 30.0;
    double qk_gain_init = 1.5;
    double tied_embed_init_std = 0.005;
    // Activation dtype: f32, or bf16 as the baseline's autocast (linear weights and control
    // tensors stay fp32 masters cast at use; tok_emb is stored bf16; cross-entropy runs in f32).
    DType compute_dtype = DType::f32;
    VariantConfig variant;
    int64_t qat_bits = 0;  // > 0: the block linears carry late STE QAT (runtime scalar "qat", nn::linear)
    // false: the graph of the steps before ENABLE_LOOPING_AT, which runs each layer once in order
    // over the same parameters (the looped graph's skip_weights, of which it uses the first rows).
    bool looping = true;
    std::string model = "gpt";  // MODEL: the registry entry that builds it (frontend/models/registry.h)
};

// Declares every parameter in `ps` and returns the head's logits [B*T, V] (before the softcap).
Tensor gpt_logits(ParamSet& ps, const GptConfig& cfg, const Tensor& ids);

// The model's distribution from gpt_logits' output: log-softmax of the softcapped logits, f32
// [B*T, V] (what the cross-entropy of gpt_token_losses scores; for the evaluation methods that
// reweight it).
Tensor gpt_log_probs(const GptConfig& cfg, const Tensor& head_logits);

// Declares every parameter in `ps` and returns the per-token losses [B*T] for ids/targets [B, T].
Tensor gpt_token_losses(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets);

// Mean loss (shape []).
Tensor gpt_loss(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets);

}  // namespace pg
