#!/usr/bin/env bash
# Build the collection tarball, install it with ansible-galaxy into a scratch path, and render
# every module's documentation from the installed copy with ansible-doc.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.venv/bin
out=$PWD/.build/roundtrip
rm -rf "$out"
mkdir -p "$out/dist" "$out/installed"
"$bin/ansible-galaxy" collection build --output-path "$out/dist" .
tarball=$(ls "$out"/dist/serversec-confine-*.tar.gz)
"$bin/ansible-galaxy" collection install --offline --force -p "$out/installed" "$tarball"
modules=$(cd plugins/modules && ls *.py 2>/dev/null | grep -v '^__' | sed 's/\.py$//')
if [ -z "$modules" ]; then
  echo "no module in plugins/modules" >&2
  exit 1
fi
for module in $modules; do
  ANSIBLE_COLLECTIONS_PATH="$out/installed" "$bin/ansible-doc" -t module "serversec.confine.$module" >"$out/$module.txt"
  grep -q "serversec.confine.$module" "$out/$module.txt"
  echo "ansible-doc serversec.confine.$module: $(wc -l <"$out/$module.txt") lines"
done
