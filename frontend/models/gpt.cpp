// The GPT family's forward pass (see gpt.h). With an all-default VariantConfig this is the
// baseline of pgolf-spec §3.3; each option adds one record piece of §4.1.
#include "frontend/models/gpt.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "frontend/models/layer_plan.h"
#include "frontend/models/registry.h"
#include "frontend/nn/token_mixing.h"

namespace pg {
namespace {

// The residual stream: one lane, or two from PARALLEL_START_LAYER on (lane1 undefined before).
struct Stream {
    Tensor lane0, lane1;
};

// What every block reads besides the stream.
struct Context {
    ParamSet& ps;
    const GptConfig& cfg;
    Tensor x0;  // the normalised (and smeared) embedding
    Tensor ve;  // the shared value embedding [B, T, kv_dim], or undefined
    Tensor v0;  // layer 0's value projection, for the value residual
    Tensor doc_start;  // [B, T] i32 with ATTN_DOC_MASK (nn::document_starts), or undefined
};

// Row `row` of the control tensor p [n, d], as a [d] vector in dtype `act`.
Tensor row_of(const Tensor& p, int64_t row, DType act) {
    return p.slice(0, row, row + 1).reshape({p.dim(1)}).cast(act);
}

// RMSNorm of a sublayer's input, times 1/√(i+1) with LN_SCALE (physical index i).
Tensor sublayer_input(const GptConfig& cfg, int64_t i, const Tensor& x) {
    Tensor n = rms_norm(x, nn::kRmsEps);
    return cfg.variant.ln_scale ? n * (1.0 / std::sqrt(static_cast<double>(i + 1))) : n;
}

// The rotary base: NTK-scaled as base·(T/ref)^(rd/(rd−2)) above the reference length.
double rope_base(const GptConfig& cfg, int64_t seq_len) {
    const VariantConfig& v = cfg.variant;
    const int64_t rd = v.rope_dims > 0 ? v.rope_dims : cfg.model_dim / cfg.num_heads;
    if (v.rope_ntk_ref_len <= 0 || seq_len <= v.rope_ntk_ref_len) return cfg.rope_base;
    const double ratio = static_cast<double>(seq_len) / static_cast<double>(v.rope_ntk_ref_len);
    return cfg.rope_base * std::pow(ratio, static_cast<double>(rd) / static_cast<double>(rd - 2));
}

// What layer i adds to its value projection: the shared value embedding × ve_layer_scales.j on
// the VE layers, and λ_i·v_0 with the value residual (i > 0).
Tensor value_addition(Context& c, const std::string& p, int64_t i, DType act) {
    const VariantConfig& v = c.cfg.variant;
    Tensor add;
    auto at = std::find(v.ve_layers.begin(), v.ve_layers.end(), i);
    if (c.ve.defined() && at != v.ve_layers.end()) {
        std::string name = fmt::format("ve_layer_scales.{}", at - v.ve_layers.begin());
        add = c.ve * c.ps.use(name, {1}, Init::ones(), "scalar").cast(act);
    }
    if (v.value_residual && i > 0 && c.v0.defined()) {
        Tensor r = c.v0 * c.ps.use(p + ".vr_lambda", {1}, Init::zeros(), "scalar").cast(act);
        add = add.defined() ? add + r : r;
    }
    return add;
}

// attn_scale ⊙ Attn(x_in) of physical layer i (x_in: the normalised input).
Tensor attention_branch(Context& c, int64_t i, const Tensor& x_in) {
    const GptConfig& cfg = c.cfg;
    const VariantConfig& v = cfg.variant;
    const std::string p = fmt::format("blocks.{}", i);
    nn::AttentionConfig ac{cfg.num_heads, cfg.num_kv_heads, rope_base(cfg, x_in.dim(1)), cfg.qk_gain_init,
                           v.rope_dims, i >= cfg.num_layers - v.xsa_last_n, v.attn_out_gate, cfg.qat_bits,
                           c.doc_start};
    nn::AttentionResult r =
        nn::causal_self_attention(c.ps, p + ".attn", x_in, ac, value_addition(c, p, i, x_in.dtype()));
    if (i == 0 && !c.v0.defined()) c.v0 = r.v;
    Tensor scale = c.ps.use(p + ".attn_scale", {cfg.model_dim}, Init::ones(), "scalar");
    return scale.cast(x_in.dtype()) * r.out;
}

// mlp_scale ⊙ MLP(x_in) of physical layer i.
Tensor mlp_branch(Context& c, int64_t i, const Tensor& x_in) {
    const std::string p = fmt::format("blocks.{}", i);
    Tensor out = nn::mlp(c.ps, p + ".mlp", x_in, c.cfg.mlp_mult, c.cfg.variant.activation, c.cfg.variant.leaky_slope,
                         c.cfg.qat_bits);
    Tensor scale = c.ps.use(p + ".mlp_scale", {c.cfg.model_dim}, Init::ones(), "scalar");
    return scale.cast(x_in.dtype()) * out;
}

// The parallel-residual coefficients of layer i: ρ (parallel_resid_lambdas [L, 2], init 1.1) and
// π (parallel_post_lambdas [L, 2, 2] = [layer, attn/mlp, lane], init 1), as scalars.
Tensor lane_coefficient(Context& c, const std::string& name, int64_t index, DType act) {
    const int64_t L = c.cfg.num_layers;
    Tensor p = name == "parallel_resid_lambdas" ? c.ps.use(name, {L, 2}, Init::constant(1.1), "scalar")
                                                : c.ps.use(name, {L, 2, 2}, Init::ones(), "scalar");
    return p.reshape({numel(p.shape())}).slice(0, index, index + 1).reshape({}).cast(act);
}

// The block of physical layer i (pgolf-spec §3.3 step 3; §4.1 parallel residuals, form 4: both
// sublayers read the pre-update lanes, resid_mix on the attention lane only).
void block(Context& c, int64_t i, Stream& s) {
    const GptConfig& cfg = c.cfg;
    const int64_t d = cfg.model_dim;
    const DType act = s.lane0.dtype();
    // Declared first, in the baseline's order (declaration order fixes the graph's node order).
    Tensor mix = c.ps.use(fmt::format("blocks.{}.resid_mix", i), {2, d}, Init::row_pattern({1.0, 0.0}), "scalar");
    c.ps.use(fmt::format("blocks.{}.attn_scale", i), {d}, Init::ones(), "scalar");
    c.ps.use(fmt::format("blocks.{}.mlp_scale", i), {d}, Init::ones(), "scalar");
    Tensor x = row_of(mix, 0, act) * s.lane0 + row_of(mix, 1, act) * c.x0;
    const int64_t k = cfg.variant.parallel_start_layer;
    if (k < 0 || i < k) {
        x = x + attention_branch(c, i, sublayer_input(cfg, i, x));
        s.lane0 = x + mlp_branch(c, i, sublayer_input(cfg, i, x));
        return;
    }
    if (!s.lane1.defined()) s.lane1 = s.lane0;  // both lanes start as copies of the residual
    Tensor a = attention_branch(c, i, sublayer_input(cfg, i, x));
    Tensor m = mlp_branch(c, i, sublayer_input(cfg, i, s.lane1));
    auto rho = [&](int64_t lane) { return lane_coefficient(c, "parallel_resid_lambdas", 2 * i + lane, act); };
    auto pi = [&](int64_t sub, int64_t lane) {
        return lane_coefficient(c, "parallel_post_lambdas", 4 * i + 2 * sub + lane, act);
    };
    Tensor lane1 = rho(1) * s.lane1 + pi(0, 1) * a + pi(1, 1) * m;
    s.lane0 = rho(0) * x + pi(0, 0) * a + pi(1, 0) * m;
    s.lane1 = lane1;
}

// The embedding stage: tok_emb (+ BigramHash), SmearGate v2 on the raw sum, RMSNorm, SmearGate v1.
Tensor embed(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& emb) {
    const VariantConfig& v = cfg.variant;
    const DType act = cfg.compute_dtype;
    Tensor e = gather(emb, ids).cast(act);
    if (v.bigram_vocab_size > 0)
        e = e + nn::bigram_hash_embedding(ps, ids, v.bigram_vocab_size, v.bigram_dim, cfg.model_dim, cfg.vocab_size,
                                          act);
    if (v.smear_gate == 2) e = nn::smear_gate_v2(ps, e, ids, v.smear_bos_id);
    Tensor x = rms_norm(e, nn::kRmsEps);
    return v.smear_gate == 1 ? nn::smear_gate_v1(ps, x) : x;
}

// Adds decoder skip j (U-Net, LIFO) to x: w_j ⊙ skip, or with gates σ(g_j)·x + (1−σ(g_j))·w_j ⊙ skip.
Tensor add_skip(ParamSet& ps, const GptConfig& cfg, int64_t j, int64_t n_skip, const Tensor& x, const Tensor& skip) {
    const int64_t d = cfg.model_dim;
    Tensor w = row_of(ps.use("skip_weights", {n_skip, d}, Init::ones(), "scalar"), j, x.dtype());
    if (!cfg.variant.skip_gates) return x + w * skip;
    Tensor g = row_of(ps.use("skip_gates", {n_skip, d}, Init::zeros(), "scalar"), j, x.dtype()).sigmoid();
    return g * x + (1.0 - g) * (w * skip);
}

// ORTHO_INIT / OVERTONE_INIT: the records' init schemes replace the default ones (pgolf-spec §4.2).
void apply_init_variants(ParamSet& ps, const GptConfig& cfg) {
    const VariantConfig& v = cfg.variant;
    for (const ParamSpec& p : std::vector<ParamSpec>(ps.specs())) {
        const bool linear = p.group == "matrix" && p.init.kind == Init::Kind::Uniform;
        if (v.ortho_init && linear && p.shape[0] >= 64 && p.shape[1] >= 64) ps.set_init(p.name, Init::orthogonal(1.0));
    }
    if (v.overtone_init) ps.set_init("tok_emb.weight", Init::overtone(cfg.tied_embed_init_std));
}

// The tied head's input h [B*T, d] and weight (tok_emb in h's dtype) [V, d]: logits = h wᵀ.
struct HeadInput {
    Tensor h, w;
};

HeadInput gpt_head_input(ParamSet& ps, const GptConfig& cfg, const Tensor& ids) {
    PG_CHECK(ids.shape().size() == 2, "ids must be [B, T]");
    const int64_t B = ids.dim(0), T = ids.dim(1), d = cfg.model_dim;
    const VariantConfig& v = cfg.variant;
    // With bf16 compute the embedding is stored bf16 (the baseline keeps tok_emb bf16, Adam runs
    // on it), and every activation is bf16 while weights stay fp32 masters cast at use.
    Tensor emb = ps.use("tok_emb.weight", {cfg.vocab_size, d}, Init::normal(cfg.tied_embed_init_std), "embed",
                        cfg.compute_dtype);
    Context c{ps, cfg, embed(ps, cfg, ids, emb), {}, {}, {}};
    if (v.attn_doc_mask) c.doc_start = nn::document_starts(ids, v.doc_bos_id);
    if (v.ve_enabled)
        c.ve = nn::shared_value_embedding(ps, ids, cfg.vocab_size, v.ve_dim,
                                          cfg.num_kv_heads * (d / cfg.num_heads), cfg.compute_dtype);
    // skip_weights has the looped plan's rows in every graph, so that the graphs before and after
    // ENABLE_LOOPING_AT share it; the plain order uses its first rows, as the records.
    const int64_t n_skip = plan_layers(cfg).n_skips();
    const LayerPlan plan = active_layers(cfg);
    if (n_skip > 0) ps.use("skip_weights", {n_skip, d}, Init::ones(), "scalar");
    Stream s{c.x0, {}};
    std::vector<Tensor> skips;
    for (int64_t j = 0; j < plan.n_encoder(); ++j) {
        block(c, plan.order[static_cast<size_t>(j)], s);
        skips.push_back(s.lane0);
    }
    for (int64_t j = 0; j < plan.n_decoder(); ++j) {
        if (j < plan.n_skips()) {
            s.lane0 = add_skip(ps, cfg, j, n_skip, s.lane0, skips.back());
            skips.pop_back();
        }
        block(c, plan.order[static_cast<size_t>(plan.n_encoder() + j)], s);
    }
    apply_init_variants(ps, cfg);
    Tensor x = s.lane1.defined() ? (s.lane0 + s.lane1) * 0.5 : s.lane0;
    Tensor h = rms_norm(x, nn::kRmsEps).reshape({B * T, d});
    nn::observe_linear_input("tok_emb.weight", h);  // the tied head is a linear layer on h
    return {h, emb.cast(h.dtype())};
}

}  // namespace

Tensor gpt_logits(ParamSet& ps, const GptConfig& cfg, const Tensor& ids) {
    HeadInput head = gpt_head_input(ps, cfg, ids);
    return nn::add_linear_adapter(ps, "tok_emb.weight", head.h, matmul(head.h, head.w.transpose(0, 1)));
}

// The head and the cross-entropy as one op (the backends' tiled templates never hold the [N, V]
// logits), unless a test-time adapter adds a term to the head's output: then the unfused form.
Tensor gpt_token_losses(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    PG_CHECK(ids.shape().size() == 2 && ids.shape() == targets.shape(), "ids and targets must both be [B, T]");
    const int64_t n = ids.dim(0) * ids.dim(1);
    HeadInput head = gpt_head_input(ps, cfg, ids);
    Tensor extra = nn::linear_adapter_term(ps, "tok_emb.weight", head.h, head.w.dim(0));
    if (extra.defined())
        return cross_entropy(matmul(head.h, head.w.transpose(0, 1)) + extra, targets.reshape({n}), cfg.logit_softcap);
    return linear_cross_entropy(head.h, head.w, targets.reshape({n}), cfg.logit_softcap);
}

Tensor gpt_log_probs(const GptConfig& cfg, const Tensor& head_logits) {
    Tensor logits = head_logits.cast(DType::f32);
    const double cap = cfg.logit_softcap;
    if (cap > 0) logits = (logits / cap).tanh() * cap;
    return log_softmax(logits);
}

PG_REGISTER_MODEL({.name = "gpt",
                   .doc = "the baseline GPT with the record pieces of VariantConfig",
                   .token_losses = gpt_token_losses});

Tensor gpt_loss(ParamSet& ps, const GptConfig& cfg, const Tensor& ids, const Tensor& targets) {
    return gpt_token_losses(ps, cfg, ids, targets).mean_all();
}

}  // namespace pg
