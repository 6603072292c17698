#!/usr/bin/env bash
# Builds pgolf and runs the whole test suite (ctest). GPU cases skip with a printed reason.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
