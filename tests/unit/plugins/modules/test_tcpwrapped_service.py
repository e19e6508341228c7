# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcpwrapped_service against a fake systemd: the two units it writes, what it runs and refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible.module_utils import basic
from ansible_collections.serversec.confine.plugins.module_utils import _jailed_service, _tcpwrap_compile
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.modules import tcpwrapped_service
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__systemd_unit import DEFAULT_UNIT
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import safe_tmp_lstat
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_jailed_service import USERS, FakeSystemd

# The golden hardening of jailed_service's unit test, which this service shares.
HARDENING_LINES = DEFAULT_UNIT[DEFAULT_UNIT.index('CapabilityBoundingSet='):DEFAULT_UNIT.index('\n\n[Install]') + 1]

SOCKET = """\
# Managed by Ansible (serversec.confine.tcpwrapped_service); local edits are overwritten.
[Unit]
Description={program} behind tcpd on port 2323 (socket)

[Socket]
ListenStream=2323
Accept=yes
{filter}
[Install]
WantedBy=sockets.target
"""

SERVICE = """\
# Managed by Ansible (serversec.confine.tcpwrapped_service); local edits are overwritten.
[Unit]
Description={program} behind tcpd on port 2323
CollectMode=inactive-or-failed

[Service]
ExecStart=@{tcpd} {program} -h
StandardInput=socket
StandardOutput=socket
StandardError=journal
User=web
Group=web
{paths}""" + HARDENING_LINES


class FakeSocketSystemd(FakeSystemd):
    """A socket unit listens where a service runs."""

    def run_command(self, args, **kwargs):
        rc, out, err = super().run_command(args, **kwargs)
        if self.sub == 'running':
            self.sub = 'listening'
        if os.path.basename(args[0]) == 'systemd-analyze' and args[-1].endswith('.socket'):
            # The socket is verified next to its template.
            assert sorted(os.listdir(os.path.dirname(args[-1]))) == ['in.telnetd.socket', 'in.telnetd@.service']
        return rc, out, err


@pytest.fixture
def host(tmp_path, monkeypatch, request):
    runtime = tmp_path / 'run-systemd-system'
    runtime.mkdir()
    units = tmp_path / 'units'
    units.mkdir()
    sbin = tmp_path / 'sbin'
    sbin.mkdir()
    for name in ('tcpd', 'in.telnetd'):
        (sbin / name).write_text('never run')
        (sbin / name).chmod(0o755)
    log = tmp_path / 'tcpwrappers.log'
    log.write_text('')
    (tmp_path / 'hosts.allow').write_text('in.telnetd : 192.168.\n')
    (tmp_path / 'hosts.deny').write_text('ALL : ALL : spawn /bin/echo "%c tried to connect to %d" >> /var/log/x\n')
    systemd = FakeSocketSystemd()
    # The accounts of jailed_service's tests: web is uid 990 in its own group only.
    request.getfixturevalue('accounts')
    monkeypatch.setattr(_jailed_service, 'SYSTEMD_RUNTIME_DIR', str(runtime))
    monkeypatch.setattr(_jailed_service, 'SETTLE_SECONDS', 0)
    # The module rightly distrusts the sticky system temp dir above a jail.
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    monkeypatch.setattr(_tcpwrap_compile, 'ALLOW_PATH', str(tmp_path / 'hosts.allow'))
    monkeypatch.setattr(_tcpwrap_compile, 'DENY_PATH', str(tmp_path / 'hosts.deny'))
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: systemd.run_command(args, **kw))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: f'/usr/bin/{name}')
    return {'tmp': tmp_path, 'units': str(units), 'sbin': str(sbin), 'log': str(log), 'systemd': systemd}


@pytest.fixture
def accounts(monkeypatch):
    import grp
    import pwd
    monkeypatch.setattr(pwd, 'getpwnam', lambda name: pwd.struct_passwd((name, 'x', USERS[name][0], USERS[name][1], '',
                                                                         '/', '/usr/sbin/nologin')))
    monkeypatch.setattr(grp, 'getgrgid', lambda gid: grp.struct_group(({990: 'web', 0: 'root'}[gid], 'x', gid, [])))
    monkeypatch.setattr(os, 'getgrouplist', lambda user, gid: [gid])


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(tcpwrapped_service, args, **kwargs)


def params(host, **overrides):
    args = {'name': 'in.telnetd', 'port': 2323, 'command': [f"{host['sbin']}/in.telnetd", '-h'], 'user': 'web',
            'tcpd': f"{host['sbin']}/tcpd", 'unit_dir': host['units']}
    args.update(overrides)
    return args


def expected(host, filter_lines='', paths=''):
    program = f"{host['sbin']}/in.telnetd"
    return (SOCKET.format(program=program, filter=filter_lines),
            SERVICE.format(program=program, tcpd=f"{host['sbin']}/tcpd", paths=paths))


def unit_files(host):
    texts = []
    for name in ('in.telnetd.socket', 'in.telnetd@.service'):
        with open(os.path.join(host['units'], name)) as handle:
            texts.append(handle.read())
    return tuple(texts)


def test_installs_the_pair_enables_and_starts_the_socket_then_idempotent(host, run):
    result = run(params(host))
    assert result.get('failed') is not True, result.get('msg')
    assert result['changed'] is True
    assert (result['socket'], result['service']) == ('in.telnetd.socket', 'in.telnetd@.service')
    assert unit_files(host) == expected(host) == (result['socket_unit'], result['service_unit'])
    assert (result['exposure'], result['exposure_rating']) == (1.4, 'OK')
    assert host['systemd'].calls == ['daemon-reload', 'enable', 'start']
    assert 'ip_filter' not in result
    assert run(params(host))['changed'] is False


def test_tcpwrap_daemon_puts_the_compiled_filter_on_the_socket(host, run, module_warnings):
    # The test's log lies under /tmp, which every user may write.
    result = run(params(host, tcpwrap_daemon='in.telnetd', read_write=[host['log']], allow_user_writable_sources=True))
    assert result.get('failed') is not True, result.get('msg')
    assert unit_files(host) == expected(host, 'IPAddressAllow=192.168.0.0/16\nIPAddressDeny=any\n',
                                        f"ReadWritePaths={host['log']}\nNoExecPaths={host['log']}\n")
    assert result['ip_filter']['ip_address_allow'] == ['192.168.0.0/16']
    assert module_warnings == [f"{host['tmp']}/hosts.deny line 1: its spawn command cannot run in a kernel filter; "
                               'the filter keeps the verdict but nothing is executed or logged']


def test_jailed_pair_binds_the_policy_and_the_journal(host, run):
    jail = host['tmp'] / 'jail'
    (jail / 'usr' / 'sbin').mkdir(parents=True)
    for name in ('tcpd', 'in.telnetd'):
        (jail / 'usr' / 'sbin' / name).write_text('never run')
        (jail / 'usr' / 'sbin' / name).chmod(0o755)
    result = run(params(host, jail=str(jail), tcpd='/usr/sbin/tcpd', command=['/usr/sbin/in.telnetd', '-h'],
                        read_write=[host['log']], allow_user_writable_sources=True))
    assert result.get('failed') is not True, result.get('msg')
    service = result['service_unit']
    assert 'ExecStart=@/usr/sbin/tcpd /usr/sbin/in.telnetd -h\n' in service
    assert (f'RootDirectory={jail}\n'
            'BindReadOnlyPaths=-/etc/hosts.allow -/etc/hosts.deny /dev/log /run/systemd/journal/socket '
            f"/run/systemd/journal/stdout\nBindPaths={host['log']}\n"
            # what the daemon can write, it cannot execute: the bind's destination in the jail
            f"NoExecPaths={jail}{host['log']}\nCapabilityBoundingSet=\n") in service


def test_check_mode_writes_nothing_and_diffs_both_units(host, run):
    result = run(params(host), check=True, diff=True)
    assert result['changed'] is True
    assert [d['after'] for d in result['diff']] == list(expected(host))
    assert os.listdir(host['units']) == [] and host['systemd'].calls == []


def test_absent_stops_disables_and_removes(host, run):
    run(params(host))
    host['systemd'].calls = []
    result = run({'name': 'in.telnetd.socket', 'state': 'absent', 'unit_dir': host['units']})
    assert result['changed'] is True and os.listdir(host['units']) == []
    assert host['systemd'].calls == ['stop', 'stop', 'disable', 'daemon-reload']


def test_units_that_cannot_be_removed_fail_with_their_cause(host, run, monkeypatch):
    run(params(host))

    def denied(path):
        raise PermissionError(13, 'Permission denied', path)

    monkeypatch.setattr(os, 'remove', denied)
    result = run({'name': 'in.telnetd.socket', 'state': 'absent', 'unit_dir': host['units']})
    assert result['failed'] is True
    assert result['msg'] == f"unit_dir: cannot remove {host['units']}/in.telnetd.socket: Permission denied"


@pytest.mark.parametrize('overrides, message', [
    (dict(daemon_name='telnetd'), "daemon_name: tcpd matches the rules against the file name of the program it runs, "
                                  "here 'in.telnetd', not 'telnetd'; install the program under that name (a symbolic "
                                  'link such as /usr/local/sbin/telnetd) and give that path in command[0]'),
    (dict(user='root'), "user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    (dict(port=70000), 'port: 70000 is not a TCP port (1-65535)'),
    (dict(name='a@b'), 'name: \'a@b\' must not contain "@"; the module makes the template a@b@.service'),
    (dict(read_write=['/etc']), "read_write: '/etc' exposes the host's /etc to the wrapped daemon"),
    (dict(read_write=['/proc/sys']), "read_write: '/proc/sys' lies under /proc, the host's kernel and process interfaces"),
    (dict(command=['in.telnetd']), "command[0]: 'in.telnetd' must be an absolute path inside the jail"),
    (dict(tcpwrap_daemon='in.telnetd', name='x'), None),
])
def test_refusals_before_anything_is_written(host, run, overrides, message):
    if message is None:
        (host['tmp'] / 'hosts.allow').write_text('in.telnetd : LOCAL\n')
        message = (f"tcpwrap_daemon: {host['tmp']}/hosts.allow line 1: cannot be compiled into an IP filter: LOCAL "
                   'matches host names without a dot')
    result = run(params(host, **overrides))
    assert result['failed'] is True and result['msg'] == message
    assert os.listdir(host['units']) == [] and host['systemd'].calls == []


def test_a_writable_path_a_user_could_swap_is_refused(host, run):
    result = run(params(host, read_write=[host['log']]))
    assert result['msg'] == (f"read_write: {host['log']}: /tmp is group- or world-writable (mode 1777) (a non-root "
                             'user could swap what it holds); set allow_user_writable_sources to accept it')
    assert os.listdir(host['units']) == [] and host['systemd'].calls == []


def test_a_writable_path_inside_the_jail_is_refused(host, run):
    # uid 0 in the jail could swap it for a link to any host path, which systemd would bind.
    jail = host['tmp'] / 'jail'
    jail.mkdir()
    inside = f'{jail}/var/log/x.log'
    result = run(params(host, jail=str(jail), read_write=[inside], allow_user_writable_sources=True))
    assert result['msg'].startswith(f'read_write: {inside} lies inside the jail {jail}, where uid 0 in that jail could')
    assert os.listdir(host['units']) == [] and host['systemd'].calls == []


@pytest.mark.parametrize('check', [False, True])
def test_a_jail_a_user_could_swap_is_refused(host, run, check):
    # systemd follows RootDirectory= at each start: whoever writes /srv/shared could swap the jail.
    shared = host['tmp'] / 'shared'
    (shared / 'jail').mkdir(parents=True)
    shared.chmod(0o777)
    result = run(params(host, jail=str(shared / 'jail')), check=check)
    assert result['failed'] is True
    assert result['msg'].startswith(f"jail: {shared / 'jail'}: jail path component {shared} is group- or "
                                    'world-writable (mode 0777); systemd follows the jail path at every start')
    assert os.listdir(host['units']) == [] and host['systemd'].calls == []


def test_missing_program_fails_but_only_warns_in_check_mode(host, run, module_warnings):
    missing = params(host, command=[f"{host['sbin']}/nothere"])
    assert run(missing)['msg'] == f"command[0]: {host['sbin']}/nothere is not an executable file on this host"
    assert run(missing, check=True)['changed'] is True
    assert module_warnings[-1].endswith('(check mode: an earlier task may create it)')
