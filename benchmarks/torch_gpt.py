#!/usr/bin/python3
"""PyTorch (eager, CPU) timing of the training step pgolf's step_bench times, on the same settings:
the baseline GPT of pgolf's parity oracle (tests/parity/baseline_gpt.py), 8 micro-steps of
TRAIN_BATCH_TOKENS / 8 tokens with gradient accumulation, then Muon (bf16 Newton-Schulz, 5 steps)
on the block matrices and Adam on the rest, at the baseline's learning rates; as many threads as
pgolf's pool. Settings come from the environment with train_gpt.py's names and defaults.

Usage: [NUM_LAYERS=.. MODEL_DIM=.. ...] torch_gpt.py [steps]
Prints "torch step_ms: <median ms>" and the first and last loss.
"""
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "parity"))
from baseline_gpt import GPT, muon_step, param_groups  # noqa: E402


def setting(name, default):
    return type(default)(os.environ.get(name, default))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    V, L, d = setting("VOCAB_SIZE", 1024), setting("NUM_LAYERS", 9), setting("MODEL_DIM", 512)
    h, hkv, mult = setting("NUM_HEADS", 8), setting("NUM_KV_HEADS", 4), setting("MLP_MULT", 2)
    T, tokens = setting("TRAIN_SEQ_LEN", 1024), setting("TRAIN_BATCH_TOKENS", 524288)
    accum = 8
    rows = tokens // T // accum
    torch.set_num_threads(os.cpu_count())  # same cores as pgolf's thread pool
    torch.manual_seed(0)
    model = GPT(V, L, d, h, hkv, mult)
    matrix, scalar, embed = param_groups(model)
    adams = [torch.optim.Adam([p for _, p in group], lr=lr, betas=(0.9, 0.95), eps=1e-8)
             for group, lr in ((scalar, setting("SCALAR_LR", 0.04)), (embed, setting("TIED_EMBED_LR", 0.05)))]
    bufs = [torch.zeros_like(p) for _, p in matrix]
    g = torch.Generator().manual_seed(1)
    batches = [(V * torch.rand(rows, T + 1, generator=g) ** 3).long() for _ in range(accum)]
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        for p in model.parameters():
            p.grad = None
        total = 0.0
        for b in batches:
            loss = model(b[:, :-1], b[:, 1:]) / accum
            loss.backward()
            total += loss.item()
        with torch.no_grad():
            muon_step([p for _, p in matrix], [p.grad for _, p in matrix], bufs, setting("MATRIX_LR", 0.04), 0.95)
        for opt in adams:
            opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(total)
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}; {accum} micro-steps of {rows} x {T}")
    print(f"torch step_ms: {1000 * statistics.median(times[3:]):.3f}")
    print(f"torch loss: {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
