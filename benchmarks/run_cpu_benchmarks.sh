#!/usr/bin/env bash
# Runs the CPU benchmarks of the core issue and writes one results file:
#   matmul_bench     GFLOP/s of OpenBLAS and of the generated matmul
#   step_bench       the training step pgolf train runs (micro-steps, Muon + Adam), fused vs unfused
#   torch_gpt.py     PyTorch eager on CPU, the same step, settings and thread count
# Usage: benchmarks/run_cpu_benchmarks.sh [OUT_FILE]   (default benchmarks/results/<date>-cpu.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/$(date +%Y-%m-%d)-cpu.md}"
bin=build/benchmarks
[ -x "$bin/step_bench" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
configs=("NUM_LAYERS=2 MODEL_DIM=64 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=96 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=8192" "NUM_LAYERS=4 MODEL_DIM=128 NUM_HEADS=4 NUM_KV_HEADS=2 VOCAB_SIZE=1024 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=8192")
{
  echo "# CPU benchmarks, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), git $(git rev-parse --short HEAD)"
  echo
  echo '```'
  echo "\$ $bin/matmul_bench 5"
  "$bin/matmul_bench" 5
  for c in "${configs[@]}"; do
    echo
    echo "\$ $c $bin/step_bench 20"
    env $c "$bin/step_bench" 20
    echo "\$ $c /usr/bin/python3 benchmarks/torch_gpt.py 20"
    env $c /usr/bin/python3 benchmarks/torch_gpt.py 20
  done
  echo '```'
} | tee "$out"
echo "wrote $out"
