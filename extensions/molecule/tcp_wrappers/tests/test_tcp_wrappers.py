"""tcp_wrappers: the files, tcpwrap_info's verdicts, and a real sshd behind them."""

import json
import subprocess
import time

import pytest

ALLOWED_CLIENT = "172.30.77.50"
DENIED_CLIENT = "172.30.77.60"
ALLOW = (
    "# the allowed client container and the host itself\n"
    "sshd : 172.30.77.50, 127.0.0.1\n"
    "in.telnetd : LOCAL\n"
    "in.telnetd : 192.168.*, 127.0.0.1\n"
)
DENY = 'ALL : ALL : spawn /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log\n'
BANNER_PROBE = (
    "import socket, sys\n"
    "s = socket.create_connection((sys.argv[1], 22), timeout=5)\n"
    "s.settimeout(5)\n"
    "try:\n"
    "    data = s.recv(64)\n"
    "except OSError as exc:\n"
    "    data = repr(exc).encode()\n"
    "print(data.decode('latin-1').strip() or 'EOF')\n"
)


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def instance(host):
    """(image, IPv4 address on serversec-molecule) of the container under test."""
    name = host.backend.get_hostname()
    image = docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()
    address = docker(
        "inspect", "-f", '{{(index .NetworkSettings.Networks "serversec-molecule").IPAddress}}', name
    ).stdout.strip()
    assert image and address, f"cannot inspect container {name}"
    return image, address


def banner_from(host, client_address):
    """What a client container at client_address reads first from the instance's port 22."""
    image, address = instance(host)
    result = docker("run", "--rm", "--network", "serversec-molecule", "--ip", client_address,
                    "--entrypoint", "python3", image, "-c", BANNER_PROBE, address)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def rule_lines(text):
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def line_number(host, path, rule):
    """Line of rule in the file: the package's own comment header comes first."""
    return host.file(path).content_string.splitlines().index(rule) + 1


def test_files_hold_exactly_the_policy(host):
    for path, content in (("/etc/hosts.allow", ALLOW), ("/etc/hosts.deny", DENY)):
        handle = host.file(path)
        assert handle.exists and handle.user == "root" and handle.mode == 0o644
        text = handle.content_string
        assert text.endswith(content), "the policy is appended after the lines already there"
        assert rule_lines(text) == rule_lines(content), "no rule besides the policy"
        assert text.endswith("\n") and "\r" not in text and "\0" not in text


def test_tcpd_is_installed(host):
    assert host.package("tcpd").is_installed
    assert host.package("libwrap0").is_installed


@pytest.mark.parametrize("query, access, path, rule", [
    ({"daemon": "sshd", "address": ALLOWED_CLIENT}, "granted", "/etc/hosts.allow", "sshd : 172.30.77.50, 127.0.0.1"),
    ({"daemon": "sshd", "address": DENIED_CLIENT}, "denied", "/etc/hosts.deny", DENY.strip()),
    ({"daemon": "in.telnetd", "address": "10.0.0.1", "hostname": "lab1"}, "granted", "/etc/hosts.allow",
     "in.telnetd : LOCAL"),
    ({"daemon": "in.telnetd", "address": "192.168.4.4"}, "granted", "/etc/hosts.allow",
     "in.telnetd : 192.168.*, 127.0.0.1"),
    ({"daemon": "vsftpd", "address": "127.0.0.1"}, "denied", "/etc/hosts.deny", DENY.strip()),
])
def test_tcpwrap_info_verdicts(host, query, access, path, rule):
    result = host.ansible("serversec.confine.tcpwrap_info", json.dumps({"queries": [query]}), check=False)
    verdict = result["verdicts"][0]
    assert (verdict["access"], verdict["file"], verdict["line"]) == (access, path, line_number(host, path, rule))
    assert [p for p in result["problems"] if p["severity"] == "error"] == []


@pytest.mark.parametrize("query", ["sshd 172.30.77.50", "sshd 172.30.77.60", "in.telnetd 192.168.4.4",
                                   "vsftpd 127.0.0.1"])
def test_tcpwrap_info_agrees_with_tcpdmatch_on_the_host(host, query):
    daemon, address = query.split()
    expected = host.check_output(f"cd /etc && tcpdmatch -d {daemon} {address} | sed -n 's/^access: *//p'")
    result = host.ansible("serversec.confine.tcpwrap_info",
                          json.dumps({"queries": [{"daemon": daemon, "address": address}]}), check=False)
    assert result["verdicts"][0]["access"] == expected


def test_sshd_serves_the_allowed_client(host):
    assert host.service("ssh").is_running
    assert banner_from(host, ALLOWED_CLIENT).startswith("SSH-2.0-")


def test_sshd_refuses_the_denied_client_and_logs_it(host):
    assert not banner_from(host, DENIED_CLIENT).startswith("SSH-2.0-")
    deadline = time.time() + 10
    log = ""
    while time.time() < deadline:
        log = host.run("cat /var/log/tcpwrappers.log").stdout
        if "tried to connect to sshd and was blocked" in log:
            break
        time.sleep(0.5)
    assert "tried to connect to sshd and was blocked" in log


def test_the_log_is_made_in_a_log_directory_its_group_can_write(host):
    # prepare.yml makes /var/log root:syslog 0775, as Ubuntu ships it
    logs = host.file("/var/log")
    assert (logs.user, logs.group, logs.mode) == ("root", "syslog", 0o775)
    log = host.file("/var/log/tcpwrappers.log")
    assert log.is_file and not log.is_symlink
    assert (log.user, log.group, log.mode) == ("root", "adm", 0o640)
