"""Look for leaked host secrets in jails: scan.py LABEL NEEDLE_FILE JAIL...

NEEDLE_FILE holds one secret per line. Every regular file under each JAIL (symlinks are not
followed) is searched for each secret; each hit is appended as a JSON line (label, line number
of the secret found, path, owner uid, mode) to /root/jail-attacks/leaks.jsonl and printed.
"""
import json
import os
import stat
import sys

LEAKS = "/root/jail-attacks/leaks.jsonl"

label, needle_file = sys.argv[1:3]
with open(needle_file, "rb") as handle:
    needles = [line for line in handle.read().splitlines() if line]
hits = []
for jail in sys.argv[3:]:
    for dirpath, _dirnames, filenames in os.walk(jail):
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
                if not stat.S_ISREG(st.st_mode):
                    continue
                with open(path, "rb") as handle:
                    content = handle.read()
            except OSError:
                continue
            hits.extend(
                {"label": label, "secret": number, "path": path, "uid": st.st_uid, "mode": oct(stat.S_IMODE(st.st_mode))}
                for number, needle in enumerate(needles, 1) if needle in content
            )
if hits:
    with open(LEAKS, "a") as handle:
        handle.writelines(json.dumps(hit) + "\n" for hit in hits)
print(json.dumps(hits))
