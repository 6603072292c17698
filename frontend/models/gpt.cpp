// Baseline GPT forward pass (see gpt.h).
#include "frontend/models/gpt.h"

#include <fmt/format.h>

#include <vector>

#include "base/error.h"

namespace pg {
namespace {

Tensor block(ParamSet& ps, const GptConfig& cfg, int64_t i, const Tensor& x_in, const Tensor& x0) {
    const int64_t d = cfg.model_dim;
    std::string p = fmt::format("blocks.{}", i);
    Tensor mix = ps.add(p + ".resid_mix", {2, d}, Init::row_pattern({1.0, 0.0}), "scalar");
    Tensor attn_scale = ps.add(p + ".attn_scale", {d}, Init::ones(), "scalar");
    Tensor mlp_scale = ps.add(p + ".mlp_scale", {d}, Init::ones(), "scalar");
    // Control tensors stay fp32 masters and are used in the activation dtype, as under autocast.
    const DType act = x_in.dtype();
    Tensor x = mix.slice(0, 0, 1).reshape({d}).cast(act) * x_in + mix.slice(0, 1, 2).reshape({d}).cast(act) * x0;
    nn::AttentionConfig ac{cfg.num_heads, cfg.num_kv_heads, cfg.rope_base, cfg.qk_gain_init, 0};
    x = x + attn_scale.cast(act) * nn::causal_self_attention(ps, p + ".attn", rms_norm(x, nn::kRmsEps), ac);
    x = x + mlp_scale.cast(act) * nn::relu2_mlp(ps, p + ".mlp", rms_norm(x, nn::kRmsEps), cfg.mlp_mult);
    return x;
}

}  // namespace

Tensor gpt_token_losses(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    PG_CHECK(ids.shape().size() == 2 && ids.shape() == targets.shape(), "ids and targets must both be [B, T]");
    const int64_t B = ids.dim(0), T = ids.dim(1), d = cfg.model_dim;
    // With bf16 compute the embedding is stored bf16 (the baseline keeps tok_emb bf16, Adam runs
    // on it), and every activation is bf16 while weights stay fp32 masters cast at use.
    Tensor emb = ps.add("tok_emb.weight", {cfg.vocab_size, d}, Init::normal(cfg.tied_embed_init_std), "embed",
                        cfg.compute_dtype);
    Tensor x = rms_norm(gather(emb, ids).cast(cfg.compute_dtype), nn::kRmsEps);
    Tensor x0 = x;
    const int64_t n_enc = cfg.num_layers / 2, n_dec = cfg.num_layers - n_enc;
    Tensor skip_w;
    if (n_enc > 0) skip_w = ps.add("skip_weights", {std::min(n_enc, n_dec), d}, Init::ones(), "scalar");
    std::vector<Tensor> skips;
    for (int64_t i = 0; i < n_enc; ++i) {
        x = block(ps, cfg, i, x, x0);
        skips.push_back(x);
    }
    for (int64_t i = 0; i < n_dec; ++i) {
        if (!skips.empty()) {
            x = x + skip_w.slice(0, i, i + 1).reshape({d}).cast(x.dtype()) * skips.back();
            skips.pop_back();
        }
        x = block(ps, cfg, n_enc + i, x, x0);
    }
    Tensor h = rms_norm(x, nn::kRmsEps).reshape({B * T, d});
    nn::observe_linear_input("tok_emb.weight", h);  // the tied head is a linear layer on h
    Tensor logits = matmul(h, emb.cast(h.dtype()).transpose(0, 1));
    return cross_entropy(logits, targets.reshape({B * T}), cfg.logit_softcap);
}

Tensor gpt_loss(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    return gpt_token_losses(ps, cfg, ids, targets).mean_all();
}

}  // namespace pg
