# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host-path helpers of _fileio, exercised through a real AnsibleModule.

A writer module as small as possible runs under the conftest harness, so atomic_move,
backup_local and set_fs_attributes_if_different are Ansible's own, not stand-ins.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat

import pytest
from ansible.module_utils import basic

from ansible_collections.serversec.confine.plugins.module_utils import _fileio
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    FileIOError,
    read_if_exists,
    set_attributes,
    write_atomic,
)


class Writer:
    """A module whose main() writes its content option through write_atomic, then set_attributes."""

    def __init__(self, validate=None, follow=False, create_mode=None):
        self.validate = validate
        self.follow = follow
        self.create_mode = create_mode

    def main(self):
        module = basic.AnsibleModule(
            argument_spec=dict(path=dict(type='path', required=True), content=dict(type='str', required=True),
                               backup=dict(type='bool', default=False)),
            add_file_common_args=True,
            supports_check_mode=True,
        )
        path = module.params['path']
        backup_file = None
        try:
            if not module.check_mode:
                backup_file = write_atomic(module, path, module.params['content'].encode(),
                                           backup=module.params['backup'], validate=self.validate,
                                           follow=self.follow, create_mode=self.create_mode)
            changed = set_attributes(module, path, False)
        except FileIOError as exc:
            module.fail_json(msg=str(exc))
        module.exit_json(changed=changed, backup_file=backup_file)


def leftovers(directory):
    return sorted(name for name in os.listdir(str(directory)) if name.startswith('.'))


# ---------------------------------------------------------------- read_if_exists

def test_read_if_exists_reads_bytes_and_tells_absent(tmp_path):
    path = tmp_path / 'hosts.allow'
    assert read_if_exists(str(path)) is None
    path.write_bytes(b'sshd : ALL\n\0\xff')
    assert read_if_exists(str(path)) == b'sshd : ALL\n\0\xff'


def test_read_if_exists_raises_on_anything_but_absence(tmp_path):
    """A path through a regular file is ENOTDIR, not "absent": an absent table is read as empty."""
    (tmp_path / 'file').write_bytes(b'')
    with pytest.raises(OSError) as excinfo:
        read_if_exists(str(tmp_path / 'file' / 'hosts.allow'))
    assert excinfo.value.errno == errno.ENOTDIR


@pytest.mark.parametrize('make', [os.mkdir, os.mkfifo], ids=['directory', 'fifo'])
def test_read_if_exists_refuses_what_is_not_a_regular_file(tmp_path, make):
    """A FIFO in place of the table would block the read forever."""
    path = str(tmp_path / 'hosts.allow')
    make(path)
    with pytest.raises(FileIOError) as excinfo:
        read_if_exists(path)
    assert str(excinfo.value) == f'{path}: not a regular file'


# ---------------------------------------------------------------- write_atomic

def test_creates_a_file_with_the_umask_mode_and_no_backup(tmp_path, run_module):
    path = tmp_path / 'new.conf'
    old_umask = os.umask(0o027)
    try:
        result = run_module(Writer(), dict(path=str(path), content='one\n', backup=True))
    finally:
        os.umask(old_umask)
    assert (result['changed'], result['backup_file']) == (False, None)
    assert path.read_bytes() == b'one\n'
    assert os.stat(str(path)).st_mode & 0o7777 == 0o640
    assert leftovers(tmp_path) == []


def test_create_mode_is_given_to_a_new_file_only(tmp_path, run_module):
    new, old = tmp_path / 'new.service', tmp_path / 'old.service'
    old.write_bytes(b'old\n')
    old.chmod(0o600)
    old_umask = os.umask(0o077)
    try:
        for path in (new, old):
            run_module(Writer(create_mode=0o644), dict(path=str(path), content='unit\n'))
    finally:
        os.umask(old_umask)
    assert os.stat(str(new)).st_mode & 0o7777 == 0o644
    assert os.stat(str(old)).st_mode & 0o7777 == 0o600
    assert old.read_bytes() == b'unit\n'


def test_replaces_content_keeps_mode_and_owner_and_backs_up(tmp_path, run_module):
    path = tmp_path / 'hosts.deny'
    path.write_bytes(b'before\n')
    path.chmod(0o640)
    owner = (65534, 65534) if os.geteuid() == 0 else (os.getuid(), os.getgid())
    os.chown(str(path), *owner)
    inode = os.stat(str(path)).st_ino
    result = run_module(Writer(), dict(path=str(path), content='after\n', backup=True))
    assert path.read_bytes() == b'after\n'
    written = os.stat(str(path))
    assert (written.st_mode & 0o7777, written.st_uid, written.st_gid) == (0o640, owner[0], owner[1])
    assert written.st_ino != inode, 'the file must be replaced by a rename, not rewritten in place'
    backup = result['backup_file']
    assert os.path.dirname(backup) == str(tmp_path) and os.path.basename(backup).startswith('hosts.deny.')
    with open(backup, 'rb') as handle:
        assert handle.read() == b'before\n'
    assert leftovers(tmp_path) == []


def test_a_refusing_validate_sees_the_new_bytes_and_leaves_nothing(tmp_path, run_module):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'before\n')
    seen = []

    def validate(tmp):
        seen.append((os.path.dirname(tmp), read_if_exists(tmp)))
        raise FileIOError('does not read back')

    result = run_module(Writer(validate=validate), dict(path=str(path), content='after\n', backup=True))
    assert result['msg'] == 'does not read back'
    assert seen == [(str(tmp_path), b'after\n')]
    assert path.read_bytes() == b'before\n'
    assert os.listdir(str(tmp_path)) == ['hosts.allow'], 'no temporary file and no backup may be left'


@pytest.mark.parametrize('broken', ['fsync', 'atomic_move'])
def test_a_failed_write_leaves_the_file_whole_and_no_temporary(tmp_path, run_module, monkeypatch, broken):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'before\n')

    def fail(*args, **kwargs):
        raise OSError(errno.EIO, 'Input/output error')

    if broken == 'fsync':
        monkeypatch.setattr(_fileio.os, 'fsync', fail)
        with pytest.raises(OSError):
            run_module(Writer(), dict(path=str(path), content='after\n'))
    else:
        monkeypatch.setattr(basic.AnsibleModule, 'atomic_move', fail)
        result = run_module(Writer(), dict(path=str(path), content='after\n'))
        assert result['msg'] == f'{path}: [Errno 5] Input/output error'
    assert path.read_bytes() == b'before\n'
    assert leftovers(tmp_path) == []


def test_follow_writes_through_a_symlink_to_its_target(tmp_path, run_module):
    real = tmp_path / 'policy' / 'hosts.allow'
    real.parent.mkdir()
    real.write_bytes(b'before\n')
    link = tmp_path / 'hosts.allow'
    link.symlink_to(real)
    run_module(Writer(follow=True), dict(path=str(link), content='after\n'))
    assert link.is_symlink() and real.read_bytes() == b'after\n'
    assert leftovers(tmp_path) == [] and leftovers(real.parent) == []


@pytest.mark.parametrize('make, follow', [
    (lambda path, tmp: os.symlink(str(tmp / 'elsewhere'), path), False),
    (lambda path, tmp: os.symlink('/dev/null', path), True),
    (lambda path, tmp: os.mkdir(path), False),
    (lambda path, tmp: os.mkfifo(path), True),
], ids=['symlink-not-followed', 'symlink-to-device', 'directory', 'fifo'])
def test_refuses_to_replace_what_is_not_a_regular_file(tmp_path, run_module, make, follow):
    path = str(tmp_path / 'unit.service')
    make(path, tmp_path)
    target = os.path.realpath(path) if follow else path
    result = run_module(Writer(follow=follow), dict(path=path, content='x\n'))
    assert result['msg'] == f'{path}: {target} is not a regular file, refusing to replace it'
    assert leftovers(tmp_path) == []


def test_a_missing_directory_is_named(tmp_path, run_module):
    path = str(tmp_path / 'nowhere' / 'hosts.allow')
    result = run_module(Writer(), dict(path=path, content='x\n'))
    assert result['msg'] == f'{path}: directory {tmp_path / "nowhere"} does not exist'


# ---------------------------------------------------------------- set_attributes

def test_set_attributes_applies_mode_and_reports_it_in_check_mode_without_changing(tmp_path, run_module):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'x\n')
    path.chmod(0o644)
    result = run_module(Writer(), dict(path=str(path), content='x\n', mode='0600'), check=True)
    assert result['changed'] is True
    assert os.stat(str(path)).st_mode & 0o7777 == 0o644
    assert run_module(Writer(), dict(path=str(path), content='x\n', mode='0600'))['changed'] is True
    assert os.stat(str(path)).st_mode & 0o7777 == 0o600
    assert run_module(Writer(), dict(path=str(path), content='x\n', mode='0600'))['changed'] is False


# --------------------------------------------------------------------------
# descriptor-relative writes: the jail engine's state, scratch files

def test_replace_at_replaces_in_one_rename_mode_0600(tmp_path):
    (tmp_path / 'state.json').write_bytes(b'old')
    dir_fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        _fileio.replace_at(dir_fd, 'state.json', b'new', '.state.json.tmp1')
    finally:
        os.close(dir_fd)
    assert (tmp_path / 'state.json').read_bytes() == b'new'
    assert stat.S_IMODE(os.stat(str(tmp_path / 'state.json')).st_mode) == 0o600
    assert sorted(os.listdir(str(tmp_path))) == ['state.json']


def test_replace_at_never_writes_through_a_planted_temporary(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_bytes(b'host file')
    (tmp_path / 'd').mkdir()
    os.symlink(str(victim), str(tmp_path / 'd' / '.x.tmp'))
    dir_fd = os.open(str(tmp_path / 'd'), os.O_RDONLY)
    try:
        with pytest.raises(OSError):
            _fileio.replace_at(dir_fd, 'x', b'data', '.x.tmp')
    finally:
        os.close(dir_fd)
    assert victim.read_bytes() == b'host file'
    assert not (tmp_path / 'd' / 'x').exists()


def test_write_new_refuses_an_existing_name_or_link(tmp_path):
    _fileio.write_new(str(tmp_path / 'a'), b'x')
    assert (tmp_path / 'a').read_bytes() == b'x'
    os.symlink(str(tmp_path / 'a'), str(tmp_path / 'b'))
    for name in ('a', 'b'):
        with pytest.raises(OSError):
            _fileio.write_new(str(tmp_path / name), b'y')
    assert (tmp_path / 'a').read_bytes() == b'x'
