"""ssh_jails: jailed SFTP and shell logins over real SSH from a client container, uploads that
never execute, jail_exec, a refused bad jail, and state=absent (these last tests run last)."""

import json
import os
import subprocess
import tempfile

import pytest

ANN_JAIL = "/srv/jails/ann"
SAM_JAIL = "/srv/jails/sam"
MARKER = "/root/marker"
SSH_OPTIONS = ["-i", "/keys/id", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=20"]


def docker(*args, stdin=None):
    return subprocess.run(["docker", *args], input=stdin, capture_output=True, text=True, timeout=180, check=False)


def instance(host):
    """(image, network, IPv4 address) of the container under test."""
    name = host.backend.get_hostname()
    image = docker("inspect", "-f", "{{.Config.Image}}", name).stdout.strip()
    listing = docker(
        "inspect", "-f", "{{range $net, $conf := .NetworkSettings.Networks}}{{$net}} {{$conf.IPAddress}}\n{{end}}", name
    ).stdout.split("\n")
    networks = dict(line.split() for line in listing if len(line.split()) == 2)
    assert image and networks, f"cannot inspect container {name}"
    network = "serversec-molecule" if "serversec-molecule" in networks else sorted(networks)[0]
    return image, network, networks[network]


@pytest.fixture(scope="module")
def client(host):
    """Run ssh/sftp in a throw-away client container on the instance's network with the key
    prepare made; ``client(argv, stdin=None, files=None)`` returns the CompletedProcess."""
    image, network, address = instance(host)
    keys = tempfile.mkdtemp(prefix="ssh-jails-client-")
    with open(os.path.join(keys, "id"), "w") as handle:
        handle.write(host.file("/root/client_key").content_string)
    os.chmod(os.path.join(keys, "id"), 0o600)

    def run(argv, stdin=None, files=None):
        for name, content in (files or {}).items():
            path = os.path.join(keys, name)
            with open(path, "w") as handle:
                handle.write(content)
            os.chmod(path, 0o755)
        argv = [part.replace("{address}", address) for part in argv]
        return docker("run", "--rm", "-i", "--network", network, "-v", f"{keys}:/keys", "--entrypoint", argv[0],
                      image, *argv[1:], stdin=stdin)
    return run


def ssh(client, user, command, stdin=""):
    return client(["ssh", *SSH_OPTIONS, f"{user}@{{address}}", command], stdin=stdin)


def sftp(client, user, batch, files=None):
    return client(["sftp", *SSH_OPTIONS, "-b", "-", f"{user}@{{address}}"], stdin=batch, files=files)


# Keys every successful run returns: testinfra drops "failed" from results (and does not
# always raise), so a failure is a result without them.
SUCCESS_KEYS = {"jail_exec": "rc", "ssh_jail": "changes"}


def run_module(host, module, args, check=False):
    """(failed, result) of a module run on the instance."""
    try:
        result = host.ansible(f"serversec.confine.{module}", json.dumps(args), check=check)
    except host.ansible.AnsibleException as exc:
        return True, exc.result
    return SUCCESS_KEYS[module] not in result or result.get("failed", False), result


# -------------------------------------------------------------------- the configuration

def test_dropins_hold_the_match_blocks(host):
    ann = host.file("/etc/ssh/sshd_config.d/sftp-ann.conf")
    assert ann.user == "root" and ann.mode == 0o644
    lines = [line.strip() for line in ann.content_string.splitlines()]
    for line in ("Match User ann", f"ChrootDirectory {ANN_JAIL}", "ForceCommand internal-sftp -l INFO -u 0077",
                 "AuthorizedKeysFile /etc/ssh/authorized_keys/%u", "DisableForwarding yes",
                 "AllowTcpForwarding no", "AllowAgentForwarding no", "X11Forwarding no", "PermitTunnel no"):
        assert line in lines
    sam = [line.strip() for line in host.file("/etc/ssh/sshd_config.d/shell-sam.conf").content_string.splitlines()]
    assert "Match User sam" in sam and f"ChrootDirectory {SAM_JAIL}" in sam
    assert not any(line.startswith("ForceCommand") for line in sam)


@pytest.mark.parametrize("user, jail, force", [("ann", ANN_JAIL, "internal-sftp -l INFO -u 0077"), ("sam", SAM_JAIL, None)])
def test_sshd_applies_the_blocks(host, user, jail, force):
    effective = host.check_output(f"sshd -T -C user={user},host=client,addr=192.0.2.1")
    settings = dict(line.split(" ", 1) for line in effective.splitlines() if " " in line)
    assert settings["chrootdirectory"] == jail
    assert settings["authorizedkeysfile"] == "/etc/ssh/authorized_keys/%u"
    assert settings["allowtcpforwarding"] == "no" and settings["x11forwarding"] == "no"
    assert settings["permittunnel"] == "no" and settings["allowagentforwarding"] == "no"
    assert settings.get("forcecommand", "none") == (force or "none")
    witness = host.check_output("sshd -T -C user=wit,host=client,addr=192.0.2.1")
    assert "chrootdirectory none" in witness.splitlines()


def test_keys_stay_outside_the_jails(host):
    for user in ("ann", "sam"):
        keys = host.file(f"/etc/ssh/authorized_keys/{user}")
        assert keys.user == "root" and keys.mode == 0o644 and "ssh-ed25519" in keys.content_string
    assert not host.file(f"{ANN_JAIL}/etc/ssh").exists and not host.file(f"{SAM_JAIL}/etc/ssh").exists


@pytest.mark.parametrize("where", [f"{ANN_JAIL}/upload", f"{SAM_JAIL}/upload", f"{ANN_JAIL}/dev/log"])
def test_mounts_are_noexec_and_persistent(host, where):
    options = host.check_output(f"findmnt -n -o OPTIONS --target {where}").split(",")
    assert {"noexec", "nosuid", "nodev"} <= set(options)
    unit = host.check_output(f"systemd-escape --path --suffix=mount {where}")
    assert host.file(f"/etc/systemd/system/{unit}").exists
    assert host.run(f"systemctl is-enabled {unit}").stdout.strip() == "enabled"


def test_upload_directories_belong_to_their_users(host):
    assert host.file(f"{ANN_JAIL}/upload").user == "ann" and host.file(f"{ANN_JAIL}/upload").mode == 0o750
    assert host.file(f"{SAM_JAIL}/upload").user == "sam"
    assert host.file(ANN_JAIL).user == "root" and host.file(ANN_JAIL).mode & 0o022 == 0


# -------------------------------------------------------------------- the SFTP-only user

def test_sftp_lists_only_the_jail_and_upload_works(host, client):
    result = sftp(client, "ann", "ls -1a /\nput /keys/payload /upload/payload\nchmod 755 /upload/payload\nls -1 /upload\n",
                  files={"payload": "#!/bin/sh\necho pwned\n"})
    assert result.returncode == 0, result.stderr
    listing = result.stdout
    assert "/dev" in listing and "/upload" in listing
    for host_only in ("/root", "/home", "/srv", "/usr", "/bin", "/proc"):
        assert host_only not in listing.split()
    uploaded = host.file(f"{ANN_JAIL}/upload/payload")
    assert uploaded.user == "ann" and uploaded.content_string == "#!/bin/sh\necho pwned\n"
    assert uploaded.mode == 0o755


def test_sftp_cannot_read_the_root_marker(host, client):
    result = sftp(client, "ann", f"get {MARKER} /tmp/stolen\n")
    assert result.returncode != 0
    assert "not found" in result.stderr.lower() or "no such file" in result.stderr.lower()
    assert "host secret" not in result.stdout


def test_sftp_user_gets_no_shell(client):
    result = ssh(client, "ann", "id; echo shell-ran")
    assert "uid=" not in result.stdout and "shell-ran" not in result.stdout


def test_internal_sftp_logs_reach_the_host(host, client):
    assert sftp(client, "ann", "ls /upload\n").returncode == 0
    journal = host.run("journalctl --no-pager -q --since=-5min").stdout
    assert "session opened for local user ann" in journal


# -------------------------------------------------------------------- the shell user

def test_shell_user_sees_the_jail(client):
    result = ssh(client, "sam", "pwd; ls /; id")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] == "/"
    assert {"bin", "dev", "etc", "upload"} <= set(lines) and not {"root", "home", "srv", "proc"} & set(lines)
    ident = result.stdout.strip().splitlines()[-1]
    assert ident.startswith("uid=") and "(sam)" in ident
    gid_part = ident.split(" groups=")[1]
    assert gid_part.count("(") == 1 and "(sam)" in gid_part


def test_shell_user_has_no_su_sudo_or_marker(client):
    result = ssh(client, "sam", "ls /root/marker; command -v su sudo; ls /bin/su /usr/bin/sudo; echo done")
    assert result.stdout.strip() == "done"
    assert "No such file" in result.stderr


def test_uploaded_executable_does_not_run_for_the_shell_user(host, client):
    result = ssh(client, "sam", "cp /bin/ls /upload/mine && chmod 755 /upload/mine && /upload/mine /; echo rc=$?")
    assert "rc=126" in result.stdout and "Permission denied" in result.stderr
    assert host.file(f"{SAM_JAIL}/upload/mine").mode == 0o755


def test_uploaded_executable_does_not_run_in_a_jailed_service(host):
    result = host.run(f"systemd-run --wait --pipe --quiet -p RootDirectory={SAM_JAIL} -p User=65534 /upload/mine /")
    assert result.rc != 0
    control = host.run(f"systemd-run --wait --pipe --quiet -p RootDirectory={SAM_JAIL} -p User=65534 /bin/ls /")
    assert control.rc == 0 and "upload" in control.stdout.split()


# -------------------------------------------------------------------- jail_exec

def test_jail_exec_runs_as_sam(host):
    failed, result = run_module(host, "jail_exec", {"jail": SAM_JAIL, "argv": ["/bin/bash", "-c", "ls /bin; id"], "user": "sam"})
    assert not failed and result["rc"] == 0, result
    assert "bash" in result["stdout"].split() and "ls" in result["stdout"].split()
    sam = host.user("sam")
    assert f"uid={sam.uid}(sam) gid={sam.gid}(sam) groups={sam.gid}(sam)" in result["stdout"]


def test_jail_exec_refuses_root(host):
    failed, result = run_module(host, "jail_exec", {"jail": SAM_JAIL, "argv": ["/bin/ls"], "user": "root"})
    assert failed, result
    assert result["msg"] == "user 'root' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"


def test_jail_exec_names_a_missing_program(host):
    failed, result = run_module(host, "jail_exec", {"jail": SAM_JAIL, "argv": ["/usr/bin/python3"], "user": "sam"})
    assert failed and result["msg"] == f"program /usr/bin/python3 does not exist in the jail {SAM_JAIL}"


def test_jail_exec_cannot_run_an_upload(host):
    failed, result = run_module(host, "jail_exec", {"jail": SAM_JAIL, "argv": ["/upload/mine"], "user": "sam"})
    assert failed and "Permission denied" in result["msg"]


# -------------------------------------------------------------------- refusals, idempotence, removal

def sshd_main_pid(host):
    return host.check_output("systemctl show -p MainPID --value ssh.service")


def test_bad_jail_is_refused_before_sshd_is_touched(host, client):
    pid = sshd_main_pid(host)
    before = host.check_output("ls /etc/ssh/sshd_config.d")
    failed, result = run_module(host, "ssh_jail", {"name": "bad", "users": ["wit"], "jail": "/srv/open/bad"})
    assert failed, result
    assert result["msg"] == ("jail path component /srv/open is group- or world-writable (mode 0775) "
                             "(OpenSSH refuses such a ChrootDirectory)")
    assert host.check_output("ls /etc/ssh/sshd_config.d") == before
    assert sshd_main_pid(host) == pid
    witness = ssh(client, "wit", "id -un")
    assert witness.returncode == 0 and witness.stdout.strip() == "wit", witness.stderr
    assert ssh(client, "sam", "pwd").stdout.strip() == "/"


def test_second_run_changes_nothing(host):
    args = {"name": "sftp-ann", "users": ["ann"], "jail": ANN_JAIL, "writable": [{"path": "/upload"}]}
    failed, result = run_module(host, "ssh_jail", args)
    assert not failed and not result["changed"], result


def test_earlier_drop_in_cancelling_the_chroot_is_refused(host):
    """sshd keeps the first ChrootDirectory it obtains: a drop-in sorting before ours cancels the jail."""
    args = {"name": "sftp-ann", "users": ["ann"], "jail": ANN_JAIL, "writable": [{"path": "/upload"}]}
    pid = sshd_main_pid(host)
    host.run_expect([0], "printf 'Match User ann\\n    ChrootDirectory none\\n' > /etc/ssh/sshd_config.d/00-local.conf")
    try:
        failed, result = run_module(host, "ssh_jail", args)
    finally:
        host.run_expect([0], "rm -f /etc/ssh/sshd_config.d/00-local.conf")
    assert failed, result
    assert result["msg"].startswith("user ann: with the new /etc/ssh/sshd_config.d/sftp-ann.conf, sshd would use "
                                    f"'ChrootDirectory none' for a login from 127.0.0.1, not 'ChrootDirectory {ANN_JAIL}' "
                                    "of this jail: an earlier Match block or drop-in"), result
    assert sshd_main_pid(host) == pid
    failed, result = run_module(host, "ssh_jail", args)
    assert not failed and not result["changed"], result


def test_absent_removes_blocks_and_mounts(host, client):
    for name, user, jail in (("sftp-ann", "ann", ANN_JAIL), ("shell-sam", "sam", SAM_JAIL)):
        failed, result = run_module(host, "ssh_jail", {"name": name, "users": [user], "jail": jail, "state": "absent"})
        assert not failed and result["changed"], result
        assert not host.file(f"/etc/ssh/sshd_config.d/{name}.conf").exists
        assert host.run(f"findmnt -n {jail}/upload").rc != 0
        assert host.run(f"findmnt -n {jail}/dev/log").rc != 0
        assert host.run(f"ls /etc/systemd/system/ | grep -c {jail.strip('/').replace('/', '-')}").stdout.strip() == "0"
        failed, again = run_module(host, "ssh_jail", {"name": name, "users": [user], "jail": jail, "state": "absent"})
        assert not failed and not again["changed"]
    assert host.run("sshd -t").rc == 0
    assert host.file(f"{ANN_JAIL}/upload/payload").exists  # the users' data stays
    assert ssh(client, "wit", "id -un").stdout.strip() == "wit"
