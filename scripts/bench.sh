#!/usr/bin/env bash
# `make bench`: run every benchmark under bench/ and print its figures (they go into README.md
# by hand: a benchmark measures, it does not pass or fail on speed).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH
for bench in bench/*.py; do
  echo "==> $bench"
  python "$bench"
done
