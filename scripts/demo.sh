#!/usr/bin/env bash
# `make demo`: apply playbooks/secure_server.yml with the example inventory's policy to a
# disposable local container (created exactly as the Molecule harness creates them), run it a
# second time to show nothing changes, print what the policy proves, then remove the container
# (KEEP=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export PATH=$root/.venv/bin:$PATH
export SERVERSEC_PLATFORMS=${SERVERSEC_DEMO_PLATFORM:-debian12}
export ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1

platforms=$(python scripts/molecule_run.py --platforms-only)
# Take turns with other Molecule runs on this Docker engine (see LOCK_FILE in molecule_run.py).
exec 9>/var/lock/serversec-molecule.lock
flock -n 9 || { echo "==> waiting for another Molecule run on this machine"; flock 9; }
molecule_cmd() {
  local action=$1
  shift
  molecule -c extensions/molecule/config.yml -c "$platforms" "$action" -s secure_server "$@"
}

cleanup() {
  if [ "${KEEP:-0}" = 1 ]; then
    echo "KEEP=1: the demo container is kept ($SERVERSEC_PLATFORMS); remove it with:"
    echo "  .venv/bin/molecule -c extensions/molecule/config.yml -c $platforms destroy -s secure_server"
  else
    molecule_cmd destroy >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

log=$root/.build/demo
mkdir -p "$log"
echo "==> creating the demo container ($SERVERSEC_PLATFORMS)"
molecule_cmd destroy >"$log/destroy.log" 2>&1 || true
molecule_cmd create >"$log/create.log" 2>&1 || { tail -n 40 "$log/create.log"; exit 1; }

echo "==> first run of playbooks/secure_server.yml (log: .build/demo/converge.log)"
molecule_cmd converge >"$log/converge.log" 2>&1 || { tail -n 60 "$log/converge.log"; exit 1; }
grep -A3 '^PLAY RECAP' "$log/converge.log"

echo "==> second run: it must change nothing (log: .build/demo/idempotence.log)"
molecule_cmd idempotence >"$log/idempotence.log" 2>&1 || { tail -n 60 "$log/idempotence.log"; exit 1; }
grep -A3 '^PLAY RECAP' "$log/idempotence.log"

echo "==> collecting the report from the running container"
rm -f "$log"/report-*.json
SERVERSEC_REPORT_DIR=$log molecule_cmd side-effect >"$log/report.log" 2>&1 || { tail -n 60 "$log/report.log"; exit 1; }
python scripts/demo_report.py "$log"/report-*.json
