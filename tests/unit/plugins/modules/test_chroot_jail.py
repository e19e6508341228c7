# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail end to end, run in-process through the harness of tests/unit/conftest.py."""

import hashlib
import os
import stat
import tempfile

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import converge as engine
from ansible_collections.serversec.confine.plugins.modules import chroot_jail

TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}


def safe_tmp_lstat(path):
    """lstat, but the system temp dir (sticky, world-writable) passes as a jail ancestor."""
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


@pytest.fixture
def run(run_module, monkeypatch, tmp_path):
    """Run chroot_jail with its state in the test's temp dir; the module rightly refuses jails
    and state directories under the sticky, world-writable system temp dir, so these tests
    trust it unless ``trust_tmp`` is false."""
    def run_jail(args, trust_tmp=True, check=False, diff=False):
        args = dict({'state_dir': str(tmp_path / 'state')}, **args)
        with monkeypatch.context() as patch:
            if trust_tmp:
                patch.setattr(engine, 'jail_root_lstat', safe_tmp_lstat)
            return run_module(chroot_jail, args, check=check, diff=diff)
    return run_jail


@pytest.fixture
def base(tmp_path):
    path = tmp_path / 'srv'
    path.mkdir()
    os.chmod(str(path), 0o755)
    return path


def test_relative_path_fails(run):
    result = run({'path': 'srv/jail', 'binaries': ['/bin/bash']})
    assert result['failed'] and result['msg'] == "jail path 'srv/jail' is not an absolute path"


def test_unknown_profile_fails(run, base):
    result = run({'path': str(base / 'j'), 'profiles': ['x11']})
    assert result['failed'] and 'x11' in result['msg'] and 'profiles' in result['msg']
    assert not (base / 'j').exists()


@pytest.mark.skipif(stat.S_IMODE(os.stat('/tmp').st_mode) & 0o002 == 0, reason='/tmp is not world-writable here')
def test_jail_under_world_writable_tmp_is_refused(run, tmp_path):
    result = run({'path': str(tmp_path / 'jail'), 'binaries': ['/bin/bash']}, trust_tmp=False)
    assert result['failed']
    mode = stat.S_IMODE(os.stat('/tmp').st_mode)
    assert result['msg'] == f'jail path component /tmp is group- or world-writable (mode {mode:04o})'
    assert not (tmp_path / 'jail').exists()


@pytest.mark.skipif(not os.path.exists('/lib64/ld-linux-x86-64.so.2'), reason='x86_64 glibc host only')
def test_check_diff_apply_idempotent_absent(run, tmp_path, base):
    jail = base / 'shell'
    # devices: [null] in YAML is [None]: it means the null device
    args = {'path': str(jail), 'binaries': ['/bin/bash', '/usr/bin/id'], 'users': ['root'], 'profiles': ['nss'],
            'devices': [None]}
    checked = run(args, check=True, diff=True)
    assert checked['changed'] and '/usr/bin/bash' in checked['added'] and '/dev/null' in checked['added']
    assert 'added: /usr/bin/bash\n' in checked['diff']['prepared']
    assert not jail.exists()

    applied = run(args)
    assert applied['changed'] and sorted(applied['added']) == sorted(checked['added'])
    assert (jail / 'usr' / 'bin' / 'bash').is_file()
    assert applied['files'] > 4 and applied['size'] > 100000

    again = run(args, check=True, diff=True)
    assert (again['changed'], again['added'], again['updated'], again['removed']) == (False, [], [], [])
    assert again['diff']['prepared'] == ''

    missing = run(dict(args, binaries=['/bin/bash', '/usr/bin/no such; $(id)']))
    assert missing['failed']
    assert missing['msg'] == 'binary /usr/bin/no such; $(id) does not exist on the host'

    gone = run({'path': str(jail), 'state': 'absent'})
    assert gone['changed'] and '/usr/bin/bash' in gone['removed']
    assert not jail.exists()


def test_state_dir_inside_the_jail_is_refused(run, base):
    jail = str(base / 'j')
    result = run({'path': jail, 'binaries': ['/bin/bash'], 'state_dir': jail + '/var/lib/state'})
    assert result['failed'] and result['msg'] == (
        f'state_dir {jail}/var/lib/state is inside the jail {jail}; a jailed process could edit the state: '
        'choose a directory outside every jail')
    assert not (base / 'j').exists()


@pytest.mark.parametrize('state', ['absent', 'present'])
def test_malformed_state_fails_without_traceback(run, base, tmp_path, state):
    state_dir = tmp_path / 'state'
    state_dir.mkdir(mode=0o700)
    (base / 'j').mkdir()
    # STEM.HASH.json: the jail path with '/' as '-' (34 characters at most), 24 hex of its SHA-256
    jail = str(base / 'j')
    state_file = state_dir / f"{jail.strip('/').replace('/', '-')[:34]}.{hashlib.sha256(jail.encode()).hexdigest()[:24]}.json"
    state_file.write_text('[' * 100000 + ']' * 100000)
    os.chmod(str(state_file), 0o600)
    result = run({'path': str(base / 'j'), 'state': state, 'profiles': ['nss']})
    assert result['failed'] and result['msg'] == f'{state_file}: nested too deeply to be a state file'
