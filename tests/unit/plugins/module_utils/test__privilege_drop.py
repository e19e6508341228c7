# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""privilege_drop: the unit of a daemon that starts as root and drops privileges itself, every
refusal, the exposure limit, and the check of its processes read from a fake /proc."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _privilege_drop
from ansible_collections.serversec.confine.plugins.module_utils._privilege_drop import (
    confirm_drop,
    exposure_limit,
    judge,
    process_identity,
    unit_processes,
)
from ansible_collections.serversec.confine.plugins.module_utils._service_accounts import DropAccount
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import (
    DropSpec,
    ServiceError,
    render_unit,
    validate_unit,
)
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__systemd_unit import (
    DEFAULT_UNIT,
    PARAMS,
    service_lines,
)

NGINX = dict(PARAMS, command=['/usr/sbin/nginx', '-g', 'daemon off;'], user=None,
             privilege_drop={'user': 'www-data', 'group': None, 'chown': False})


def drop_params(**overrides):
    return dict(NGINX, **overrides)


def render(**overrides):
    spec = validate_unit(drop_params(**overrides))
    return render_unit(spec._replace(drop_to=spec.drop_to._replace(group=spec.drop_to.group or 'www-data')))


def refusal(**overrides):
    with pytest.raises(ServiceError) as excinfo:
        validate_unit(drop_params(**overrides))
    return str(excinfo.value)


# The default unit with the lines privilege_drop changes: no User=/Group= (systemd starts the
# daemon as root), the three capabilities, nothing ambient; every hardening line stays.
DROP_UNIT = DEFAULT_UNIT.replace(
    'Description=/usr/sbin/lighttpd jailed', 'Description=/usr/sbin/nginx jailed').replace(
    'ExecStart=/usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf', 'ExecStart=/usr/sbin/nginx -g "daemon off;"').replace(
    'User=web\nGroup=web\n',
    '# privilege_drop: starts as root in the jail and switches itself to www-data:www-data\n').replace(
    'CapabilityBoundingSet=\n', 'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID\n').replace(
    'SystemCallFilter=@system-service\n',
    'SystemCallFilter=@system-service\nSystemCallFilter=~process_vm_readv process_vm_writev\n')


def test_drop_unit_starts_as_root_with_three_capabilities():
    assert render() == DROP_UNIT
    lines = service_lines(DROP_UNIT)
    assert not [line for line in lines if line.startswith(('User=', 'Group=', 'DynamicUser='))]
    assert 'AmbientCapabilities=' in lines
    assert 'NoNewPrivileges=yes' in lines


def test_a_master_that_can_become_any_user_cannot_write_into_that_users_processes():
    # CAP_SETUID makes the master any uid; @system-service allows process_vm_writev (in @ipc), which
    # writes into the memory of a process of the same uid outside the jail wherever Yama does not
    # restrict it: denied after the allow-list, for this unit only
    lines = service_lines(render())
    assert lines.index('SystemCallFilter=~process_vm_readv process_vm_writev') == \
        lines.index('SystemCallFilter=@system-service') + 1
    assert 'SystemCallFilter=~process_vm_readv process_vm_writev' not in service_lines(DEFAULT_UNIT)


def test_chown_adds_cap_chown_only():
    lines = service_lines(render(privilege_drop={'user': 'www-data', 'group': 'www', 'chown': True}))
    assert 'CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID' in lines
    assert 'AmbientCapabilities=' in lines


@pytest.mark.parametrize('daemon_type', ['simple', 'exec', 'forking', 'notify', 'dbus', 'idle'])
def test_every_type_but_oneshot_is_accepted_with_privilege_drop(daemon_type):
    assert validate_unit(drop_params(type=daemon_type)).drop_to is not None


def test_drop_group_is_left_to_the_caller_unless_given():
    assert validate_unit(NGINX).drop_to == DropSpec('www-data', None, False)
    assert validate_unit(drop_params(privilege_drop={'user': 'named', 'group': 'bind'})).drop_to == DropSpec(
        'named', 'bind', False)
    assert validate_unit(PARAMS).drop_to is None


DROP_CAPS = 'CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID (and CAP_CHOWN with privilege_drop.chown)'


@pytest.mark.parametrize('overrides, message', [
    ({'user': 'web'}, 'user: not used with privilege_drop, where the daemon starts as root and switches itself to '
                      'privilege_drop.user; give one or the other'),
    ({'group': 'web'}, f'group: not used with privilege_drop, whose bounding set is {DROP_CAPS}'),
    ({'capabilities': ['CAP_NET_RAW']}, f'capabilities: not used with privilege_drop, whose bounding set is {DROP_CAPS}'),
    ({'allow_capabilities': ['CAP_CHOWN']},
     f'allow_capabilities: not used with privilege_drop, whose bounding set is {DROP_CAPS}'),
    ({'privilege_drop': {'user': 'root'}},
     "privilege_drop.user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'privilege_drop': {'user': '0'}},
     "privilege_drop.user: '0' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'privilege_drop': {'user': ''}}, 'privilege_drop.user: must not be empty'),
    ({'privilege_drop': {'user': None}}, 'privilege_drop.user: must not be empty'),
    ({'privilege_drop': {'user': 'www data'}}, "privilege_drop.user: 'www data' is not a valid user or group name"),
    ({'privilege_drop': {'user': 'www-data\n'}}, "privilege_drop.user: 'www-data\\n' is not a valid user or group name"),
    ({'privilege_drop': {'user': 'www-data', 'group': 'root'}},
     "privilege_drop.group: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'privilege_drop': {'user': 'www-data', 'group': '0'}},
     "privilege_drop.group: '0' is refused: a jailed daemon running as root can break out of its chroot"),
    # the switch is checked on the processes after the start, when a oneshot one has exited
    ({'type': 'oneshot'}, 'type: oneshot is not used with privilege_drop: the switch to privilege_drop.user is '
                          'checked on the running processes after the start, and a oneshot daemon has exited by then'),
    ({'extra_properties': {'User': 'www-data'}},
     'extra_properties: User is set by the module; use the user parameter instead'),
    ({'extra_properties': {'NoNewPrivileges': False}},
     'extra_properties: NoNewPrivileges is never allowed: it would let the daemon gain privileges'),
    ({'extra_properties': {'SecureBits': 'keep-caps'}},
     'extra_properties: SecureBits is never allowed: it changes how capabilities are kept'),
])
def test_drop_refusals(overrides, message):
    assert refusal(**overrides) == message


# The classic ways out of a chroot for uid 0 (issue 14 section 2): no parameter puts them in
# the bounding set of a daemon that starts as root.
ESCAPES = ['CAP_SYS_CHROOT', 'CAP_SYS_ADMIN', 'CAP_SYS_PTRACE']


@pytest.mark.parametrize('capability', ESCAPES)
@pytest.mark.parametrize('overrides, message', [
    (lambda cap: {'capabilities': [cap], 'allow_capabilities': [cap]},
     f'capabilities: not used with privilege_drop, whose bounding set is {DROP_CAPS}'),
    (lambda cap: {'extra_properties': {'CapabilityBoundingSet': cap}},
     'extra_properties: CapabilityBoundingSet is set by the module; use the capabilities parameter instead'),
    (lambda cap: {'extra_properties': {'AmbientCapabilities': cap}},
     'extra_properties: AmbientCapabilities is set by the module; use the capabilities parameter instead'),
])
def test_escape_capabilities_never_get_in(capability, overrides, message):
    assert refusal(**overrides(capability)) == message


@pytest.mark.parametrize('capability', ESCAPES)
def test_render_refuses_an_escape_capability_however_it_came(capability):
    spec = validate_unit(NGINX)
    spec = spec._replace(drop_to=spec.drop_to._replace(group='www-data'), capabilities=spec.capabilities + [capability])
    with pytest.raises(ServiceError) as excinfo:
        render_unit(spec)
    assert str(excinfo.value) == f'capabilities: {capability} would let the daemon leave its chroot'


def test_bounding_set_line_is_exactly_the_three():
    for overrides in ({}, {'extra_properties': {'LimitNOFILE': 4096}}, {'read_write': ['/run/nginx']}):
        lines = service_lines(render(**overrides))
        assert [line for line in lines if line.startswith('CapabilityBoundingSet=')] == [
            'CapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETGID CAP_SETUID']


@pytest.mark.parametrize('max_exposure, drop_to, expected', [
    (None, None, None),
    (9.0, None, 9.0),
    (None, DropSpec('www-data', None, False), 2.5),
    (2.5, DropSpec('www-data', None, False), 2.5),
    (1.2, DropSpec('www-data', None, False), 1.2),
])
def test_exposure_limit(max_exposure, drop_to, expected):
    assert exposure_limit(max_exposure, drop_to) == expected


def test_exposure_limit_refuses_more_than_two_and_a_half():
    with pytest.raises(ServiceError) as excinfo:
        exposure_limit(2.6, DropSpec('www-data', None, False))
    assert str(excinfo.value) == ('max_exposure: 2.6 is higher than 2.5, the most accepted for a daemon that starts '
                                  'as root (privilege_drop)')


WWW = DropAccount('www-data', 33, 'www-data', 33, frozenset([44]))
CGROUP = '0::/system.slice/nginx-jailed.service\n'


def status(uid, gid, groups=''):
    # The kernel's layout; Name: is the process's own text and comes first.
    return (f'Name:\tnginx\nUmask:\t0022\nState:\tS (sleeping)\nPid:\t1\nPPid:\t1\n'
            f'Uid:\t{uid}\t{uid}\t{uid}\t{uid}\nGid:\t{gid}\t{gid}\t{gid}\t{gid}\nGroups:\t{groups}\n'
            f'CapEff:\t0000000000000000\n')


@pytest.fixture
def proc(tmp_path, monkeypatch):
    monkeypatch.setattr(_privilege_drop, 'PROC_DIR', str(tmp_path))
    monkeypatch.setattr(_privilege_drop, 'WORKER_WAIT_SECONDS', 0)

    def add(pid, text, cgroup=CGROUP):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / 'status').write_text(text)
        (tmp_path / str(pid) / 'cgroup').write_text(cgroup)
    (tmp_path / 'self').mkdir()
    return add


def test_processes_are_those_of_the_main_process_cgroup(proc):
    proc(100, status(0, 0))
    proc(101, status(33, 33, '33'))
    proc(5, status(33, 33))
    proc(200, status(1000, 1000), cgroup='0::/user.slice/session-1.scope\n')
    assert unit_processes(101) == [101, 100, 5]
    assert unit_processes(999) == []
    assert process_identity(101) == (101, (33, 33, 33, 33), (33, 33, 33, 33), (33,), 0)
    assert process_identity(999) is None


def test_identity_ignores_lines_a_process_name_could_fake(proc):
    # A process may name itself anything; the kernel escapes a newline in Name:, and only the
    # first Uid: line (the kernel's) counts.
    proc(7, 'Name:\tx\\nUid:\t0\t0\t0\t0\n' + status(33, 33).split('\n', 1)[1] + 'Uid:\t0\t0\t0\t0\n')
    assert process_identity(7).uids == (33, 33, 33, 33)


ROOT = _privilege_drop.Identity(1, (0, 0, 0, 0), (0, 0, 0, 0), ())


def worker(pid=2, uids=(33, 33, 33, 33), gids=(33, 33, 33, 33), groups=(33,)):
    return _privilege_drop.Identity(pid, uids, gids, groups)


@pytest.mark.parametrize('identities', [
    [ROOT, worker()],
    [ROOT, worker(2), worker(3, groups=())],
    [worker(groups=(33, 44))],
])
def test_judge_accepts_a_switch_to_the_account(identities):
    assert judge(identities, WWW) is None


@pytest.mark.parametrize('identities, message', [
    ([], 'no process runs as www-data (33); found no process'),
    ([ROOT], 'no process runs as www-data (33); found PID 1 uids 0 0 0 0 gids 0 0 0 0'),
    ([ROOT, worker(uids=(65534,) * 4, gids=(65534,) * 4)],
     'PID 2 uids 65534 65534 65534 65534 gids 65534 65534 65534 65534 runs neither as root nor as www-data:www-data '
     '(33:33)'),
    # A saved uid 0 lets the process become root again: it has not dropped.
    ([ROOT, worker(uids=(33, 33, 0, 33))],
     'PID 2 uids 33 33 0 33 gids 33 33 33 33 runs neither as root nor as www-data:www-data (33:33)'),
    ([ROOT, worker(gids=(33, 0, 33, 33))],
     'PID 2 uids 33 33 33 33 gids 33 0 33 33 runs neither as root nor as www-data:www-data (33:33)'),
    ([ROOT, worker(groups=(33, 6, 42))],
     'PID 2 uids 33 33 33 33 gids 33 33 33 33 holds the groups 6, 42 beyond www-data and allow_supplementary_groups'),
    ([ROOT, worker(groups=(33, 0))],
     'PID 2 uids 33 33 33 33 gids 33 33 33 33 holds the groups 0 beyond www-data and allow_supplementary_groups'),
])
def test_judge_refusals(identities, message):
    assert judge(identities, WWW) == message


def test_a_worker_that_can_become_root_again_has_not_dropped(proc):
    # PR_SET_KEEPCAPS before setuid() leaves CAP_SETUID/CAP_SETGID permitted: the worker's ids
    # are the account's, but one setuid(0) makes it root again
    proc(100, status(0, 0))
    proc(101, status(33, 33, '33').replace('CapEff:', 'CapPrm:\t00000000000000c0\nCapEff:'))
    with pytest.raises(ServiceError) as excinfo:
        confirm_drop(lambda: 100, WWW)
    assert str(excinfo.value) == ('privilege_drop: PID 101 uids 33 33 33 33 gids 33 33 33 33 keeps CAP_SETGID CAP_SETUID '
                                  'in its permitted set, with which it can become root again')


def test_a_worker_may_keep_the_low_port_capability(proc):
    proc(100, status(0, 0))
    proc(101, status(33, 33, '33').replace('CapEff:', 'CapPrm:\t0000000000000400\nCapEff:'))
    assert [entry['pid'] for entry in confirm_drop(lambda: 100, WWW)] == [100, 101]


def test_root_group_is_refused_even_when_accepted():
    account = WWW._replace(allowed_gids=frozenset([0]))
    assert judge([ROOT, worker(groups=(33, 0))], account) == (
        'PID 2 uids 33 33 33 33 gids 33 33 33 33 holds the groups 0 beyond www-data and allow_supplementary_groups')


def test_confirm_drop_returns_the_identities(proc):
    proc(100, status(0, 0))
    proc(101, status(33, 33, '33'))
    assert confirm_drop(lambda: 100, WWW) == [
        {'pid': 100, 'uids': [0, 0, 0, 0], 'gids': [0, 0, 0, 0], 'groups': []},
        {'pid': 101, 'uids': [33, 33, 33, 33], 'gids': [33, 33, 33, 33], 'groups': [33]},
    ]


@pytest.mark.parametrize('main_pid, message', [
    (0, 'privilege_drop: no process runs as www-data (33); found no process'),
    (100, 'privilege_drop: no process runs as www-data (33); found PID 100 uids 0 0 0 0 gids 0 0 0 0'),
])
def test_confirm_drop_fails_naming_what_it_found(proc, main_pid, message):
    proc(100, status(0, 0))
    with pytest.raises(ServiceError) as excinfo:
        confirm_drop(lambda: main_pid, WWW)
    assert str(excinfo.value) == message


def test_confirm_drop_waits_for_the_workers(proc, monkeypatch):
    proc(100, status(0, 0))
    monkeypatch.setattr(_privilege_drop, 'WORKER_WAIT_SECONDS', 5)
    monkeypatch.setattr(_privilege_drop, 'WORKER_POLL_SECONDS', 0)
    looks = []

    def main_pid():
        # The master forks its worker after the first look.
        if len(looks) == 1:
            proc(101, status(33, 33))
        looks.append(1)
        return 100
    assert [entry['pid'] for entry in confirm_drop(main_pid, WWW)] == [100, 101]
    assert len(looks) == 2
