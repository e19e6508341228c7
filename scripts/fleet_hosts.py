"""Throw-away managed hosts for bench/fleet.py and scripts/lockout_e2e.py.

N systemd containers from the Debian 12 stand-in, started as the Molecule harness starts them
(same capabilities, tmpfs and cgroup mounts), on a network of their own (serversec-fleet,
172.30.78.0/24) so that they never collide with a Molecule run's instances and addresses. Each
one runs its sshd and has the account users give Ansible: `ansible`, logging in with a key,
with password-less sudo and Debian's default sudoers (no requiretty, so pipelining works with
become). Inventories are written for both ways of reaching them: `docker exec` (the
community.docker.docker connection, as Molecule does) and SSH (as users run playbooks).

The caller holds the engine's turn (molecule_run.take_turn()) while the hosts exist.
"""
import importlib.util
import os
import subprocess
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("molecule_run", ROOT / "scripts" / "molecule_run.py")
molecule_run = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(molecule_run)

NETWORK = "serversec-fleet"
SUBNET = "172.30.78.0/24"
USER = "ansible"
BOOT_TIMEOUT = 180
# inotify instances one booted systemd host holds (measured: 22 hosts fit in the default 128)
INOTIFY_PER_HOST = 5

# Run inside each host with the public key as $1: the account Ansible logs in with.
ACCOUNT_SCRIPT = """set -e
id ansible >/dev/null 2>&1 || useradd --create-home --shell /bin/bash ansible
install -d -m 0700 -o ansible -g ansible /home/ansible/.ssh
printf '%s\\n' "$1" > /home/ansible/.ssh/authorized_keys
chown ansible:ansible /home/ansible/.ssh/authorized_keys
chmod 0600 /home/ansible/.ssh/authorized_keys
printf 'ansible ALL=(ALL) NOPASSWD: ALL\\n' > /etc/sudoers.d/ansible
chmod 0440 /etc/sudoers.d/ansible
systemctl start ssh.service
"""


def name(index):
    return "serversec-fleet%d" % index


def address(index):
    return "172.30.78.%d" % (10 + index)


def docker(*args, check=True, **kwargs):
    result = subprocess.run(["docker", *args], capture_output=True, text=True, **kwargs)
    if check and result.returncode:
        raise RuntimeError("docker %s failed: %s" % (" ".join(args[:3]), result.stderr.strip()[-500:]))
    return result


def ssh_key(work):
    """The controller's key pair (made once under work/ssh)."""
    key = Path(work) / "ssh" / "id_ed25519"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "serversec-fleet-bench", "-f", str(key)],
                       check=True)
    return key


def check_inotify(count):
    """Every systemd host holds inotify instances of the same user (root): at the kernel's default
    limit of 128 about 20 hosts boot, and the next ones exit at once without a word."""
    path = Path("/proc/sys/fs/inotify/max_user_instances")
    needed = INOTIFY_PER_HOST * count + 32
    limit = int(path.read_text()) if path.exists() else needed
    if limit < needed:
        raise RuntimeError("%d systemd hosts need about %d inotify instances and the kernel allows %d: raise the "
                           "limit first (sysctl -w fs.inotify.max_user_instances=1024)" % (count, needed, limit))


def start(count, key):
    """Start hosts 1..count, wait for systemd, set up the SSH account; return their names."""
    check_inotify(count)
    image, reason = molecule_run.obtain_image("debian12")
    if reason:
        raise RuntimeError("the Debian 12 stand-in image is needed: %s" % reason)
    template = yaml.safe_load(molecule_run.BASE_CONFIG.read_text())["platforms"][0]
    if docker("network", "inspect", NETWORK, check=False).returncode:
        docker("network", "create", "--subnet", SUBNET, NETWORK)
    names = [name(index) for index in range(1, count + 1)]
    stop(names, keep_network=True)
    for index, host in enumerate(names, start=1):
        command = ["run", "--detach", "--name", host, "--hostname", host,
                   "--network", NETWORK, "--ip", address(index), "--cgroupns", template["cgroupns_mode"]]
        for cap in template["capabilities"]:
            command += ["--cap-add", cap]
        for option in template["security_opts"]:
            command += ["--security-opt", option]
        for mount in template["tmpfs"]:
            command += ["--tmpfs", mount]
        for volume in template["volumes"]:
            command += ["--volume", volume]
        docker(*command, image, template["command"])
    deadline = time.monotonic() + BOOT_TIMEOUT
    for host in names:
        wait_booted(host, deadline)
    public = Path("%s.pub" % key).read_text().strip()
    for host in names:
        docker("exec", host, "sh", "-c", ACCOUNT_SCRIPT, "sh", public)
    for index in range(1, count + 1):
        wait_for_port(address(index), 22)
    return names


def wait_booted(host, deadline):
    """Wait until systemd in the host has finished booting (its bus exists only after a moment)."""
    while True:
        state = docker("exec", host, "systemctl", "is-system-running", "--wait", check=False,
                       timeout=BOOT_TIMEOUT).stdout.strip()
        if state in ("running", "degraded"):
            return
        status = docker("inspect", "--format", "{{.State.Status}} (exit code {{.State.ExitCode}})", host,
                        check=False).stdout.strip()
        if time.monotonic() > deadline or not status.startswith("running"):
            raise RuntimeError("%s did not boot: systemd says %r, the container is %s" % (host, state, status))
        time.sleep(0.5)


def wait_for_port(host, port, timeout=30):
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=2) as sock:
                if sock.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("no sshd answers on %s:%d" % (host, port))
        time.sleep(0.5)


def stop(names, keep_network=False):
    if names:
        docker("rm", "--force", "--volumes", *names, check=False)
    if not keep_network:
        docker("network", "rm", NETWORK, check=False)


def write_inventory(directory, names, transport, key, group_vars):
    """An inventory of the hosts in the secure_servers group, reached by `transport` (docker or
    ssh), with group_vars linked to the policy the playbook reads."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    hosts = {}
    for host in names:
        index = int(host[len("serversec-fleet"):])
        if transport == "docker":
            hosts[host] = {"ansible_connection": "community.docker.docker", "ansible_host": host}
        else:
            hosts[host] = {
                "ansible_connection": "ssh",
                "ansible_host": address(index),
                "ansible_user": USER,
                "ansible_ssh_private_key_file": str(key),
                "ansible_ssh_extra_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
            }
    (directory / "hosts.yml").write_text(yaml.safe_dump({"secure_servers": {"hosts": hosts}}, sort_keys=False))
    link = directory / "group_vars"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(group_vars).resolve())
    return directory / "hosts.yml"


def ansible_env(config, fact_cache=None, collections=None):
    """Environment for ansible-playbook from this checkout's venv, with `config` as ansible.cfg
    (and, when given, fact_cache as the directory of a jsonfile fact cache it configures), and the
    collection of this checkout unless `collections` names another collections root."""
    venv_bin = ROOT / ".venv" / "bin"
    return dict(
        os.environ,
        PATH=os.pathsep.join([str(venv_bin), os.environ.get("PATH", "")]),
        ANSIBLE_CONFIG=str(config),
        ANSIBLE_COLLECTIONS_PATH=str(collections or ROOT / ".build" / "collections"),
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_RETRY_FILES_ENABLED="0",
        **({"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(fact_cache)} if fact_cache else {}),
    )
