// Building blocks of the transformer, as functions over a ParamSet: a linear layer without bias
// (weight [out, in], y = x Wᵀ), GQA causal self-attention with QK RMSNorm, (partial) RoPE, a
// per-head query gain and the records' options (XSA, attention output gate, additions to the value
// projection), and the MLP with relu² or leaky_relu(α)². Parameter names are the records'
// state_dict names.
#pragma once
#include <functional>
#include <string>

#include "frontend/module.h"
#include "frontend/models/variant_config.h"

namespace pg::nn {

// float32 machine epsilon: what PyTorch's rms_norm uses when eps is None, as the baseline does.
constexpr double kRmsEps = 1.1920928955078125e-07;

// The runtime scalar (0 or 1) that switches late STE QAT on in the forward pass, without recompiling.
inline constexpr const char* kQatScalar = "qat";

// Declares `<prefix>.weight` [out, in] and applies it to x [..., in]. With qat_bits > 0 the weight
// is w + qat·(fake_quant(w, qat_bits) − w): per-row int-N values when the scalar "qat" is 1, with
// the straight-through gradient (the identity) either way.
Tensor linear(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t out, bool zero_init = false,
              int64_t qat_bits = 0);

// Sees the input [tokens, in] of every linear layer (and of the tied output head) by weight name
// while a graph is built: GPTQ's calibration graph outputs XᵀX of each (pgolf-spec §4.5).
using LinearInputObserver = std::function<void(const std::string& weight, const Tensor& input)>;
class ScopedLinearInputObserver {
public:
    explicit ScopedLinearInputObserver(LinearInputObserver observer);
    ~ScopedLinearInputObserver();
    ScopedLinearInputObserver(const ScopedLinearInputObserver&) = delete;
    ScopedLinearInputObserver& operator=(const ScopedLinearInputObserver&) = delete;
};
// Reports `input` [tokens, in] as the input of `weight` to the observer, if one is installed.
void observe_linear_input(const std::string& weight, const Tensor& input);

// Adds a term to the output of every adapter site while a graph is built: each linear layer (named
// by its weight), the tied output head ("tok_emb.weight") and each MLP as a whole ("blocks.<i>.mlp",
// input the MLP's input, d -> d). The test-time LoRA adapters and SLOT's hidden-state delta
// (frontend/train/lora_adapter.h, slot.h). It returns [tokens, out] for the input [tokens, in], or
// an undefined Tensor to add nothing.
using LinearAdapter =
    std::function<Tensor(ParamSet& ps, const std::string& site, const Tensor& input, int64_t out)>;
class ScopedLinearAdapter {
public:
    explicit ScopedLinearAdapter(LinearAdapter adapter);
    ~ScopedLinearAdapter();
    ScopedLinearAdapter(const ScopedLinearAdapter&) = delete;
    ScopedLinearAdapter& operator=(const ScopedLinearAdapter&) = delete;
};
// `output` [tokens, out] of adapter site `site` on `input` [tokens, in], plus the installed
// adapter's term.
Tensor add_linear_adapter(ParamSet& ps, const std::string& site, const Tensor& input, const Tensor& output);
// The installed adapter's term [tokens, out] for `site` on `input`, or an undefined Tensor (none
// installed, or it adds nothing at this site).
Tensor linear_adapter_term(ParamSet& ps, const std::string& site, const Tensor& input, int64_t out);

struct AttentionConfig {
    int64_t num_heads = 8, num_kv_heads = 4;
    double rope_base = 10000.0, qk_gain_init = 1.5;
    int64_t rope_dims = 0;  // 0 = the full head dim
    bool xsa = false;       // exclusive self-attention (pgolf-spec §4.1 XSA)
    bool out_gate = false;  // per-head output gate 2σ(W·x[0:12]), W [H, 12] zero init
    int64_t qat_bits = 0;   // late STE QAT of c_q, c_k, c_v, proj (see linear)
    Tensor doc_start;       // [B, T] i32: attention within documents only (document_starts), or undefined
};

struct AttentionResult {
    Tensor out;  // [B, T, d], after the output projection
    Tensor v;    // [B, T, Hkv*Dh]: the value projection c_v(x), before `value_add` (VRL's v_0)
};

// x [B, T, d]; declares c_q, c_k, c_v, proj (zero init), q_gain (and attn_gate_w) under `prefix`.
// `value_add` [B, T, Hkv*Dh], when defined, is added to the value projection before the head
// split (value embeddings, value residual).
AttentionResult causal_self_attention(ParamSet& ps, const std::string& prefix, const Tensor& x,
                                      const AttentionConfig& cfg, const Tensor& value_add = {});

// XSA: removes from each head's output y [B, T, H, D] its component along the token's own
// normalised value v [B, T, Hkv, D] of the KV head it reads (GQA: head h reads h / (H/Hkv)).
Tensor exclusive_self_attention(const Tensor& y, const Tensor& v);

// x [B, T, d] -> [B, T, d]: proj(act(fc(x))), fc [int(mult*d), d], proj [d, hidden] zero init;
// act = relu(z)² or leaky_relu(z, slope)².
Tensor mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, double mult, MlpActivation act,
           double slope = 0.5, int64_t qat_bits = 0);

// The baseline's relu² MLP with an integer multiplier.
Tensor relu2_mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t mult);

}  // namespace pg::nn
