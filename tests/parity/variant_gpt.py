"""PyTorch model of the record submissions' architecture pieces (pgolf-spec section 4.1), written
from the spec as the oracle of pgolf's variant parity tests. With every option off it is the
baseline of baseline_gpt.py. Parameter names are the records' state_dict names, pgolf's too.

Options (the "variant" object of the parity config, pgolf's setting names in lower case):
mlp_mult (real), mlp_activation ("relu2" / "leaky_relu2"), leaky_relu_slope, smear_gate (0/1/2),
smear_bos_id, bigram_vocab_size, bigram_dim, ve_enabled, ve_dim, ve_layers, value_residual,
xsa_last_n, rope_dims, rope_ntk_ref_len, ln_scale, skip_gates_enabled, loop_start, loop_end,
num_loops, parallel_start_layer, attn_out_gate.
"""
import math

import torch
import torch.nn.functional as F

from baseline_gpt import rms_norm

GATE_WINDOW = 12
QAT_BITS = 0  # > 0: the block linears use per-row fake-quantised weights with a straight-through gradient


def fake_quant(w, bits):
    """Per-row symmetric int-N: scale = max(rowmax/R, 1/R), clamp(round(w/scale), -R-1, R) * scale."""
    R = 2 ** (bits - 1) - 1
    scale = (w.detach().abs().amax(dim=1, keepdim=True) / R).clamp_min(1.0 / R)
    y = w.detach() / scale
    q = torch.where(y < 0, -torch.floor(-y + 0.5), torch.floor(y + 0.5)).clamp(-R - 1, R)  # half away from 0
    return q * scale


def lin(m, x):
    w = m.weight
    if QAT_BITS > 0:
        w = w + (fake_quant(w, QAT_BITS) - w).detach()
    return F.linear(x, w)


def rotary(x, base, rd):
    """Halves convention on the first rd dims of x [B, T, H, D]; the rest pass through."""
    T = x.shape[1]
    inv_freq = 1.0 / (base ** (torch.arange(0, rd, 2, dtype=torch.float32) / rd))
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2, rest = x[..., : rd // 2], x[..., rd // 2: rd], x[..., rd:]
    return torch.cat([x1 * cos + x2 * sin, -x1 * sin + x2 * cos, rest], dim=-1)


def prev_token(x):
    return torch.cat([torch.zeros_like(x[:, :1]), x[:, :-1]], dim=1)


def bigram_hash(ids, buckets):
    """PR #162: (36313*cur XOR 27191*prev) mod (K-1); position 0 -> K-1."""
    t = ids.to(torch.int64)
    out = torch.empty_like(t)
    out[:, 0] = buckets - 1
    out[:, 1:] = torch.bitwise_xor(36313 * t[:, 1:], 27191 * t[:, :-1]) % (buckets - 1)
    return out


class Attention(torch.nn.Module):
    def __init__(self, d, h, hkv, o):
        super().__init__()
        self.h, self.hkv, self.dh = h, hkv, d // h
        self.c_q = torch.nn.Linear(d, d, bias=False)
        self.c_k = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.c_v = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.proj = torch.nn.Linear(d, d, bias=False)
        self.q_gain = torch.nn.Parameter(torch.full((h,), 1.5))
        if o.get("attn_out_gate", False):
            self.attn_gate_w = torch.nn.Parameter(torch.zeros(h, GATE_WINDOW))

    def forward(self, x, base, rd, xsa, value_add):
        B, T, d = x.shape
        v_proj = lin(self.c_v, x)
        v = (v_proj if value_add is None else v_proj + value_add).view(B, T, self.hkv, self.dh)
        q = rotary(rms_norm(lin(self.c_q, x).view(B, T, self.h, self.dh)), base, rd)
        k = rotary(rms_norm(lin(self.c_k, x).view(B, T, self.hkv, self.dh)), base, rd)
        q = q * self.q_gain[None, None, :, None]
        rep = self.h // self.hkv
        kk = k.transpose(1, 2).repeat_interleave(rep, dim=1)
        vv = v.transpose(1, 2).repeat_interleave(rep, dim=1)
        scores = (q.transpose(1, 2) @ kk.transpose(-1, -2)) / math.sqrt(self.dh)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        y = (torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ vv).transpose(1, 2)  # B T H D
        if xsa:  # remove the component along the token's own value of the KV head each head reads
            vn = F.normalize(v, dim=-1).repeat_interleave(rep, dim=2)
            y = y - (y * vn).sum(-1, keepdim=True) * vn
        if hasattr(self, "attn_gate_w"):
            y = y * (2 * torch.sigmoid(x[..., :GATE_WINDOW] @ self.attn_gate_w.t()))[..., None]
        return lin(self.proj, y.reshape(B, T, d)), v_proj


class MLP(torch.nn.Module):
    def __init__(self, d, mult, o):
        super().__init__()
        hidden = int(mult * d)
        self.fc = torch.nn.Linear(d, hidden, bias=False)
        self.proj = torch.nn.Linear(hidden, d, bias=False)
        self.leaky = o.get("mlp_activation", "relu2") == "leaky_relu2"
        self.slope = o.get("leaky_relu_slope", 0.5)

    def forward(self, x):
        z = lin(self.fc, x)
        h = F.leaky_relu(z, self.slope) if self.leaky else torch.relu(z)
        return lin(self.proj, h.square())


class Block(torch.nn.Module):
    def __init__(self, i, d, h, hkv, mult, o):
        super().__init__()
        self.attn = Attention(d, h, hkv, o)
        self.mlp = MLP(d, mult, o)
        self.attn_scale = torch.nn.Parameter(torch.ones(d))
        self.mlp_scale = torch.nn.Parameter(torch.ones(d))
        self.resid_mix = torch.nn.Parameter(torch.stack([torch.ones(d), torch.zeros(d)]))
        if o.get("value_residual", False) and i > 0:
            self.vr_lambda = torch.nn.Parameter(torch.zeros(1))


class VariantGPT(torch.nn.Module):
    def __init__(self, vocab, layers, d, h, hkv, o, rope_base=10000.0, softcap=30.0):
        super().__init__()
        self.o, self.L, self.d, self.dh, self.softcap, self.base = o, layers, d, d // h, softcap, rope_base
        mult = o.get("mlp_mult", 2)
        self.tok_emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList([Block(i, d, h, hkv, mult, o) for i in range(layers)])
        s, e, n = o.get("loop_start", -1), o.get("loop_end", -1), o.get("num_loops", 0)
        self.order = list(range(layers)) if n <= 0 else \
            list(range(s)) + list(range(s, e + 1)) * (n + 1) + list(range(e + 1, layers))
        self.n_enc = len(self.order) // 2
        n_skip = min(self.n_enc, len(self.order) - self.n_enc)
        if n_skip > 0:
            self.skip_weights = torch.nn.Parameter(torch.ones(n_skip, d))
            if o.get("skip_gates_enabled", False):
                self.skip_gates = torch.nn.Parameter(torch.zeros(n_skip, d))
        K = o.get("bigram_vocab_size", 0)
        if K > 0:
            self.bigram = torch.nn.Module()
            self.bigram.embed = torch.nn.Embedding(K, o["bigram_dim"])
            self.bigram.proj = torch.nn.Linear(o["bigram_dim"], d, bias=False)
            self.bigram.scale = torch.nn.Parameter(torch.tensor(0.05))
        if o.get("smear_gate", 0) == 1:
            self.smear = torch.nn.Module()
            self.smear.gate = torch.nn.Parameter(torch.zeros(d))
        if o.get("smear_gate", 0) == 2:
            self.smear_gate = torch.nn.Linear(GATE_WINDOW, 1, bias=False)
            self.smear_lambda = torch.nn.Parameter(torch.tensor(0.0))
        if o.get("ve_enabled", False):
            self.ve_shared = torch.nn.Module()
            self.ve_shared.embed = torch.nn.Embedding(vocab, o["ve_dim"])
            self.ve_shared.proj = torch.nn.Linear(o["ve_dim"], hkv * self.dh, bias=False)
            self.ve_shared.scale = torch.nn.Parameter(torch.tensor(0.1))
            self.ve_layer_scales = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(1)) for _ in o["ve_layers"]])
        self.par = o.get("parallel_start_layer", -1)
        if self.par >= 0:
            self.parallel_resid_lambdas = torch.nn.Parameter(torch.full((layers, 2), 1.1))
            self.parallel_post_lambdas = torch.nn.Parameter(torch.ones(layers, 2, 2))

    def embed(self, ids):
        o = self.o
        e = self.tok_emb(ids)
        if hasattr(self, "bigram"):
            b = self.bigram
            e = e + b.scale * b.proj(b.embed(bigram_hash(ids, b.embed.weight.shape[0])))
        if hasattr(self, "smear_gate"):  # v2 on the raw embedding, never into BOS
            g = self.smear_lambda * torch.sigmoid(self.smear_gate(e[..., :GATE_WINDOW]))
            keep = (ids != o.get("smear_bos_id", 1)).to(e.dtype)[..., None]
            e = e + g * keep * prev_token(e)
        x = rms_norm(e)
        if hasattr(self, "smear"):
            g = torch.sigmoid(self.smear.gate)
            x = (1 - g) * x + g * prev_token(x)
        return x

    def sub_in(self, i, x):
        n = rms_norm(x)
        return n / math.sqrt(i + 1) if self.o.get("ln_scale", False) else n

    def attn(self, i, x, ids, st):
        o, blk = self.o, self.blocks[i]
        add = None
        if hasattr(self, "ve_shared") and i in o["ve_layers"]:
            ve = self.ve_shared.scale * self.ve_shared.proj(self.ve_shared.embed(ids))
            add = ve * self.ve_layer_scales[o["ve_layers"].index(i)]
        if hasattr(blk, "vr_lambda") and "v0" in st:
            r = blk.vr_lambda * st["v0"]
            add = r if add is None else add + r
        rd = o.get("rope_dims", 0) or self.dh
        base, T, ref = self.base, x.shape[1], o.get("rope_ntk_ref_len", 0)
        if ref > 0 and T > ref:
            base = base * (T / ref) ** (rd / (rd - 2))
        xsa = i >= self.L - o.get("xsa_last_n", 0)
        out, v = blk.attn(x, base, rd, xsa, add)
        if i == 0 and "v0" not in st:
            st["v0"] = v
        return blk.attn_scale * out

    def block(self, i, lanes, x0, ids, st):
        blk = self.blocks[i]
        x = blk.resid_mix[0] * lanes[0] + blk.resid_mix[1] * x0
        if self.par < 0 or i < self.par:
            x = x + self.attn(i, self.sub_in(i, x), ids, st)
            return [x + blk.mlp_scale * blk.mlp(self.sub_in(i, x))] + lanes[1:]
        lane1 = lanes[1] if len(lanes) > 1 else lanes[0]
        a = self.attn(i, self.sub_in(i, x), ids, st)
        m = blk.mlp_scale * blk.mlp(self.sub_in(i, lane1))
        rho, pi = self.parallel_resid_lambdas[i], self.parallel_post_lambdas[i]
        return [rho[0] * x + pi[0, 0] * a + pi[1, 0] * m, rho[1] * lane1 + pi[0, 1] * a + pi[1, 1] * m]

    def token_losses(self, ids, targets):
        x0 = self.embed(ids)
        lanes, skips, st = [x0], [], {}
        for j in range(self.n_enc):
            lanes = self.block(self.order[j], lanes, x0, ids, st)
            skips.append(lanes[0])
        for j in range(len(self.order) - self.n_enc):
            if skips:
                w, s = self.skip_weights[j], skips.pop()
                if hasattr(self, "skip_gates"):
                    g = torch.sigmoid(self.skip_gates[j])
                    lanes[0] = g * lanes[0] + (1 - g) * (w * s)
                else:
                    lanes[0] = lanes[0] + w * s
            lanes = self.block(self.order[self.n_enc + j], lanes, x0, ids, st)
        x = lanes[0] if len(lanes) == 1 else 0.5 * (lanes[0] + lanes[1])
        logits = rms_norm(x).reshape(-1, self.d) @ self.tok_emb.weight.t()
        logits = self.softcap * torch.tanh(logits / self.softcap)
        return F.cross_entropy(logits.float(), targets.reshape(-1), reduction="none")

    def forward(self, ids, targets):
        return self.token_losses(ids, targets).mean()
