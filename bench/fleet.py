#!/usr/bin/env python3
"""Fleet benchmark: playbooks/secure_server.yml on N containers at once (N = 1, 4, 8 by default).

For each N it creates N systemd containers from the Debian 12 stand-in (exactly as the Molecule
harness does), times the first run of the playbook and the second, no-change run, checks that
the second run reports changed=0 on every host, and removes the containers. Figures are printed
as a Markdown table for README.md.
"""
import argparse
import importlib.util
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("molecule_run", ROOT / "scripts" / "molecule_run.py")
molecule_run = importlib.util.module_from_spec(spec)
spec.loader.exec_module(molecule_run)

RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def fleet_platforms(template, image, count):
    platforms = []
    for index in range(1, count + 1):
        entry = molecule_run.platform_entry(template, "debian12", image)
        entry["name"] = "fleet%d" % index
        entry["networks"] = [{"name": "serversec-molecule", "ipv4_address": "172.30.77.%d" % (100 + index)}]
        platforms.append(entry)
    return platforms


def molecule(platforms_file, action, env):
    command = [
        sys.executable, "-m", "molecule",
        "-c", str(molecule_run.BASE_CONFIG), "-c", str(platforms_file),
        action, "-s", "secure_server",
    ]
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.monotonic() - started, result


def recap(output):
    return {host: {"changed": int(changed), "unreachable": int(unreachable), "failed": int(failed)}
            for host, _ok, changed, unreachable, failed in RECAP.findall(output)}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 4, 8])
    args = parser.parse_args()

    image, reason = molecule_run.obtain_image("debian12")
    if reason:
        sys.exit("fleet benchmark needs the Debian 12 image: %s" % reason)
    lock = molecule_run.take_turn()  # noqa: F841 - held until exit
    template = yaml.safe_load(molecule_run.BASE_CONFIG.read_text())["platforms"][0]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    env = dict(os.environ, PATH=path, ANSIBLE_FORCE_COLOR="0", NO_COLOR="1", PY_COLORS="0")
    work = ROOT / ".build" / "bench"
    work.mkdir(parents=True, exist_ok=True)

    rows = []
    failures = []
    for count in args.counts:
        platforms_file = work / ("fleet-%d.yml" % count)
        platforms_file.write_text(yaml.safe_dump({"platforms": fleet_platforms(template, image, count)}))
        molecule(platforms_file, "destroy", env)
        try:
            _seconds, created = molecule(platforms_file, "create", env)
            if created.returncode:
                failures.append("N=%d: create failed: %s" % (count, created.stdout[-2000:]))
                continue
            first, run1 = molecule(platforms_file, "converge", env)
            second, run2 = molecule(platforms_file, "converge", env)
        finally:
            molecule(platforms_file, "destroy", env)
        (work / ("fleet-%d-first.log" % count)).write_text(run1.stdout + run1.stderr)
        (work / ("fleet-%d-second.log" % count)).write_text(run2.stdout + run2.stderr)
        hosts = recap(run2.stdout)
        changed = sorted(host for host, r in hosts.items() if r["changed"] or r["failed"] or r["unreachable"])
        if run1.returncode or run2.returncode or len(hosts) != count or changed:
            failures.append("N=%d: first run rc=%d, second run rc=%d, hosts in recap %d, hosts not clean on the second run: %s"
                            % (count, run1.returncode, run2.returncode, len(hosts), changed))
        rows.append((count, first, first / count, second, second / count, "yes" if not changed and len(hosts) == count else "NO"))

    print("| hosts (N) | first run, wall (s) | per host (s) | second run, wall (s) | per host (s) | changed=0 on every host |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        print("| %d | %.1f | %.1f | %.1f | %.1f | %s |" % row)
    for failure in failures:
        print("FAILED " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
