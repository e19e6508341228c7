#!/usr/bin/env python3
"""End-to-end check of tcpwrap_rule's lockout guard over SSH (`make lockout-e2e`, in make test).

One Debian 12 stand-in host running sshd (which links libwrap), reached as users reach servers:
SSH with a key, an unprivileged account, sudo for become, pipelining and ControlPersist from the
project's ansible.cfg. tests/e2e/lockout_guard.yml tries to deny sshd to the controller's own
address and checks the refusal; then a NEW SSH connection (no shared master) must still be let
in, which proves no lockout rule reached the host's hosts.allow. Takes the Docker engine's turn
like a Molecule run; about a minute.
"""
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fleet_hosts  # noqa: E402

ROOT = fleet_hosts.ROOT
WORK = ROOT / ".build" / "lockout-e2e"


def main():
    subprocess.run(["rm", "-rf", str(WORK / "facts")], check=True)
    WORK.mkdir(parents=True, exist_ok=True)
    lock = fleet_hosts.molecule_run.take_turn()  # noqa: F841 - held until exit
    started = time.monotonic()  # the time waiting for the engine's turn is not the check's
    key = fleet_hosts.ssh_key(WORK)
    names = []
    try:
        names = fleet_hosts.start(1, key)
        inventory = fleet_hosts.write_inventory(WORK / "inventory", names, "ssh", key,
                                                ROOT / "playbooks" / "inventory" / "group_vars")
        env = fleet_hosts.ansible_env(ROOT / "ansible.cfg", fact_cache=WORK / "facts")
        play = subprocess.run(["ansible-playbook", "-i", str(inventory), str(ROOT / "tests" / "e2e" / "lockout_guard.yml")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        (WORK / "play.log").write_text(play.stdout + play.stderr)
        if play.returncode:
            print(play.stdout[-3000:] + play.stderr[-2000:])
            print("FAILED: the lockout-guard play failed (log: %s)" % (WORK / "play.log"))
            return 1
        fresh = subprocess.run(
            ["ssh", "-o", "ControlPath=none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=10",
             "-i", str(key), "%s@%s" % (fleet_hosts.USER, fleet_hosts.address(1)), "true"],
            capture_output=True, text=True)
        if fresh.returncode:
            print("FAILED: a new SSH connection was refused after the play: %s" % fresh.stderr.strip())
            return 1
    finally:
        fleet_hosts.stop(names)
    print("lockout guard over SSH: refused, hosts.allow unchanged, connection kept, new connections "
          "still let in (%.0f s)" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())
