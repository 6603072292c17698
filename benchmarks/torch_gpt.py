#!/usr/bin/python3
"""PyTorch (eager, CPU) timing of the training step pgolf's step_bench times, on the same settings,
the same initial weights and the same token batches (read from the file step_bench writes,
PG_BENCH_INPUTS, default build/bench_inputs.safetensors): the baseline GPT of pgolf's parity
oracle (tests/parity/baseline_gpt.py), 8 micro-steps with gradient accumulation, then Muon (bf16
Newton-Schulz, 5 steps) on the block matrices and Adam on the rest at the baseline's learning
rates; as many threads as pgolf's pool. The median is over the steps after the first 3, as
step_bench's. Settings come from the environment with train_gpt.py's names and defaults.

Usage: [NUM_LAYERS=.. MODEL_DIM=.. ...] torch_gpt.py [steps]   (run step_bench first)
Prints "torch step_ms: <median ms>" and the first and last loss.
"""
import os
import statistics
import sys
import time

import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "parity"))
from baseline_gpt import GPT, muon_step, param_groups  # noqa: E402
from run_parity import load  # noqa: E402

WARMUP_STEPS = 3


def setting(name, default):
    return type(default)(os.environ.get(name, default))


def main():
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    V, L, d = setting("VOCAB_SIZE", 1024), setting("NUM_LAYERS", 9), setting("MODEL_DIM", 512)
    h, hkv, mult = setting("NUM_HEADS", 8), setting("NUM_KV_HEADS", 4), setting("MLP_MULT", 2)
    inputs = load(os.environ.get("PG_BENCH_INPUTS", os.path.join(here, "..", "build", "bench_inputs.safetensors")))
    torch.set_num_threads(os.cpu_count())  # same cores as pgolf's thread pool
    model = GPT(V, L, d, h, hkv, mult)
    model.load_state_dict({k: v for k, v in inputs.items() if not k.startswith("batch.")}, strict=True)
    batches = [inputs[k].long() for k in sorted(k for k in inputs if k.startswith("batch.m"))]
    matrix, scalar, embed = param_groups(model)
    adams = [torch.optim.Adam([p for _, p in group], lr=lr, betas=(0.9, 0.95), eps=1e-8)
             for group, lr in ((scalar, setting("SCALAR_LR", 0.04)), (embed, setting("TIED_EMBED_LR", 0.05)))]
    bufs = [torch.zeros_like(p) for _, p in matrix]
    times, losses = [], []
    for _ in range(steps):
        t0 = time.perf_counter()
        for p in model.parameters():
            p.grad = None
        total = 0.0
        for b in batches:
            loss = model(b[:, :-1], b[:, 1:]) / len(batches)
            loss.backward()
            total += loss.item()
        with torch.no_grad():
            muon_step([p for _, p in matrix], [p.grad for _, p in matrix], bufs, setting("MATRIX_LR", 0.04), 0.85)
        for opt in adams:
            opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(total)
    rows, T = batches[0].shape[0], batches[0].shape[1] - 1
    print(f"torch {torch.__version__} threads {torch.get_num_threads()}; {len(batches)} micro-steps of {rows} x {T}")
    print(f"torch step_ms: {1000 * statistics.median(times[WARMUP_STEPS:]):.3f}")
    print(f"torch loss: {losses[0]:.4f} -> {losses[-1]:.4f}")


if __name__ == "__main__":
    main()
