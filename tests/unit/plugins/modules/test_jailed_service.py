# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailed_service end to end against a fake systemd: what it writes, runs and refuses."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import stat

import pytest
from ansible.module_utils import basic
from ansible_collections.serversec.confine.plugins.module_utils import _analysis_record, _jailed_service
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as chroot_host
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.modules import jailed_service
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__systemd_unit import DEFAULT_UNIT
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import safe_tmp_lstat, trust_tmp_source_dir

SECURITY_OK = '\u2192 Overall exposure level for web.service: 1.4 OK :-)\n'
SECURITY_BAD = '\u2192 Overall exposure level for web.service: 9.6 UNSAFE :-{\n'

# The golden unit of the module_utils test, for this test's jail.
EXPECTED_UNIT = DEFAULT_UNIT.replace('/srv/jails/web', '{jail}')


class FakeSystemd:
    """systemctl, systemd-analyze and journalctl as seen by the module."""

    def __init__(self):
        self.active = 'inactive'
        self.sub = 'dead'
        self.file_state = ''
        self.calls = []
        self.shows = []
        self.analyses = []
        self.verify = (0, '', '')
        self.security = (0, SECURITY_OK, '')
        self.dies_after_start = False
        self.fail_start = False

    def run_command(self, args, **kwargs):
        program = os.path.basename(args[0])
        if program == 'systemd-analyze':
            # The candidate must exist while it is analysed.
            assert os.path.exists(args[-1])
            self.analyses.append(args[1])
            return self.verify if args[1] == 'verify' else self.security
        if program == 'journalctl':
            return 0, 'web.service: Failed with result exit-code.\n', ''
        verb = args[1]
        if verb == 'show':
            self.shows.append(args[2])
            return 0, f'ActiveState={self.active}\nSubState={self.sub}\nUnitFileState={self.file_state}\n', ''
        self.calls.append(verb)
        if verb in ('start', 'restart'):
            if self.fail_start:
                return 1, '', 'Job for web.service failed.'
            self.active, self.sub = ('activating', 'auto-restart') if self.dies_after_start else ('active', 'running')
        elif verb == 'stop':
            self.active, self.sub = 'inactive', 'dead'
        elif verb == 'enable':
            self.file_state = 'enabled'
        elif verb == 'disable':
            self.file_state = 'disabled'
        return 0, '', ''


# web (990) is in its own group only; ops (991) is also in disk (6) and shadow (42); toor is uid 0.
USERS = {'web': (990, 990), 'ops': (991, 991), 'toor': (0, 0)}
GROUPS = {990: 'web', 991: 'ops', 6: 'disk', 42: 'shadow'}
MEMBERSHIPS = {'web': [], 'ops': [6, 42], 'toor': []}


@pytest.fixture
def host(tmp_path, monkeypatch):
    """A fake host: a systemd runtime dir, a unit dir, a jail with the program, accounts, a
    systemd-analyze file (looked at, never run) and the analysis records under the test's temp dir."""
    runtime = tmp_path / 'run-systemd-system'
    runtime.mkdir()
    unit_dir = tmp_path / 'units'
    unit_dir.mkdir()
    jail = tmp_path / 'jail'
    (jail / 'usr' / 'sbin').mkdir(parents=True)
    program = jail / 'usr' / 'sbin' / 'lighttpd'
    program.write_text('never run')
    program.chmod(0o755)
    analyzer = tmp_path / 'bin' / 'systemd-analyze'
    analyzer.parent.mkdir()
    analyzer.write_text('never run')
    systemd = FakeSystemd()

    def getpwnam(name):
        uid, gid = USERS[name]
        return pwd.struct_passwd((name, 'x', uid, gid, '', '/', '/usr/sbin/nologin'))

    def getgrnam(name):
        for gid, group in GROUPS.items():
            if group == name:
                return grp.struct_group((name, 'x', gid, []))
        raise KeyError(name)

    monkeypatch.setattr(pwd, 'getpwnam', getpwnam)
    monkeypatch.setattr(grp, 'getgrgid', lambda gid: grp.struct_group((GROUPS[gid], 'x', gid, [])))
    monkeypatch.setattr(grp, 'getgrnam', getgrnam)
    monkeypatch.setattr(os, 'getgrouplist', lambda user, gid: [gid] + MEMBERSHIPS[user])
    monkeypatch.setattr(_jailed_service, 'SYSTEMD_RUNTIME_DIR', str(runtime))
    monkeypatch.setattr(_jailed_service, 'SETTLE_SECONDS', 0)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command',
                        lambda self, args, **kwargs: systemd.run_command(args, **kwargs))
    monkeypatch.setattr(basic.AnsibleModule, 'get_bin_path', lambda self, name, *args, **kwargs: (
        str(analyzer) if name == 'systemd-analyze' else f'/usr/bin/{name}'))
    # The module rightly distrusts the sticky system temp dir above the records.
    monkeypatch.setattr(_analysis_record, 'RECORD_DIR', str(tmp_path / 'lib' / 'units'))
    monkeypatch.setattr(_analysis_record, 'dir_check', trust_tmp_source_dir)
    monkeypatch.setattr(_analysis_record, 'dir_lstat', safe_tmp_lstat)
    # and the sticky system temp dir above the jail
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    # The unit search path (drop-ins) is read under a fake root, without the runner's SYSTEMD_UNIT_PATH.
    (tmp_path / 'root').mkdir()
    monkeypatch.setattr(_analysis_record, 'UNIT_ROOT', str(tmp_path / 'root'))
    monkeypatch.delenv('SYSTEMD_UNIT_PATH', raising=False)
    return {'runtime': runtime, 'unit_dir': str(unit_dir), 'jail': str(jail), 'systemd': systemd,
            'unit_file': str(unit_dir / 'web.service'), 'analyzer': analyzer, 'records': tmp_path / 'lib' / 'units',
            'unit_root': tmp_path / 'root'}


@pytest.fixture
def run(run_module):
    return lambda args, **kwargs: run_module(jailed_service, args, **kwargs)


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


def test_first_run_installs_enables_and_starts(host, run):
    # A hardened host's umask must not leave the unit unreadable to tools that read units.
    old_umask = os.umask(0o077)
    try:
        result = run(params(host))
    finally:
        os.umask(old_umask)
    expected = EXPECTED_UNIT.format(jail=host['jail'])
    assert result['changed'] is True
    assert (result['name'], result['unit_path']) == ('web.service', host['unit_file'])
    assert (result['exposure'], result['exposure_rating'], result['verify_warnings']) == (1.4, 'OK', [])
    with open(host['unit_file']) as handle:
        assert handle.read() == result['unit'] == expected
    assert stat.S_IMODE(os.stat(host['unit_file']).st_mode) == 0o644
    assert host['systemd'].calls == ['daemon-reload', 'enable', 'start']
    assert os.listdir(host['unit_dir']) == ['web.service']


def test_name_without_suffix_gets_service_appended(host, run):
    # Issue 11 section 6: `name: web` was refused.
    result = run(params(host, name='web'))
    assert result.get('failed') is not True, result.get('msg')
    assert (result['name'], result['unit_path']) == ('web.service', host['unit_file'])
    assert os.listdir(host['unit_dir']) == ['web.service']


def test_second_run_changes_nothing(host, run):
    run(params(host))
    host['systemd'].calls.clear()
    host['systemd'].shows.clear()
    result = run(params(host))
    assert result['changed'] is False
    assert host['systemd'].calls == []
    # One systemctl call reads the state and the main process (predates_jail), not one each.
    assert host['systemd'].shows == ['--property=ActiveState,UnitFileState,MainPID,ExecMainStartTimestampMonotonic']


def test_changed_unit_restarts_running_service(host, run):
    run(params(host))
    host['systemd'].calls.clear()
    result = run(params(host, environment={'LANG': 'C.UTF-8'}))
    assert result['changed'] is True
    assert host['systemd'].calls == ['daemon-reload', 'restart']
    assert 'Environment="LANG=C.UTF-8"' in result['unit'].splitlines()


def test_present_leaves_stopped_service_stopped(host, run):
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
def test_run_state(host, run, state, running, calls, changed):
    run(params(host, state='started' if running else 'stopped'))
    host['systemd'].calls.clear()
    result = run(params(host, state=state))
    assert host['systemd'].calls == calls
    assert result['changed'] is changed


def test_disable(host, run):
    run(params(host))
    host['systemd'].calls.clear()
    result = run(params(host, enabled=False))
    assert result['changed'] is True
    assert host['systemd'].calls == ['disable']


def test_check_mode_writes_nothing_and_shows_diff(host, run):
    result = run(params(host), check=True, diff=True)
    assert result['changed'] is True
    assert not os.path.exists(host['unit_file'])
    assert host['systemd'].calls == []
    assert result['diff'] == {'before': '', 'after': EXPECTED_UNIT.format(jail=host['jail']),
                              'before_header': host['unit_file'], 'after_header': host['unit_file']}


def test_diff_only_when_asked(host, run):
    assert 'diff' not in run(params(host))


def test_max_exposure_refuses_before_writing(host, run):
    host['systemd'].security = (0, SECURITY_BAD, '')
    result = run(params(host, max_exposure=2.0))
    assert result['msg'] == 'web.service: exposure 9.6 (UNSAFE) is higher than max_exposure 2.0; the unit was not installed'
    assert result['exposure'] == 9.6
    assert not os.path.exists(host['unit_file'])
    assert host['systemd'].calls == []


def test_verify_error_refuses_before_writing(host, run):
    host['systemd'].verify = (1, '', 'web.service: Service has no ExecStart=. Refusing.\n'
                                     'web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n')
    result = run(params(host))
    assert result['msg'] == 'systemd-analyze verify refused the unit web.service: web.service: Service has no ExecStart=. Refusing.'
    assert result['unit'] == EXPECTED_UNIT.format(jail=host['jail'])
    assert not os.path.exists(host['unit_file'])


def test_verify_false_not_executable_is_ignored(host, run):
    host['systemd'].verify = (1, '', 'web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n')
    result = run(params(host))
    assert result['changed'] is True
    assert result['verify_warnings'] == []


def test_daemon_that_dies_fails_with_journal(host, run):
    host['systemd'].dies_after_start = True
    result = run(params(host))
    assert result['msg'] == 'web.service did not stay running (ActiveState=activating, SubState=auto-restart)'
    assert result['journal'] == ['web.service: Failed with result exit-code.']


def test_failed_start(host, run):
    host['systemd'].fail_start = True
    result = run(params(host))
    assert result['msg'] == '/usr/bin/systemctl start web.service failed with status 1: Job for web.service failed.'


def test_host_without_systemd(host, run):
    host['runtime'].rmdir()
    result = run(params(host))
    assert result['msg'] == (f"this host does not run systemd ({host['runtime']} is missing); "
                             'jailed_service needs systemd as init to run web.service')


SUPPLEMENTARY = ('user: ops is a member of the groups disk, shadow, which systemd would give the daemon (initgroups); '
                 'remove the memberships or list them in allow_supplementary_groups')
EXEC = 'is never allowed: it runs a command, which systemd may run outside the jail or as root'


@pytest.mark.parametrize('overrides, message', [
    ({'user': 'nobody-here'},
     'user: nobody-here does not exist on this host; create it first (a system user without login shell or home)'),
    ({'user': 'toor'}, 'user: toor has uid 0; a jailed daemon running as root can break out of its chroot'),
    ({'user': 'root'}, "user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'group': 'missing'}, 'group: missing does not exist on this host'),
    ({'jail': '/nonexistent/jail'},
     'jail: /nonexistent/jail does not exist or is not a directory; build it first with serversec.confine.chroot_jail'),
    ({'command': ['/usr/sbin/nginx']},
     'command[0]: /usr/sbin/nginx does not exist in the jail {jail}; add it with serversec.confine.chroot_jail binaries'),
    ({'command': ['nginx']}, "command[0]: 'nginx' must be an absolute path inside the jail"),
    ({'working_directory': '/var/www'}, 'working_directory: /var/www does not exist in the jail {jail} (/var is missing)'),
    ({'read_write': ['/var/log/web']},
     'read_write: /var/log/web does not exist in the jail {jail} (/var is missing); '
     'create it with serversec.confine.chroot_jail directories'),
    ({'name': '../../etc/cron.d/x.service'},
     "name: '../../etc/cron.d/x.service' is not a valid unit name (allowed: letters, digits, "
     '":", "_", ".", "\\", "-" and one "@")'),
    ({'capabilities': ['CAP_SYS_ADMN']}, "capabilities: 'CAP_SYS_ADMN' is not a Linux capability"),
    # Issue 9 section 3: systemd would run the daemon with Groups: 991 6 42.
    ({'user': 'ops'}, SUPPLEMENTARY),
    # Issue 9 section 4: settings that loosen the unit.
    ({'extra_properties': {'ExecStartPre': '+/bin/sh -c id'}}, f'extra_properties: ExecStartPre {EXEC}'),
    ({'extra_properties': {'RootDirectoryStartOnly': True}},
     'extra_properties: RootDirectoryStartOnly is never allowed: it runs the other Exec commands outside the jail'),
    ({'extra_properties': {'SupplementaryGroups': 'root'}},
     'extra_properties: SupplementaryGroups is never allowed: it gives the daemon further groups'),
    ({'bind': ['/:/host']}, "bind: '/:/host' binds the host's whole file system into the jail"),
    ({'bind_read_only': ['/etc:/host-etc']},
     "bind_read_only: '/etc:/host-etc' exposes the host's /etc to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/var/run/docker.sock']},
     "bind: '/var/run/docker.sock' exposes the host's /var/run/docker.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    ({'description': 'web\\'},
     "description: 'web\\\\' ends with a backslash, which systemd reads as a line continuation"),
    ({'environment': {'X': 'a\rb'}}, "environment: X: the control character '\\r' cannot be passed (only tab and newline can)"),
])
def test_refusals_name_the_field(host, run, overrides, message):
    result = run(params(host, **overrides))
    assert result['msg'] == message.format(jail=host['jail'])
    assert host['systemd'].calls == []
    assert os.listdir(host['unit_dir']) == []


def test_accepted_supplementary_groups(host, run):
    result = run(params(host, user='ops', allow_supplementary_groups=['shadow', 'disk']))
    assert result['changed'] is True
    assert 'User=ops' in result['unit'].splitlines()


def test_sensitive_bind_accepted_knowingly(host, run):
    result = run(params(host, bind_read_only=['/etc:/host-etc'], allow_sensitive_binds=True))
    assert result['changed'] is True
    assert ('BindReadOnlyPaths=/dev/log /run/systemd/journal/socket /run/systemd/journal/stdout /etc:/host-etc'
            in result['unit'].splitlines())


def test_bind_source_linking_to_the_host_root_is_refused(host, run, tmp_path):
    os.symlink('/', str(tmp_path / 'everything'))
    result = run(params(host, bind=[f'{tmp_path}/everything:/host'], allow_sensitive_binds=True))
    assert result['msg'] == f'bind: {tmp_path}/everything names the root directory'
    assert os.listdir(host['unit_dir']) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')
def test_bind_source_a_user_could_swap_is_refused(host, run, tmp_path, monkeypatch):
    # Issue 9 section 1 applied to binds: uid 1001 owns /…/srv/u and could replace u/data with a
    # link to /root before the unit next starts; systemd would bind whatever it then finds.
    monkeypatch.setattr(chroot_host, 'source_dir_check', trust_tmp_source_dir)
    (tmp_path / 'srv' / 'u' / 'data').mkdir(parents=True)
    os.chown(str(tmp_path / 'srv' / 'u'), 1001, 1001)
    source = f'{tmp_path}/srv/u/data'
    result = run(params(host, bind_read_only=[f'{source}:/data']))
    assert result['msg'] == (f'bind_read_only: {source}: {tmp_path}/srv/u is owned by uid 1001 (a non-root user could '
                             'swap what it holds); set allow_user_writable_sources to accept it')
    assert os.listdir(host['unit_dir']) == []
    result = run(params(host, bind_read_only=[f'{source}:/data'], allow_user_writable_sources=True))
    assert result['changed'] is True
    assert f'{source}:/data' in result['unit']


def test_missing_bind_source_is_a_prerequisite(host, run, tmp_path, module_warnings):
    source = f'{tmp_path}/absent'
    result = run(params(host, bind=[source]))
    assert result['msg'] == f'bind: {source} does not exist on the host'
    assert os.listdir(host['unit_dir']) == []
    result = run(params(host, bind=[source]), check=True)
    assert result['changed'] is True
    assert module_warnings == [f'bind: {source} does not exist on the host (check mode: an earlier task may create it)']


@pytest.mark.parametrize('overrides', [
    {'user': 'nobody-here'},
    {'jail': '/nonexistent/jail'},
    {'command': ['/usr/sbin/nginx']},
])
def test_check_mode_only_warns_about_missing_prerequisites(host, run, module_warnings, overrides):
    result = run(params(host, **overrides), check=True)
    assert result['changed'] is True
    assert len(module_warnings) == 1
    assert module_warnings[0].endswith('(check mode: an earlier task may create it)')
    assert host['systemd'].calls == []


def test_required_unless_absent(host, run):
    result = run({'name': 'web.service', 'unit_dir': host['unit_dir']})
    assert result['msg'] == 'state is started but all of the following are missing: jail, command'
    result = run({'name': 'web.service', 'unit_dir': host['unit_dir'], 'jail': host['jail'], 'command': ['/x']})
    assert result['msg'] == 'state is started but any of the following are missing: user, privilege_drop'


def test_absent_stops_disables_and_removes(host, run):
    run(params(host))
    host['systemd'].calls.clear()
    result = run({'name': 'web', 'state': 'absent', 'unit_dir': host['unit_dir']}, diff=True)
    assert result['changed'] is True
    assert result['diff']['before'] == EXPECTED_UNIT.format(jail=host['jail'])
    assert result['diff']['after'] == ''
    assert host['systemd'].calls == ['stop', 'disable', 'daemon-reload']
    assert not os.path.exists(host['unit_file'])
    host['systemd'].calls.clear()
    result = run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']})
    assert result['changed'] is False
    assert host['systemd'].calls == []


@pytest.mark.parametrize('state', ['started', 'absent'])
def test_unit_dir_that_cannot_be_read_fails_with_its_cause(host, run, state):
    result = run(params(host, unit_dir='/etc/hostname', state=state))
    assert result['failed'] is True
    assert result['msg'] == 'unit_dir: cannot read /etc/hostname/web.service: Not a directory'
    assert host['systemd'].calls == []


def test_unit_that_cannot_be_removed_fails_with_its_cause(host, run, monkeypatch):
    run(params(host))
    host['systemd'].calls.clear()

    def denied(path):
        raise PermissionError(13, 'Permission denied', path)

    monkeypatch.setattr(os, 'remove', denied)
    result = run({'name': 'web', 'state': 'absent', 'unit_dir': host['unit_dir']})
    assert result['failed'] is True
    assert result['msg'] == f"unit_dir: cannot remove {host['unit_file']}: Permission denied"


def test_jail_a_user_could_swap_is_refused_before_anything_is_written(host, run, tmp_path):
    shared = tmp_path / 'shared'
    shared.mkdir()
    os.rename(host['jail'], str(shared / 'jail'))
    shared.chmod(0o777)
    result = run(params(host, jail=str(shared / 'jail')), check=True)
    assert result['failed'] is True
    assert result['msg'] == (f"jail: {shared / 'jail'}: jail path component {shared} is group- or world-writable "
                             '(mode 0777); systemd follows the jail path at every start, so a user who can change it '
                             'could swap the jail for a tree of their own')
    assert host['systemd'].calls == [] and os.listdir(host['unit_dir']) == []


def test_jail_named_through_a_link_cannot_hide_a_bind_source_inside_it(host, run, tmp_path):
    """Named through a linked parent, the jail would not prefix the real path of a source inside it."""
    os.symlink(str(tmp_path), str(tmp_path / 'srv-link'))
    os.makedirs(os.path.join(host['jail'], 'data'))
    result = run(params(host, jail=str(tmp_path / 'srv-link' / 'jail'), bind=[f"{host['jail']}/data:/data"],
                        allow_user_writable_sources=True))
    assert result['failed'] is True
    assert result['msg'].startswith(f"jail: {tmp_path / 'srv-link' / 'jail'}: jail path component "
                                    f"{tmp_path / 'srv-link'} is a symlink")
    assert host['systemd'].calls == [] and os.listdir(host['unit_dir']) == []


def test_absent_check_mode(host, run):
    run(params(host))
    host['systemd'].calls.clear()
    result = run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']}, check=True)
    assert result['changed'] is True
    assert host['systemd'].calls == []
    assert os.path.exists(host['unit_file'])


def test_working_directory_inside_the_jail(host, run):
    os.makedirs(os.path.join(host['jail'], 'var', 'www'))
    result = run(params(host, working_directory='/var/www'))
    assert 'WorkingDirectory=/var/www' in result['unit'].splitlines()


def test_read_write_inside_the_jail(host, run):
    os.makedirs(os.path.join(host['jail'], 'var', 'log', 'web'))
    result = run(params(host, read_write=['/var/log/web']))
    lines = result['unit'].splitlines()
    # What the daemon can write, it cannot execute (issue 10).
    start = lines.index(f"ReadWritePaths={host['jail']}/var/log/web")
    assert lines[start + 1] == f"NoExecPaths={host['jail']}/var/log/web"
    result = run(params(host, read_write=['/var/log/web'], allow_exec_in_read_write=True))
    assert result['changed'] is True
    lines = result['unit'].splitlines()
    assert f"ReadWritePaths={host['jail']}/var/log/web" in lines
    assert not [line for line in lines if line.startswith('NoExecPaths=')]


def test_read_write_through_a_link_is_refused(host, run):
    os.symlink('/var/log', os.path.join(host['jail'], 'logs'))
    result = run(params(host, read_write=['/logs']), check=True)
    assert result['msg'] == f"read_write: /logs goes through a symbolic link in the jail {host['jail']}"
