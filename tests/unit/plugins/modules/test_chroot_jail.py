# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail end to end, run in-process through the harness of tests/unit/conftest.py."""

import hashlib
import os
import stat
import tempfile

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as host_reader
from ansible_collections.serversec.confine.plugins.modules import chroot_jail
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__elf import elf64

TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}


def safe_tmp_lstat(path):
    """lstat, but the system temp dir (sticky, world-writable) passes as a jail ancestor."""
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


def trust_tmp_source_dir(path, st):
    """The source directory check, but the system temp dir passes."""
    return None if path in TMP_DIRS else host_reader.user_writable(path, st)


@pytest.fixture
def run(run_module, monkeypatch, tmp_path):
    """Run chroot_jail with its state in the test's temp dir; the module rightly refuses jails
    and state directories under the sticky, world-writable system temp dir, so these tests
    trust it unless ``trust_tmp`` is false, and sources under it (refused too) when
    ``trust_tmp_sources`` is true."""
    def run_jail(args, trust_tmp=True, trust_tmp_sources=False, check=False, diff=False):
        args = dict({'state_dir': str(tmp_path / 'state')}, **args)
        with monkeypatch.context() as patch:
            if trust_tmp:
                patch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
            if trust_tmp_sources:
                patch.setattr(host_reader, 'source_dir_check', trust_tmp_source_dir)
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


# --------------------------------------------------------------------------
# sources are read race-free (issue 9 §1): directories a non-root user could change are refused

SWAP_HINT = '(a non-root user could swap what it holds); set allow_user_writable_sources to accept it'


@pytest.mark.skipif(stat.S_IMODE(os.stat('/tmp').st_mode) & 0o002 == 0, reason='/tmp is not world-writable here')
def test_source_under_sticky_tmp_is_refused_naming_it(run, tmp_path, base):
    source = tmp_path / 'data' / 'app.conf'
    source.parent.mkdir()
    source.write_bytes(b'conf\n')
    result = run({'path': str(base / 'jail'), 'files': [str(source)]})
    assert result['failed']
    mode = stat.S_IMODE(os.stat('/tmp').st_mode)
    assert result['msg'] == f'file {source}: /tmp is group- or world-writable (mode {mode:04o}) {SWAP_HINT}'
    assert not (base / 'jail').exists()


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
def test_user_owned_source_dir_is_refused_unless_accepted(run, tmp_path, base):
    user_dir = tmp_path / 'data' / 'u'
    (user_dir / 'reports').mkdir(parents=True)
    (user_dir / 'reports' / 'x').write_bytes(b'report\n')
    os.chown(str(user_dir), 1001, 1001)
    source = str(user_dir / 'reports' / 'x')
    args = {'path': str(base / 'jail'), 'files': [source]}
    refused = run(args, trust_tmp_sources=True)
    assert refused['failed']
    assert refused['msg'] == f'file {source}: {user_dir} is owned by uid 1001 {SWAP_HINT}'
    assert not (base / 'jail').exists()
    accepted = run(dict(args, allow_user_writable_sources=True), trust_tmp_sources=True)
    assert accepted['changed'] and source in accepted['added']
    with open(str(base / 'jail') + source, 'rb') as handle:
        assert handle.read() == b'report\n'


@pytest.mark.parametrize('content, cause', [
    (elf64([(3, 120, 28)], e_phoff=2 ** 63, tail=b'/lib64/ld-linux-x86-64.so.2\0'),
     'program headers: 56 bytes at offset 9223372036854775808 are past the end of the file (148 bytes)'),
    (elf64([(3, 176, 16), (3, 192, 28)], tail=b'/tmp/evil-ld.so\0/lib64/ld-linux-x86-64.so.2\0'),
     'more than one PT_INTERP program header'),
])
def test_malformed_elf_fails_naming_the_file(run, tmp_path, base, content, cause):
    binary = tmp_path / 'prog'
    binary.write_bytes(content)
    os.chmod(str(binary), 0o755)
    result = run({'path': str(base / 'jail'), 'binaries': [str(binary)]}, trust_tmp_sources=True)
    assert result['failed']
    assert result['msg'] == f'binary {binary}: cannot inspect {binary}: {cause}'
    assert not (base / 'jail').exists()


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
