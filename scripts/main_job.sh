#!/usr/bin/env bash
# The main job, from a fresh Debian machine: install dependencies, build, fetch and prepare the
# default Brown corpus, then train on it, export the int8+zstd artifact and evaluate it.
#
# Without a GPU: a small GPT sized for the CPU backend (2 cores: about six minutes). With a GPU
# (nvidia-smi lists one): the baseline configuration (train_gpt.py's defaults) on the CUDA backend.
# Every setting can be overridden from the environment, e.g.
#   NUM_LAYERS=6 MODEL_DIM=192 ITERATIONS=1000 scripts/main_job.sh
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/build.sh
scripts/prepare_default_corpus.sh data/brown_sp1024

export DATA_PATH="${DATA_PATH:-data/brown_sp1024}"
export TOKENIZER_PATH="${TOKENIZER_PATH:-data/brown_sp1024/tokenizer.model}"
export VOCAB_SIZE="${VOCAB_SIZE:-1024}"

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  export PG_BACKEND="${PG_BACKEND:-cuda}"
  export RUN_DIR="${RUN_DIR:-runs/brown-gpu-baseline}"
  echo "main_job: GPU found: the baseline configuration on the CUDA backend, log in $RUN_DIR/train.log"
  exec build/pgolf train
fi

export PG_BACKEND="${PG_BACKEND:-cpu}"
export NUM_LAYERS="${NUM_LAYERS:-4}"
export MODEL_DIM="${MODEL_DIM:-128}"
export NUM_HEADS="${NUM_HEADS:-4}"
export NUM_KV_HEADS="${NUM_KV_HEADS:-2}"
export MLP_MULT="${MLP_MULT:-2}"
export TRAIN_SEQ_LEN="${TRAIN_SEQ_LEN:-128}"
export TRAIN_BATCH_TOKENS="${TRAIN_BATCH_TOKENS:-8192}"
# The 300 s wallclock cap ends training (ITERATIONS is only an upper bound), so the baseline's
# wallclock-based warmdown decays the learning rate over the last WARMDOWN_ITERS steps it predicts.
export ITERATIONS="${ITERATIONS:-20000}"
export WARMDOWN_ITERS="${WARMDOWN_ITERS:-250}"
export WARMUP_STEPS="${WARMUP_STEPS:-2}"
export MAX_WALLCLOCK_SECONDS="${MAX_WALLCLOCK_SECONDS:-300}"
export VAL_LOSS_EVERY="${VAL_LOSS_EVERY:-250}"
export VAL_BATCH_SIZE="${VAL_BATCH_SIZE:-65536}"
export TRAIN_LOG_EVERY="${TRAIN_LOG_EVERY:-50}"
export RUN_DIR="${RUN_DIR:-runs/brown-cpu}"

echo "main_job: no GPU: a small GPT on the CPU backend, log in $RUN_DIR/train.log"
build/pgolf train
