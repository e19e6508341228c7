#!/usr/bin/env bash
# ansible-test sanity on the newest ansible-core that runs here, from its own venv
# (.venvs/sanity): --requirements installs the sanity tools' pinned versions into it, because
# ansible-test's --venv mode needs a pip bootstrap script from a host these machines can't reach. ansible-test needs the collection
# inside an ansible_collections/<namespace>/<name> tree, so the checkout's files (tracked and
# untracked-but-not-ignored) are copied there first, outside this git checkout (inside it,
# ansible-test would list files with git and find the copy ignored).
# tests/sanity/ignore-*.txt stay empty.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d "${TMPDIR:-/tmp}/serversec-sanity.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
tree=$scratch/ansible_collections/serversec/confine
mkdir -p "$tree"
# Only what ships in the collection tarball is tested: galaxy.yml's build_ignore (the build,
# test and benchmark tooling of this repository) is left out of the copy.
git ls-files -z --cached --others --exclude-standard \
  | "$root/.venv/bin/python" -c '
import fnmatch, os, sys, yaml
ignore = yaml.safe_load(open("galaxy.yml"))["build_ignore"]
for path in sys.stdin.read().split("\0"):
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    if path and os.path.exists(path) and not any(fnmatch.fnmatch(p, pattern) for p in prefixes for pattern in ignore):
        sys.stdout.write(path + "\0")
' \
  | tar --null -T - -cf - | tar -C "$tree" -xf -
cd "$tree"
venv=$root/.venvs/sanity
# ansible-test bootstraps pip in its per-test venvs with a get-pip script it downloads from a
# host that is unreachable here; give it our stand-in under the name it looks for.
pip_version=$("$venv/bin/python" -c 'import ansible_test, pathlib, re
source = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip=.([0-9.]+).", source.read_text()).group(1))')
# ansible-test keeps its per-test venvs under ~/.ansible/test; give this checkout its own home so
# that runs from other checkouts (or a run cut short) cannot leave it a half-built venv.
export HOME=$root/.build/ansible-test-home
mkdir -p "$HOME/.ansible/test/cache"
cp "$root/scripts/ansible_test_get_pip.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
python_version=$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
PATH=$venv/bin:$PATH "$venv/bin/ansible-test" sanity --color no --python "$python_version" --requirements "$@"
