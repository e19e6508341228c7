# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailed_service's privilege_drop end to end against a fake systemd and a fake /proc: the
unit, the host account refusals, the exposure limit, and the stop when the switch is not seen."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _privilege_drop
from ansible_collections.serversec.confine.tests.unit.plugins.modules import test_jailed_service as jailed_tests
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_jailed_service import EXPECTED_UNIT, params

# The fake host and the module runner, shared with jailed_service's tests: web is uid/gid 990,
# ops (991) is also in disk and shadow, toor is uid 0.
host = jailed_tests.host
run = jailed_tests.run

CGROUP = '0::/system.slice/web.service\n'
MASTER_PID = 4242


def status(uid, gid):
    return f'Name:\tlighttpd\nUid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nGroups:\t{gid}\n'


@pytest.fixture
def proc(host, tmp_path, monkeypatch):
    """A fake /proc with the master (root) and one worker, and systemd's MainPID."""
    root = tmp_path / 'proc'
    monkeypatch.setattr(_privilege_drop, 'PROC_DIR', str(root))
    monkeypatch.setattr(_privilege_drop, 'WORKER_WAIT_SECONDS', 0)
    systemd = host['systemd']
    fake = systemd.run_command

    def run_command(args, **kwargs):
        if args[1:] == ['show', '--property=MainPID', '--value', 'web.service']:
            return 0, f"{MASTER_PID if systemd.active == 'active' else 0}\n", ''
        return fake(args, **kwargs)
    monkeypatch.setattr(systemd, 'run_command', run_command)

    def add(pid, text):
        (root / str(pid)).mkdir(parents=True)
        (root / str(pid) / 'status').write_text(text)
        (root / str(pid) / 'cgroup').write_text(CGROUP)
    add(MASTER_PID, status(0, 0))
    return add


def drop_params(host, **overrides):
    args = params(host, privilege_drop={'user': 'web'})
    del args['user']
    args.update(overrides)
    return args


DROP_UNIT = EXPECTED_UNIT.replace(
    'User=web\nGroup=web\n', '# privilege_drop: starts as root in the jail and switches itself to web:web\n').replace(
    'CapabilityBoundingSet=\n', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID\n').replace(
    'SystemCallFilter=@system-service\n',
    'SystemCallFilter=@system-service\nSystemCallFilter=~process_vm_readv process_vm_writev\n')


def test_master_root_and_worker_as_the_user_is_accepted(host, run, proc):
    proc(4243, status(990, 990))
    result = run(drop_params(host))
    assert result.get('failed') is not True, result.get('msg')
    with open(host['unit_file']) as handle:
        assert handle.read() == result['unit'] == DROP_UNIT.format(jail=host['jail'])
    assert host['systemd'].calls == ['daemon-reload', 'enable', 'start']
    assert result['processes'] == [
        {'pid': 4242, 'uids': [0, 0, 0, 0], 'gids': [0, 0, 0, 0], 'groups': [0]},
        {'pid': 4243, 'uids': [990] * 4, 'gids': [990] * 4, 'groups': [990]},
    ]
    host['systemd'].calls.clear()
    result = run(drop_params(host))
    assert result['changed'] is False
    assert host['systemd'].calls == []


def test_no_worker_as_the_user_stops_the_service_and_fails(host, run, proc):
    proc(4243, status(65534, 65534))
    result = run(drop_params(host))
    assert result['failed'] is True
    assert result['msg'] == (
        'privilege_drop: PID 4243 uids 65534 65534 65534 65534 gids 65534 65534 65534 65534 runs neither as root nor '
        'as web:web (990:990); web.service was stopped')
    assert host['systemd'].calls == ['daemon-reload', 'enable', 'start', 'stop']
    assert result['journal'] == ['web.service: Failed with result exit-code.']


def test_master_that_keeps_root_is_stopped(host, run, proc):
    result = run(drop_params(host))
    assert result['msg'] == ('privilege_drop: no process runs as web (990); found PID 4242 uids 0 0 0 0 gids 0 0 0 0; '
                             'web.service was stopped')
    assert host['systemd'].calls[-1] == 'stop'


def test_check_mode_does_not_look_at_processes(host, run, proc):
    result = run(drop_params(host), check=True)
    assert result['changed'] is True
    assert 'processes' not in result
    assert host['systemd'].calls == []
    assert not os.path.exists(host['unit_file'])


@pytest.mark.parametrize('overrides, message', [
    ({'privilege_drop': {'user': 'toor'}},
     'privilege_drop.user: toor has uid 0; a jailed daemon running as root can break out of its chroot'),
    ({'privilege_drop': {'user': 'web', 'group': 'wheel'}},
     'privilege_drop.group: wheel has gid 0; a jailed daemon must not run with the root group'),
    ({'privilege_drop': {'user': 'ops'}},
     'privilege_drop.user: ops is a member of the groups disk, shadow, which systemd would give the daemon '
     '(initgroups); remove the memberships or list them in allow_supplementary_groups'),
    ({'privilege_drop': {'user': 'nobody-here'}},
     'privilege_drop.user: nobody-here does not exist on this host; create it first (a system user without login '
     'shell or home)'),
    ({'privilege_drop': {'user': 'web'}, 'user': 'web'},
     'user: not used with privilege_drop, where the daemon starts as root and switches itself to privilege_drop.user; '
     'give one or the other'),
    ({'max_exposure': 3.0}, 'max_exposure: 3.0 is higher than 2.5, the most accepted for a daemon that starts as '
                            'root (privilege_drop)'),
])
def test_refused_before_anything_is_written(host, run, proc, monkeypatch, overrides, message):
    monkeypatch.setitem(jailed_tests.USERS, 'nobody-here', None)
    monkeypatch.setitem(jailed_tests.GROUPS, 0, 'wheel')
    original = jailed_tests.pwd.getpwnam

    def getpwnam(name):
        if jailed_tests.USERS.get(name, 1) is None:
            raise KeyError(name)
        return original(name)
    monkeypatch.setattr(jailed_tests.pwd, 'getpwnam', getpwnam)
    result = run(drop_params(host, **overrides))
    assert result['msg'] == message
    assert not os.path.exists(host['unit_file'])
    assert host['systemd'].calls == []


def test_exposure_above_two_and_a_half_is_refused_by_default(host, run, proc):
    host['systemd'].security = (0, '\u2192 Overall exposure level for web.service: 2.6 OK :-)\n', '')
    result = run(drop_params(host))
    assert result['msg'] == 'web.service: exposure 2.6 (OK) is higher than max_exposure 2.5; the unit was not installed'
    assert not os.path.exists(host['unit_file'])
    assert host['systemd'].calls == []
