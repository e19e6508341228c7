# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Jail I/O cases that `make mutation` showed no other test pins down.

Each test kills mutants of _chroot/jailfs.py that the engine, sources, state and descriptor
tests let live: the open flags of every path jailfs reaches (O_DIRECTORY, O_NOFOLLOW,
O_NONBLOCK), the modes and owners of what it makes, the errors it turns into a JailError or
ignores, and the descriptors it drops when it removes a directory. The jail is a plain
directory; every expected value is written out here. Survivors that cannot change any result
are listed in tests/unit/mutation-survivors.md.
"""

import errno
import fcntl
import os
import re
import signal
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')


@pytest.fixture
def jail(tmp_path):
    root = tmp_path / 'jail'
    root.mkdir()
    (root / 'etc').mkdir()
    (root / 'etc' / 'motd').write_bytes(b'welcome\n')
    handle = Jail(str(root))
    yield handle
    handle.close()


def generated(content, mode=0o644):
    return {'type': 'generated', 'content': content, 'uid': 0, 'gid': 0, 'mode': mode}


def directory(mode=0o755):
    return {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': mode}


# ---------------------------------------------------------------- temporaries

def test_temporary_name_keeps_64_characters_of_a_long_name():
    assert re.fullmatch(r'\.n{64}\.sjtmp[0-9a-f]{8}', jailfs.tmp_name('n' * 100))


@needs_root
def test_what_is_made_is_born_private_before_it_gets_its_mode(jail, monkeypatch):
    """A jailed user must never find a new directory or temporary file open to it, not even
    between creation and the final chmod (an fd opened then would outlive the chmod)."""
    born = []
    real_fchown = os.fchown

    def spy(fd, uid, gid):
        born.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fchown(fd, uid, gid)

    monkeypatch.setattr(jailfs.os, 'fchown', spy)
    umask = os.umask(0)
    try:
        jail.write('/srv', directory(0o755))
        jail.write('/srv/banner', generated('hi\n', 0o644))
    finally:
        os.umask(umask)
    assert born == [0o700, 0o600]
    assert stat.S_IMODE(os.lstat(jail.root + '/srv').st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(jail.root + '/srv/banner').st_mode) == 0o644


@needs_root
def test_symlink_made_in_the_jail_is_owned_by_root(jail):
    """Even in a setgid directory of another group, whose group a new entry would inherit."""
    os.chown(jail.root + '/etc', 0, 1000)
    os.chmod(jail.root + '/etc', 0o2755)
    assert jail.write('/etc/localtime', {'type': 'symlink', 'target': '/usr/share/zoneinfo/UTC'}) == {
        'type': 'symlink', 'target': '/usr/share/zoneinfo/UTC'}
    st = os.lstat(jail.root + '/etc/localtime')
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_generated_file_record_holds_its_checksum_and_size_only(jail):
    assert jail.write('/etc/issue', generated('hello\n')) == {
        'type': 'generated', 'size': 6,
        'sha256': '5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03'}


@needs_root
@pytest.mark.parametrize('kind, mode, is_kind', [('block', 0o640, stat.S_ISBLK), ('char', 0o711, stat.S_ISCHR)])
def test_device_node_is_made_of_its_kind_with_its_mode_whatever_the_umask(jail, kind, mode, is_kind):
    jail.write('/dev', directory())
    umask = os.umask(0o077)
    try:
        record = jail.write('/dev/node', {'type': 'device', 'kind': kind, 'major': 7, 'minor': 3, 'mode': mode,
                                          'uid': 0, 'gid': 0})
    finally:
        os.umask(umask)
    assert record == {'type': 'device', 'kind': kind, 'rdev': 7 * 256 + 3}
    st = os.lstat(jail.root + '/dev/node')
    assert is_kind(st.st_mode)
    assert (os.major(st.st_rdev), os.minor(st.st_rdev), stat.S_IMODE(st.st_mode)) == (7, 3, mode)


@needs_root
def test_device_node_swapped_for_a_link_before_its_chown_leaves_the_target_alone(jail, tmp_path, monkeypatch):
    """uid 0 in the jail replaces the new node by a symlink to a host file before the chown."""
    victim = tmp_path / 'victim'
    victim.write_bytes(b'')
    real_mknod = os.mknod

    def mknod_then_swap(name, mode, device, *, dir_fd):
        real_mknod(name, mode, device, dir_fd=dir_fd)
        os.unlink(name, dir_fd=dir_fd)
        os.symlink(str(victim), name, dir_fd=dir_fd)
    monkeypatch.setattr(jailfs.os, 'mknod', mknod_then_swap)
    jail.write('/dev', directory())
    jail.write('/dev/null', {'type': 'device', 'kind': 'char', 'major': 1, 'minor': 3, 'mode': 0o666,
                             'uid': 1000, 'gid': 1000})
    st = os.stat(str(victim))
    assert (st.st_uid, st.st_gid) == (0, 0)


def test_directory_in_the_way_of_a_file_must_be_empty(jail):
    with pytest.raises(JailError) as exc:
        jail.write('/etc', generated('x'))
    assert str(exc.value) == (f"{jail.root}/etc: a directory is in the way and cannot be removed: "
                              "[Errno 39] Directory not empty: 'etc'")


def test_temporary_name_taken_by_a_planted_link_is_never_followed(jail, tmp_path, monkeypatch):
    """uid 0 in the jail may guess (or flood) the next temporary name: creating it fails, the
    link's target outside the jail is left alone."""
    victim = tmp_path / 'victim'
    victim.write_bytes(b'host data\n')
    monkeypatch.setattr(jailfs, 'tmp_name', lambda name: f'.{name}.sjtmp00000000')
    os.symlink(str(victim), jail.root + '/etc/.issue.sjtmp00000000')
    with pytest.raises(JailError) as exc:
        jail.write('/etc/issue', generated('jail text\n'))
    assert str(exc.value) == f"{jail.root}/etc/issue: cannot write: [Errno 17] File exists: '.issue.sjtmp00000000'"
    assert victim.read_bytes() == b'host data\n'


def test_record_of_a_copied_file_never_describes_what_a_link_swapped_in_points_to(jail, tmp_path, monkeypatch):
    """uid 0 in the jail replaces the file just renamed into place by a symlink to a host file."""
    (tmp_path / 'source').write_bytes(b'data\n')
    victim = tmp_path / 'victim'
    victim.write_bytes(b'')
    real_rename = os.rename

    def rename_then_swap(src, dst, *, src_dir_fd, dst_dir_fd):
        real_rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        os.unlink(dst, dir_fd=dst_dir_fd)
        os.symlink(str(victim), dst, dir_fd=dst_dir_fd)

    class Planned:
        def __init__(self):
            self.fd = os.open(str(tmp_path / 'source'), os.O_RDONLY)
            self.st = os.fstat(self.fd)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            os.close(self.fd)

    jail.host.open_planned = lambda entry: Planned()
    monkeypatch.setattr(jailfs.os, 'rename', rename_then_swap)
    record = jail.write('/etc/data', {'type': 'file', 'source': '/srv/data', 'uid': 0, 'gid': 0, 'mode': 0o644})
    assert record['ino'] == os.lstat(jail.root + '/etc/data').st_ino != os.stat(str(victim)).st_ino


def test_failed_write_that_made_no_temporary_is_a_jail_error(jail):
    target = 'x' * 5000
    with pytest.raises(JailError) as exc:
        jail.write('/etc/link', {'type': 'symlink', 'target': target})
    assert re.fullmatch(re.escape(f"{jail.root}/etc/link: cannot write: [Errno 36] File name too long: {target!r} -> '")
                        + r'\.link\.sjtmp[0-9a-f]{8}\'', str(exc.value))
    assert sorted(os.listdir(jail.root + '/etc')) == ['motd']


@pytest.mark.parametrize('path, inside', [
    ('/usr/lib', True),
    ('/usr/lib/', False),
    ('/usr//lib', False),
    ('/', False),
])
def test_only_normalised_paths_are_inside_the_jail(path, inside):
    assert jailfs.inside_jail(path) is inside


# ---------------------------------------------------------------- host directories

@needs_root
def test_existing_root_directory_is_taken_over_root_owned(tmp_path):
    """Between the check and the mkdir another run may have made it: it is used, owned by root."""
    made = tmp_path / 'made'
    made.mkdir(mode=0o777)
    os.chown(str(made), 1000, 1000)
    jailfs.make_root_dirs([str(made)], 0o700)
    st = os.lstat(str(made))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o700)


def test_root_directory_replaced_by_a_symlink_is_refused_not_followed(tmp_path):
    (tmp_path / 'victim').mkdir(mode=0o755)
    new = str(tmp_path / 'new')
    os.symlink('victim', new)
    with pytest.raises(JailError) as exc:
        jailfs.make_root_dirs([new], 0o700)
    assert str(exc.value) == (f'{new}: is a symlink or not a directory; refusing to use it: '
                              f'[Errno 20] Not a directory: {new!r}')
    assert stat.S_IMODE(os.stat(str(tmp_path / 'victim')).st_mode) == 0o755


@pytest.mark.parametrize('parent, error', [
    ('missing', '[Errno 2] No such file or directory'),
    ('plain', '[Errno 20] Not a directory'),
])
def test_root_directory_that_cannot_be_made_is_a_jail_error(tmp_path, parent, error):
    (tmp_path / 'plain').write_bytes(b'')
    new = str(tmp_path / parent / 'new')
    with pytest.raises(JailError) as exc:
        jailfs.make_root_dirs([new], 0o700)
    assert str(exc.value) == f'{new}: cannot create: {error}: {new!r}'


@needs_root
def test_jail_root_is_made_root_owned_and_0755(tmp_path):
    root = str(tmp_path / 'srv' / 'jail')
    Jail(root).make_root([str(tmp_path / 'srv'), root])
    for path in (str(tmp_path / 'srv'), root):
        st = os.lstat(path)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o755)


def test_created_directories_are_removed_through_directories_only(tmp_path):
    (tmp_path / 'plain').write_bytes(b'')
    path = str(tmp_path / 'plain' / 'jail')
    with pytest.raises(JailError) as exc:
        jailfs.remove_created_dirs([path])
    assert str(exc.value) == f"{path}: cannot remove: [Errno 20] Not a directory: 'plain'"


def test_created_directories_are_never_removed_through_a_symlink(tmp_path):
    (tmp_path / 'real' / 'jail').mkdir(parents=True)
    os.symlink('real', str(tmp_path / 'link'))
    path = str(tmp_path / 'link' / 'jail')
    with pytest.raises(JailError) as exc:
        jailfs.remove_created_dirs([path])
    assert str(exc.value) == f"{path}: cannot remove: [Errno 20] Not a directory: 'link'"
    assert (tmp_path / 'real' / 'jail').is_dir()


def test_created_directory_already_gone_is_skipped(tmp_path):
    (tmp_path / 'a').mkdir()
    paths = [str(tmp_path / 'a'), str(tmp_path / 'a' / 'jail')]
    assert jailfs.remove_created_dirs(paths) == [str(tmp_path / 'a')]
    assert not (tmp_path / 'a').exists()


def test_removal_of_created_directories_stops_at_the_first_not_empty(tmp_path):
    (tmp_path / 'x' / 'jail').mkdir(parents=True)
    (tmp_path / 'x' / 'jail' / 'kept').write_bytes(b'')
    (tmp_path / 'y').mkdir()
    assert jailfs.remove_created_dirs([str(tmp_path / 'x' / 'jail'), str(tmp_path / 'y')]) == []
    assert (tmp_path / 'y').is_dir()


def test_created_directory_that_cannot_be_removed_is_a_jail_error(tmp_path, monkeypatch):
    (tmp_path / 'jail').mkdir()
    path = str(tmp_path / 'jail')

    def refusing(name, dir_fd=None):
        raise OSError(errno.EPERM, 'Operation not permitted', name)
    monkeypatch.setattr(jailfs.os, 'rmdir', refusing)
    with pytest.raises(JailError) as exc:
        jailfs.remove_created_dirs([path])
    assert str(exc.value) == f"{path}: cannot remove: [Errno 1] Operation not permitted: 'jail'"


# ---------------------------------------------------------------- reaching jail directories

def test_missing_jail_root_is_none_not_an_error(tmp_path):
    missing = Jail(str(tmp_path / 'none'))
    assert missing.dir_fd('/') is None
    assert missing.dir_fd('/etc') is None
    assert missing.lstat('/etc/motd') is None


def _root_file(tmp_path):
    (tmp_path / 'root').write_bytes(b'')


def _root_link(tmp_path):
    (tmp_path / 'real').mkdir()
    os.symlink('real', str(tmp_path / 'root'))


@pytest.mark.parametrize('setup, error', [
    (_root_file, '[Errno 20] Not a directory'),
    (_root_link, '[Errno 20] Not a directory'),
])
def test_jail_root_must_be_a_directory_itself(tmp_path, setup, error):
    setup(tmp_path)
    root = str(tmp_path / 'root')
    with pytest.raises(JailError) as exc:
        Jail(root).dir_fd('/')
    assert str(exc.value) == f'{root}: cannot open the jail root: {error}: {root!r}'


def test_jail_directory_that_is_a_file_is_refused(jail):
    (open(jail.root + '/var', 'wb')).close()
    with pytest.raises(JailError) as exc:
        jail.dir_fd('/var')
    assert str(exc.value) == f'{jail.root}/var: is a symlink or not a directory inside the jail; refusing to write through it'


def test_jail_directory_that_cannot_be_opened_is_an_error_not_missing(jail, monkeypatch):
    jail.dir_fd('/')
    real_open = os.open

    def refusing(path, flags, mode=0o777, *, dir_fd=None):
        if path == 'etc':
            raise OSError(errno.EPERM, 'Operation not permitted', path)
        return real_open(path, flags, mode, dir_fd=dir_fd)
    monkeypatch.setattr(jailfs.os, 'open', refusing)
    with pytest.raises(JailError) as exc:
        jail.dir_fd('/etc')
    assert str(exc.value) == f"{jail.root}/etc: [Errno 1] Operation not permitted: 'etc'"


# ---------------------------------------------------------------- reading jail files

def test_reading_never_follows_a_link_out_of_the_jail(jail, tmp_path):
    (tmp_path / 'host-secret').write_bytes(b'root:secret\n')
    os.symlink(str(tmp_path / 'host-secret'), jail.root + '/etc/shadow')
    assert jail.read('/etc/shadow') is None
    assert jail.sha256('/etc/shadow') is None


def test_reading_what_is_missing_or_not_a_file_gives_none(jail):
    assert jail.read('/etc/missing') is None
    assert jail.read('/etc') is None
    assert jail.read('/etc/motd') == b'welcome\n'


class Blocked(Exception):
    pass


def _blocked(signum, frame):
    raise Blocked()


def test_reading_a_fifo_planted_in_the_jail_never_blocks(jail):
    os.mkfifo(jail.root + '/etc/fifo')
    previous = signal.signal(signal.SIGALRM, _blocked)
    signal.alarm(5)
    try:
        assert jail.read('/etc/fifo') is None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_file_opened_for_reading_is_blocking_again(jail):
    fd = jail.open_read('/etc/motd')
    try:
        assert fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK == 0
    finally:
        os.close(fd)


# ---------------------------------------------------------------- removing

def test_removing_what_is_already_gone_succeeds(jail):
    assert jail.remove('/etc/missing', {'type': 'file'}) is True


def test_directory_where_the_state_recorded_a_file_is_kept(jail):
    os.mkdir(jail.root + '/etc/conf')
    assert jail.remove('/etc/conf', {'type': 'file'}) is False
    assert os.path.isdir(jail.root + '/etc/conf')


def test_file_where_the_state_recorded_a_directory_is_kept(jail):
    assert jail.remove('/etc/motd', {'type': 'dir'}) is False
    assert os.listdir(jail.root + '/etc') == ['motd']


def test_leftovers_are_looked_for_past_a_directory_swapped_for_a_link(jail, tmp_path):
    os.symlink(str(tmp_path), jail.root + '/a')
    os.mkdir(jail.root + '/b')
    open(jail.root + '/b/.y.sjtmp0123abcd', 'wb').close()
    assert jail.leftovers(['/a/x', '/b/y']) == ['/b/.y.sjtmp0123abcd']


def test_leftovers_of_a_long_name_are_found(jail):
    leftover = '.' + 'n' * 64 + '.sjtmp0123abcd'
    open(jail.root + '/etc/' + leftover, 'wb').close()
    assert jail.leftovers(['/etc/' + 'n' * 100]) == ['/etc/' + leftover]


def test_leftover_named_link_to_a_directory_is_a_leftover(jail, tmp_path):
    os.symlink(str(tmp_path), jail.root + '/etc/.x.sjtmp01234567')
    assert jail.leftovers(['/etc/x']) == ['/etc/.x.sjtmp01234567']


def test_jail_root_that_cannot_be_opened_is_an_error_not_missing(jail, monkeypatch):
    real_open = os.open

    def refusing(path, flags, mode=0o777, *, dir_fd=None):
        if path == jail.root:
            raise OSError(errno.EPERM, 'Operation not permitted', path)
        return real_open(path, flags, mode, dir_fd=dir_fd)
    monkeypatch.setattr(jailfs.os, 'open', refusing)
    with pytest.raises(JailError) as exc:
        jail.dir_fd('/')
    assert str(exc.value) == f'{jail.root}: cannot open the jail root: [Errno 1] Operation not permitted: {jail.root!r}'


def test_directory_still_holding_entries_is_kept(jail):
    assert jail.remove('/etc', {'type': 'dir'}) is False
    assert sorted(os.listdir(jail.root + '/etc')) == ['motd']


def test_device_record_removes_what_is_at_its_path(jail):
    assert jail.remove('/etc/motd', {'type': 'device'}) is True
    assert os.listdir(jail.root + '/etc') == []


@pytest.mark.parametrize('recorded', ['device', 'file', 'symlink', 'generated'])
def test_an_empty_directory_where_another_type_was_recorded_is_kept(jail, recorded):
    os.mkdir(jail.root + '/etc/empty')
    assert jail.remove('/etc/empty', {'type': recorded}) is False
    assert os.path.isdir(jail.root + '/etc/empty')


def test_unlink_of_something_missing_or_a_directory_is_quiet(jail):
    jail.unlink('/etc/missing')
    jail.unlink('/etc')
    assert sorted(os.listdir(jail.root)) == ['etc']


def test_directory_removed_and_made_again_is_reached_afresh(jail):
    jail.write('/srv', directory())
    jail.write('/srv/www', directory())
    assert jail.remove('/srv/www', {'type': 'dir'}) is True
    jail.write('/srv/www', directory(0o751))
    jail.write('/srv/www/index.html', generated('hi\n'))
    assert stat.S_IMODE(os.lstat(jail.root + '/srv/www').st_mode) == 0o751
    assert os.listdir(jail.root + '/srv/www') == ['index.html']


def test_removing_a_directory_keeps_the_others_reached(jail):
    """A directory once reached stays the one written into (what keeps swapped names out),
    whatever else the run removes."""
    jail.write('/a', directory())
    jail.write('/b', directory())
    os.rename(jail.root + '/b', jail.root + '/moved')
    os.mkdir(jail.root + '/b')
    assert jail.remove('/a', {'type': 'dir'}) is True
    jail.write('/b/f', generated('x'))
    assert os.listdir(jail.root + '/moved') == ['f']
    assert os.listdir(jail.root + '/b') == []
