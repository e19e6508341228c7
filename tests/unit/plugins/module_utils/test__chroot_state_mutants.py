# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""State-file cases that `make mutation` showed no other test pins down.

Each test kills mutants of _chroot/state.py that test__chroot_state.py and test__chroot_mutants.py
let live: every field check of the state at its bounds, the size cap, the file format, the
ownership and mode of the state directory as its descriptor sees it (a directory swapped after
its check), symlinks where the state and lock files should be, errors that must stay errors,
and the lock's wait. Most call state.py directly on a temporary state directory; every expected
value is written out here. Survivors that cannot change any result are listed in
tests/unit/mutation-survivors.md.
"""

import errno
import fcntl
import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import state
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import safe_tmp_lstat

JAIL = '/srv/jails/app'
NAME = state.state_name(JAIL)
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')


def good(**changes):
    data = {'version': 2, 'jail': JAIL, 'managed': {}, 'pending': {}, 'created': [], 'deps': {}}
    data.update(changes)
    return data


def dep(**changes):
    entry = {'sig': [1, 2, 3], 'ldcache': None, 'deps': ['/lib/libc.so.6'], 'dep_sigs': [[4, 5, 6]]}
    entry.update(changes)
    return {'/usr/bin/app': entry}


MALFORMED_DEP = "state.json: dependency cache entry '/usr/bin/app' is malformed"


@pytest.mark.parametrize('data, message', [
    (good(version=3), 'state.json: unknown state format (version 3)'),
    (good(jail='/srv/jails/zzz'), "state.json: records the jail '/srv/jails/zzz', not /srv/jails/app"),
    (good(created=['/srv/jails/zzz']), "state.json: created directory '/srv/jails/zzz' is neither the jail nor one of its parents"),
    (good(deps=dep(sig=[1, 2, 3, 4])), MALFORMED_DEP),
    (good(deps=dep(sig=['1', 2, 3])), MALFORMED_DEP),
    (good(deps=dep(dep_sigs=[[4, 5, 6], [7, 8, 9]])), MALFORMED_DEP),
    (good(deps=dep(extra=1)), MALFORMED_DEP),
    (good(deps={'/usr/bin/app': {'sig': [1, 2, 3], 'deps': [], 'dep_sigs': []}}), MALFORMED_DEP),
])
def test_state_fields_are_checked_at_their_bounds(data, message):
    with pytest.raises(JailError) as exc:
        state.validate_state(data, 'state.json', JAIL)
    assert str(exc.value) == message


def test_state_at_its_bounds_is_accepted():
    loaded = state.validate_state(good(created=['/srv/jails', JAIL], deps=dep()), 'state.json', JAIL)
    assert (loaded.managed, loaded.created, loaded.deps) == ({}, ['/srv/jails', JAIL], dep())


@pytest.mark.parametrize('version', [0, 2])
def test_legacy_manifest_of_another_version_is_refused(version):
    with pytest.raises(JailError) as exc:
        state.validate_legacy({'version': version, 'managed': {}}, 'manifest')
    assert str(exc.value) == 'manifest: unknown manifest format'


def test_state_text_is_sorted_and_compact():
    assert state.state_text({'b': 1, 'a': [2, {'d': 3, 'c': 4}]}) == '{"a":[2,{"c":4,"d":3}],"b":1}\n'


def _sparse_fd(tmp_path, size):
    path = str(tmp_path / f'sparse-{size}')
    with open(path, 'wb') as handle:
        handle.truncate(size)
    return os.open(path, os.O_RDONLY)


@pytest.mark.parametrize('size, accepted', [(32 << 20, True), ((32 << 20) + 1, False)])
def test_state_is_capped_at_32_mib(tmp_path, size, accepted):
    fd = _sparse_fd(tmp_path, size)
    try:
        if accepted:
            assert len(state.read_capped(fd, 'state.json')) == size
        else:
            with pytest.raises(JailError) as exc:
                state.read_capped(fd, 'state.json')
            assert str(exc.value) == 'state.json: larger than 33554432 bytes; not a state file'
    finally:
        os.close(fd)


@pytest.mark.parametrize('size, accepted', [(10, True), (11, False)])
def test_cap_counts_every_byte(tmp_path, monkeypatch, size, accepted):
    monkeypatch.setattr(state, 'MAX_STATE_BYTES', 10)
    fd = _sparse_fd(tmp_path, size)
    try:
        if accepted:
            assert state.read_capped(fd, 'state.json') == b'\0' * 10
        else:
            with pytest.raises(JailError):
                state.read_capped(fd, 'state.json')
    finally:
        os.close(fd)


def test_state_that_cannot_be_opened_is_an_error_not_missing():
    def opener():
        raise OSError(errno.EPERM, 'Operation not permitted')
    with pytest.raises(JailError) as exc:
        state.read_root_file(opener, 'state.json', 'state')
    assert str(exc.value) == 'state.json: cannot read the state: [Errno 1] Operation not permitted'


# ---------------------------------------------------------------- the state directory

@pytest.fixture
def state_dir(tmp_path):
    path = tmp_path / 'state'
    path.mkdir(mode=0o700)
    return str(path)


def store(state_dir, check_mode=False, lstat=safe_tmp_lstat):
    return state.StateStore(state_dir, JAIL, check_mode, lstat)


def test_state_store_writes_unless_told_it_is_check_mode(tmp_path):
    state_dir = str(tmp_path / 'new')
    with state.locked_state(state_dir, JAIL, lstat=safe_tmp_lstat) as opened:
        assert opened.lock_fd is not None
    assert sorted(os.listdir(state_dir)) == [NAME + '.lock']
    plain = state.StateStore(str(tmp_path / 'other'), JAIL, lstat=safe_tmp_lstat)
    plain.open()
    plain.close()
    assert sorted(os.listdir(str(tmp_path / 'other'))) == [NAME + '.lock']


def test_check_mode_without_a_lock_file_reads_nothing_and_creates_nothing(state_dir):
    checked = store(state_dir, check_mode=True)
    checked.open()
    try:
        assert checked.lock_fd is None
        assert checked.load().managed == {}
    finally:
        checked.close()
    assert os.listdir(state_dir) == []


def test_state_dir_traversable_by_others_is_accepted(state_dir):
    os.chmod(state_dir, 0o701)
    with state.locked_state(state_dir, JAIL, lstat=safe_tmp_lstat) as opened:
        assert opened.lock_fd is not None


def checked_as_root_dir(path):
    """An lstat that saw ``path`` as a root-owned 0700 directory when it was checked."""
    def lstat(current):
        if current == path:
            return os.stat_result((stat.S_IFDIR | 0o700, 1, 1, 2, 0, 0, 4096, 0, 0, 0))
        return safe_tmp_lstat(current)
    return lstat


@needs_root
@pytest.mark.parametrize('uid, mode', [(1000, 0o700), (0, 0o702), (0, 0o720)])
def test_state_dir_changed_after_its_check_is_refused(state_dir, uid, mode):
    os.chown(state_dir, uid, 0)
    os.chmod(state_dir, mode)
    with pytest.raises(JailError) as exc:
        store(state_dir, lstat=checked_as_root_dir(state_dir)).open()
    assert str(exc.value) == f'state_dir {state_dir} changed while it was checked'
    assert os.listdir(state_dir) == []


def test_state_dir_swapped_for_a_file_or_link_after_its_check_is_not_used(tmp_path):
    (tmp_path / 'real').mkdir(mode=0o700)
    os.symlink('real', str(tmp_path / 'link'))
    (tmp_path / 'file').write_bytes(b'')
    for name in ('link', 'file'):
        path = str(tmp_path / name)
        with pytest.raises(OSError) as exc:
            store(path, lstat=checked_as_root_dir(path)).open()
        assert exc.value.errno == errno.ENOTDIR
    assert os.listdir(str(tmp_path / 'real')) == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_lock_file_that_is_a_symlink_is_refused(state_dir, tmp_path, check_mode):
    victim = tmp_path / 'victim'
    if check_mode:
        victim.write_bytes(b'')
    os.symlink(str(victim), os.path.join(state_dir, NAME + '.lock'))
    with pytest.raises(JailError) as exc:
        store(state_dir, check_mode).open()
    assert str(exc.value) == (f'{state_dir}/{NAME}.lock: cannot open the lock file: '
                              f"[Errno 40] Too many levels of symbolic links: '{NAME}.lock'")
    assert victim.exists() is check_mode


def test_lock_file_that_cannot_be_opened_in_check_mode_is_an_error(state_dir, monkeypatch):
    open(os.path.join(state_dir, NAME + '.lock'), 'wb').close()
    real_open = os.open

    def refusing(path, *args, **kwargs):
        if path == NAME + '.lock':
            raise OSError(errno.EPERM, 'Operation not permitted', path)
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(state.os, 'open', refusing)
    with pytest.raises(JailError) as exc:
        store(state_dir, check_mode=True).open()
    assert str(exc.value) == (f'{state_dir}/{NAME}.lock: cannot open the lock file: '
                              f"[Errno 1] Operation not permitted: '{NAME}.lock'")


def test_state_file_that_is_a_symlink_is_refused(state_dir, tmp_path):
    real = tmp_path / 'elsewhere.json'
    real.write_text(state.state_text(good()))
    os.chmod(str(real), 0o600)
    os.symlink(str(real), os.path.join(state_dir, NAME + '.json'))
    opened = store(state_dir)
    opened.open()
    try:
        with pytest.raises(JailError) as exc:
            opened.load()
    finally:
        opened.close()
    assert str(exc.value) == (f'{state_dir}/{NAME}.json: cannot read the state: '
                              f"[Errno 40] Too many levels of symbolic links: '{NAME}.json'")


def test_state_file_executable_by_others_is_not_trusted(state_dir):
    path = os.path.join(state_dir, NAME + '.json')
    with open(path, 'w') as handle:
        handle.write(state.state_text(good()))
    os.chmod(path, 0o601)
    opened = store(state_dir)
    opened.open()
    try:
        with pytest.raises(JailError) as exc:
            opened.load()
    finally:
        opened.close()
    assert str(exc.value) == (f'{path}: the state is not a regular file only root can read and write; '
                              'refusing to trust it')


def _locked(state_dir, held, name):
    opened = store(state_dir)
    opened.dir_fd = os.open(state_dir, os.O_RDONLY)
    fd = os.open(os.path.join(state_dir, held), os.O_RDONLY)
    try:
        return opened._locked(fd, fcntl.LOCK_SH, float('inf'), name)
    finally:
        os.close(fd)
        opened.close()


def test_lock_taken_on_a_file_no_longer_at_its_name_is_retried(state_dir):
    for name in ('a', 'b'):
        open(os.path.join(state_dir, name), 'wb').close()
    os.symlink('a', os.path.join(state_dir, 'link'))
    assert _locked(state_dir, 'a', 'a') is True
    assert _locked(state_dir, 'a', 'b') is False
    assert _locked(state_dir, 'b', 'a') is False
    assert _locked(state_dir, 'a', 'link') is False
    assert _locked(state_dir, 'a', 'gone') is False


def test_lock_wait_is_600_seconds_polled_every_tenth(state_dir, monkeypatch):
    """A fake clock: each poll advances it by one second, so the wait ends exactly at 600."""
    clock = [1000.0]
    polls = []

    def sleep(seconds):
        polls.append(seconds)
        clock[0] += 1
    monkeypatch.setattr(state.time, 'monotonic', lambda: clock[0])
    monkeypatch.setattr(state.time, 'sleep', sleep)
    lock = os.path.join(state_dir, NAME + '.lock')
    open(lock, 'wb').close()
    holder = os.open(lock, os.O_RDONLY)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        with pytest.raises(JailError) as exc:
            store(state_dir).open()
    finally:
        os.close(holder)
    assert str(exc.value) == f'{lock}: another run on the jail {JAIL} still holds the lock after 600 s'
    assert clock[0] == 1600.0
    assert set(polls) == {0.1}


# ---------------------------------------------------------------- dropping the state

def _drop(state_dir):
    opened = store(state_dir)
    opened.open()
    try:
        opened.drop()
    finally:
        opened.close()


def test_drop_of_files_already_gone_is_quiet(state_dir):
    _drop(state_dir)
    assert os.listdir(state_dir) == []


def test_drop_that_cannot_remove_is_an_error(state_dir, monkeypatch):
    os.mkdir(os.path.join(state_dir, NAME + '.json'))
    with pytest.raises(JailError) as exc:
        _drop(state_dir)
    assert str(exc.value) == (f'{state_dir}/{NAME}.json: cannot remove: '
                              f"[Errno 21] Is a directory: '{NAME}.json'")
    os.rmdir(os.path.join(state_dir, NAME + '.json'))

    def refusing(path, *args, **kwargs):
        raise OSError(errno.EPERM, 'Operation not permitted', path)
    opened = store(state_dir)
    opened.open()
    monkeypatch.setattr(state.os, 'unlink', refusing)
    try:
        with pytest.raises(JailError) as exc:
            opened.drop()
    finally:
        monkeypatch.undo()
        opened.close()
    assert str(exc.value) == (f'{state_dir}/{NAME}.json: cannot remove: '
                              f"[Errno 1] Operation not permitted: '{NAME}.json'")


def test_state_that_cannot_be_written_is_a_jail_error(state_dir, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, 'No space left on device')
    monkeypatch.setattr(state, 'replace_at', full)
    opened = store(state_dir)
    opened.open()
    try:
        with pytest.raises(JailError) as exc:
            opened.save(state.JailState())
    finally:
        opened.close()
    assert str(exc.value) == f'{state_dir}/{NAME}.json: cannot write the state: [Errno 28] No space left on device'
