// Transformer building blocks (see layers.h).
#include "frontend/nn/layers.h"

#include <cmath>

#include "base/error.h"

namespace pg::nn {

namespace {
thread_local LinearInputObserver g_observer;
}  // namespace

ScopedLinearInputObserver::ScopedLinearInputObserver(LinearInputObserver observer) { g_observer = std::move(observer); }
ScopedLinearInputObserver::~ScopedLinearInputObserver() { g_observer = nullptr; }

void observe_linear_input(const std::string& weight, const Tensor& input) {
    if (g_observer) g_observer(weight, input);
}

Tensor linear(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t out, bool zero_init) {
    int64_t in = x.dim(-1);
    // PyTorch's default nn.Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Init init = zero_init ? Init::zeros() : Init::uniform(1.0 / std::sqrt(static_cast<double>(in)));
    Tensor w = ps.add(prefix + ".weight", {out, in}, init, "matrix");
    Shape lead(x.shape().begin(), x.shape().end() - 1);
    Tensor flat = x.reshape({numel(lead), in});
    observe_linear_input(prefix + ".weight", flat);
    Shape out_shape = lead;
    out_shape.push_back(out);
    return matmul(flat, w.cast(x.dtype()).transpose(0, 1)).reshape(out_shape);
}

Tensor causal_self_attention(ParamSet& ps, const std::string& prefix, const Tensor& x, const AttentionConfig& cfg) {
    const int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2);
    const int64_t H = cfg.num_heads, Hkv = cfg.num_kv_heads;
    PG_CHECK(d % H == 0, "model dim {} is not divisible by NUM_HEADS={}", d, H);
    PG_CHECK(H % Hkv == 0, "NUM_HEADS={} is not a multiple of NUM_KV_HEADS={}", H, Hkv);
    const int64_t Dh = d / H;
    PG_CHECK(Dh % 2 == 0, "head dim {} must be even for rotary embeddings", Dh);
    Tensor q = linear(ps, prefix + ".c_q", x, d).reshape({B, T, H, Dh});
    Tensor k = linear(ps, prefix + ".c_k", x, Hkv * Dh).reshape({B, T, Hkv, Dh});
    Tensor v = linear(ps, prefix + ".c_v", x, Hkv * Dh).reshape({B, T, Hkv, Dh});
    q = rms_norm(q, kRmsEps);
    k = rms_norm(k, kRmsEps);
    int64_t rot = cfg.rope_dims > 0 ? cfg.rope_dims : Dh;
    q = rope(q, rot, cfg.rope_base);
    k = rope(k, rot, cfg.rope_base);
    Tensor gain = ps.add(prefix + ".q_gain", {H}, Init::constant(cfg.qk_gain_init), "scalar");
    q = q * gain.cast(q.dtype()).reshape({1, 1, H, 1});
    Tensor y = attention(q.permute({0, 2, 1, 3}), k.permute({0, 2, 1, 3}), v.permute({0, 2, 1, 3}),
                         1.0 / std::sqrt(static_cast<double>(Dh)));
    y = y.permute({0, 2, 1, 3}).reshape({B, T, d});
    return linear(ps, prefix + ".proj", y, d, /*zero_init=*/true);
}

Tensor relu2_mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t mult) {
    const int64_t d = x.dim(-1);
    Tensor h = linear(ps, prefix + ".fc", x, mult * d).relu();
    return linear(ps, prefix + ".proj", h.square(), d, /*zero_init=*/true);
}

}  // namespace pg::nn
