"""playbooks/secure_server.yml with the example inventory's policy, checked on the running host."""

import subprocess

BANNED_CLIENT = "172.30.77.60"
OTHER_CLIENT = "172.30.77.50"
PROBE = (
    "import socket, sys\n"
    "s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)\n"
    "s.settimeout(5)\n"
    "s.sendall(sys.argv[3].encode())\n"
    "try:\n"
    "    data = s.recv(200)\n"
    "except OSError as exc:\n"
    "    data = repr(exc).encode()\n"
    "print(data.decode('latin-1').strip() or 'EOF')\n"
)


def docker(*args):
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120, check=False)


def probe(host, client_address, port, send=""):
    """What a throw-away client container at client_address reads from the host's port."""
    name = host.backend.get_hostname()
    image = docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()
    address = docker(
        "inspect", "-f", '{{(index .NetworkSettings.Networks "serversec-molecule").IPAddress}}', name
    ).stdout.strip()
    result = docker("run", "--rm", "--network", "serversec-molecule", "--ip", client_address,
                    "--entrypoint", "python3", image, "-c", PROBE, address, str(port), send)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_sshd_serves_everyone_else(host):
    assert probe(host, OTHER_CLIENT, 22).startswith("SSH-2.0-")


def test_sshd_refuses_the_banned_client(host):
    assert not probe(host, BANNED_CLIENT, 22).startswith("SSH-")


def test_refusal_is_logged_by_the_deny_all_rule(host):
    probe(host, BANNED_CLIENT, 22)
    log = host.file("/var/log/tcpwrappers.log")
    assert log.exists
    assert "%s tried to connect to sshd" % BANNED_CLIENT in log.content_string


def test_default_deny_is_last_in_hosts_deny(host):
    rules = [line for line in host.file("/etc/hosts.deny").content_string.splitlines()
             if line.strip() and not line.startswith("#")]
    assert rules[-1].startswith("ALL : ALL : spawn ")


def test_jailed_web_server_answers_from_another_container(host):
    answer = probe(host, OTHER_CLIENT, 8080, "GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith("HTTP/1.0 200"), answer


def test_jailed_web_server_runs_unprivileged_inside_its_jail(host):
    pid = host.check_output("systemctl show -p MainPID --value web-jailed.service")
    assert pid != "0"
    status = host.file("/proc/%s/status" % pid).content_string
    uid = next(line.split()[1] for line in status.splitlines() if line.startswith("Uid:"))
    assert uid == host.check_output("id -u web")
    assert uid != "0"
    process_root = host.check_output("stat -L -c %%d:%%i /proc/%s/root/" % pid)
    assert process_root == host.check_output("stat -L -c %d:%i /srv/jails/web/")


def test_shell_jail_runs_ls_as_nobody(host):
    result = host.run("chroot --userspec=nobody:nogroup /srv/jails/shell /bin/bash -c 'ls /bin; id -un'")
    assert result.rc == 0, result.stderr
    assert "ls" in result.stdout.split()
    assert result.stdout.split()[-1] == "nobody"


def test_jailed_logins_are_configured_and_sshd_accepts_them(host):
    assert host.run("sshd -t").rc == 0
    for name, jail in (("sftp-ann", "/srv/jails/ann"), ("shell-sam", "/srv/jails/sam")):
        lines = host.file(f"/etc/ssh/sshd_config.d/{name}.conf").content_string.splitlines()
        assert f"ChrootDirectory {jail}" in [line.strip() for line in lines]


def test_jailed_upload_directories_never_execute(host):
    for jail in ("/srv/jails/ann", "/srv/jails/sam"):
        options = host.check_output(f"findmnt -n -o OPTIONS --target {jail}/upload").split(",")
        assert {"noexec", "nosuid", "nodev"} <= set(options), options
