#!/usr/bin/env bash
# Prepares the default corpus, for people without FineWeb: the Brown corpus (500 documents, about
# 1.0 M words, 6.0 MB of text) fetched by scripts/fetch_brown.sh, tokenized by `pgolf prepare`
# with a 1024-piece SentencePiece BPE into a dataset folder in the challenge's layout.
#
#   scripts/prepare_default_corpus.sh [DATASET_DIR]     default DATASET_DIR: data/brown_sp1024
#
# Then: DATA_PATH=data/brown_sp1024 TOKENIZER_PATH=data/brown_sp1024/tokenizer.model VOCAB_SIZE=1024
#
# Why vocabulary 1024: it is the baseline's VOCAB_SIZE, so the baseline configuration runs on this
# data unchanged; and it suits a corpus this small. Measured on Brown (bytes per token, tokens):
#   512: 1.96, 3.05 M   1024: 2.58, 2.31 M   2048: 3.10, 1.93 M   4096: 3.58, 1.67 M
# At 1024, bytes per token are close to the challenge's sp1024 on FineWeb (2.44), and every piece
# occurs about 2,300 times on average; at 4096 a piece averages about 400 occurrences, and the
# 4096 x 512 embedding (2.1 M parameters) would outnumber the 1.7 M training tokens.
# The validation split is the first 50 documents (a tenth) of fetch_brown's fixed shuffled order,
# a mix of the corpus's 15 genres.
# Idempotent: a finished dataset folder is left alone (prepare writes it atomically, so an existing
# folder is a complete one).
set -euo pipefail
cd "$(dirname "$0")/.."

dataset="${1:-data/brown_sp1024}"
corpus="data/brown"
pgolf="${PGOLF:-build/pgolf}"

if [ -f "$dataset/manifest.json" ]; then
  echo "prepare_default_corpus: $dataset is already prepared"
  exit 0
fi
[ -x "$pgolf" ] || { echo "prepare_default_corpus: error: $pgolf not found; run scripts/build.sh first (or set PGOLF)" >&2; exit 1; }

scripts/fetch_brown.sh "$corpus"
"$pgolf" prepare --input "$corpus" --output "$dataset" --vocab-size 1024 --val-docs 50
