#!/usr/bin/env bash
# Runs the CPU benchmarks and writes one results file with the commit (git describe --dirty), the
# machine and its load, every command and its raw output:
#   matmul_bench                    GFLOP/s of OpenBLAS and of the generated matmul (the peak that
#                                   `pgolf bench` reports MFU against)
#   benchmarks/reference/compare.py `pgolf bench` (fused, unfused; tuned where a tuning database
#                                   exists) against the PyTorch reference step (eager; torch.compile
#                                   where PyTorch has it), alternating REPEATS times (default 2)
# Usage: benchmarks/run_cpu_benchmarks.sh [OUT_FILE]   (default benchmarks/results/<date>-cpu.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/$(date +%Y-%m-%d)-cpu.md}"
repeats="${REPEATS:-2}"
[ -x build/pgolf ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
configs=("NUM_LAYERS=2 MODEL_DIM=64 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=96 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=8192"
         "NUM_LAYERS=4 MODEL_DIM=128 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=1024 TRAIN_SEQ_LEN=256 TRAIN_BATCH_TOKENS=8192")
{
  echo "# CPU benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Commit: $(git describe --always --dirty). Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/ {print $2}') GiB; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo '```'
  echo "\$ build/benchmarks/matmul_bench 5"
  build/benchmarks/matmul_bench 5
  for c in "${configs[@]}"; do
    echo
    echo "\$ $c /usr/bin/python3 benchmarks/reference/compare.py --repeats $repeats"
    env $c /usr/bin/python3 benchmarks/reference/compare.py --repeats "$repeats"
  done
  echo '```'
  echo
  echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee "$out"
echo "wrote $out"
