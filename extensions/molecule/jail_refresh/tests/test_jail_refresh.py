"""jail_refresh: after a library upgrade on the host, converge restarted the jailed daemon once.

prepare.yml kept the daemon's PID, the library's path and the inode of its jail copy, then
replaced the library on the host; converge.yml ran the role again (and idempotence a third
time, with no change: no second restart).
"""

import json

import pytest

EVIDENCE = "/root/jail-refresh"
JAIL = "/srv/jails/web"
UNIT = "web-jailed.service"
SERVICE = {"name": UNIT, "jail": JAIL, "user": "web",
           "command": ["/usr/sbin/lighttpd", "-D", "-f", "/etc/lighttpd/refresh.conf"], "max_exposure": 2.0}
JAIL_ARGS = {"path": JAIL, "binaries": ["/usr/sbin/lighttpd"], "users": ["web"], "groups": [],
             "files": ["/etc/lighttpd/refresh.conf", "/srv/www"]}


def evidence(host, name):
    return host.file(f"{EVIDENCE}/{name}").content_string.strip()


def main_pid(host):
    pid = int(host.check_output(f"systemctl show -p MainPID --value {UNIT}"))
    assert pid > 0, f"{UNIT} has no main process"
    return pid


def mapped_inodes(host, pid, library):
    """Inodes of the mappings of ``library`` (a path inside the jail) in the process ``pid``."""
    maps = host.file(f"/proc/{pid}/maps").content_string.splitlines()
    return {int(line.split()[4]) for line in maps if line.split()[-1].endswith(library)}


@pytest.fixture(scope="module")
def library(host):
    return evidence(host, "library")


def test_daemon_was_restarted(host):
    assert main_pid(host) != int(evidence(host, "pid"))
    assert host.service(UNIT).is_running


def test_jail_copy_is_the_upgraded_library(host, library):
    jail_copy = host.file(JAIL + library)
    assert jail_copy.sha256sum == host.file(library).sha256sum
    assert jail_copy.inode != int(evidence(host, "old-inode"))


def test_daemon_maps_the_new_copy(host, library):
    assert mapped_inodes(host, main_pid(host), library) == {host.file(JAIL + library).inode}


def test_daemon_did_not_predate_its_jail_after_converge(host):
    assert json.loads(evidence(host, "predates.json")) == [False]


def test_a_refresh_without_restart_is_reported(host, library):
    # the library is upgraded again and only the jail refreshed: the daemon now runs an old copy
    cmd = host.run(f"cp -p {library} {library}.again && printf '\\0' >> {library}.again && mv {library}.again {library}")
    assert cmd.rc == 0, cmd.stderr
    refreshed = host.ansible("serversec.confine.chroot_jail", json.dumps(JAIL_ARGS), check=False)
    assert refreshed["updated"] == [library], refreshed
    report = host.ansible("serversec.confine.jailed_service", json.dumps(dict(SERVICE, state="present")), check=True)
    assert report["predates_jail"] is True, report
