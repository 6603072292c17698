#!/usr/bin/python3
"""PyTorch (eager, CPU) timing of the baseline GPT — the same model as pgolf's parity oracle
(tests/parity/baseline_gpt.py) — on the configuration of benchmarks/step_bench.cpp: one Adam
training step per iteration, with as many threads as pgolf's pool.

Usage: torch_gpt.py B T LAYERS DIM HEADS KV_HEADS VOCAB [steps]
Prints "torch step_ms: <median ms>" and the first and last loss.
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
from baseline_gpt import GPT  # noqa: E402


def main():
    B, T, L, d, h, hkv, V = (int(a) for a in sys.argv[1:8])
    steps = int(sys.argv[8]) if len(sys.argv) > 8 else 30
    torch.set_num_threads(os.cpu_count())  # same cores as pgolf's thread pool
    torch.manual_seed(0)
    model = GPT(V, L, d, h, hkv)
    torch.nn.init.normal_(model.tok_emb.weight, std=0.005)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.9, 0.95), eps=1e-8)
    g = torch.Generator().manual_seed(1)
    # One fixed batch, as step_bench uses.
    batch = (V * torch.rand(B, T + 1, generator=g) ** 3).long()
    times, losses = [], []
    for _ in range(steps):
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
