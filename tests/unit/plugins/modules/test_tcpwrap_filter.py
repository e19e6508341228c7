# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcpwrap_filter against a fake systemctl: the drop-in it writes, what it runs and refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest
from ansible.module_utils import basic
from ansible_collections.serversec.confine.plugins.module_utils import _jailed_service, _tcpwrap_filter
from ansible_collections.serversec.confine.plugins.modules import tcpwrap_filter

ALLOW = 'sshd : 192.168. EXCEPT 192.168.1.0/24\n'
DENY = 'ALL : ALL : spawn /bin/echo "%c tried to connect to %d" >> /var/log/tcpwrappers.log\n'


class FakeSystemctl:
    def __init__(self):
        self.calls = []
        self.load_state = 'loaded'
        self.active = 'active'
        self.main_pid = '4242'
        self.cat = '# /usr/lib/systemd/system/ssh.service\n[Service]\nExecStart=/usr/sbin/sshd -D\n'

    def run_command(self, args, **kwargs):
        verb = args[1]
        if verb == 'show':
            return 0, (f'LoadState={self.load_state}\nActiveState={self.active}\nMainPID={self.main_pid}\n'), ''
        if verb == 'cat':
            return 0, self.cat, ''
        self.calls.append(verb)
        return 0, '', ''


@pytest.fixture
def host(tmp_path, monkeypatch):
    runtime = tmp_path / 'run-systemd-system'
    runtime.mkdir()
    units = tmp_path / 'units'
    units.mkdir()
    (tmp_path / 'hosts.allow').write_text(ALLOW)
    (tmp_path / 'hosts.deny').write_text(DENY)
    systemctl = FakeSystemctl()
    monkeypatch.setattr(_jailed_service, 'SYSTEMD_RUNTIME_DIR', str(runtime))
    monkeypatch.setattr(_tcpwrap_filter, 'ssh_connection', lambda: None)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', lambda self, args, **kw: systemctl.run_command(args))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *a, **kw: f'/usr/bin/{name}')
    return {'tmp': tmp_path, 'units': str(units), 'systemctl': systemctl,
            'dropin': str(units / 'ssh.service.d' / 'serversec-tcpwrap-filter.conf')}


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(tcpwrap_filter, args, **kwargs)


def params(host, **overrides):
    args = {'unit': 'ssh', 'tcpwrap_daemon': 'sshd', 'unit_dir': host['units'],
            'allow_path': str(host['tmp'] / 'hosts.allow'), 'deny_path': str(host['tmp'] / 'hosts.deny')}
    args.update(overrides)
    return args


def expected_dropin(host):
    return (
        '# Managed by Ansible (serversec.confine.tcpwrap_filter); local edits are overwritten.\n'
        f"# The TCP wrappers policy of {host['tmp']}/hosts.allow and {host['tmp']}/hosts.deny for daemon \"sshd\",\n"
        f"# compiled from {host['tmp']}/hosts.allow line 1, {host['tmp']}/hosts.deny line 1.\n"
        '[Service]\n'
        'IPAddressAllow=192.168.0.0/24 192.168.2.0/23 192.168.4.0/22 192.168.8.0/21 192.168.16.0/20 '
        '192.168.32.0/19 192.168.64.0/18 192.168.128.0/17\n'
        'IPAddressDeny=any\n'
    )


def test_writes_the_dropin_reloads_restarts_nothing_then_idempotent(host, run, module_warnings):
    result = run(params(host))
    assert result.get('failed') is not True, result.get('msg')
    assert (result['changed'], result['unit'], result['dropin_path'], result['restarted']) == (
        True, 'ssh.service', host['dropin'], False)
    with open(host['dropin']) as handle:
        assert handle.read() == expected_dropin(host)
    assert stat.S_IMODE(os.stat(host['dropin']).st_mode) == 0o644
    assert host['systemctl'].calls == ['daemon-reload']
    assert result['ip_address_deny'] == ['any']
    spawn = (f"{host['tmp']}/hosts.deny line 1: its spawn command cannot run in a kernel filter; the filter keeps "
             'the verdict but nothing is executed or logged')
    assert result['filter_warnings'] == [spawn] and spawn in module_warnings
    again = run(params(host))
    assert again['changed'] is False and host['systemctl'].calls == ['daemon-reload']


def test_check_mode_writes_and_reloads_nothing_and_shows_the_diff(host, run):
    result = run(params(host), check=True, diff=True)
    assert result['changed'] is True
    assert result['diff']['before'] == '' and result['diff']['after'] == expected_dropin(host)
    assert not os.path.exists(os.path.dirname(host['dropin']))
    assert host['systemctl'].calls == []


def test_restart_only_when_asked_and_running(host, run):
    result = run(params(host, restart=True))
    assert result['restarted'] is True and host['systemctl'].calls == ['daemon-reload', 'restart']
    host['systemctl'].calls = []
    (host['tmp'] / 'hosts.allow').write_text('sshd : 10.\n')
    host['systemctl'].active = 'inactive'
    result = run(params(host, restart=True))
    assert (result['changed'], result['restarted']) == (True, False)
    assert host['systemctl'].calls == ['daemon-reload']


def test_state_absent_removes_the_dropin_and_reloads(host, run):
    run(params(host))
    host['systemctl'].calls = []
    result = run({'unit': 'ssh.service', 'state': 'absent', 'unit_dir': host['units']})
    assert result['changed'] is True and not os.path.exists(host['dropin'])
    assert host['systemctl'].calls == ['daemon-reload']
    assert run({'unit': 'ssh.service', 'state': 'absent', 'unit_dir': host['units']})['changed'] is False


@pytest.mark.parametrize('allow, message', [
    ('sshd : LOCAL\n', 'tcpwrap_daemon: {allow} line 1: cannot be compiled into an IP filter: LOCAL matches host '
                       'names without a dot'),
    ('sshd : .example.com : twist /bin/false\n', 'tcpwrap_daemon: {allow} line 1: cannot be compiled into an IP '
                                                 'filter: ".example.com" is a domain; only addresses, a.b. prefixes, '
                                                 'n/m masks, /len, [v6]/len and ALL can be'),
])
def test_uncompilable_policy_is_refused_before_anything_is_written(host, run, allow, message):
    (host['tmp'] / 'hosts.allow').write_text(allow)
    result = run(params(host))
    assert result['failed'] is True
    assert result['msg'] == message.format(allow=host['tmp'] / 'hosts.allow')
    assert not os.path.exists(os.path.dirname(host['dropin'])) and host['systemctl'].calls == []


@pytest.mark.parametrize('line', ['IPAddressAllow=10.0.0.0/8', 'IPAddressDeny='])
def test_a_unit_that_filters_elsewhere_is_refused(host, run, line):
    # An allow list elsewhere adds to ours; an empty assignment read after ours resets it.
    host['systemctl'].cat += f'\n# /etc/systemd/system/ssh.service.d/zz-local.conf\n[Service]\n{line}\n'
    result = run(params(host))
    assert result['msg'] == (f'unit: ssh.service already sets an IP address filter (/etc/systemd/system/ssh.service.d/'
                             f'zz-local.conf: {line}); systemd adds lists together, which would widen '
                             'the policy. Remove that setting first')
    assert host['systemctl'].calls == []


def test_our_own_dropin_in_systemctl_cat_is_not_foreign(host, run):
    run(params(host))
    with open(host['dropin']) as handle:
        host['systemctl'].cat += f"\n# {host['dropin']}\n" + handle.read()
    (host['tmp'] / 'hosts.allow').write_text('sshd : 10.\n')
    assert run(params(host))['changed'] is True


def test_a_missing_unit_fails_but_only_warns_in_check_mode(host, run, module_warnings):
    host['systemctl'].load_state = 'not-found'
    assert run(params(host))['msg'] == 'unit: ssh.service is not installed on this host'
    assert run(params(host), check=True)['changed'] is True
    assert module_warnings[-1] == ('unit: ssh.service is not installed on this host (check mode: an earlier task may '
                                   'create it)')


@pytest.mark.parametrize('unit, client, allow_lockout, refused', [
    ('ssh', '10.9.9.9', False, True),
    ('ssh', '10.9.9.9', True, False),
    ('ssh', '192.168.7.7', False, False),
    ('vsftpd', '10.9.9.9', False, False),
])
def test_lockout_guard(host, run, monkeypatch, unit, client, allow_lockout, refused):
    monkeypatch.setattr(_tcpwrap_filter, 'ssh_connection', lambda: (client, '192.0.2.1'))
    result = run(params(host, unit=unit, allow_lockout=allow_lockout))
    if refused:
        assert result['msg'] == (f'refusing to filter ssh.service: the policy for sshd denies {client}, the client of '
                                 'the SSH connection Ansible is using (to 192.0.2.1). Grant that client first, or set '
                                 'allow_lockout=true if you really mean it')
        assert host['systemctl'].calls == []
    else:
        assert result.get('failed') is not True, result.get('msg')


def test_lockout_guard_finds_the_unit_by_its_main_process(host, run, monkeypatch):
    monkeypatch.setattr(_tcpwrap_filter, 'ssh_connection', lambda: ('10.9.9.9', '192.0.2.1'))
    monkeypatch.setattr(_tcpwrap_filter, 'process_ancestors', lambda: [os.getpid(), 4242])
    result = run(params(host, unit='dropbear'))
    assert result['msg'].startswith('refusing to filter dropbear.service: the policy for sshd denies 10.9.9.9')


def test_process_ancestors_reads_parents(tmp_path):
    for pid, parent in ((30, 20), (20, 10), (10, 1)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / 'stat').write_text(f'{pid} (a) b) S {parent} 0 0\n')
    assert _tcpwrap_filter.process_ancestors(str(tmp_path), 30) == [30, 20, 10]


@pytest.mark.parametrize('unit, message', [
    ('ssh.socket', None),
    ('web.timer', "unit: 'web.timer' is a timer unit; tcpwrap_filter manages .service and .socket units"),
    ('a b', "unit: 'a b.service' is not a valid unit name"),
])
def test_unit_names(unit, message):
    if message is None:
        assert _tcpwrap_filter.filter_unit_name(unit) == unit
    else:
        with pytest.raises(_tcpwrap_filter.ServiceError) as excinfo:
            _tcpwrap_filter.filter_unit_name(unit)
        assert str(excinfo.value).startswith(message)
