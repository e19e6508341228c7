#!/usr/bin/env python3
"""Run the Molecule scenarios on every platform whose image can be had on this machine.

Public images (Ubuntu 24.04, Fedora) are pulled; the Debian 12 and 13 stand-ins are built
locally with images/build.sh. A platform whose image can be neither pulled nor built is
SKIPPED, and the reason is written to the summary; it never counts as a pass. A run in which
no platform or no scenario ran fails.
"""
import argparse
import copy
import fcntl
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SCENARIO_ROOT = ROOT / "extensions" / "molecule"
BASE_CONFIG = SCENARIO_ROOT / "config.yml"
BUILD = ROOT / ".build" / "molecule"
PULL_TIMEOUT = 120
# Every run uses the same instance names and the same network (its addresses are part of the
# tests), so runs on one Docker engine take turns: make test, make demo and bench/fleet.py.
LOCK_FILE = "/var/lock/serversec-molecule.lock"

# SYS_RESOURCE is absent from these hosts' bounding set, which is why --privileged fails there.
# name -> (environment variable naming the image, default image, debootstrap suite or None, address)
PLATFORMS = {
    "ubuntu2404": ("SERVERSEC_IMAGE_UBUNTU2404", "docker.io/geerlingguy/docker-ubuntu2404-ansible:latest", None, "172.30.77.21"),
    "fedora": ("SERVERSEC_IMAGE_FEDORA", "docker.io/geerlingguy/docker-fedora42-ansible:latest", None, "172.30.77.22"),
    "debian12": ("SERVERSEC_IMAGE_DEBIAN12", "serversec/debian12:local", "bookworm", "172.30.77.11"),
    "debian13": ("SERVERSEC_IMAGE_DEBIAN13", "serversec/debian13:local", "trixie", "172.30.77.12"),
}


def last_line(text):
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no output"


def obtain_image(name):
    """Return (image, None) when the image is there, or (image, reason it is not)."""
    env_var, default, suite, _address = PLATFORMS[name]
    image = os.environ.get(env_var, default)
    if suite and image == default:
        build = subprocess.run(
            [str(ROOT / "images" / "build.sh"), image, suite], capture_output=True, text=True
        )
        sys.stderr.write(build.stdout)
        if build.returncode != 0:
            return image, "building %s from Debian %s failed: %s" % (image, suite, last_line(build.stderr))
        return image, None
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return image, None
    try:
        pull = subprocess.run(["docker", "pull", image], capture_output=True, text=True, timeout=PULL_TIMEOUT)
    except subprocess.TimeoutExpired:
        return image, "no registry answered within %ds for %s" % (PULL_TIMEOUT, image)
    if pull.returncode != 0:
        return image, "%s could not be pulled: %s" % (image, last_line(pull.stderr))
    return image, None


def take_turn():
    """Block until no other Molecule run of this project uses the Docker engine; the lock is
    held until this process exits."""
    handle = open(LOCK_FILE, "w")  # stays open, and locked, for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("==> waiting for another Molecule run on this machine (%s)" % LOCK_FILE, flush=True)
        fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def scenario_platforms(scenario, platforms):
    """The platforms a scenario runs on, and a line naming the others with the reason.

    A scenario that needs one distribution's packages (Debian's jailkit, its nginx user) lists
    the platforms it runs on in only_on.yml ({platforms: [...], reason: ...}); it is SKIPPED on
    the others, never counted as passed there.
    """
    limits = SCENARIO_ROOT / scenario / "only_on.yml"
    if not limits.exists():
        return platforms, ""
    only_on = yaml.safe_load(limits.read_text())
    runs_on = [p for p in platforms if p["name"] in only_on["platforms"]]
    others = [p["name"] for p in platforms if p not in runs_on]
    return runs_on, ("%s: %s" % (", ".join(others), only_on["reason"])) if others else ""


def platform_entry(template, name, image):
    entry = copy.deepcopy(template)
    entry["name"] = name
    entry["image"] = image
    entry["networks"] = [{"name": "serversec-molecule", "ipv4_address": PLATFORMS[name][3]}]
    # playbooks/secure_server.yml applies to this group (see playbooks/inventory/).
    entry["groups"] = ["secure_servers"]
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenario", action="append", help="scenario to run (default: all)")
    parser.add_argument("--summary", default=str(ROOT / ".build" / "results" / "molecule.txt"))
    parser.add_argument(
        "--platforms-only", action="store_true",
        help="obtain the images, write the platforms file, print its path and run nothing (used by make demo)",
    )
    args = parser.parse_args()

    wanted = os.environ.get("SERVERSEC_PLATFORMS", " ".join(PLATFORMS)).split()
    unknown = [name for name in wanted if name not in PLATFORMS]
    if unknown:
        sys.exit("SERVERSEC_PLATFORMS names unknown platform(s): %s (known: %s)" % (", ".join(unknown), ", ".join(PLATFORMS)))

    template = yaml.safe_load(BASE_CONFIG.read_text())["platforms"][0]
    summary = []
    platforms = []
    for name in wanted:
        image, skipped = obtain_image(name)
        if skipped:
            summary.append("platform %-10s SKIPPED: %s" % (name, skipped))
        else:
            platforms.append(platform_entry(template, name, image))
            summary.append("platform %-10s ran on image %s" % (name, image))

    BUILD.mkdir(parents=True, exist_ok=True)
    platforms_file = BUILD / "platforms.yml"
    platforms_file.write_text(yaml.safe_dump({"platforms": platforms}, sort_keys=False))
    if args.platforms_only:
        sys.stderr.write("\n".join(summary) + "\n")
        if not platforms:
            return 1
        print(platforms_file)
        return 0

    scenarios = args.scenario or sorted(p.parent.name for p in SCENARIO_ROOT.glob("*/molecule.yml"))
    failed = []
    if not platforms:
        summary.append("molecule   FAILED: no platform could be had, so no scenario ran")
        failed.append("no platform")
    elif not scenarios:
        summary.append("molecule   FAILED: no scenario found under %s" % SCENARIO_ROOT)
        failed.append("no scenario")
    else:
        lock = take_turn()  # noqa: F841 - held until exit
        # Molecule calls ansible-config, ansible-playbook and pytest by name: use this venv's.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        env = dict(os.environ, PATH=path, ANSIBLE_FORCE_COLOR="0", PY_COLORS="0", NO_COLOR="1")
        for scenario in scenarios:
            runs_on, skipped = scenario_platforms(scenario, platforms)
            if skipped:
                summary.append("scenario %-20s SKIPPED on %s" % (scenario, skipped))
            if not runs_on:
                continue
            scenario_file = platforms_file
            if runs_on != platforms:
                scenario_file = BUILD / ("platforms-%s.yml" % scenario)
                scenario_file.write_text(yaml.safe_dump({"platforms": runs_on}, sort_keys=False))
            print("==> molecule test -s %s on %s" % (scenario, ", ".join(p["name"] for p in runs_on)), flush=True)
            command = [
                sys.executable, "-m", "molecule",
                "-c", str(BASE_CONFIG), "-c", str(scenario_file),
                "test", "-s", scenario,
            ]
            result = subprocess.run(command, cwd=ROOT, env=env)
            status = "passed" if result.returncode == 0 else "FAILED (exit %d)" % result.returncode
            if result.returncode != 0:
                failed.append(scenario)
            summary.append("scenario %-20s %s on %s" % (scenario, status, ", ".join(p["name"] for p in runs_on)))

    Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
    Path(args.summary).write_text("\n".join(summary) + "\n")
    print("\n".join(summary))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
