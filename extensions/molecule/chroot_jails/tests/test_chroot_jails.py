"""chroot_jails: the jails run, stay current and stay shut."""

import json
import os

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "converge.yml")) as handle:
    JAILS = {jail["path"]: jail for jail in yaml.safe_load(handle)[0]["vars"]["chroot_jails_list"]}
MODULE = "serversec.confine.chroot_jail"


def run_module(host, args):
    """Run the module for real on the instance; returns (failed, result).

    testinfra drops the "failed" key from results, so a failure is a result
    without the keys every successful run returns.
    """
    try:
        result = host.ansible(MODULE, json.dumps(args), check=False)
    except host.ansible.AnsibleException as exc:
        return True, exc.result
    return "added" not in result, result


def test_bash_and_coreutils_run_as_nobody(host):
    cmd = host.run("chroot --userspec=nobody:nogroup /srv/jails/shell /bin/bash -c 'ls /bin; id'")
    assert cmd.rc == 0, cmd.stderr
    listing = cmd.stdout.split()
    for tool in ("bash", "ls", "cat", "id", "sort"):
        assert tool in listing
    assert "uid=65534(nobody) gid=65534(nogroup)" in cmd.stdout


def test_jailed_user_cannot_write_outside_its_directories(host):
    cmd = host.run("chroot --userspec=nobody:nogroup /srv/jails/shell /bin/bash -c 'echo x > /bin/evil'")
    assert cmd.rc != 0 and "Permission denied" in cmd.stderr
    assert host.run("chroot --userspec=nobody:nogroup /srv/jails/shell /bin/bash -c 'echo ok > /tmp/ok'").rc == 0


def test_dns_profile_resolves_name_from_jail_hosts(host):
    cmd = host.run("chroot --userspec=nobody:nogroup /srv/jails/dns /usr/bin/getent hosts jailtest.example")
    assert cmd.rc == 0, cmd.stderr
    assert cmd.stdout.split()[:2] == ["192.0.2.77", "jailtest.example"]


def test_state_outside_the_jail_and_devices(host):
    # the module's state lives on the host, never in the jail: STEM.HASH.json in the state_dir
    state_dir = host.file("/var/lib/serversec-confine/jails")
    assert state_dir.is_directory and state_dir.user == "root" and state_dir.mode == 0o700
    state = host.file("/var/lib/serversec-confine/jails/srv-jails-shell.f83e30e62e37d9aec175dd62.json")
    assert state.user == "root" and state.mode == 0o600
    assert json.loads(state.content_string)["jail"] == "/srv/jails/shell"
    assert not host.file("/srv/jails/shell/.serversec-jail.json").exists
    assert host.run("stat -c %F /srv/jails/shell/dev/null").stdout.strip() == "character special file"
    assert host.run("stat -c %t:%T /dev/null").stdout == host.run("stat -c %t:%T /srv/jails/shell/dev/null").stdout
    assert host.file("/srv/jails/web/var/log/lighttpd").user == "www-data"
    assert host.file("/srv/jails/shell/etc/passwd").content_string.splitlines()[1].startswith("nobody:x:65534:")
    assert not host.file("/srv/jails/shell/etc/shadow").exists


def test_replaced_host_library_is_refreshed_and_reported(host):
    real = host.run("readlink -f /lib/x86_64-linux-gnu/libtinfo.so.6").stdout.strip()
    assert real.startswith("/usr/lib/")
    backup = "/root/libtinfo.serversec-backup"
    assert host.run("cp -p %s %s" % (real, backup)).rc == 0
    try:
        # an "upgrade" the way dpkg does it: new file (new content and mtime; trailing bytes
        # do not hurt an ELF file) renamed over the old one
        assert host.run("cp %s %s.new && printf serversec-upgrade >> %s.new && mv %s.new %s"
                        % (real, real, real, real, real)).rc == 0
        failed, result = run_module(host, JAILS["/srv/jails/shell"])
        assert not failed, result
        assert result["changed"] and result["updated"] == [real]
        jail_copy = host.file("/srv/jails/shell" + real)
        assert jail_copy.sha256sum == host.file(real).sha256sum
        assert host.run("chroot --userspec=nobody:nogroup /srv/jails/shell /bin/bash -c 'ls /'").rc == 0
    finally:
        host.run("cp -p %s %s.orig && mv %s.orig %s && rm -f %s" % (backup, real, real, real, backup))
    _failed, again = run_module(host, JAILS["/srv/jails/shell"])
    assert again["updated"] == [real]
    assert not run_module(host, JAILS["/srv/jails/shell"])[1]["changed"]


def test_jail_under_world_writable_directory_is_refused(host):
    failed, result = run_module(host, {"path": "/srv/open/jail", "binaries": ["/bin/bash"]})
    assert failed
    assert result["msg"] == "jail path component /srv/open is group- or world-writable (mode 1777)"
    assert not host.file("/srv/open/jail").exists


@pytest.mark.parametrize("bad, message", [
    ({"binaries": ["/usr/bin/no-such-tool"]}, "binary /usr/bin/no-such-tool does not exist on the host"),
    ({"binaries": ["bin/bash"]}, "binary 'bin/bash' is not an absolute path"),
])
def test_bad_input_changes_nothing(host, bad, message):
    before = host.run("find /srv/jails/shell -printf '%p %s %T@\\n' | sort").stdout
    spec = dict(JAILS["/srv/jails/shell"], binaries=JAILS["/srv/jails/shell"]["binaries"] + bad["binaries"])
    failed, result = run_module(host, spec)
    assert failed and result["msg"] == message
    assert host.run("find /srv/jails/shell -printf '%p %s %T@\\n' | sort").stdout == before


def test_audit_reports_writable_and_devices(host):
    failed, result = run_module(host, JAILS["/srv/jails/web"])
    assert not failed and not result["changed"]
    assert result["audit"]["writable"] == ["/var/log/lighttpd"]
    assert result["audit"]["devices"] == ["/dev/null", "/dev/urandom"]
    assert result["audit"]["setuid"] == []
