#!/usr/bin/env bash
# Runs the CPU benchmarks of the core issue and writes one results file:
#   matmul_bench     GFLOP/s of OpenBLAS and of the generated matmul
#   step_bench       the GPT training step with Adam, fused vs unfused (PG_FUSION=0)
#   torch_gpt.py     PyTorch eager on CPU, same model, batch, optimizer and thread count
# Usage: benchmarks/run_cpu_benchmarks.sh [OUT_FILE]   (default benchmarks/results/<date>-cpu.md)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-benchmarks/results/$(date +%Y-%m-%d)-cpu.md}"
bin=build/benchmarks
[ -x "$bin/step_bench" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
configs=("8 128 2 64 4 2 96" "16 256 4 128 4 2 1024")
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
    echo "\$ $bin/step_bench $c 30"
    "$bin/step_bench" $c 30
    echo "\$ /usr/bin/python3 benchmarks/torch_gpt.py $c 30"
    /usr/bin/python3 benchmarks/torch_gpt.py $c 30
  done
  echo '```'
} | tee "$out"
echo "wrote $out"
