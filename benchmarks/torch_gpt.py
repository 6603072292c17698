#!/usr/bin/python3
"""PyTorch (eager, CPU) implementation of pgolf's baseline GPT, written from pgolf-spec section 3.3,
timed on the same configuration as benchmarks/step_bench.cpp: one Adam training step per iteration.

Usage: torch_gpt.py B T LAYERS DIM HEADS KV_HEADS VOCAB [steps]
Prints "torch step_ms: <median ms>" and the first and last loss.
"""
import math
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

EPS = torch.finfo(torch.float32).eps


def rms(x):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS)


def rope(x, base=10000.0):  # x [B, T, H, D], halves convention
    T, D = x.shape[1], x.shape[3]
    inv = base ** (-torch.arange(0, D // 2, dtype=torch.float32) * 2 / D)
    ang = torch.arange(T, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = ang.cos()[None, :, None, :], ang.sin()[None, :, None, :]
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return torch.cat([x1 * cos + x2 * sin, -x1 * sin + x2 * cos], dim=-1)


class Block(torch.nn.Module):
    def __init__(self, d, h, hkv, mult):
        super().__init__()
        self.h, self.hkv, self.dh = h, hkv, d // h
        self.c_q = torch.nn.Linear(d, d, bias=False)
        self.c_k = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.c_v = torch.nn.Linear(d, hkv * self.dh, bias=False)
        self.proj = torch.nn.Linear(d, d, bias=False)
        self.q_gain = torch.nn.Parameter(torch.full((h,), 1.5))
        self.fc = torch.nn.Linear(d, mult * d, bias=False)
        self.mlp_proj = torch.nn.Linear(mult * d, d, bias=False)
        torch.nn.init.zeros_(self.proj.weight)
        torch.nn.init.zeros_(self.mlp_proj.weight)
        self.attn_scale = torch.nn.Parameter(torch.ones(d))
        self.mlp_scale = torch.nn.Parameter(torch.ones(d))
        self.resid_mix = torch.nn.Parameter(torch.stack([torch.ones(d), torch.zeros(d)]))

    def attn(self, x):
        B, T, d = x.shape
        q = rope(rms(self.c_q(x).view(B, T, self.h, self.dh)))
        k = rope(rms(self.c_k(x).view(B, T, self.hkv, self.dh)))
        v = self.c_v(x).view(B, T, self.hkv, self.dh)
        q = q * self.q_gain[None, None, :, None]
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        rep = self.h // self.hkv
        k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True) if hasattr(F, "scaled_dot_product_attention") \
            else torch.softmax((q @ k.transpose(-1, -2) / math.sqrt(self.dh)).masked_fill(
                torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf")), -1) @ v
        return self.proj(y.transpose(1, 2).reshape(B, T, d))

    def forward(self, x, x0):
        x = self.resid_mix[0] * x + self.resid_mix[1] * x0
        x = x + self.attn_scale * self.attn(rms(x))
        return x + self.mlp_scale * self.mlp_proj(torch.relu(self.fc(rms(x))).square())


class GPT(torch.nn.Module):
    def __init__(self, V, L, d, h, hkv, mult=2, softcap=30.0):
        super().__init__()
        self.tok_emb = torch.nn.Embedding(V, d)
        torch.nn.init.normal_(self.tok_emb.weight, std=0.005)
        self.blocks = torch.nn.ModuleList([Block(d, h, hkv, mult) for _ in range(L)])
        self.n_enc = L // 2
        self.skip_weights = torch.nn.Parameter(torch.ones(min(self.n_enc, L - self.n_enc), d))
        self.softcap = softcap

    def forward(self, ids, targets):
        x = rms(self.tok_emb(ids))
        x0, skips = x, []
        for i in range(self.n_enc):
            x = self.blocks[i](x, x0)
            skips.append(x)
        for i in range(len(self.blocks) - self.n_enc):
            if skips:
                x = x + self.skip_weights[i] * skips.pop()
            x = self.blocks[self.n_enc + i](x, x0)
        logits = rms(x).reshape(-1, x.shape[-1]) @ self.tok_emb.weight.t()
        logits = self.softcap * torch.tanh(logits / self.softcap)
        return F.cross_entropy(logits, targets.reshape(-1))


def main():
    B, T, L, d, h, hkv, V = (int(a) for a in sys.argv[1:8])
    steps = int(sys.argv[8]) if len(sys.argv) > 8 else 30
    torch.set_num_threads(os.cpu_count())  # same cores as pgolf's thread pool
    torch.manual_seed(0)
    model = GPT(V, L, d, h, hkv)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(1)
    data = (V * torch.rand(4, B, T + 1, generator=g) ** 3).long()
    times, losses = [], []
    for s in range(steps):
        batch = data[s % 4]
        t0 = time.perf_counter()
        loss = model(batch[:, :-1], batch[:, 1:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}")
    print(f"torch step_ms: {1000 * statistics.median(times[3:]):.3f}")
    print(f"torch loss: {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
