#!/usr/bin/env bash
# Two configurations x three seeds of a small GPT on the Brown corpus (CPU backend), then
# `pgolf compare` (the challenge's record test) and `pgolf report` (curves PNG + summary).
# Iteration-bounded (no wallclock cap) so that a busy machine changes the times, not the results.
# Usage: benchmarks/run_seed_comparison.sh OUT_DIR   (runs go to OUT_DIR/runs, report to OUT_DIR)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: benchmarks/run_seed_comparison.sh OUT_DIR}"
mkdir -p "$out"

export PG_BACKEND=cpu DATA_PATH="${DATA_PATH:-data/brown_sp1024}"
export TOKENIZER_PATH="${TOKENIZER_PATH:-$DATA_PATH/tokenizer.model}" VOCAB_SIZE=1024
export MODEL_DIM=128 NUM_HEADS=4 NUM_KV_HEADS=2 MLP_MULT=2 TRAIN_SEQ_LEN=128 TRAIN_BATCH_TOKENS=4096
export ITERATIONS=300 WARMDOWN_ITERS=100 WARMUP_STEPS=2 MAX_WALLCLOCK_SECONDS=0 VAL_LOSS_EVERY=100
export VAL_BATCH_SIZE=65536 TRAIN_LOG_EVERY=25 SEEDS=1337,42,2025

NUM_LAYERS=2 RUN_DIR="$out/runs/layers2" build/pgolf train
NUM_LAYERS=4 RUN_DIR="$out/runs/layers4" build/pgolf train
build/pgolf compare --baseline "$out/runs/layers2" --candidate "$out/runs/layers4" | tee "$out/compare.txt"
build/pgolf report "$out/runs/layers2" "$out/runs/layers4" --out "$out"
