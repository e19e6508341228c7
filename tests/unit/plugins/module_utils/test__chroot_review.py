# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Findings of the independent review of the chroot engine, each played as the attacker would:
uid 0 inside the jail swapping names between two of the module's calls, planting FIFOs, deep
trees. (Legacy manifest entries no file name can hold: test__chroot_state.) The fake host comes from test__chroot_engine.
"""

import contextlib
import os
import signal
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot.compare import compare
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail, make_root_dirs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine as engine_tests
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import run, safe_tmp_lstat

fedora = engine_tests.fedora  # the fake Fedora host fixture, shared with the engine tests


@pytest.fixture
def victim(tmp_path):
    """A host file outside the jail, mode 0600."""
    path = tmp_path / 'victim'
    path.write_bytes(b'host secret')
    os.chmod(str(path), 0o600)
    return str(path)


def host_null(env):
    os.makedirs(env['root'] + '/dev')
    os.mknod(env['root'] + '/dev/null', stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(env['root'] + '/dev/null', 0o666)


# --------------------------------------------------------------------------
# device nodes: nothing is changed through a name the jail can swap

@pytest.mark.parametrize('after', ['mknod', 'chown'])
def test_device_temporary_swapped_for_a_symlink_never_changes_a_host_file(fedora, victim, monkeypatch, after):
    host_null(fedora)
    real = getattr(os, after)

    def then_swap(path, *args, dir_fd=None, **kwargs):
        real(path, *args, dir_fd=dir_fd, **kwargs)
        if '.sjtmp' in path and dir_fd is not None:  # uid 0 in the jail acts here
            os.unlink(path, dir_fd=dir_fd)
            os.symlink(victim, path, dir_fd=dir_fd)

    monkeypatch.setattr(jailfs.os, after, then_swap)
    run(fedora, devices=['null'])
    monkeypatch.undo()
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    # what was planted stays a link inside the jail, and the next run puts the device back
    assert os.readlink(fedora['jail'] + '/dev/null') == victim
    assert run(fedora, devices=['null']).updated == ['/dev/null']
    assert stat.S_ISCHR(os.lstat(fedora['jail'] + '/dev/null').st_mode)


def test_device_node_gets_its_mode_whatever_the_umask(fedora):
    host_null(fedora)
    old = os.umask(0o077)
    try:
        run(fedora, devices=['null'])
        assert os.umask(0o077) == 0o077  # restored
    finally:
        os.umask(old)
    st = os.lstat(fedora['jail'] + '/dev/null')
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o666, 0, 0)


def test_missing_root_dir_replaced_by_a_symlink_is_refused_not_followed(tmp_path, victim):
    os.symlink(victim, str(tmp_path / 'jail'))
    with pytest.raises(JailError) as exc:
        make_root_dirs([str(tmp_path / 'jail')], 0o755)
    assert str(exc.value).startswith(f"{tmp_path / 'jail'}: is a symlink or not a directory; refusing to use it: ")
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600


# --------------------------------------------------------------------------
# a FIFO where the module reads never holds the run (and the jail's lock)

class Hung(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds=5):
    def expired(signum, frame):
        raise Hung(f'still blocked after {seconds} s')

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def remove(env):
    return remove_jail(env['jail'], env['state_dir'], root_lstat=safe_tmp_lstat)


def test_fifo_as_legacy_manifest_is_refused_without_hanging(fedora):
    os.mkdir(fedora['jail'], 0o755)  # a jail made by an earlier version: no host state
    os.mkfifo(fedora['jail'] + '/.serversec-jail.json', 0o600)  # planted by uid 0 in the jail
    for attempt in (lambda: run(fedora, directories=['/var']), lambda: remove(fedora)):
        with deadline(), pytest.raises(JailError) as exc:
            attempt()
        assert str(exc.value) == f"{fedora['jail']}/.serversec-jail.json: not a regular file; refusing to read it"
    assert os.listdir(fedora['jail']) == ['.serversec-jail.json']


def test_file_swapped_for_a_fifo_after_its_lstat_is_replaced(fedora, monkeypatch):
    run(fedora, binaries=['/bin/bash'], files=['/etc/hosts'])
    path = '/etc/hosts'
    jail = Jail(fedora['jail'], fedora['host'])
    try:
        with deadline():
            seen = jail.lstat(path)
            os.unlink(fedora['jail'] + path)
            os.mkfifo(fedora['jail'] + path, 0o644)
            assert (jail.read(path), jail.sha256(path)) == (None, None)
            # the lstat saw the file; the jail swapped it before the content was read
            monkeypatch.setattr(jail, 'lstat', lambda p: seen)
            entry = {'type': 'generated', 'content': 'x' * seen.st_size, 'uid': seen.st_uid,
                     'gid': seen.st_gid, 'mode': stat.S_IMODE(seen.st_mode)}
            assert compare(jail, path, entry, None)[:2] == ('update', 'content')
    finally:
        jail.close()
    with deadline():
        result = run(fedora, binaries=['/bin/bash'], files=['/etc/hosts'])
    assert result.updated == ['/etc/hosts']
    assert stat.S_ISREG(os.lstat(fedora['jail'] + '/etc/hosts').st_mode)


# --------------------------------------------------------------------------
# the audit walk stays in the jail and ends, whatever tree the jail built

@pytest.fixture
def host_secret(tmp_path):
    """A host directory a jailed process would like listed: a setuid file, a world-writable dir."""
    top = tmp_path / 'hostsecret'
    (top / 'private-host-dir').mkdir(parents=True)
    (top / 'private-host-dir' / 'HOSTFILE').write_bytes(b'')
    os.chmod(str(top / 'private-host-dir' / 'HOSTFILE'), 0o4755)
    os.chmod(str(top / 'private-host-dir'), 0o777)
    return str(top)


def audited(found):
    return sorted(set(found['setuid'] + found['writable'] + found['devices']))


def test_audit_never_enters_a_symlinked_directory(fedora, host_secret):
    run(fedora, directories=['/var'])
    os.symlink(host_secret, fedora['jail'] + '/var/l')
    os.mkdir(fedora['jail'] + '/var/d')
    os.chmod(fedora['jail'] + '/var/d', 0o777)
    result = run(fedora, directories=['/var'])
    assert (audited(result.audit), result.warnings) == (['/var/d'], [])


def test_audit_never_lists_a_directory_swapped_for_a_symlink_mid_walk(fedora, host_secret, monkeypatch):
    run(fedora, directories=['/var'])
    jail_d = fedora['jail'] + '/var/d'
    os.mkdir(jail_d)
    os.chmod(jail_d, 0o777)
    open(jail_d + '/inside', 'wb').close()
    real_open = os.open

    def swap():  # uid 0 in the jail: renameat2(RENAME_EXCHANGE) of /var/d and a link to the host
        if not os.path.islink(jail_d):
            os.rename(jail_d, jail_d + '.away')
            os.symlink(host_secret, jail_d)

    def opener(path, flags, mode=0o777, *, dir_fd=None):
        if path == 'd' and dir_fd is not None:
            swap()
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(tree.os, 'open', opener)
    try:
        result = run(fedora, directories=['/var'])
    finally:
        monkeypatch.undo()
    assert (audited(result.audit), result.warnings) == (['/var/d'], [])
    assert os.path.islink(jail_d)  # the swap did happen


@pytest.fixture
def deep_tree(fedora):
    """/var/d/d/... 1,100 levels deep in the jail, removed again without recursion."""
    run(fedora, directories=['/var'])
    cwd = os.getcwd()
    os.chdir(fedora['jail'] + '/var')
    try:
        for _level in range(1100):
            os.mkdir('d')
            os.chdir('d')
    finally:
        os.chdir(cwd)
    yield fedora
    os.chdir(fedora['jail'] + '/var')
    try:
        for _level in range(1100):
            os.chdir('d')
        for _level in range(1100):
            os.chdir('..')
            os.rmdir('d')
    finally:
        os.chdir(cwd)


def test_audit_of_a_deep_tree_ends_with_a_warning(deep_tree):
    result = run(deep_tree, directories=['/var'])
    assert result.warnings == [f"audit: {'/var' + '/d' * 256} and what lies below it were not looked into "
                               '(more than 256 levels deep)']
    assert not result.changed and audited(result.audit) == []


def test_audit_stops_after_its_entry_limit_with_a_warning(fedora, monkeypatch):
    run(fedora, directories=['/var'])
    for name in ('a', 'b', 'c'):
        os.mkdir(fedora['jail'] + '/var/' + name)
        os.chmod(fedora['jail'] + '/var/' + name, 0o777)
    monkeypatch.setattr(tree, 'AUDIT_MAX_ENTRIES', 3)
    result = run(fedora, directories=['/var'])
    assert result.warnings == ['audit: stopped in /var after 3 entries; the rest of the jail was not looked into']
    assert audited(result.audit) == ['/var/a', '/var/b']


def test_the_audit_describes_the_jail_as_the_run_leaves_it(fedora):
    """One walk serves the comparison and the audit; a run that repairs something walks again."""
    run(fedora, binaries=['/bin/bash'])
    os.chmod(fedora['jail'] + '/usr/lib64/libc.so.6', 0o4777)  # uid 0 in the jail loosens a library
    checked = run(fedora, check_mode=True, binaries=['/bin/bash'])
    assert checked.updated == ['/usr/lib64/libc.so.6']
    assert (checked.audit['setuid'], checked.audit['writable']) == (['/usr/lib64/libc.so.6'], ['/usr/lib64/libc.so.6'])
    repaired = run(fedora, binaries=['/bin/bash'])
    assert repaired.updated == ['/usr/lib64/libc.so.6']
    assert (repaired.audit['setuid'], repaired.audit['writable']) == ([], [])


def test_a_run_that_repairs_warns_of_the_audit_limit_once(fedora, monkeypatch):
    run(fedora, directories=['/var'])
    for name in ('a', 'b', 'c'):
        os.mkdir(fedora['jail'] + '/var/' + name)
        os.chmod(fedora['jail'] + '/var/' + name, 0o777)
    os.chmod(fedora['jail'] + '/var', 0o700)
    monkeypatch.setattr(tree, 'AUDIT_MAX_ENTRIES', 3)
    result = run(fedora, directories=['/var'])
    assert result.updated == ['/var']
    assert result.warnings == ['audit: stopped in /var after 3 entries; the rest of the jail was not looked into']
    assert audited(result.audit) == ['/var/a', '/var/b']
