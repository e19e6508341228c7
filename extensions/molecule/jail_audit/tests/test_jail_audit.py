"""jail_audit: chroot_jail_info finds each way a jail and its host sources were tampered with.

The tampering runs once (module fixture), as uid 0 inside the jail or a host upgrade would:
a copy edited, a host source changed, a copy deleted, a setuid file, a world-writable
directory, a block device node and a stray file added. Each finding has its own test.
"""

import json

import pytest

JAIL = "/srv/jails/audit"
MODULE = "serversec.confine.chroot_jail_info"
STATE_DIR = "/var/lib/serversec-confine/jails"
TAMPER = [
    f"printf 'listen 0.0.0.0:81\\n' > {JAIL}/srv/src/app.conf",  # a copy edited in the jail
    "printf 'keep.conf after an upgrade\\n' > /srv/src/keep.conf",  # a host source changed
    f"rm {JAIL}/srv/src/gone.conf",  # a copy deleted
    f"install -m 4755 /dev/null {JAIL}/suid",  # a setuid file
    f"mkdir -m 0777 {JAIL}/drop",  # a writable directory
    f"mknod {JAIL}/dev/sda b 8 0",  # a block device: the host's first disk
    f"echo stray > {JAIL}/etc-stray",  # a file the module did not make
]


def audit(host, check=False, **args):
    """(failed, result) of chroot_jail_info on the jail.

    testinfra drops "failed" from results: a failure is a result with a message, which a
    successful run never returns.
    """
    try:
        result = host.ansible(MODULE, json.dumps(dict({"path": JAIL}, **args)), check=check)
    except host.ansible.AnsibleException as exc:
        return True, exc.result
    return "msg" in result, result


def state_files(host):
    return host.check_output(f"cd {STATE_DIR} && stat -c '%n %i %s %Y %Z' *")


@pytest.fixture(scope="module")
def tampered(host):
    for command in TAMPER:
        cmd = host.run(command)
        assert cmd.rc == 0, (command, cmd.stderr)
    before = state_files(host)
    failed, result = audit(host)
    assert not failed, result
    assert state_files(host) == before, "the audit wrote to the state"
    return result


def test_edited_copy_is_tampered(tampered):
    assert {"path": "/srv/src/app.conf", "reason": "tampered", "detail": "size"} in tampered["drift"]


def test_changed_host_source_is_stale(tampered):
    assert {"path": "/srv/src/keep.conf", "reason": "stale",
            "detail": "/srv/src/keep.conf changed on the host"} in tampered["drift"]


def test_deleted_copy_is_missing(tampered):
    assert {"path": "/srv/src/gone.conf", "reason": "missing", "detail": "not in the jail"} in tampered["drift"]


def test_drift_is_exactly_those_three(tampered):
    assert [(item["path"], item["reason"]) for item in tampered["drift"]] == [
        ("/srv/src/app.conf", "tampered"), ("/srv/src/gone.conf", "missing"), ("/srv/src/keep.conf", "stale")]


def test_setuid_file(tampered):
    assert tampered["setuid"] == ["/suid"]


def test_writable_directory(tampered):
    assert tampered["writable"] == ["/drop"]


def test_block_device_but_not_the_null_device_the_module_made(tampered):
    assert tampered["devices"] == [{"path": "/dev/sda", "kind": "block", "major": 8, "minor": 0}]


def test_unmanaged_paths(tampered):
    assert tampered["unmanaged"] == ["/dev/sda", "/drop", "/etc-stray", "/suid"]


def test_state_is_healthy_and_nothing_changed(tampered):
    assert tampered["state"]["health"] == "ok"
    assert tampered["findings"] == ["drift", "setuid", "writable", "devices", "unmanaged"]
    assert tampered["changed"] is False


def test_check_mode_reports_the_same(host, tampered):
    failed, result = audit(host, check=True)
    assert not failed
    assert {key: result[key] for key in tampered if key in result} == {
        key: tampered[key] for key in tampered if key in result}


@pytest.mark.parametrize("kind, named", [
    ("drift", "drift: /srv/src/app.conf (tampered: size), /srv/src/gone.conf (missing: not in the jail), "
              "/srv/src/keep.conf (stale: /srv/src/keep.conf changed on the host)"),
    ("setuid", "setuid: /suid"),
    ("writable", "writable: /drop"),
    ("devices", "devices: /dev/sda (block 8:0)"),
    ("unmanaged", "unmanaged: /dev/sda, /drop, /etc-stray, /suid"),
])
def test_fail_on_fails_naming_the_findings(host, tampered, kind, named):
    failed, result = audit(host, fail_on=[kind])
    assert failed, result
    assert result["msg"] == f"jail {JAIL}: {named}"


def test_fail_on_state_passes_with_a_healthy_state(host, tampered):
    failed, result = audit(host, fail_on=["state"])
    assert not failed, result
