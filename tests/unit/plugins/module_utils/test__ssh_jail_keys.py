# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh_jail's authorized keys: the options refused before anything is written, and the files
written root-owned 0644 in a root-owned 0755 directory, never through a symlink or a directory
someone else could write; check mode, diff and idempotence. Real files under a root-owned
scratch directory (the walk from / refuses /tmp, which everyone can write)."""

import os
import shutil
import stat
import tempfile

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError, SshJailSpec
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_keys import install_keys

KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA ann@laptop'
KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB ann@desk'


def spec(**kwargs):
    args = dict(users=['ann', 'bob'])
    args.update(kwargs)
    return SshJailSpec('sftp-ann', '/srv/jails/ann', **args)


@pytest.mark.parametrize('kwargs, files', [
    ({}, {}),
    ({'authorized_keys': {'ann': [KEY_A, KEY_B]}}, {'/etc/ssh/authorized_keys/ann': f'{KEY_A}\n{KEY_B}\n'}),
    ({'authorized_keys': {'ann': [], 'bob': [KEY_A]}, 'authorized_keys_file': '/etc/ssh/keys/%u.pub'},
     {'/etc/ssh/keys/ann.pub': '\n', '/etc/ssh/keys/bob.pub': f'{KEY_A}\n'}),
])
def test_valid_keys(kwargs, files):
    assert spec(**kwargs).keys_files == files


@pytest.mark.parametrize('kwargs, message', [
    ({'authorized_keys': {'carl': [KEY_A]}},
     "authorized_keys: 'carl' is not in users (only the jailed users' keys are written)"),
    ({'authorized_keys': {'ann': KEY_A}}, 'authorized_keys ann: give a list of keys'),
    ({'authorized_keys': {'ann': [f'{KEY_A}\n{KEY_B}']}},
     f'authorized_keys ann: {KEY_A + chr(10) + KEY_B!r} is not one line (each key is one line of the file)'),
    ({'authorized_keys': {'ann': [f'{KEY_A}\r']}},
     f'authorized_keys ann: {KEY_A + chr(13)!r} is not one line (each key is one line of the file)'),
    ({'authorized_keys': {'ann': [KEY_A]}, 'state': 'absent'}, 'authorized_keys: give it only with state=present'),
    ({'authorized_keys': {'ann': [KEY_A]}, 'authorized_keys_file': '/etc/ssh/authorized_keys'},
     "authorized_keys: authorized_keys_file '/etc/ssh/authorized_keys' must name one file per user, "
     'with %u once and no other % token, in a directory below /'),
    ({'authorized_keys': {'ann': [KEY_A]}, 'authorized_keys_file': '/etc/ssh/%h/%u'},
     "authorized_keys: authorized_keys_file '/etc/ssh/%h/%u' must name one file per user, "
     'with %u once and no other % token, in a directory below /'),
    ({'authorized_keys': {'ann': [KEY_A]}, 'authorized_keys_file': '/%u'},
     "authorized_keys: authorized_keys_file '/%u' must name one file per user, "
     'with %u once and no other % token, in a directory below /'),
    ({'authorized_keys': {'ann': [KEY_A]}, 'authorized_keys_file': '/etc/%u/keys'},
     "authorized_keys: authorized_keys_file '/etc/%u/keys': %u must be in the file name"),
])
def test_invalid_keys(kwargs, message):
    with pytest.raises(SshJailError) as caught:
        spec(**kwargs)
    assert str(caught.value) == message


pytestmark_root = pytest.mark.skipif(os.geteuid() != 0, reason='the files are chowned to root')


@pytest.fixture
def base():
    """A scratch directory whose every ancestor is root-owned and not group/world-writable."""
    path = tempfile.mkdtemp(dir='/root' if os.access('/root', os.W_OK) else None)
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path)


def mode_owner(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


@pytestmark_root
def test_written_root_owned_then_nothing_to_do(base):
    keys_dir = f'{base}/keys'
    files = {f'{keys_dir}/ann': f'{KEY_A}\n', f'{keys_dir}/bob': '\n'}
    changes, diffs = install_keys(files, check_mode=False)
    assert changes == [f'create {keys_dir}', f'write {keys_dir}/ann', f'write {keys_dir}/bob']
    assert [d['after'] for d in diffs] == [f'{KEY_A}\n', '\n']
    assert mode_owner(keys_dir) == (0o755, 0, 0)
    for path, text in files.items():
        assert mode_owner(path) == (0o644, 0, 0)
        with open(path) as handle:
            assert handle.read() == text
    assert sorted(os.listdir(keys_dir)) == ['ann', 'bob']  # no temporary file left
    assert install_keys(files, check_mode=False) == ([], [])


@pytestmark_root
def test_check_mode_writes_nothing(base):
    path = f'{base}/keys/ann'
    assert install_keys({path: f'{KEY_A}\n'}, check_mode=True) == (
        [f'create {base}/keys', f'write {path}'],
        [{'before_header': path, 'after_header': path, 'before': '', 'after': f'{KEY_A}\n'}])
    assert not os.path.exists(f'{base}/keys')


@pytestmark_root
def test_other_keys_replaced_and_attributes_fixed(base):
    os.mkdir(f'{base}/keys', 0o700)
    os.chown(f'{base}/keys', 0, 1)
    path = f'{base}/keys/ann'
    with open(path, 'w') as handle:
        handle.write(f'{KEY_B}\n')
    os.chmod(path, 0o600)
    changes, diffs = install_keys({path: f'{KEY_A}\n'}, check_mode=False)
    assert changes == [f'chown {base}/keys root:root', f'chmod {base}/keys 0755', f'write {path}']
    assert diffs == [{'before_header': path, 'after_header': path, 'before': f'{KEY_B}\n', 'after': f'{KEY_A}\n'}]
    assert mode_owner(f'{base}/keys') == (0o755, 0, 0)
    assert mode_owner(path) == (0o644, 0, 0)
    # Same keys, but a file someone made group-writable and gave away: put back, reported.
    os.chmod(path, 0o664)
    os.chown(path, 1, 1)
    assert install_keys({path: f'{KEY_A}\n'}, check_mode=False) == (
        [f'chown {path} root:root', f'chmod {path} 0644'], [])
    assert mode_owner(path) == (0o644, 0, 0)


@pytestmark_root
def test_symlinked_directory_refused(base):
    os.mkdir(f'{base}/elsewhere', 0o755)
    os.symlink(f'{base}/elsewhere', f'{base}/keys')
    with pytest.raises(SshJailError) as caught:
        install_keys({f'{base}/keys/ann': f'{KEY_A}\n'}, check_mode=False)
    assert str(caught.value) == f'authorized_keys: {base}/keys is a symlink'
    assert os.listdir(f'{base}/elsewhere') == []


@pytestmark_root
def test_symlinked_file_refused(base):
    os.mkdir(f'{base}/keys', 0o755)
    with open(f'{base}/target', 'w') as handle:
        handle.write('untouched\n')
    os.symlink(f'{base}/target', f'{base}/keys/ann')
    with pytest.raises(SshJailError) as caught:
        install_keys({f'{base}/keys/ann': f'{KEY_A}\n'}, check_mode=False)
    assert str(caught.value) == f'authorized_keys: {base}/keys/ann is a symlink'
    with open(f'{base}/target') as handle:
        assert handle.read() == 'untouched\n'


@pytestmark_root
@pytest.mark.parametrize('owner, mode', [(1, 0o755), (0, 0o775), (0, 0o757)])
def test_directory_others_can_write_refused(base, owner, mode):
    os.mkdir(f'{base}/ssh')
    os.chown(f'{base}/ssh', owner, 0)
    os.chmod(f'{base}/ssh', mode)
    with pytest.raises(SshJailError) as caught:
        install_keys({f'{base}/ssh/keys/ann': f'{KEY_A}\n'}, check_mode=False)
    assert str(caught.value) == (f'authorized_keys: {base}/ssh must be root-owned and not group- or world-writable '
                                 '(whoever can write it can replace the keys)')
    assert os.listdir(f'{base}/ssh') == []


@pytestmark_root
def test_file_that_is_not_regular_refused(base):
    os.makedirs(f'{base}/keys/ann')
    with pytest.raises(SshJailError) as caught:
        install_keys({f'{base}/keys/ann': f'{KEY_A}\n'}, check_mode=False)
    assert str(caught.value) == f'authorized_keys: {base}/keys/ann is not a regular file'
