# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_jail_exec without a jail: identities, environment, program lookup, request validation."""

import collections
import os
import signal
import stat
import subprocess
import time

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _jail_exec
from ansible_collections.serversec.confine.plugins.module_utils._jail_exec import (
    ExecRequest,
    JailExecError,
    build_environment,
    find_program,
    jailed_descendants,
    jail_path_exists,
    resolve_identity,
)

Pw = collections.namedtuple('Pw', 'pw_name pw_uid pw_gid pw_dir')
Gr = collections.namedtuple('Gr', 'gr_name gr_gid')
USERS = {'sam': Pw('sam', 1001, 1001, '/home/sam'), 'root': Pw('root', 0, 0, '/root'),
         'toor': Pw('toor', 0, 1002, '/'), 'wheelie': Pw('wheelie', 1003, 0, '/')}
GROUPS = {'sam': Gr('sam', 1001), 'staff': Gr('staff', 50), 'root': Gr('root', 0)}


def getpwnam(name):
    return USERS[name]


def getpwuid(uid):
    for entry in USERS.values():
        if entry.pw_uid == uid:
            return entry
    raise KeyError(uid)


def getgrnam(name):
    return GROUPS[name]


def identity(user, group=None):
    return resolve_identity(user, group, getpwnam=getpwnam, getpwuid=getpwuid, getgrnam=getgrnam)


VALID_IDENTITIES = [
    (('sam', None), (1001, 1001, '/home/sam')),
    (('sam', 'staff'), (1001, 50, '/home/sam')),
    (('1001', None), (1001, 1001, '/home/sam')),
    (('4242', '4242'), (4242, 4242, '/')),
    (('sam', '77'), (1001, 77, '/home/sam')),
]

INVALID_IDENTITIES = [
    (('', None), 'user: a user is required (jail_exec never runs as root)'),
    (('root', None), "user 'root' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    (('toor', None), "user 'toor' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    (('0', 'staff'), "user '0' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    (('sam', 'root'), "group 'root' has gid 0: refusing to run with the root group"),
    (('sam', '0'), "group '0' has gid 0: refusing to run with the root group"),
    (('wheelie', None), 'group 0 has gid 0: refusing to run with the root group'),
    (('nosuch', None), "user 'nosuch' does not exist on the host"),
    (('sam', 'nosuch'), "group 'nosuch' does not exist on the host"),
    (('4242', None), "user '4242' has no passwd entry on the host: give a group"),
    # int('²') raises; a uid or gid past 2**32-2 overflows chown, and (uid_t)-1 means "unchanged"
    (('²', None), "user '²' does not exist on the host"),
    (('sam', '²'), "group '²' does not exist on the host"),
    (('99999999999', '4242'), "user '99999999999' is out of range (ids go up to 4294967294)"),
    (('sam', '4294967295'), "group '4294967295' is out of range (ids go up to 4294967294)"),
]


@pytest.mark.parametrize('args, expected', VALID_IDENTITIES)
def test_identity_valid(args, expected):
    assert identity(*args) == expected


@pytest.mark.parametrize('args, message', INVALID_IDENTITIES)
def test_identity_invalid(args, message):
    with pytest.raises(JailExecError) as excinfo:
        identity(*args)
    assert str(excinfo.value) == message


def test_clean_environment_and_overrides():
    assert build_environment({}, '/home/sam') == {
        'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/home/sam', 'LANG': 'C.UTF-8'}
    assert build_environment({'LANG': 'fr_FR.UTF-8', 'X': 1}, '/') == {
        'PATH': '/usr/local/bin:/usr/bin:/bin', 'HOME': '/', 'LANG': 'fr_FR.UTF-8', 'X': '1'}


@pytest.mark.parametrize('env, message', [
    ({'A=B': 'x'}, "environment: invalid variable name 'A=B'"),
    ({'': 'x'}, "environment: invalid variable name ''"),
    ({'A': 'x\0y'}, 'environment: A contains a NUL byte'),
])
def test_environment_invalid(env, message):
    with pytest.raises(JailExecError) as excinfo:
        build_environment(env, '/')
    assert str(excinfo.value) == message


@pytest.fixture
def jail(tmp_path):
    """A jail tree (not runnable) to look programs up in; the host's /bin/sh must never be found."""
    root = tmp_path / 'jail'
    for directory in ('bin', 'usr/bin', 'etc'):
        (root / directory).mkdir(parents=True)
    for name, mode in (('bin/tool', 0o755), ('bin/data', 0o644)):
        (root / name).write_text('x')
        os.chmod(str(root / name), mode)
    os.symlink('/bin/tool', str(root / 'usr/bin/link'))
    os.symlink('../../../../../bin/sh', str(root / 'usr/bin/escape'))
    (root / 'bin' / 'dir').mkdir()
    return str(root)


@pytest.mark.parametrize('program, real', [
    ('/bin/tool', '/bin/tool'),
    ('/usr/bin/link', '/bin/tool'),
    ('tool', '/bin/tool'),
    ('link', '/bin/tool'),
])
def test_find_program(jail, program, real):
    assert find_program(jail, program, '/usr/bin:/bin') == real


@pytest.mark.parametrize('program, message', [
    ('/bin/sh', 'program /bin/sh does not exist in the jail {jail}'),
    ('/usr/bin/escape', 'program /usr/bin/escape does not exist in the jail {jail} (/bin/sh is missing)'),
    ('sh', "program 'sh' is not found in the jail {jail} (searched PATH /usr/bin:/bin)"),
    ('data', "program 'data' is not found in the jail {jail} (searched PATH /usr/bin:/bin)"),
    ('/bin/data', 'program /bin/data in the jail {jail} is not an executable regular file'),
    ('/bin/dir', 'program /bin/dir in the jail {jail} is not an executable regular file'),
    ('bin/tool', "argv[0] 'bin/tool': give an absolute path inside the jail or a bare program name"),
])
def test_find_program_refuses(jail, program, message):
    with pytest.raises(JailExecError) as excinfo:
        find_program(jail, program, '/usr/bin:/bin')
    assert str(excinfo.value) == message.format(jail=jail)


def test_jail_path_exists_stays_inside(jail):
    assert jail_path_exists(jail, '/bin/data')
    assert not jail_path_exists(jail, '/usr/bin/escape')  # /bin/sh exists on the host only
    assert not jail_path_exists(jail, '/nope')


def trusting_lstat(path):
    """lstat, but the sticky world-writable temp dir passes as a jail ancestor."""
    st = os.lstat(path)
    if path == '/tmp':
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


def request(jail, **kwargs):
    args = dict(argv=['/bin/tool'], user='sam', lstat=trusting_lstat, identity=identity)
    args.update(kwargs)
    return ExecRequest(jail, **args)


def test_request_valid(jail):
    req = request(jail, argv=['link', '-v'], chdir='/etc', environment={'TERM': 'dumb'})
    assert (req.uid, req.gid, req.chdir, req.executable) == (1001, 1001, '/etc', '/bin/tool')
    assert req.argv == ['link', '-v'] and req.env['TERM'] == 'dumb' and req.env['HOME'] == '/home/sam'


@pytest.mark.parametrize('kwargs, message', [
    ({'argv': []}, 'argv: a non-empty list of strings is required'),
    ({'argv': ['']}, 'argv: a non-empty list of strings is required'),
    ({'argv': ['/bin/tool', 'a\0b']}, 'argv: an argument contains a NUL byte'),
    ({'user': 'root'}, "user 'root' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    ({'chdir': 'etc'}, "chdir 'etc' is not an absolute path"),
    ({'chdir': '/var'}, 'chdir /var does not exist in the jail {jail}'),
    ({'chdir': '/bin/tool'}, 'chdir /bin/tool in the jail {jail} is not a directory'),
    ({'timeout': 0}, 'timeout 0 must be a positive number of seconds'),
])
def test_request_invalid(jail, kwargs, message):
    with pytest.raises(JailExecError) as excinfo:
        request(jail, **kwargs)
    assert str(excinfo.value) == message.format(jail=jail)


def test_request_refuses_jail_under_writable_directory(tmp_path):
    parent = tmp_path / 'open'
    (parent / 'jail' / 'bin').mkdir(parents=True)
    os.chmod(str(parent), 0o775)
    with pytest.raises(JailExecError) as excinfo:
        request(str(parent / 'jail'))
    assert str(excinfo.value) == f'jail path component {parent} is group- or world-writable (mode 0775)'


def test_request_refuses_missing_jail(tmp_path):
    with pytest.raises(JailExecError) as excinfo:
        request(str(tmp_path / 'nojail'))
    assert str(excinfo.value) == f'jail {tmp_path}/nojail does not exist'


def test_hook_is_the_plain_lstat():
    assert _jail_exec.jail_root_lstat is os.lstat


def test_jailed_descendants_follow_the_user_below_this_process():
    """Orphans of the run come back to the module (subreaper); others' processes are not its own."""
    table = {
        10: (1, 0, 'S', 1),        # the module
        11: (10, 1001, 'S', 1),    # the program
        12: (11, 1001, 'S', 1),    # its child
        13: (10, 1001, 'Z', 1),    # an orphan handed back, dead
        14: (10, 0, 'S', 1),       # another child of the module, not the user's
        15: (14, 1001, 'S', 1),    # below a process of another user
        16: (1, 1001, 'S', 1),     # the same user, elsewhere (an ssh session)
    }
    assert jailed_descendants(1001, 10, table) == {11: (10, 'S', 1), 12: (11, 'S', 1), 13: (10, 'Z', 1)}


def test_a_zombie_with_threads_left_is_killed_and_named(monkeypatch):
    """A process whose main thread ended shows as a zombie while its other threads run on."""
    me = os.getpid()
    monkeypatch.setattr(_jail_exec, 'jailed_descendants', lambda uid, top: {41: (me, 'Z', 2), 42: (me, 'Z', 1)})
    killed = []
    monkeypatch.setattr(_jail_exec, 'kill_if_jailed', lambda pid, uid, parents: killed.append((pid, sorted(parents))))
    monkeypatch.setattr(os, 'waitpid', lambda pid, options: (pid, 0))
    assert _jail_exec.kill_jailed(1001, None, time.monotonic()) == [41]
    assert killed == [(41, sorted({41, 42, me}))]


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to kill as root')
def test_a_pid_that_is_no_longer_the_runs_own_is_not_killed():
    """After a timeout root kills by pid what it found below it; by then the pid may name a
    process that is not the run's (its jailed parent reaped it, the pid was reused)."""
    other = subprocess.Popen(['sleep', '30'])  # root's own, standing in for the unrelated process
    me = os.getpid()
    try:
        _jail_exec.kill_if_jailed(other.pid, 65534, {me})  # another user's
        _jail_exec.kill_if_jailed(other.pid, 0, {1})  # the right user, but not below the run
        time.sleep(0.1)
        assert other.poll() is None
        _jail_exec.kill_if_jailed(other.pid, 0, {me})
        assert other.wait(timeout=5) == -signal.SIGKILL
    finally:
        other.kill()
        other.wait()


def test_a_process_whose_name_is_not_utf8_is_still_seen(tmp_path):
    """The program names itself (PR_SET_NAME): a byte that is no UTF-8 hid it from the kill."""
    (tmp_path / '123').mkdir()
    status = b'Name:\t\xff\xfe\nState:\tS (sleeping)\nPPid:\t1\nUid:\t1001\t1001\t1001\t1001\nThreads:\t1\n'
    (tmp_path / '123' / 'status').write_bytes(status)
    assert _jail_exec._status('123', str(tmp_path)) == (1, 1001, 'S', 1)
    assert _jail_exec._process_table(str(tmp_path)) == {123: (1, 1001, 'S', 1)}
