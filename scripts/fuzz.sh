#!/usr/bin/env bash
# Long codegen fuzz run: scripts/fuzz.sh [GRAPHS] [FIRST_SEED] runs the fuzzer's test case
# (tests/fuzz/test_graph_fuzz.cpp) over GRAPHS seeds from FIRST_SEED (default 10000 from 1001; the
# suite's seeded run covers 1..150), in chunks of FUZZ_CHUNK (500) so that an interrupted run
# keeps the chunks it finished. Each failing graph is printed shrunk, in text form. The last line
# sums up: graphs run, failures, seconds.
set -uo pipefail
cd "$(dirname "$0")/.."
graphs=${1:-10000}
first=${2:-1001}
chunk=${FUZZ_CHUNK:-500}
scripts/build.sh >/dev/null
bin=${FUZZ_BIN:-build/pgolf_tests}  # a copy keeps a long run independent of rebuilds
export PG_CACHE_DIR=${PG_CACHE_DIR:-$PWD/build/fuzz_kernel_cache}
total=0 failing=0 start=$SECONDS
for ((seed = first; seed < first + graphs; seed += chunk)); do
  n=$((first + graphs - seed < chunk ? first + graphs - seed : chunk))
  out=$(PG_FUZZ_GRAPHS=$n PG_FUZZ_SEED=$seed "$bin" -tc='fuzz: random*' 2>&1)
  summary=$(printf '%s\n' "$out" | grep -o 'fuzz: [0-9]* graphs from seed [0-9]*: [0-9]* failing, [0-9.]* s')
  printf '%s\n' "${summary:-$out}"
  printf '%s\n' "$out" | grep -q 'fails:' && printf '%s\n' "$out" | sed -n '/fails:/,/^$/p'
  total=$((total + n))
  f=$(printf '%s\n' "$summary" | sed -n 's/.*: \([0-9]*\) failing.*/\1/p' | head -1)
  failing=$((failing + ${f:-1}))  # no summary: the run crashed, count it as a failure
done
echo "fuzz total: $total graphs from seed $first, $failing failing, $((SECONDS - start)) s"
[ "$failing" -eq 0 ]
