// Transformer building blocks (see layers.h).
#include "frontend/nn/layers.h"

#include <cmath>

#include "base/error.h"

namespace pg::nn {

namespace {
thread_local LinearInputObserver g_observer;
thread_local LinearAdapter g_adapter;
}  // namespace

ScopedLinearAdapter::ScopedLinearAdapter(LinearAdapter adapter) { g_adapter = std::move(adapter); }
ScopedLinearAdapter::~ScopedLinearAdapter() { g_adapter = nullptr; }

Tensor linear_adapter_term(ParamSet& ps, const std::string& site, const Tensor& input, int64_t out) {
    return g_adapter ? g_adapter(ps, site, input, out) : Tensor();
}

Tensor add_linear_adapter(ParamSet& ps, const std::string& site, const Tensor& input, const Tensor& output) {
    Tensor extra = linear_adapter_term(ps, site, input, output.dim(-1));
    return extra.defined() ? output + extra : output;
}

ScopedLinearInputObserver::ScopedLinearInputObserver(LinearInputObserver observer) { g_observer = std::move(observer); }
ScopedLinearInputObserver::~ScopedLinearInputObserver() { g_observer = nullptr; }

void observe_linear_input(const std::string& weight, const Tensor& input) {
    if (g_observer) g_observer(weight, input);
}

Tensor linear(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t out, bool zero_init,
              int64_t qat_bits) {
    int64_t in = x.dim(-1);
    // PyTorch's default nn.Linear init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
    Init init = zero_init ? Init::zeros() : Init::uniform(1.0 / std::sqrt(static_cast<double>(in)));
    Tensor w = ps.use(prefix + ".weight", {out, in}, init, "matrix");
    if (qat_bits > 0) {
        Graph& g = ps.graph();
        Tensor quantized(&g, build::fake_quant(g, w.id(), qat_bits));
        w = w + runtime_scalar(g, kQatScalar) * (quantized - w);
    }
    Shape lead(x.shape().begin(), x.shape().end() - 1);
    Tensor flat = x.reshape({numel(lead), in});
    observe_linear_input(prefix + ".weight", flat);
    Shape out_shape = lead;
    out_shape.push_back(out);
    Tensor y = matmul(flat, w.cast(x.dtype()).transpose(0, 1));
    return add_linear_adapter(ps, prefix + ".weight", flat, y).reshape(out_shape);
}

Tensor exclusive_self_attention(const Tensor& y, const Tensor& v) {
    const int64_t B = y.dim(0), T = y.dim(1), H = y.dim(2), D = y.dim(3), Hkv = v.dim(2);
    Tensor yg = y.reshape({B, T, Hkv, H / Hkv, D});
    // F.normalize: v / max(‖v‖, 1e-12).
    Tensor norm = v.square().sum({3}).sqrt().reshape({B, T, Hkv, 1});
    Tensor floor = Tensor(&v.graph(), build::constant(v.graph(), 1e-12, {}, v.dtype()));
    Tensor vn = (v / maximum(norm, floor)).reshape({B, T, Hkv, 1, D});
    Tensor along = (yg * vn).sum({4}).reshape({B, T, Hkv, H / Hkv, 1});
    return (yg - along * vn).reshape({B, T, H, D});
}

namespace {

// y [B, T, H, D] scaled per head by 2σ(x[..., 0:12] Wᵀ), W = attn_gate_w [H, 12] (zero: gate 1).
Tensor output_gate(ParamSet& ps, const std::string& prefix, const Tensor& x, const Tensor& y) {
    const int64_t B = y.dim(0), T = y.dim(1), H = y.dim(2);
    Tensor w = ps.use(prefix + ".attn_gate_w", {H, kGateWindow}, Init::zeros(), "scalar");
    Tensor src = x.slice(2, 0, kGateWindow).reshape({B * T, kGateWindow});
    Tensor gate = matmul(src, w.cast(x.dtype()).transpose(0, 1)).sigmoid() * 2.0;
    return y * gate.reshape({B, T, H, 1});
}

}  // namespace

AttentionResult causal_self_attention(ParamSet& ps, const std::string& prefix, const Tensor& x,
                                      const AttentionConfig& cfg, const Tensor& value_add) {
    const int64_t B = x.dim(0), T = x.dim(1), d = x.dim(2);
    const int64_t H = cfg.num_heads, Hkv = cfg.num_kv_heads;
    PG_CHECK(d % H == 0, "model dim {} is not divisible by NUM_HEADS={}", d, H);
    PG_CHECK(H % Hkv == 0, "NUM_HEADS={} is not a multiple of NUM_KV_HEADS={}", H, Hkv);
    const int64_t Dh = d / H;
    PG_CHECK(Dh % 2 == 0, "head dim {} must be even for rotary embeddings", Dh);
    Tensor q = linear(ps, prefix + ".c_q", x, d, false, cfg.qat_bits).reshape({B, T, H, Dh});
    Tensor k = linear(ps, prefix + ".c_k", x, Hkv * Dh, false, cfg.qat_bits).reshape({B, T, Hkv, Dh});
    Tensor v_proj = linear(ps, prefix + ".c_v", x, Hkv * Dh, false, cfg.qat_bits);
    Tensor v = (value_add.defined() ? v_proj + value_add : v_proj).reshape({B, T, Hkv, Dh});
    q = rms_norm(q, kRmsEps);
    k = rms_norm(k, kRmsEps);
    int64_t rot = cfg.rope_dims > 0 ? cfg.rope_dims : Dh;
    q = rope(q, rot, cfg.rope_base);
    k = rope(k, rot, cfg.rope_base);
    Tensor gain = ps.use(prefix + ".q_gain", {H}, Init::constant(cfg.qk_gain_init), "scalar");
    q = q * gain.cast(q.dtype()).reshape({1, 1, H, 1});
    Tensor y = attention(q.permute({0, 2, 1, 3}), k.permute({0, 2, 1, 3}), v.permute({0, 2, 1, 3}),
                         1.0 / std::sqrt(static_cast<double>(Dh)), cfg.doc_start);
    y = y.permute({0, 2, 1, 3});
    if (cfg.xsa) y = exclusive_self_attention(y, v);
    if (cfg.out_gate) y = output_gate(ps, prefix, x, y);
    return {linear(ps, prefix + ".proj", y.reshape({B, T, d}), d, /*zero_init=*/true, cfg.qat_bits), v_proj};
}

Tensor mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, double mult, MlpActivation act, double slope,
           int64_t qat_bits) {
    const int64_t d = x.dim(-1);
    const auto hidden = static_cast<int64_t>(mult * static_cast<double>(d));
    PG_CHECK(hidden > 0, "MLP_MULT={} gives an empty MLP at width {}", mult, d);
    Tensor z = linear(ps, prefix + ".fc", x, hidden, false, qat_bits);
    // leaky_relu(z, α) = max(z, αz) for 0 ≤ α ≤ 1.
    Tensor h = act == MlpActivation::relu2 ? z.relu() : maximum(z, z * slope);
    Tensor out = linear(ps, prefix + ".proj", h.square(), d, /*zero_init=*/true, qat_bits);
    Shape lead(x.shape().begin(), x.shape().end() - 1);
    return add_linear_adapter(ps, prefix, x.reshape({numel(lead), d}), out.reshape({numel(lead), d})).reshape(x.shape());
}

Tensor relu2_mlp(ParamSet& ps, const std::string& prefix, const Tensor& x, int64_t mult) {
    return mlp(ps, prefix, x, static_cast<double>(mult), MlpActivation::relu2);
}

}  // namespace pg::nn
