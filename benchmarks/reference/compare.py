#!/usr/bin/python3
"""pgolf's training step against PyTorch's, in one run on one machine with the same shapes and
threads: `pgolf bench` (fused, unfused, and tuned when a tuning database exists) and
torch_step.py (eager, and torch.compile where this PyTorch has it), each REPEATS times in
alternation so that a change in the machine's load hits both sides. Prints every raw result and
a table of median step times with pgolf's step time over PyTorch eager's and the fraction of the
measured matmul peak that each step's model FLOPs reach.

Usage: [NUM_LAYERS=.. MODEL_DIM=.. TRAIN_SEQ_LEN=.. TRAIN_BATCH_TOKENS=.. PG_THREADS=..]
       compare.py [--steps N] [--repeats R] [--pgolf build/pgolf] [--tune] [--device cpu|cuda]
  --tune    run `pgolf tune` first (decisions go to PG_TUNE_DB, default the cache folder)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def run(cmd):
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    print(out.stdout, flush=True)
    if out.returncode != 0:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}")
    return out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--pgolf", default=os.path.join(HERE, "..", "..", "build", "pgolf"))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--tune", action="store_true")
    a = ap.parse_args()
    if a.tune:
        run([a.pgolf, "tune"])
    steps = ["--steps", str(a.steps), "--warmup", str(a.warmup)]
    torch_modes = ["eager", "compile"]
    pgolf_ms, torch_ms, flops, peak = {}, {}, {}, 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.repeats):
            # fused and unfused with the heuristics, then fused with the tuning database's decisions
            # (compiled through the kernel cache: compile times are `pgolf bench`'s own business).
            for i, modes in enumerate((["--fusion", "both", "--tuned", "off"], ["--fusion", "on", "--tuned", "on"])):
                path = os.path.join(tmp, f"bench{r}_{i}.json")
                run([a.pgolf, "bench", "--cold", "off", "--top", "5", "--json", path] + modes + steps)
                with open(path) as f:
                    bench = json.load(f)
                peak = bench["peak_flops"]
                for m in bench["modes"]:
                    pgolf_ms.setdefault(m["mode"], []).append(m["step_ms"]["median"])
                    flops[m["mode"]] = m["model_flops_per_token"]
            for mode in torch_modes:
                tpath = os.path.join(tmp, f"torch{r}{mode}.json")
                out = run([sys.executable, os.path.join(HERE, "torch_step.py"), "--mode", mode, "--device", a.device,
                           "--json", tpath] + steps)
                if "unavailable" in out:
                    continue
                with open(tpath) as f:
                    torch_ms.setdefault(mode, []).append(json.load(f)["median_ms"])
    eager = statistics.median(torch_ms["eager"]) if "eager" in torch_ms else None
    print(f"\nmedian step time over {a.repeats} alternating runs ({a.steps} steps each); matmul peak {peak / 1e9:.1f} GFLOP/s")
    tokens = int(os.environ.get("TRAIN_BATCH_TOKENS", 524288))
    fpt = next(iter(flops.values()), 0)
    print(f"{'':24}{'step ms':>10}{'runs (ms)':>28}{'/ torch eager':>15}{'of peak':>10}")
    for name, ms in [("pgolf " + k, v) for k, v in pgolf_ms.items()] + [("torch " + k, v) for k, v in torch_ms.items()]:
        med = statistics.median(ms)
        ratio = f"{med / eager:.2f}" if eager else "n/a"
        of_peak = f"{100 * fpt * tokens / (med / 1e3) / peak:.1f}%" if peak else "n/a"
        print(f"{name:24}{med:10.2f}{', '.join(f'{x:.1f}' for x in ms):>28}{ratio:>15}{of_peak:>10}")
    if "compile" not in torch_ms:
        print("torch.compile: not measured (this PyTorch has no torch.compile)")


if __name__ == "__main__":
    main()
