#!/usr/bin/python3
"""The challenge's baseline training step in PyTorch, written from pgolf-spec section 3, for timing
against `pgolf bench` on the same machine with the same shapes (benchmarks/reference/compare.py
runs both).

One step = TRAIN_BATCH_TOKENS / TRAIN_SEQ_LEN sequences in 8 micro-steps with gradient
accumulation (loss / 8 each), then Muon on the block matrices (Nesterov momentum, 5 bf16
Newton-Schulz iterations with (3.4445, -4.7750, 2.0315), scale sqrt(max(1, rows/cols))) and Adam
(betas 0.9/0.95, eps 1e-8) on tok_emb (lr 0.05) and the scalars and control tensors (lr 0.04).
The model: RMSNorm'd embedding, U-Net skips over NUM_LAYERS blocks with resid_mix, attention with
q/k RMSNorm, RoPE (halves convention), q_gain, causal GQA attention through
F.scaled_dot_product_attention (SDPA; the flash kernel on a GPU) where this PyTorch has it
(>= 2.0; else the same product written out), relu^2 MLP, tied head with softcap 30, f32 CE.

Modes: eager, or torch.compile (PyTorch >= 2.0; reported as unavailable otherwise). Settings come
from the environment with train_gpt.py's names and defaults; activations are bf16 (autocast) on a
GPU as the baseline's, f32 on a CPU as pgolf's CPU step; threads = PG_THREADS or all cores,
as pgolf's pool. Tokens: a fixed skewed random batch, floor(V * u^3), as `pgolf bench`.

Usage: [NUM_LAYERS=.. MODEL_DIM=.. ...] torch_step.py [--mode eager|compile] [--steps N] [--warmup N]
       [--device cpu|cuda] [--json FILE]
Prints "torch <mode> step_ms: median <ms> min <ms> max <ms>".
"""
import argparse
import contextlib
import json
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "parity"))
from baseline_gpt import muon_step  # noqa: E402  (one Muon for the oracle and the benchmark)

EPS = torch.finfo(torch.float32).eps
CONTROL = ("attn_scale", "mlp_scale", "resid_mix", "q_gain", "skip_weight")


def setting(name, default):
    return type(default)(os.environ.get(name, default))


def rms_norm(x):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype)


def rope(x, base):  # x [B, H, T, D]
    T, D = x.shape[2], x.shape[3]
    inv = 1.0 / (base ** (torch.arange(0, D, 2, dtype=torch.float32, device=x.device) / D))
    ang = torch.outer(torch.arange(T, dtype=torch.float32, device=x.device), inv)
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * cos + x2 * sin, -x1 * sin + x2 * cos], dim=-1)


def causal_attention(q, k, v):  # q [B, H, T, D]; k, v [B, Hkv, T, D]
    rep = q.shape[1] // k.shape[1]
    k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
    if hasattr(F, "scaled_dot_product_attention"):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[2]
    scores = (q @ k.transpose(-1, -2)) / math.sqrt(q.shape[-1])
    mask = torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1)
    return torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ v


class Block(torch.nn.Module):
    def __init__(self, d, h, hkv, mult):
        super().__init__()
        self.h, self.hkv, self.dh = h, hkv, d // h
        self.c_q = torch.nn.Linear(d, d, bias=False)
        self.c_k = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.c_v = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.proj = torch.nn.Linear(d, d, bias=False)
        self.fc = torch.nn.Linear(d, mult * d, bias=False)
        self.mlp_proj = torch.nn.Linear(mult * d, d, bias=False)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.mlp_proj.weight)
        self.q_gain = torch.nn.Parameter(torch.full((h,), 1.5))
        self.attn_scale = torch.nn.Parameter(torch.ones(d))
        self.mlp_scale = torch.nn.Parameter(torch.ones(d))
        self.resid_mix = torch.nn.Parameter(torch.stack([torch.ones(d), torch.zeros(d)]))

    def attn(self, x):
        B, T, d = x.shape
        q = rms_norm(self.c_q(x).view(B, T, self.h, self.dh)).transpose(1, 2)
        k = rms_norm(self.c_k(x).view(B, T, self.hkv, self.dh)).transpose(1, 2)
        v = self.c_v(x).view(B, T, self.hkv, self.dh).transpose(1, 2)
        q = rope(q, 10000.0) * self.q_gain.to(q.dtype)[None, :, None, None]
        y = causal_attention(q, rope(k, 10000.0), v)
        return self.proj(y.transpose(1, 2).reshape(B, T, d))

    def forward(self, x, x0):
        x = self.resid_mix[0] * x + self.resid_mix[1] * x0
        x = x + self.attn_scale * self.attn(rms_norm(x))
        return x + self.mlp_scale * self.mlp_proj(torch.relu(self.fc(rms_norm(x))).square())


class GPT(torch.nn.Module):
    def __init__(self, vocab, layers, d, h, hkv, mult):
        super().__init__()
        self.tok_emb = torch.nn.Embedding(vocab, d)
        torch.nn.init.normal_(self.tok_emb.weight, std=0.005)
        self.blocks = torch.nn.ModuleList([Block(d, h, hkv, mult) for _ in range(layers)])
        self.n_enc = layers // 2
        self.skip_weights = torch.nn.Parameter(torch.ones(min(self.n_enc, layers - self.n_enc), d))

    def forward(self, ids, targets):
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
        logits = 30.0 * torch.tanh(logits / 30.0)
        return F.cross_entropy(logits.float(), targets.reshape(-1))


def split(model):
    matrix, scalar, embed = [], [], []
    for name, p in model.named_parameters():
        if name == "tok_emb.weight":
            embed.append(p)
        elif p.ndim == 2 and name.startswith("blocks.") and not any(c in name for c in CONTROL):
            matrix.append(p)
        else:
            scalar.append(p)
    return matrix, scalar, embed


def token_batches(vocab, micro, rows, seq, device):
    g = torch.Generator().manual_seed(1)
    u = torch.rand(micro, rows, seq + 1, generator=g, dtype=torch.float64)
    return [t.to(device) for t in torch.floor(vocab * u ** 3).long().clamp_(max=vocab - 1)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["eager", "compile"], default="eager")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json")
    a = ap.parse_args()
    V, L, d = setting("VOCAB_SIZE", 1024), setting("NUM_LAYERS", 9), setting("MODEL_DIM", 512)
    h, hkv, mult = setting("NUM_HEADS", 8), setting("NUM_KV_HEADS", 4), setting("MLP_MULT", 2)
    T, tokens = setting("TRAIN_SEQ_LEN", 1024), setting("TRAIN_BATCH_TOKENS", 524288)
    threads = setting("PG_THREADS", 0) or os.cpu_count()
    torch.set_num_threads(threads)
    torch.manual_seed(setting("SEED", 1337))
    model = GPT(V, L, d, h, hkv, mult).to(a.device)
    if a.mode == "compile" and not hasattr(torch, "compile"):
        print(f"torch compile: unavailable (PyTorch {torch.__version__} has no torch.compile; it needs >= 2.0)")
        return
    step_model = torch.compile(model) if a.mode == "compile" else model
    micro = 8
    batches = token_batches(V, micro, tokens // T // micro, T, a.device)
    matrix, scalar, embed = split(model)
    adams = [torch.optim.Adam(ps, lr=lr, betas=(0.9, 0.95), eps=1e-8)
             for ps, lr in ((scalar, setting("SCALAR_LR", 0.04)), (embed, setting("TIED_EMBED_LR", 0.05)))]
    bufs = [torch.zeros_like(p) for p in matrix]
    times, losses = [], []
    cuda = a.device.startswith("cuda")
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    # The baseline's bf16 activations on a GPU; f32 on a CPU, as pgolf's CPU step.
    autocast = (lambda: torch.autocast("cuda", dtype=torch.bfloat16)) if cuda else contextlib.nullcontext
    for s in range(a.warmup + a.steps):
        sync()
        t0 = time.perf_counter()
        for p in model.parameters():
            p.grad = None
        total = 0.0
        for b in batches:
            with autocast():
                loss = step_model(b[:, :-1], b[:, 1:]) / micro
            loss.backward()
            total += loss.item()
        momentum = 0.85 + min(s / 500, 1) * (0.95 - 0.85)
        with torch.no_grad():  # the baseline's Muon, as the parity oracle writes it
            muon_step(matrix, [p.grad for p in matrix], bufs, setting("MATRIX_LR", 0.04), momentum)
        for opt in adams:
            opt.step()
        sync()
        if s >= a.warmup:
            times.append(1e3 * (time.perf_counter() - t0))
        losses.append(total)
    sdpa = "sdpa" if hasattr(F, "scaled_dot_product_attention") else "written-out attention (no SDPA)"
    print(f"torch {torch.__version__} {a.mode} on {a.device}, {threads} threads, {sdpa}; "
          f"{micro} micro-steps of {batches[0].shape[0]} x {T}")
    print(f"torch {a.mode} step_ms: median {statistics.median(times):.3f} min {min(times):.3f} max {max(times):.3f}")
    print(f"torch {a.mode} loss: {losses[0]:.4f} -> {losses[-1]:.4f}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"torch": torch.__version__, "mode": a.mode, "device": a.device, "threads": threads,
                       "sdpa": hasattr(F, "scaled_dot_product_attention"), "step_ms": times,
                       "median_ms": statistics.median(times), "loss": [losses[0], losses[-1]]}, f, indent=2)


if __name__ == "__main__":
    main()
