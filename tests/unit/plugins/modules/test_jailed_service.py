# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import pwd
import stat
from unittest import mock

import pytest
from ansible.module_utils import basic

from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import render_unit
from ansible_collections.serversec.confine.tests.unit.plugins.modules.module_harness import (
    ExitJson,
    FailJson,
    exit_json,
    fail_json,
    module_args,
)
from ansible_collections.serversec.confine.plugins.modules import jailed_service

SECURITY_OK = '\u2192 Overall exposure level for web.service: 1.4 OK :-)\n'
SECURITY_BAD = '\u2192 Overall exposure level for web.service: 9.6 UNSAFE :-{\n'


class FakeSystemd:
    """systemctl, systemd-analyze and journalctl as seen by the module."""

    def __init__(self):
        self.active = 'inactive'
        self.sub = 'dead'
        self.file_state = ''
        self.calls = []
        self.verify = (0, '', '')
        self.security = (0, SECURITY_OK, '')
        self.dies_after_start = False
        self.fail_start = False

    def run_command(self, args, **kwargs):
        program = os.path.basename(args[0])
        if program == 'systemd-analyze':
            # The candidate must exist while it is analysed.
            assert os.path.exists(args[-1])
            return self.verify if args[1] == 'verify' else self.security
        if program == 'journalctl':
            return 0, 'web.service: Failed with result exit-code.\n', ''
        verb = args[1]
        if verb == 'show':
            return 0, (f'ActiveState={self.active}\nSubState={self.sub}\n'
                       f'UnitFileState={self.file_state}\n'), ''
        self.calls.append(verb)
        if verb in ('start', 'restart'):
            if self.fail_start:
                return 1, '', 'Job for web.service failed.'
            self.active, self.sub = (('activating', 'auto-restart') if self.dies_after_start
                                     else ('active', 'running'))
        elif verb == 'stop':
            self.active, self.sub = 'inactive', 'dead'
        elif verb == 'enable':
            self.file_state = 'enabled'
        elif verb == 'disable':
            self.file_state = 'disabled'
        return 0, '', ''


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake host: a systemd runtime dir, a unit dir, a jail with the program, a user."""
    runtime = tmp_path / 'run-systemd-system'
    runtime.mkdir()
    unit_dir = tmp_path / 'units'
    unit_dir.mkdir()
    jail = tmp_path / 'jail'
    (jail / 'usr' / 'sbin').mkdir(parents=True)
    program = jail / 'usr' / 'sbin' / 'lighttpd'
    program.write_text('never run')
    program.chmod(0o755)
    systemd = FakeSystemd()
    users = {'web': pwd.struct_passwd(('web', 'x', 990, 990, '', '/', '/usr/sbin/nologin')),
             'toor': pwd.struct_passwd(('toor', 'x', 0, 0, '', '/root', '/bin/sh'))}

    def getpwnam(name):
        return users[name]

    group = mock.Mock(gr_name='web', gr_gid=990)

    def getgrnam(name):
        if name != 'web':
            raise KeyError(name)
        return group

    monkeypatch.setattr(jailed_service, 'SYSTEMD_RUNTIME_DIR', str(runtime))
    monkeypatch.setattr(jailed_service, 'SETTLE_SECONDS', 0)
    monkeypatch.setattr(jailed_service.pwd, 'getpwnam', getpwnam)
    monkeypatch.setattr(jailed_service.grp, 'getgrgid', lambda gid: group)
    monkeypatch.setattr(jailed_service.grp, 'getgrnam', getgrnam)
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda self, args, **kwargs: systemd.run_command(args, **kwargs))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path',
                        lambda self, name, *args, **kwargs: f'/usr/bin/{name}')
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning: warnings.append(warning))
    return {'runtime': runtime, 'unit_dir': str(unit_dir), 'jail': str(jail), 'systemd': systemd,
            'warnings': warnings}


def params(host, **overrides):
    args = {
        'name': 'web.service',
        'jail': host['jail'],
        'command': ['/usr/sbin/lighttpd', '-D', '-f', '/etc/lighttpd/lighttpd.conf'],
        'user': 'web',
        'unit_dir': host['unit_dir'],
    }
    args.update(overrides)
    return args


def run(args, check_mode=False, diff=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with module_args(args):
        with pytest.raises((ExitJson, FailJson)) as excinfo:
            jailed_service.main()
    return excinfo.value.args[0]


def unit_file(host):
    return os.path.join(host['unit_dir'], 'web.service')


def expected_unit(host, **overrides):
    spec = {'environment': {}, 'capabilities': [], 'bind': [], 'bind_read_only': [],
            'extra_properties': {}, 'group': 'web'}
    spec.update(params(host, **overrides))
    return render_unit(spec)


def test_first_run_installs_enables_and_starts(host):
    result = run(params(host))
    assert result['changed'] is True
    assert result['exposure'] == 1.4
    assert result['exposure_rating'] == 'OK'
    assert result['unit_path'] == unit_file(host)
    with open(unit_file(host)) as handle:
        assert handle.read() == result['unit'] == expected_unit(host)
    assert stat.S_IMODE(os.stat(unit_file(host)).st_mode) == 0o644
    assert host['systemd'].calls == ['daemon-reload', 'enable', 'start']
    assert os.listdir(host['unit_dir']) == ['web.service']


def test_second_run_changes_nothing(host):
    run(params(host))
    host['systemd'].calls.clear()
    result = run(params(host))
    assert result['changed'] is False
    assert host['systemd'].calls == []


def test_changed_unit_restarts_running_service(host):
    run(params(host))
    host['systemd'].calls.clear()
    result = run(params(host, environment={'LANG': 'C.UTF-8'}))
    assert result['changed'] is True
    assert host['systemd'].calls == ['daemon-reload', 'restart']
    assert 'Environment="LANG=C.UTF-8"' in result['unit']


def test_present_leaves_stopped_service_stopped(host):
    run(params(host, state='stopped'))
    host['systemd'].calls.clear()
    result = run(params(host, state='present', environment={'A': '1'}))
    assert result['changed'] is True
    assert host['systemd'].calls == ['daemon-reload']


@pytest.mark.parametrize('state, running, calls, changed', [
    ('stopped', True, ['stop'], True),
    ('stopped', False, [], False),
    ('restarted', True, ['restart'], True),
    ('started', False, ['start'], True),
    ('present', True, [], False),
])
def test_run_state(host, state, running, calls, changed):
    run(params(host, state='started' if running else 'stopped'))
    host['systemd'].calls.clear()
    result = run(params(host, state=state))
    assert host['systemd'].calls == calls
    assert result['changed'] is changed


def test_disable(host):
    run(params(host))
    host['systemd'].calls.clear()
    result = run(params(host, enabled=False))
    assert result['changed'] is True
    assert host['systemd'].calls == ['disable']


def test_check_mode_writes_nothing_and_shows_diff(host):
    result = run(params(host), check_mode=True, diff=True)
    assert result['changed'] is True
    assert not os.path.exists(unit_file(host))
    assert host['systemd'].calls == []
    assert result['diff'] == {'before': '', 'after': expected_unit(host),
                              'before_header': unit_file(host), 'after_header': unit_file(host)}


def test_diff_only_when_asked(host):
    assert 'diff' not in run(params(host))


def test_max_exposure_refuses_before_writing(host):
    host['systemd'].security = (0, SECURITY_BAD, '')
    result = run(params(host, max_exposure=2.0))
    assert result['msg'] == ('web.service: exposure 9.6 (UNSAFE) is higher than max_exposure 2.0; '
                             'the unit was not installed')
    assert not os.path.exists(unit_file(host))
    assert host['systemd'].calls == []


def test_verify_error_refuses_before_writing(host):
    host['systemd'].verify = (1, '', 'web.service: Service has no ExecStart=. Refusing.\n'
                                     'web.service: Command /usr/sbin/lighttpd is not executable: '
                                     'No such file or directory\n')
    result = run(params(host))
    assert result['msg'] == ('systemd-analyze verify refused the unit web.service: '
                             'web.service: Service has no ExecStart=. Refusing.')
    assert not os.path.exists(unit_file(host))


def test_verify_false_not_executable_is_ignored(host):
    host['systemd'].verify = (1, '', 'web.service: Command /usr/sbin/lighttpd is not executable: '
                                     'No such file or directory\n')
    result = run(params(host))
    assert result['changed'] is True
    assert result['verify_warnings'] == []


def test_daemon_that_dies_fails_with_journal(host):
    host['systemd'].dies_after_start = True
    result = run(params(host))
    assert result['msg'] == 'web.service did not stay running (ActiveState=activating, SubState=auto-restart)'
    assert result['journal'] == ['web.service: Failed with result exit-code.']


def test_failed_start(host):
    host['systemd'].fail_start = True
    result = run(params(host))
    assert result['msg'] == ('/usr/bin/systemctl start web.service failed with status 1: '
                             'Job for web.service failed.')


def test_host_without_systemd(host):
    host['runtime'].rmdir()
    result = run(params(host))
    assert result['msg'] == (f"this host does not run systemd ({host['runtime']} is missing); "
                             'jailed_service needs systemd as init to run web.service')


@pytest.mark.parametrize('overrides, message', [
    ({'user': 'nobody-here'},
     'user: nobody-here does not exist on this host; create it first (a system user without login '
     'shell or home)'),
    ({'user': 'toor'},
     'user: toor has uid 0; a jailed daemon running as root can break out of its chroot'),
    ({'user': 'root'},
     "user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'group': 'missing'}, 'group: missing does not exist on this host'),
    ({'jail': '/nonexistent/jail'},
     'jail: /nonexistent/jail does not exist or is not a directory; build it first with '
     'serversec.confine.chroot_jail'),
    ({'command': ['/usr/sbin/nginx']},
     'command[0]: /usr/sbin/nginx does not exist in the jail {jail} (looked for '
     '{jail}/usr/sbin/nginx); add it with serversec.confine.chroot_jail binaries'),
    ({'command': ['nginx']}, "command[0]: 'nginx' must be an absolute path inside the jail"),
    ({'working_directory': '/var/www'}, 'working_directory: /var/www does not exist in the jail {jail}'),
    ({'read_write': ['/var/log/web']},
     'read_write: /var/log/web does not exist in the jail {jail}; create it with serversec.confine.chroot_jail '
     'directories'),
    ({'name': '../../etc/cron.d/x.service'},
     "name: '../../etc/cron.d/x.service' is not a valid unit name (allowed: letters, digits, "
     '":", "_", ".", "\\", "-" and one "@")'),
    ({'capabilities': ['CAP_SYS_ADMN']}, "capabilities: 'CAP_SYS_ADMN' is not a Linux capability"),
])
def test_refusals_name_the_field(host, overrides, message):
    result = run(params(host, **overrides))
    assert result['msg'] == message.format(jail=host['jail'])
    assert host['systemd'].calls == []
    assert os.listdir(host['unit_dir']) == []


@pytest.mark.parametrize('overrides', [
    {'user': 'nobody-here'},
    {'jail': '/nonexistent/jail'},
    {'command': ['/usr/sbin/nginx']},
])
def test_check_mode_only_warns_about_missing_prerequisites(host, overrides):
    result = run(params(host, **overrides), check_mode=True)
    assert result['changed'] is True
    assert len(host['warnings']) == 1
    assert host['warnings'][0].endswith('(check mode: an earlier task may create it)')
    assert host['systemd'].calls == []


def test_required_unless_absent(host):
    result = run({'name': 'web.service', 'unit_dir': host['unit_dir']})
    assert result['msg'] == 'state is started but all of the following are missing: jail, command, user'


def test_absent_stops_disables_and_removes(host):
    run(params(host))
    host['systemd'].calls.clear()
    result = run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']})
    assert result['changed'] is True
    assert host['systemd'].calls == ['stop', 'disable', 'daemon-reload']
    assert not os.path.exists(unit_file(host))
    host['systemd'].calls.clear()
    result = run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']})
    assert result['changed'] is False
    assert host['systemd'].calls == []


def test_absent_check_mode(host):
    run(params(host))
    host['systemd'].calls.clear()
    result = run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']},
                 check_mode=True)
    assert result['changed'] is True
    assert host['systemd'].calls == []
    assert os.path.exists(unit_file(host))


def test_working_directory_inside_the_jail(host):
    os.makedirs(os.path.join(host['jail'], 'var', 'www'))
    result = run(params(host, working_directory='/var/www'))
    assert 'WorkingDirectory=/var/www' in result['unit'].splitlines()


def test_read_write_inside_the_jail(host):
    os.makedirs(os.path.join(host['jail'], 'var', 'log', 'web'))
    result = run(params(host, read_write=['/var/log/web']))
    assert f"ReadWritePaths={host['jail']}/var/log/web" in result['unit'].splitlines()


def test_read_write_through_a_link_is_refused(host):
    os.symlink('/var/log', os.path.join(host['jail'], 'logs'))
    result = run(params(host, read_write=['/logs']), check_mode=True)
    assert result['msg'] == f"read_write: /logs goes through a symbolic link in the jail {host['jail']}"
