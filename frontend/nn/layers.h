// Building blocks of the baseline transformer, as functions over a ParamSet: a linear layer
// without bias (weight [out, in], y = x Wᵀ), GQA causal self-attention with QK RMSNorm, RoPE and a
// per-head query gain, and the relu² MLP. Parameter names are the baseline's state_dict names.
#pragma once
#include <functional>
#include <string>

#include "frontend/module.h"

namespace pg::nn {

// float32 machine epsilon: what PyTorch's rms_norm uses when eps is None, as the baseline does.
constexpr double kRmsEps = 1.1920928955078125e-07;

// Declares `<prefix>.weight` [out, in] and applies it to x [..., in].
Tensor linear(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t out, bool zero_init = false);

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

struct AttentionConfig {
    int64_t num_heads = 8, num_kv_heads = 4;
    double rope_base = 10000.0, qk_gain_init = 1.5;
    int64_t rope_dims = 0;  // 0 = the full head dim
};

// x [B, T, d] -> [B, T, d]; declares c_q, c_k, c_v, proj (zero init) and q_gain under `prefix`.
Tensor causal_self_attention(ParamSet& ps, const std::string& prefix, const Tensor& x, const AttentionConfig& cfg);

// x [B, T, d] -> [B, T, d]: proj(relu(fc(x))²), fc [mult*d, d], proj [d, mult*d] zero init.
Tensor relu2_mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t mult);

}  // namespace pg::nn
