# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jail_exec end to end: a real jail built by the chroot engine, entered for real (needs root)."""

import os
import stat
import subprocess
import tempfile
import time

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _jail_exec
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailSpec
from ansible_collections.serversec.confine.plugins.modules import jail_exec

TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='entering a jail needs root')


def safe_tmp_lstat(path):
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


@pytest.fixture(scope='module')
def jail(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('jails') / 'shell')
    spec = JailSpec(path, binaries=['/bin/bash', '/bin/ls', '/bin/cat', '/usr/bin/id', '/bin/sleep'],
                    devices=['null'], users=['nobody'], groups=['nogroup'], profiles=['nss'],
                    directories=[{'path': '/tmp', 'mode': '1777'}, {'path': '/proc'}])
    converge(spec, str(tmp_path_factory.mktemp('state')), root_lstat=safe_tmp_lstat)
    return path


@pytest.fixture
def run(run_module, monkeypatch):
    def run_exec(args, check=False):
        monkeypatch.setattr(_jail_exec, 'jail_root_lstat', safe_tmp_lstat)
        return run_module(jail_exec, args, check=check)
    return run_exec


def test_bash_runs_as_nobody_inside_the_jail(run, jail):
    result = run({'jail': jail, 'argv': ['/bin/bash', '-c', 'ls /bin; id; pwd; echo $HOME $PATH'], 'user': 'nobody'})
    assert not result.get('failed'), result
    assert result['changed'] and result['rc'] == 0 and result['stderr'] == ''
    lines = result['stdout'].splitlines()
    assert lines[:5] == ['bash', 'cat', 'ls', 'sleep', 'id'] or sorted(lines[:5]) == ['bash', 'cat', 'id', 'ls', 'sleep']
    assert lines[5:] == ['uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)', '/',
                         '/nonexistent /usr/local/bin:/usr/bin:/bin']
    assert result['cmd'] == ['/bin/bash', '-c', 'ls /bin; id; pwd; echo $HOME $PATH']
    assert set(result) >= {'start', 'end', 'delta'}


def test_no_group_no_capability_no_new_privileges(run, jail):
    """Without setgroups([]) root's group 0 stays; without the bounding drop CapBnd is full."""
    proc = os.path.join(jail, 'proc')
    if subprocess.run(['mount', '-t', 'proc', 'proc', proc], capture_output=True, check=False).returncode != 0:
        pytest.skip('cannot mount proc here')
    try:
        result = run({'jail': jail, 'argv': ['cat', '/proc/self/status'], 'user': 'nobody'})
    finally:
        subprocess.run(['umount', '-l', proc], check=True)
    assert result['rc'] == 0, result
    status = dict(line.split(':', 1) for line in result['stdout'].splitlines())
    status = {key: value.strip() for key, value in status.items()}
    for field in ('CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'):
        assert status[field] == '0000000000000000', field
    assert status['NoNewPrivs'] == '1'
    assert status['Groups'] == ''
    assert status['Uid'].split() == ['65534'] * 4 and status['Gid'].split() == ['65534'] * 4


def test_stdin_environment_chdir_and_group(run, jail):
    result = run({'jail': jail, 'argv': ['/bin/bash', '-c', 'cat; echo " $LANG $X"; pwd; id -g'],
                  'user': 'nobody', 'group': '12345', 'chdir': '/tmp',
                  'stdin': 'hello', 'environment': {'X': 'y'}})
    assert result['stdout'] == 'hello C.UTF-8 y\n/tmp\n12345', result


def test_jailed_process_sees_only_the_jail(run, jail):
    result = run({'jail': jail, 'argv': ['ls', '/'], 'user': 'nobody'})
    listing = result['stdout'].split()
    assert listing == sorted(name for name in os.listdir(jail) if not name.startswith('.'))
    assert {'bin', 'dev', 'etc', 'tmp', 'usr'} <= set(listing) and not {'root', 'home', 'srv'} & set(listing)


@pytest.mark.parametrize('args, message', [
    ({'user': 'root'}, "user 'root' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    ({'user': '0'}, "user '0' has uid 0: refusing to run as root inside a jail (root can leave a chroot)"),
    ({'user': 'nobody', 'group': 'root'}, "group 'root' has gid 0: refusing to run with the root group"),
    ({'user': 'nobody', 'argv': ['/usr/bin/python3']}, 'program /usr/bin/python3 does not exist in the jail {jail}'),
    ({'user': 'nobody', 'argv': ['python3']}, "program 'python3' is not found in the jail {jail} (searched PATH /usr/local/bin:/usr/bin:/bin)"),
])
def test_refused_before_anything_runs(run, jail, args, message):
    full = dict({'jail': jail, 'argv': ['/bin/bash', '-c', 'touch /tmp/ran']}, **args)
    result = run(full)
    assert result['failed'] and result['msg'] == message.format(jail=jail)
    assert not os.path.exists(os.path.join(jail, 'tmp', 'ran'))


def test_non_zero_rc_fails(run, jail):
    result = run({'jail': jail, 'argv': ['/bin/bash', '-c', 'echo out; echo err >&2; exit 3'], 'user': 'nobody'})
    assert result['failed'] and result['msg'] == 'non-zero return code'
    assert (result['rc'], result['stdout'], result['stderr']) == (3, 'out', 'err')


def test_chdir_the_user_cannot_enter_fails_naming_it(run, jail):
    os.makedirs(os.path.join(jail, 'private'), mode=0o700, exist_ok=True)
    result = run({'jail': jail, 'argv': ['/bin/ls'], 'user': 'nobody', 'chdir': '/private'})
    assert result['failed']
    assert result['msg'] == (f"cannot run /bin/ls in the jail {jail} as uid 65534: "
                             "[Errno 13] Permission denied: '/private'")


def test_timeout_kills(run, jail):
    result = run({'jail': jail, 'argv': ['/bin/sleep', '30'], 'user': 'nobody', 'timeout': 1})
    assert result['failed'] and result['msg'] == '/bin/sleep was killed after the timeout of 1s'
    assert result['rc'] == -9


@pytest.mark.parametrize('script', [
    'set -m; sleep 20 & echo $!; sleep 20',  # its own process group, holding stdout
    '(set -m; sleep 20 & echo $!); sleep 20',  # and orphaned: its parent is gone
], ids=['own-group', 'orphan'])
def test_timeout_kills_what_left_the_process_group(run, jail, script):
    """killpg alone missed the background job, and reading its stdout waited for it to end."""
    began = time.monotonic()
    result = run({'jail': jail, 'argv': ['/bin/bash', '-c', script], 'user': 'nobody', 'timeout': 1})
    elapsed = time.monotonic() - began
    escaped = int(result['stdout'].split()[0])
    alive = os.path.exists(f'/proc/{escaped}')
    if alive:
        os.kill(escaped, 9)
    assert result['failed'] and result['msg'] == '/bin/bash was killed after the timeout of 1s', result
    assert elapsed < 1 + _jail_exec.KILL_GRACE, elapsed
    assert not alive


@pytest.mark.parametrize('option, path, cause', [
    ('creates', '/' + 'x' * 300, 'File name too long'),
    ('removes', '/tmp/' + 'x' * 300, 'File name too long'),
    ('creates', '/tmp/a\0b', 'embedded null byte'),
])
def test_creates_removes_unreadable_fail_naming_the_option(run, jail, option, path, cause):
    result = run({'jail': jail, 'argv': ['/bin/bash', '-c', 'touch /tmp/ran'], 'user': 'nobody', option: path})
    assert result['failed'] and result['msg'] == f'{option} {path!r}: {cause}', result
    assert not os.path.exists(os.path.join(jail, 'tmp', 'ran'))


def test_check_mode_creates_removes(run, jail):
    args = {'jail': jail, 'argv': ['/bin/bash', '-c', 'echo x > /tmp/made'], 'user': 'nobody'}
    made = os.path.join(jail, 'tmp', 'made')
    result = run(args, check=True)
    assert result['skipped'] and not result['changed'] and not os.path.exists(made)
    result = run(dict(args, removes='/tmp/made'))
    assert not result['changed'] and result['msg'] == 'skipped, since /tmp/made does not exist'
    assert run(dict(args, creates='/tmp/made'))['changed']
    result = run(dict(args, creates='/tmp/made'))
    assert not result['changed'] and result['msg'] == 'skipped, since /tmp/made exists'
    os.unlink(made)
