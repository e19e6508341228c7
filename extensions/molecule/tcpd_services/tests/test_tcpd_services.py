"""tcpd_services: the guides' policy enforced behind tcpd and in the kernel, seen from two subnets.

The denied client connects from 172.30.77.60 on the harness network; the allowed one from
192.168.77.50 on a second Docker network, serversec-tcpd-lan (192.168.77.0/24), which the
module fixture connects the instance to, so the source address the services see is really
in 192.168.0.0/16.
"""

import json
import re
import subprocess
import time

import pytest

LAN = "serversec-tcpd-lan"
LAN_SUBNET = "192.168.77.0/24"
HARNESS = "serversec-molecule"
ALLOWED_CLIENT = "192.168.77.50"
DENIED_CLIENT = "172.30.77.60"
LOG = "/var/log/tcpwrappers.log"
HTTP_GET = "GET / HTTP/1.0\r\n\r\n"
# Sends the request, if any, and reads what the server says; answers telnet option requests
# with "won't"/"don't" so that telnetd goes on to start its program. Prints NOCONNECT, EOF or
# the text received.
PROBE = r"""
import socket, sys, time
try:
    s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=4)
except OSError as exc:
    print("NOCONNECT", exc.__class__.__name__)
    sys.exit(0)
if len(sys.argv) > 3:
    s.sendall(sys.argv[3].encode())
s.settimeout(0.5)
text, raw, deadline = bytearray(), bytearray(), time.time() + 3
while time.time() < deadline:
    try:
        data = s.recv(4096)
    except socket.timeout:
        continue
    except OSError:
        break
    if not data:
        break
    raw += data
    i = 0
    while i < len(data):
        if data[i] == 255 and i + 2 < len(data) and data[i + 1] in (251, 252, 253, 254):
            s.sendall(bytes([255, 252 if data[i + 1] in (253, 254) else 254, data[i + 2]]))
            i += 3
        elif data[i] == 255 and i + 1 < len(data) and data[i + 1] == 250:
            end = data.find(bytes([255, 240]), i)
            i = len(data) if end < 0 else end + 2
        elif data[i] == 255:
            i += 2
        else:
            text.append(data[i])
            i += 1
    if b"welcome" in text or text.startswith(b"SSH-"):
        break
print(text.decode("latin-1").strip() or ("EOF" if not raw else "NEGOTIATION ONLY"))
"""


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def inspect(name, template):
    return docker("inspect", "-f", template, name).stdout.strip()


@pytest.fixture(scope="module")
def instance(host):
    """(image, harness address, LAN address) of the instance, connected to the LAN meanwhile."""
    name = host.backend.get_hostname()
    image = inspect(name, "{{.Config.Image}}")
    harness = inspect(name, '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % HARNESS)
    assert image and harness, f"cannot inspect container {name}"
    lan = "192.168.77." + harness.rsplit(".", 1)[1]
    if docker("network", "inspect", LAN).returncode != 0:
        created = docker("network", "create", "--subnet", LAN_SUBNET, LAN)
        assert created.returncode == 0, created.stderr
    docker("network", "disconnect", "-f", LAN, name)
    connected = docker("network", "connect", "--ip", lan, LAN, name)
    assert connected.returncode == 0, connected.stderr
    yield image, harness, lan
    docker("network", "disconnect", "-f", LAN, name)
    docker("network", "rm", LAN)


def probe(instance, client, port, request=None):
    """What a client container at `client` reads from the instance's `port` (after `request`)."""
    image, harness, lan = instance
    network, target = (LAN, lan) if client.startswith("192.168.") else (HARNESS, harness)
    result = docker("run", "--rm", "--network", network, "--ip", client, "--entrypoint", "python3", image,
                    "-c", PROBE, target, str(port), *([request] if request else []))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def verdict(host, daemon, address):
    result = host.ansible("serversec.confine.tcpwrap_info",
                          json.dumps({"queries": [{"daemon": daemon, "address": address}]}), check=False)
    return result["verdicts"][0]["access"]


def wait_for_log(host, needle, seconds=10):
    deadline = time.time() + seconds
    log = ""
    while time.time() < deadline:
        log = host.file(LOG).content_string
        if needle in log:
            break
        time.sleep(0.5)
    return log


# ---------------------------------------------------------------- telnet behind tcpd

def test_telnet_socket_listens_and_the_service_is_hardened(host):
    assert host.run("systemctl is-active telnet.socket").stdout.strip() == "active"
    unit = host.file("/etc/systemd/system/telnet@.service").content_string
    for line in ("ExecStart=@/usr/sbin/tcpd /usr/local/sbin/in.telnetd -E /usr/local/bin/telnet-banner",
                 "StandardInput=socket", "User=telnetd", "NoNewPrivileges=yes", "ProtectSystem=strict",
                 "CapabilityBoundingSet=", "ReadWritePaths=/var/log/tcpwrappers.log"):
        assert line + "\n" in unit
    socket_unit = host.file("/etc/systemd/system/telnet.socket").content_string
    assert "ListenStream=23\nAccept=yes\n" in socket_unit and "IPAddress" not in socket_unit


def test_telnet_exposure_is_reported_and_nothing_would_change(host):
    args = {"name": "telnet", "port": 23, "user": "telnetd", "read_write": [LOG],
            "command": ["/usr/local/sbin/in.telnetd", "-E", "/usr/local/bin/telnet-banner"]}
    result = host.ansible("serversec.confine.tcpwrapped_service", json.dumps(args), check=True)
    assert result["changed"] is False
    assert 0 < result["exposure"] <= 2.0


def test_telnet_serves_its_banner_to_the_lan_client(host, instance):
    output = probe(instance, ALLOWED_CLIENT, 23)
    assert "serversec telnet lab: welcome" in output, output
    assert verdict(host, "in.telnetd", ALLOWED_CLIENT) == "granted"


def test_telnet_refuses_the_other_client_and_logs_it(host, instance):
    assert probe(instance, DENIED_CLIENT, 23) == "EOF"
    assert verdict(host, "in.telnetd", DENIED_CLIENT) == "denied"
    # %c is the client as tcpd sees it: its name when Docker's DNS answers the reverse lookup
    # (a container id under the network's name), else its address on the dual-stack socket.
    client = rf"(::ffff:{re.escape(DENIED_CLIENT)}|[0-9a-f]{{12}}\.{HARNESS})"
    log = wait_for_log(host, " tried to connect to in.telnetd")
    assert re.search(rf"^{client} tried to connect to in\.telnetd$", log, re.M), log
    assert "%c" not in log and "%d" not in log
    assert host.file(LOG).user == "telnetd"


def test_jailed_telnet_serves_the_lan_client_and_refuses_and_logs_the_other(host, instance):
    unit = host.file("/etc/systemd/system/telnet-jailed@.service").content_string
    assert "RootDirectory=/srv/jails/telnet\n" in unit and "BindPaths=/var/log/tcpwrappers.log\n" in unit
    assert "serversec telnet lab: welcome" in probe(instance, ALLOWED_CLIENT, 2324)
    line = f"::ffff:{DENIED_CLIENT} tried to connect to in.telnetd\n"
    before = host.file(LOG).content_string.count(line)
    assert probe(instance, DENIED_CLIENT, 2324) == "EOF"
    # No resolver in the jail: %c is the address.
    deadline = time.time() + 10
    while host.file(LOG).content_string.count(line) == before and time.time() < deadline:
        time.sleep(0.5)
    assert host.file(LOG).content_string.count(line) == before + 1


def test_the_log_is_rotated(host):
    snippet = host.file("/etc/logrotate.d/tcpwrappers")
    assert snippet.mode == 0o644
    text = snippet.content_string
    assert "/var/log/tcpwrappers.log {\n" in text and "create 0640 telnetd adm\n" in text


# ---------------------------------------------------------------- ssh.service filtered in the kernel

def test_ssh_dropin_holds_the_compiled_policy(host):
    dropin = host.file("/etc/systemd/system/ssh.service.d/serversec-tcpwrap-filter.conf").content_string
    assert dropin.endswith("[Service]\nIPAddressAllow=192.168.0.0/16\nIPAddressDeny=any\n")
    shown = host.run("systemctl show -p IPAddressAllow -p IPAddressDeny ssh.service").stdout
    assert "IPAddressAllow=192.168.0.0/16" in shown


def test_ssh_serves_the_lan_client(host, instance):
    assert probe(instance, ALLOWED_CLIENT, 22).startswith("SSH-2.0-")
    assert verdict(host, "sshd", ALLOWED_CLIENT) == "granted"


def test_ssh_gives_the_other_client_no_tcp_connection(host, instance):
    assert probe(instance, DENIED_CLIENT, 22).startswith("NOCONNECT")
    assert verdict(host, "sshd", DENIED_CLIENT) == "denied"


# ---------------------------------------------------------------- a jailed daemon filtered by tcpwrap_daemon

def test_jailed_unit_holds_the_compiled_policy(host):
    unit = host.file("/etc/systemd/system/web-filtered.service").content_string
    assert "RootDirectory=/srv/jails/web-filtered\n" in unit and "User=web-filtered\n" in unit
    assert "IPAddressAllow=192.168.0.0/16\nIPAddressDeny=any\n" in unit


def test_jailed_daemon_serves_the_lan_client(host, instance):
    assert "jailed lighttpd behind the kernel filter" in probe(instance, ALLOWED_CLIENT, 8080, HTTP_GET)
    assert verdict(host, "lighttpd", ALLOWED_CLIENT) == "granted"


def test_jailed_daemon_gives_the_other_client_no_tcp_connection(host, instance):
    assert probe(instance, DENIED_CLIENT, 8080, HTTP_GET).startswith("NOCONNECT")
    assert verdict(host, "lighttpd", DENIED_CLIENT) == "denied"


# ---------------------------------------------------------------- who enforces what

SSH_FILTER = {"mechanism": "ip_filter", "unit": "ssh.service",
              "file": "/etc/systemd/system/ssh.service.d/serversec-tcpwrap-filter.conf"}
NOBODY = "nobody enforces its TCP wrappers rules on this host"


@pytest.fixture(scope="module")
def enforcement(host):
    """tcpwrap_info's enforcement column by daemon, and its problems; telnetd is only queried."""
    result = host.ansible("serversec.confine.tcpwrap_info", json.dumps({"queries": [{"daemon": "telnetd"}]}),
                          check=False)
    return {item["daemon"]: item for item in result["enforcement"]}, result["problems"]


def test_sshd_is_enforced_by_libwrap_and_its_filter(host, enforcement):
    # Debian 13's OpenSSH checks hosts.allow in sshd-session, Debian 12's in sshd itself.
    debian13 = host.system_info.release.split(".")[0] == "13"
    binary = "/usr/lib/openssh/sshd-session" if debian13 else "/usr/sbin/sshd"
    sshd = enforcement[0]["sshd"]
    assert sshd["enforced_by"] == [{"mechanism": "libwrap", "binary": binary}, SSH_FILTER], sshd
    assert sshd["nobody"] is False


def test_the_wrapped_daemon_is_enforced_by_its_tcpd_sockets(enforcement):
    telnet = enforcement[0]["in.telnetd"]
    assert sorted(telnet["enforced_by"], key=lambda item: item["unit"]) == [
        {"mechanism": "tcpd", "unit": "telnet-jailed.socket", "service": "telnet-jailed@.service",
         "file": "/etc/systemd/system/telnet-jailed@.service"},
        {"mechanism": "tcpd", "unit": "telnet.socket", "service": "telnet@.service",
         "file": "/etc/systemd/system/telnet@.service"},
    ], telnet
    assert "/usr/local/sbin/in.telnetd does not link libwrap" in telnet["notes"]


def test_the_filtered_daemon_is_enforced_by_its_ip_filter(enforcement):
    lighttpd = enforcement[0]["lighttpd"]
    assert lighttpd["enforced_by"] == [{"mechanism": "ip_filter", "unit": "web-filtered.service",
                                        "file": "/etc/systemd/system/web-filtered.service"}], lighttpd


def test_unguarded_daemons_are_enforced_by_nobody_and_listed_in_problems(enforcement):
    by_daemon, problems = enforcement
    assert by_daemon["in.fingerd"]["enforced_by"] == [] and by_daemon["in.fingerd"]["nobody"] is True
    assert by_daemon["telnetd"]["nobody"] is True
    unenforced = {(problem["file"], problem["message"]) for problem in problems if NOBODY in problem["message"]}
    assert unenforced == {
        ("/etc/hosts.allow", f'daemon "in.fingerd": {NOBODY} (no binary of it found on this host; '
                             "no tcpd socket unit or systemd IP filter serves it)"),
        (None, f'daemon "telnetd": {NOBODY} (/usr/sbin/telnetd does not link libwrap; '
               "no tcpd socket unit or systemd IP filter serves it)"),
    }, problems
