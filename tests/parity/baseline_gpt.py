"""PyTorch implementation of the challenge's baseline GPT, written from pgolf-spec section 3 (the
oracle of pgolf's model parity tests). Parameter names are the baseline's state_dict names, the
same names pgolf uses, so weights move through safetensors unchanged.

Also the baseline's optimizers: Muon (Nesterov momentum, Newton-Schulz with coefficients
(3.4445, -4.7750, 2.0315), shape scale) and Adam (torch.optim.Adam, no weight decay).
"""
import math

import torch
import torch.nn.functional as F

RMS_EPS = torch.finfo(torch.float32).eps


def rms_norm(x):
    return F.rms_norm(x, (x.shape[-1],), eps=RMS_EPS) if hasattr(F, "rms_norm") else \
        x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + RMS_EPS)


def rotary(x, base):  # x [B, T, H, D]; halves convention over the full head dim
    T, D = x.shape[1], x.shape[3]
    inv_freq = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float32) / D))
    ang = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    cos, sin = ang.cos()[None, :, None, :].to(x.dtype), ang.sin()[None, :, None, :].to(x.dtype)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * cos + x2 * sin, -x1 * sin + x2 * cos], dim=-1)


class CausalSelfAttention(torch.nn.Module):
    def __init__(self, d, h, hkv, rope_base, qk_gain_init):
        super().__init__()
        self.h, self.hkv, self.dh, self.rope_base = h, hkv, d // h, rope_base
        self.c_q = torch.nn.Linear(d, d, bias=False)
        self.c_k = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.c_v = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.proj = torch.nn.Linear(d, d, bias=False)
        self.q_gain = torch.nn.Parameter(torch.full((h,), qk_gain_init))

    def forward(self, x):
        B, T, d = x.shape
        q = rotary(rms_norm(self.c_q(x).view(B, T, self.h, self.dh)), self.rope_base)
        k = rotary(rms_norm(self.c_k(x).view(B, T, self.hkv, self.dh)), self.rope_base)
        v = self.c_v(x).view(B, T, self.hkv, self.dh)
        q = q * self.q_gain.to(q.dtype)[None, None, :, None]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        rep = self.h // self.hkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        y = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, d))


class MLP(torch.nn.Module):
    def __init__(self, d, mult):
        super().__init__()
        self.fc = torch.nn.Linear(d, mult * d, bias=False)
        self.proj = torch.nn.Linear(mult * d, d, bias=False)

    def forward(self, x):
        return self.proj(torch.relu(self.fc(x)).square())


class Block(torch.nn.Module):
    def __init__(self, d, h, hkv, mult, rope_base, qk_gain_init):
        super().__init__()
        self.attn = CausalSelfAttention(d, h, hkv, rope_base, qk_gain_init)
        self.mlp = MLP(d, mult)
        self.attn_scale = torch.nn.Parameter(torch.ones(d))
        self.mlp_scale = torch.nn.Parameter(torch.ones(d))
        self.resid_mix = torch.nn.Parameter(torch.stack([torch.ones(d), torch.zeros(d)]))

    def forward(self, x, x0):
        x = self.resid_mix[0] * x + self.resid_mix[1] * x0
        x = x + self.attn_scale * self.attn(rms_norm(x))
        return x + self.mlp_scale * self.mlp(rms_norm(x))


class GPT(torch.nn.Module):
    def __init__(self, vocab, layers, d, h, hkv, mult=2, rope_base=10000.0, softcap=30.0, qk_gain_init=1.5):
        super().__init__()
        self.tok_emb = torch.nn.Embedding(vocab, d)
        self.blocks = torch.nn.ModuleList([Block(d, h, hkv, mult, rope_base, qk_gain_init) for _ in range(layers)])
        self.n_enc = layers // 2
        self.skip_weights = torch.nn.Parameter(torch.ones(min(self.n_enc, layers - self.n_enc), d))
        self.softcap = softcap

    def token_losses(self, ids, targets):
        x = rms_norm(self.tok_emb(ids))
        x0, skips = x, []
        for i in range(self.n_enc):
            x = self.blocks[i](x, x0)
            skips.append(x)
        for i in range(len(self.blocks) - self.n_enc):
            if skips:
                x = x + self.skip_weights[i] * skips.pop()
            x = self.blocks[self.n_enc + i](x, x0)
        logits = rms_norm(x).reshape(-1, x.shape[-1]) @ self.tok_emb.weight.t()
        logits = self.softcap * torch.tanh(logits / self.softcap)
        return F.cross_entropy(logits.float(), targets.reshape(-1), reduction="none")

    def forward(self, ids, targets):
        return self.token_losses(ids, targets).mean()


CONTROL_NAMES = ("attn_scale", "mlp_scale", "resid_mix", "q_gain", "skip_weight", "attn_gate_w")
EMBED_NAMES = ("tok_emb.weight", "bigram.embed.weight", "ve_shared.embed.weight")
EXTRA_MATRICES = ("bigram.proj.weight", "ve_shared.proj.weight")


def gpt_with_weights(cfg, tensors):
    """The GPT of CONFIG's "vocab", "layers", "dim", "heads", "kv_heads", "mlp_mult" with the
    weights that `tensors` holds under its parameter names (the other tensors are the caller's)."""
    model = GPT(cfg["vocab"], cfg["layers"], cfg["dim"], cfg["heads"], cfg["kv_heads"], cfg["mlp_mult"])
    model.load_state_dict({k: v for k, v in tensors.items() if k in model.state_dict()})
    return model


def param_groups(model):
    """The baseline's split: 2-D block matrices -> Muon; tok_emb -> Adam (tied lr); the rest -> Adam.
    The records' additions: the BigramHash / value-embedding tables join tok_emb's group, their
    projections Muon's; attention output gates stay with the scalars."""
    matrix, scalar, embed = [], [], []
    for name, p in model.named_parameters():
        if name in EMBED_NAMES:
            embed.append((name, p))
        elif name in EXTRA_MATRICES or (
                p.ndim == 2 and name.startswith("blocks.") and not any(c in name for c in CONTROL_NAMES)):
            matrix.append((name, p))
        else:
            scalar.append((name, p))
    return matrix, scalar, embed


BASELINE_NS = [(3.4445, -4.7750, 2.0315)]
POLAR_EXPRESS_NS = [(8.156554524902461, -22.48329292557795, 15.878769915207462),
                    (4.042929935166739, -2.808917465908714, 0.5000178451051316),
                    (3.8916678022926607, -2.772484153217685, 0.5060648178503393),
                    (3.285753657755655, -2.3681294933425376, 0.46449024233003106),
                    (2.3465413258596377, -1.7097828382687081, 0.42323551169305323)]


def newton_schulz(g, steps=5, dtype=torch.bfloat16, eps=1e-7, coeffs=BASELINE_NS):
    x = g.to(dtype)
    x = x / (x.norm() + eps)
    transposed = g.size(0) > g.size(1)
    if transposed:
        x = x.T
    for i in range(steps):
        a, b, c = coeffs[min(i, len(coeffs) - 1)]
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    return (x.T if transposed else x).float()


def muon_step(params, grads, bufs, lr, momentum, steps=5, dtype=torch.bfloat16, wd=0.0, row_normalize=False,
              coeffs=BASELINE_NS):
    """Muon; wd: decoupled weight decay p *= 1 - lr*wd; row_normalize: MuonEq-R (rows / max(norm, 1e-7))."""
    for p, g, buf in zip(params, grads, bufs):
        buf.mul_(momentum).add_(g)
        u = g.add(buf, alpha=momentum)
        if row_normalize:
            u = u / u.norm(dim=1, keepdim=True).clamp_min(1e-7)
        o = newton_schulz(u, steps, dtype, coeffs=coeffs)
        o *= max(1, p.size(0) / p.size(1)) ** 0.5
        p.data.mul_(1 - lr * wd)
        p.data.add_(o.to(p.dtype), alpha=-lr)
