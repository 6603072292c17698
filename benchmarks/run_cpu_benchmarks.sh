#!/usr/bin/env bash
# Runs the CPU benchmarks and writes one results file with the commit (git describe --dirty), the
# machine and its load, every command and its raw output:
#   matmul_bench     GFLOP/s of OpenBLAS and of the generated matmul, median and spread of repeats
#   step_bench       the training step pgolf train runs (micro-steps, Muon + Adam), fused vs
#                    unfused; it writes the initial weights and batches that torch_gpt.py then uses
#   torch_gpt.py     PyTorch eager on CPU: the same step, settings, weights, batches and threads
# Each step comparison runs REPEATS times (default 3), alternating the two sides; both exclude
# their first 3 steps from the median.
# Usage: benchmarks/run_cpu_benchmarks.sh [OUT_FILE]   (default benchmarks/results/<date>-cpu.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/$(date +%Y-%m-%d)-cpu.md}"
repeats="${REPEATS:-3}"
bin=build/benchmarks
[ -x "$bin/step_bench" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
configs=("NUM_LAYERS=2 MODEL_DIM=64 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=96 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=8192"
         "NUM_LAYERS=4 MODEL_DIM=128 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=1024 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=8192")
export PG_BENCH_INPUTS=build/bench_inputs.safetensors
{
  echo "# CPU benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Commit: $(git describe --always --dirty). Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo '```'
  echo "\$ $bin/matmul_bench 5"
  "$bin/matmul_bench" 5
  for c in "${configs[@]}"; do
    for r in $(seq "$repeats"); do
      echo
      echo "\$ $c $bin/step_bench 20    # run $r of $repeats"
      env $c "$bin/step_bench" 20
      echo "\$ $c /usr/bin/python3 benchmarks/torch_gpt.py 20    # run $r of $repeats"
      env $c /usr/bin/python3 benchmarks/torch_gpt.py 20
    done
  done
  echo '```'
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$out"
echo "wrote $out"
