#!/usr/bin/env bash
# The GPU check in one command, for the day a GPU is at hand. Designed to finish within 8 minutes
# on one H100 (each stage has a time limit; a stage that runs out is recorded as such and the
# check goes on):
#   1. build (scripts/build.sh), unless PGOLF_BUILD_DIR names a build made elsewhere
#      (it must hold pgolf and pgolf_tests built with the same sources);
#   2. the device, driver and NVRTC (nvidia-smi, `pgolf compile`'s banner through --estimate);
#   3. ctest cuda_nvrtc (every kernel compiles with NVRTC, no spills where checked);
#   4. the GPU cases of ctest cuda_gpu one by one, the first under PG_CUDA_SYNC=1 (kernel by kernel,
#      a fault names its kernel): the op table on CUDA, GEMM shapes, graph replay, one training
#      step against the interpreter, the tiny GPT training on CUDA;
#   5. `pgolf bench` of the baseline config (the challenge defaults: one GPU runs 8 micro-steps of
#      65,536 tokens) fused and unfused, with step times, next to `pgolf compile --estimate`.
# Everything goes into one results file, benchmarks/results/<date>-gpu-check.md (or $1), written
# atomically; exit status 0 only when every stage passed.
set -uo pipefail
cd "$(dirname "$0")/.."

date_utc=$(date -u +%Y-%m-%d)
results=${1:-benchmarks/results/${date_utc}-gpu-check.md}
build=${PGOLF_BUILD_DIR:-build}
budget=${PGOLF_CHECK_SECONDS:-480}  # 8 minutes on one H100
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
start=$SECONDS

# Seconds left of the budget, at most $1 and at least 10 (so that every stage at least starts).
stage_limit() {
  local left=$((budget - (SECONDS - start)))
  ((left < 10)) && left=10
  ((left > $1)) && left=$1
  echo "$left"
}

# run_stage NAME LIMIT_SECONDS COMMAND...: runs the command under `timeout`, appends its command
# line, status, time and output (last 150 lines) to the results.
run_stage() {
  local name=$1 limit
  limit=$(stage_limit "$2")
  shift 2
  local t0=$SECONDS status=0
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" >"$work/out" 2>&1 || status=$?
  local verdict=passed
  ((status == 124 || status == 137)) && verdict="ran out of time (${limit}s)"
  ((status == 77)) && verdict="SKIPPED (no GPU or no NVRTC: see the output)"
  ((status != 0 && status != 77 && status != 124 && status != 137)) && verdict="FAILED (exit $status)"
  ((status != 0)) && failed=1
  echo "   $verdict in $((SECONDS - t0)) s"
  {
    echo "## $name: $verdict in $((SECONDS - t0)) s"
    echo
    echo '```'
    echo "\$ $*"
    tail -n 150 "$work/out"
    echo '```'
    echo
  } >>"$work/results.md"
}

{
  echo "# GPU check, $date_utc"
  echo
  echo "Command: \`scripts/gpu_check.sh${1:+ $1}\` (PGOLF_BUILD_DIR=$build), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')."
  echo
  echo "Device: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
  echo
} >"$work/results.md"

if [ -z "${PGOLF_BUILD_DIR:-}" ]; then
  checks_budget=$budget
  budget=100000  # the 8-minute budget is for the checks, not for a first build
  run_stage "build" 1800 scripts/build.sh
  budget=$checks_budget
  start=$SECONDS
fi
pgolf=$build/pgolf
tests=$build/pgolf_tests
if [ ! -x "$pgolf" ] || [ ! -x "$tests" ]; then
  echo "no $pgolf or $tests: build first (scripts/build.sh) or set PGOLF_BUILD_DIR" >&2
  exit 2
fi

run_stage "device" 30 nvidia-smi
run_stage "compile estimate (baseline config, h100)" 60 "$pgolf" compile --estimate --gpu h100 --top 10
run_stage "ctest cuda_nvrtc" 150 ctest --test-dir "$build" -R '^cuda_nvrtc$' --output-on-failure
gpu_case() {  # gpu_case NAME LIMIT PATTERN [ENV=VALUE ...]
  local name=$1 limit=$2 pattern=$3
  shift 3
  run_stage "$name" "$limit" env PG_BACKEND=cuda "$@" "$tests" --require=gpu \
    --source-file='*test_cuda_gpu.cpp' -tc="$pattern"
}
gpu_case "tiny GPT training on CUDA, checked kernel by kernel (PG_CUDA_SYNC=1)" 90 '*tiny GPT trains*' PG_CUDA_SYNC=1
gpu_case "op table on CUDA" 120 '*every case of the op table*'
gpu_case "GEMM shapes on CUDA" 60 '*GEMMs beyond*'
gpu_case "CUDA graph replay" 30 '*graph replay*'
gpu_case "one training step against the interpreter" 60 '*one training step equals*'
run_stage "pgolf bench, baseline config, fused and unfused" 240 env PG_BACKEND=cuda "$pgolf" bench \
  --fusion both --steps 5 --warmup 2 --cold off --top 10 --json "$work/bench.json"
[ -f "$work/bench.json" ] && { echo '## bench JSON'; echo; echo '```json'; cat "$work/bench.json"; echo '```'; } >>"$work/results.md"

echo "Total: $((SECONDS - start)) s of a ${budget} s budget; $([ $failed = 0 ] && echo 'every stage passed' || echo 'SOME STAGES FAILED')." >>"$work/results.md"
mkdir -p "$(dirname "$results")"
cp "$work/results.md" "$results.tmp" && mv "$results.tmp" "$results"
echo "results: $results"
exit $failed
