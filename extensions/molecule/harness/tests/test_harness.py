"""The harness containers are real systemd hosts."""


def test_systemd_is_pid_1(host):
    assert host.file("/proc/1/comm").content_string.strip() == "systemd"


def test_system_is_up(host):
    state = host.run("systemctl is-system-running").stdout.strip()
    assert state in ("running", "degraded"), host.run("systemctl --failed --no-pager").stdout


def test_unit_with_root_directory_and_user_ran(host):
    probe = host.service("harness-probe.service")
    result = host.run("systemctl show -p Result --value harness-probe.service")
    assert probe.is_running or result.stdout.strip() == "success"
    assert host.run("systemctl show -p ActiveState --value harness-probe.service").stdout.strip() == "active"


def test_python3_and_sshd_are_present(host):
    assert host.exists("python3")
    assert host.file("/usr/sbin/sshd").exists
