#!/usr/bin/env bash
# `make test`: every test tier, one after another. A failing tier does not stop the others;
# the summary at the end names each tier and each Molecule platform (run or SKIPPED, with the
# reason), and the exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

results=.build/results
rm -rf "$results"
mkdir -p "$results"
declare -a summary=()
failed=0

tier() {
  local name=$1
  shift
  local started=$SECONDS
  echo
  echo "################ $name ################"
  if "$@"; then
    summary+=("$(printf '%-22s passed  (%ds)' "$name" $((SECONDS - started)))")
  else
    summary+=("$(printf '%-22s FAILED  (%ds)' "$name" $((SECONDS - started)))")
    failed=1
  fi
}

tier setup make --no-print-directory venv unit-venvs host-packages docker
if [ $failed -ne 0 ]; then
  echo "Set-up failed; no test can run." >&2
  exit 1
fi
tier lint make --no-print-directory lint
tier sanity make --no-print-directory sanity
tier units make --no-print-directory units
tier collection-roundtrip make --no-print-directory collection-roundtrip
tier molecule make --no-print-directory molecule
tier user-project make --no-print-directory user-project
tier lockout-e2e make --no-print-directory lockout-e2e

echo
echo "================ summary ================"
printf '%s\n' "${summary[@]}"
if [ -f "$results/molecule.txt" ]; then
  echo "---------------- molecule ----------------"
  cat "$results/molecule.txt"
fi
if [ $failed -ne 0 ]; then
  echo "RESULT: FAILED"
  exit 1
fi
echo "RESULT: all tiers passed"
