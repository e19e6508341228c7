#!/usr/bin/env bash
# README "Using the collection in your own project", run as a user would, from a fresh
# directory outside this repository: install the collection from a git URL and from the built
# tarball through a requirements.yml, check the example playbook against the installed copy,
# and run the example role's Molecule scenario (examples/my_project).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bin=$root/.venv/bin
work=$(mktemp -d /tmp/serversec-user-project.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r examples/my_project/. "$work/"
cd "$work"
# Nothing of this checkout may leak in: make exports the checkout's collection path.
unset ANSIBLE_COLLECTIONS_PATH ANSIBLE_CONFIG
export PATH=$bin:$PATH ANSIBLE_FORCE_COLOR=0 PY_COLORS=0 NO_COLOR=1
version=$(python -c 'import yaml, sys; print(yaml.safe_load(open(sys.argv[1]))["version"])' "$root/galaxy.yml")

installed() {
  python -c 'import json, sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
    collections/ansible_collections/serversec/confine/MANIFEST.json
}

echo "==> from a git URL (README's requirements.yml, pointed at this checkout's committed HEAD)"
sed -e "s|https://github.com/serversec/serversec.confine.git|git+file://$root|" -e 's|version: main|version: HEAD|' \
  requirements.yml >requirements-here.yml
grep -q "git+file://$root" requirements-here.yml
ansible-galaxy collection install -r requirements-here.yml -p collections
[ "$(installed)" = "$version" ]

echo "==> from the built tarball"
rm -rf collections
ansible-galaxy collection build --output-path dist "$root" >/dev/null
printf -- '---\ncollections:\n  - name: %s\n    type: file\n' "$(ls "$work"/dist/serversec-confine-*.tar.gz)" >requirements-tarball.yml
ansible-galaxy collection install -r requirements-tarball.yml -p collections
[ "$(installed)" = "$version" ]

echo "==> the example playbook against the installed collection"
ansible-playbook --syntax-check site.yml
ansible-doc -t module serversec.confine.ssh_jail >/dev/null

echo "==> the example role's Molecule scenario"
"$root/images/build.sh" serversec/debian12:local bookworm
# Take turns with the project's own Molecule runs on this Docker engine.
exec 9>/var/lock/serversec-molecule.lock
flock 9
DROPBOX_IMAGE=serversec/debian12:local molecule test
