"""lighttpd and rsync --daemon run jailed, unprivileged, without capabilities they were not given;
a second lighttpd starts as root in its jail and switches itself to its user (privilege_drop)."""

import hashlib
import json
import re
import subprocess

import pytest

MARKER = "/root/marker"
CAP_SETGID = 1 << 6
CAP_SETUID = 1 << 7
CAP_NET_BIND_SERVICE = 1 << 10

SERVICES = {
    "web-jailed.service": {"jail": "/srv/jails/web", "user": "web", "caps": 0, "name": "web"},
    # Started as root without User=, it switched itself: no capability is left in its sets, and its
    # bounding set holds only what the switch needs (it binds 8081, above 1024, but the mode always
    # allows CAP_NET_BIND_SERVICE).
    "webdrop-jailed.service": {
        "jail": "/srv/jails/webdrop", "user": "webdrop", "caps": 0, "name": "webdrop", "privilege_drop": True,
        "bounding": CAP_SETUID | CAP_SETGID | CAP_NET_BIND_SERVICE,
    },
    "rsyncd-jailed.service": {
        "jail": "/srv/jails/rsyncd", "user": "rsyncd", "caps": CAP_NET_BIND_SERVICE, "name": "rsyncd",
    },
    "noexec-jailed.service": {"jail": "/srv/jails/noexec", "user": "noexec", "caps": 0, "name": "noexec"},
}
# Where the no-exec probe (prepare.yml) writes, seen from the host.
NOEXEC_DROP = "/srv/jails/noexec/srv/drop"


def main_pid(host, unit):
    pid = int(host.check_output(f"systemctl show -p MainPID --value {unit}"))
    assert pid > 0, f"{unit} has no main process"
    return pid


def proc_status(host, pid):
    status = {}
    for line in host.file(f"/proc/{pid}/status").content_string.splitlines():
        key, _sep, value = line.partition(":")
        status[key] = value.strip()
    return status


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def instance(host):
    """(image, network, IPv4 address) of the container under test; the harness network is
    serversec-molecule, another one is used when the platforms were renamed for a private run."""
    name = host.backend.get_hostname()
    image = docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()
    listing = docker(
        "inspect", "-f", "{{range $net, $conf := .NetworkSettings.Networks}}{{$net}} {{$conf.IPAddress}}\n{{end}}", name
    ).stdout.split("\n")
    networks = dict(line.split() for line in listing if len(line.split()) == 2)
    assert image, f"cannot inspect container {name}"
    assert networks, f"container {name} is on no network with an IPv4 address (was its network removed?)"
    network = "serversec-molecule" if "serversec-molecule" in networks else sorted(networks)[0]
    return image, network, networks[network]


def from_other_container(host, *command):
    """Run a client in a throw-away container on the same network."""
    image, network, address = instance(host)
    argv = [part.replace("{address}", address) for part in command]
    return docker("run", "--rm", "--network", network, image, *argv)


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_runs_as_service_user_without_other_groups(host, unit):
    expected = SERVICES[unit]
    user = host.user(expected["user"])
    status = proc_status(host, main_pid(host, unit))
    assert status["Uid"].split() == [str(user.uid)] * 4
    assert status["Gid"].split() == [str(user.gid)] * 4
    # Linux lists the process's own group among its groups; nothing else may be there
    # (issue 9 section 3: systemd applies every host membership of the user).
    assert status["Groups"].split() in ([], [str(user.gid)]), status["Groups"]
    assert host.check_output(f"id -G {expected['user']}").split() == [str(user.gid)]
    assert user.shell.endswith("nologin")


def test_role_removes_supplementary_groups(host):
    # prepare.yml made doomed a member of disk before the role first ran for it (no account
    # remembered), and wrote down its groups right after that run.
    assert host.file("/root/jailed_services_doomed_groups.txt").content_string.split() == ["doomed"]


def test_remembered_account_that_gained_a_group_is_refused(host):
    # prepare.yml made doomed a member of disk after the role had made the account; the role,
    # remembering the account, did not ask for it again, and jailed_service refused it.
    refusals = json.loads(host.file("/root/jailed_services_remembered_refusal.json").content_string)
    assert refusals == [
        "user: doomed is a member of the groups disk, which systemd would give the daemon (initgroups); "
        "remove the memberships or list them in allow_supplementary_groups",
    ]


def test_user_with_other_groups_is_refused(host):
    # prepare.yml tried to run a service as each of these users; the module refused.
    assert set(host.check_output("id -Gn grouped").split()) >= {"disk", "shadow"}
    assert "root" in host.check_output("id -Gn rootgrouped").split()
    refusals = json.loads(host.file("/root/jailed_services_refusals.json").content_string)
    assert refusals[:2] == [
        "user: grouped is a member of the groups disk, shadow, which systemd would give the daemon (initgroups); "
        "remove the memberships or list them in allow_supplementary_groups",
        "user: rootgrouped is a member of the group root (gid 0), which systemd would give the daemon; "
        "the root group is refused even in allow_supplementary_groups",
    ]
    assert not host.file("/etc/systemd/system/loose.service").exists


def test_loosening_settings_are_refused(host):
    refusals = json.loads(host.file("/root/jailed_services_refusals.json").content_string)
    assert refusals[2:] == [
        "extra_properties: ExecStartPre is never allowed: it runs a command, which systemd may run outside the jail "
        "or as root",
        "extra_properties: RootDirectoryStartOnly is never allowed: it runs the other Exec commands outside the jail",
        "extra_properties: SupplementaryGroups is never allowed: it gives the daemon further groups",
        "bind: '/:/host' binds the host's whole file system into the jail",
        "bind_read_only: '/etc:/host-etc' exposes the host's /etc to the jailed daemon; set allow_sensitive_binds "
        "to accept it knowingly",
        "description: 'web\\\\' ends with a backslash, which systemd reads as a line continuation",
    ]
    assert host.run("systemctl cat loose.service").rc != 0


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_root_is_the_jail(host, unit):
    pid = main_pid(host, unit)
    # readlink /proc/PID/root reads "/" in a mount namespace; compare device and inode.
    process_root = host.check_output(f"stat -L -c %d:%i /proc/{pid}/root/")
    jail = host.check_output(f"stat -L -c %d:%i {SERVICES[unit]['jail']}")
    assert process_root == jail
    host_root = host.check_output("stat -L -c %d:%i /")
    assert process_root != host_root


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_no_capabilities_beyond_those_asked(host, unit):
    status = proc_status(host, main_pid(host, unit))
    expected = SERVICES[unit]["caps"]
    for field in ("CapEff", "CapPrm", "CapAmb"):
        assert int(status[field], 16) == expected, f"{field}={status[field]}"
    assert int(status["CapBnd"], 16) == SERVICES[unit].get("bounding", expected), f"CapBnd={status['CapBnd']}"


# 8080: the lighttpd that runs as its user; 8081: the one that started as root and dropped it.
@pytest.mark.parametrize("port", [8080, 8081])
def test_lighttpd_answers_from_another_container(host, port):
    result = from_other_container(
        host, "python3", "-c",
        f"import urllib.request; print(urllib.request.urlopen('http://{{address}}:{port}/', timeout=10).read().decode())",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jailed lighttpd"


def test_rsync_answers_from_another_container(host):
    result = from_other_container(
        host, "sh", "-c", "rsync rsync://{address}/pub/hello.txt /tmp/hello.txt && cat /tmp/hello.txt"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "jailed rsync"


def test_rsync_writes_only_where_it_may(host):
    result = from_other_container(
        host, "sh", "-c", "echo uploaded > /tmp/up.txt && rsync /tmp/up.txt rsync://{address}/inbox/up.txt"
    )
    assert result.returncode == 0, result.stderr
    uploaded = host.file("/srv/jails/rsyncd/srv/inbox/up.txt")
    assert uploaded.content_string == "uploaded\n"
    assert uploaded.user == "rsyncd"


def test_host_marker_exists_outside_the_jails(host):
    assert host.file(MARKER).exists


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_marker_is_not_in_the_daemon_view(host, unit):
    pid = main_pid(host, unit)
    assert host.file(f"/proc/{pid}/root/etc/").exists
    assert not host.file(f"/proc/{pid}/root{MARKER}").exists


def test_lighttpd_cannot_serve_the_marker(host):
    request = (
        "import socket; s = socket.create_connection(('127.0.0.1', 8080), timeout=10); "
        "s.sendall(b'GET /../../root/marker HTTP/1.0\\r\\n\\r\\n'); "
        "print(s.recv(65536).decode(errors='replace'))"
    )
    reply = host.check_output(f'python3 -c "{request}"')
    assert reply.startswith("HTTP/1.0 404") or reply.startswith("HTTP/1.1 404"), reply
    assert "host secret" not in reply


def test_rsync_cannot_fetch_the_marker(host):
    result = host.run("rsync rsync://127.0.0.1/pub/../../../root/marker /tmp/stolen-marker")
    assert result.rc != 0
    assert not host.file("/tmp/stolen-marker").exists


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_reported_exposure_is_within_the_ceiling(host, unit):
    reported = json.loads(host.file("/root/jailed_services_exposure.json").content_string)
    # The role's ceiling, or the module's own for a daemon that drops root itself.
    assert reported[SERVICES[unit]["name"]] <= (2.5 if SERVICES[unit].get("privilege_drop") else 2.0)
    # systemd's own view of the loaded unit agrees.
    output = host.check_output(f"systemd-analyze security --no-pager {unit}")
    score = float(re.search(r"Overall exposure level for \S+: (\d+\.\d+)", output).group(1))
    assert score == reported[SERVICES[unit]["name"]]


RECORDS = "/var/lib/serversec-confine/units"


def record_path(unit):
    """jailed_service's record of the unit's last analysis (chroot_jail's STEM.HASH naming)."""
    return f"{RECORDS}/{unit}.{hashlib.sha256(unit.encode()).hexdigest()[:24]}.json"


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_analysis_is_recorded_and_reused(host, unit):
    records = host.file(RECORDS)
    assert (records.user, records.mode) == ("root", 0o700)
    record = host.file(record_path(unit))
    assert (record.user, record.mode) == ("root", 0o600)
    data = json.loads(record.content_string)
    reported = json.loads(host.file("/root/jailed_services_exposure.json").content_string)
    analyzer = host.check_output("readlink -f \"$(command -v systemd-analyze)\"")
    assert (data["unit"], data["analyzer"]["path"], data["exposure"]) == (unit, analyzer, reported[SERVICES[unit]["name"]])
    assert data["sha256"] == host.file(f"/etc/systemd/system/{unit}").sha256sum
    # Converge wrote the record, then the exposure file; the idempotence run took the score from
    # the record (a run that analyses writes the record again).
    assert record.mtime <= host.file("/root/jailed_services_exposure.json").mtime


def test_absent_service_has_no_record(host):
    assert not host.file(record_path("doomed-jailed.service")).exists


@pytest.mark.parametrize("unit", sorted(SERVICES))
def test_hardened_unit(host, unit):
    unit_file = host.file(f"/etc/systemd/system/{unit}")
    assert unit_file.mode == 0o644
    text = unit_file.content_string
    lines = text.splitlines()
    for line in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateDevices=yes",
                 f"RootDirectory={SERVICES[unit]['jail']}"):
        assert line in lines
    if SERVICES[unit].get("privilege_drop"):
        assert not [line for line in lines if line.startswith("User=")]
    else:
        assert f"User={SERVICES[unit]['user']}" in lines
    assert host.service(unit).is_enabled


def test_rsync_logs_reach_the_journal(host):
    host.run("rsync rsync://127.0.0.1/")
    journal = host.check_output("journalctl --no-pager -q -u rsyncd-jailed.service -n 50")
    assert "rsyncd[" in journal


def test_absent_service_is_stopped_and_removed(host):
    assert not host.file("/etc/systemd/system/doomed-jailed.service").exists
    assert not host.service("doomed-jailed.service").is_running
    assert host.run("systemctl is-enabled doomed-jailed.service").rc != 0
    assert host.run("ss -Hltn 'sport = :8874'").stdout.strip() == ""
    assert not host.file("/srv/jails/doomed/usr/bin/rsync").exists


def test_daemon_cannot_execute_what_it_wrote(host):
    # Issue 10: the probe wrote a program into its read_write directory, made it executable and
    # tried to run it from inside its unit.
    assert host.service("noexec-jailed.service").is_running
    payload = host.file(f"{NOEXEC_DROP}/payload")
    assert (payload.user, payload.mode) == ("noexec", 0o755)
    assert host.file(f"{NOEXEC_DROP}/result").content_string == "exec denied (126)\n"
    output = host.file(f"{NOEXEC_DROP}/output").content_string
    assert "Permission denied" in output and "ran" not in output.split()
    # The same file, run by the same user outside the unit, runs: the unit's mount stopped it.
    assert host.check_output(f"runuser -u noexec -- {NOEXEC_DROP}/payload") == "ran"
    no_exec = host.check_output("systemctl show -p NoExecPaths --value noexec-jailed.service").split()
    assert NOEXEC_DROP in no_exec


def test_rsync_inbox_is_not_executable(host):
    assert host.check_output("systemctl show -p NoExecPaths --value rsyncd-jailed.service").split() == [
        "/srv/jails/rsyncd/srv/inbox"]
