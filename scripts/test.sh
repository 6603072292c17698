#!/usr/bin/env bash
# Builds pgolf and runs the whole test suite (ctest), then lists every skipped test case with its
# reason: ctest entries that could not run here (the GPU entry without a GPU) and cases that
# skipped all or part of their checks (no PyTorch, running as root, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
status=0
ctest --test-dir build --output-on-failure -j"$(nproc)" || status=$?
log=build/Testing/Temporary/LastTest.log
if [ -f "$log" ]; then
  skips=$(grep -h '^\[skip\] ' "$log" | grep -v 'test case(s) skipped' | sort -u || true)
  count=$(printf '%s' "$skips" | grep -c . || true)
  echo "skipped: $count (entries and test cases; reasons below)"
  [ -z "$skips" ] || printf '%s\n' "$skips"
fi
exit $status
