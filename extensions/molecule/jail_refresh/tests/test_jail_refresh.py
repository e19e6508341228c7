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


# -- issue 14 §3: two jails on a shared base -------------------------------------------------
BASE = "/srv/jails/base"
SHARED = ("/srv/jails/alice", "/srv/jails/bob")
SHARED_ARGS = {"binaries": ["/usr/sbin/lighttpd"]}


def chroot_jail(host, path, base=None):
    args = dict(SHARED_ARGS, path=path, **({"base": base} if base else {}))
    result = host.ansible("serversec.confine.chroot_jail", json.dumps(args), check=False)
    assert not result.get("failed"), result
    return result


def test_jails_on_the_base_share_its_inodes(host, library):
    for path in ("/usr/sbin/lighttpd", library):
        base_copy = host.file(BASE + path)
        assert base_copy.sha256sum == host.file(path).sha256sum
        assert {host.file(jail + path).inode for jail in SHARED} == {base_copy.inode}, path


def test_the_base_refresh_updated_both_jails_and_each_reported_it(host, library):
    report = json.loads(evidence(host, "shared.json"))
    assert report["paths"] == [BASE, *SHARED]
    assert report["updated"] == [[library], [library], [library]]
    assert report["base"] == [{"path": BASE, "linked": [library]}] * 2  # the jails after the base


def test_a_tampered_copy_is_repaired_and_the_base_and_the_other_jail_keep_theirs(host, library):
    alice, bob = SHARED
    kept = {path: (host.file(path).inode, host.file(path).sha256sum) for path in (BASE + library, alice + library)}
    # uid 0 in bob replaces its copy of the library (a new inode: nothing else sees it)
    cmd = host.run(f"cp {bob}{library} {bob}{library}.t && printf X >> {bob}{library}.t && mv {bob}{library}.t {bob}{library}")
    assert cmd.rc == 0, cmd.stderr
    repaired = chroot_jail(host, bob, BASE)
    assert (repaired["changed"], repaired["updated"], repaired["base"]["linked"]) == (True, [library], [library])
    assert {path: (host.file(path).inode, host.file(path).sha256sum) for path in kept} == kept
    assert host.file(bob + library).inode == kept[BASE + library][0]
    for path, base in ((BASE, None), (alice, BASE), (bob, BASE)):
        assert chroot_jail(host, path, base)["changed"] is False, path


def test_a_write_through_the_shared_inode_is_caught_by_every_jail_and_the_base(host, library):
    alice, bob = SHARED
    shared_inode = host.file(BASE + library).inode
    # uid 0 in alice writes its copy: the inode the base and bob share
    cmd = host.run(f"printf X >> {alice}{library}")
    assert cmd.rc == 0, cmd.stderr
    repaired = chroot_jail(host, alice, BASE)
    assert (repaired["updated"], repaired["base"]["linked"]) == ([library], [])  # the base is tampered too: a copy
    assert host.file(alice + library).inode != shared_inode
    assert host.file(BASE + library).inode == shared_inode  # the jail's run never touches the base
    assert chroot_jail(host, BASE)["updated"] == [library]
    assert chroot_jail(host, bob, BASE)["base"]["linked"] == [library]
    assert chroot_jail(host, alice, BASE)["base"]["linked"] == [library]  # shares the sound base again
    assert {host.file(path + library).inode for path in (BASE, alice, bob)} == {host.file(BASE + library).inode}
    assert host.file(alice + library).sha256sum == host.file(library).sha256sum
    for path, base in ((BASE, None), (alice, BASE), (bob, BASE)):
        assert chroot_jail(host, path, base)["changed"] is False, path


def test_a_refresh_without_restart_is_reported(host, library):
    # the library is upgraded again and only the jail refreshed: the daemon now runs an old copy
    cmd = host.run(f"cp -p {library} {library}.again && printf '\\0' >> {library}.again && mv {library}.again {library}")
    assert cmd.rc == 0, cmd.stderr
    refreshed = host.ansible("serversec.confine.chroot_jail", json.dumps(JAIL_ARGS), check=False)
    assert refreshed["updated"] == [library], refreshed
    report = host.ansible("serversec.confine.jailed_service", json.dumps(dict(SERVICE, state="present")), check=True)
    assert report["predates_jail"] is True, report
