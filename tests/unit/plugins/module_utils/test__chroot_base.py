# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A shared base jail (issue 14 §3), on the fake Fedora host of test__chroot_engine: files
hard-linked from the base, refreshed with it, drift repaired with a new inode, and nothing the
base's jailed processes did ever linked into another jail."""

import os
import stat
import struct
from types import SimpleNamespace

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import audit
from ansible_collections.serversec.confine.plugins.module_utils._chroot import base as base_room
from ansible_collections.serversec.confine.plugins.module_utils._chroot import compare as compare_room
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.compare import foreign_link
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge, remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import (  # noqa: F401 # pylint: disable=unused-import
    fake_read_info,
    fedora,
    safe_tmp_lstat,
    write,
)

LIBC = '/usr/lib64/libc.so.6'
BASH = '/usr/bin/bash'
FILES = [BASH, '/usr/lib64/ld-linux-x86-64.so.2', LIBC, '/usr/lib64/libtinfo.so.6.4']
# `setcap cap_setuid+ep`: VFS_CAP_REVISION_2 with the effective flag, permitted = CAP_SETUID (7)
CAP_SETUID = ('security.capability', struct.pack('<IIIII', 0x02000001, 1 << 7, 0, 0, 0))


@pytest.fixture
def env(fedora):  # noqa: F811
    srv = os.path.dirname(fedora['jail'])
    fedora.update(base=srv + '/base', a=srv + '/a', b=srv + '/b')
    return fedora


def build(env, name, base=None, check_mode=False, **options):
    options.setdefault('binaries', [BASH])
    return converge(JailSpec(env[name], **options), env['state_dir'], check_mode=check_mode, host=env['host'],
                    runner=env['runner'], read_info=fake_read_info, root_lstat=safe_tmp_lstat,
                    base=base and env[base])


def ino(env, name, path):
    return os.lstat(env[name] + path).st_ino


def content(env, name, path):
    with open(env[name] + path, 'rb') as handle:
        return handle.read()


def upgrade(env, path, data):
    """A package upgrade: a new file renamed over the host's."""
    write(env['root'], path + '.new', data, 0o755)
    os.rename(env['root'] + path + '.new', env['root'] + path)


@pytest.fixture
def shared(env):
    """The base and the jails a and b built on it."""
    build(env, 'base')
    for name in ('a', 'b'):
        result = build(env, name, base='base')
        assert result.base == {'path': env['base'], 'linked': sorted(FILES)}
    return env


# --------------------------------------------------------------------------
# the option

@pytest.mark.parametrize('jail, base, message', [
    ('/srv/jails/a', '/srv/jails/a', 'base /srv/jails/a is the jail itself; name another jail managed by chroot_jail'),
    ('/srv/jails/a', '/srv/jails/a/', 'base /srv/jails/a is the jail itself; name another jail managed by chroot_jail'),
    ('/srv/jails/a', '/srv/jails/a/base', 'base /srv/jails/a/base is inside the jail /srv/jails/a; '
     'a jailed process could change it'),
    ('/srv/jails/a', '/srv/jails', 'base /srv/jails contains the jail /srv/jails/a; the base must be a jail of its own'),
    ('/srv/jails/a', '/', "base '/' is the host's root, not a jail; name a jail managed by chroot_jail"),
    ('/srv/jails/a', 'base', "base 'base' is not an absolute path"),
    ('/srv/jails/a', '/srv/jails/a/../b', "base '/srv/jails/a/../b' contains a '..' component"),
])
def test_invalid_bases_are_refused(jail, base, message):
    with pytest.raises(JailError) as excinfo:
        base_room.check_base(jail, base)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('jail, base', [('/srv/jails/a', '/srv/jails/base'), ('/srv/jails/a', '/srv/jails/ab'),
                                        ('/srv/a', '/srv/jails/base/')])
def test_valid_bases(jail, base):
    assert base_room.check_base(jail, base) == base.rstrip('/')


def test_a_base_without_state_is_refused_naming_it(env):
    os.mkdir(env['base'])
    with pytest.raises(JailError) as excinfo:
        build(env, 'a', base='base')
    assert str(excinfo.value) == (f"base {env['base']}: no state in {env['state_dir']}; build the base with its own "
                                  'chroot_jail task (same state_dir) before the jails that use it')
    assert not os.path.exists(env['a'])


def test_a_base_with_a_base_is_refused(shared):
    with pytest.raises(JailError) as excinfo:
        build(shared, 'b', base='a')
    assert str(excinfo.value) == (f"base {shared['a']} itself uses the base {shared['base']}; "
                                  'a base must not have a base of its own')


# --------------------------------------------------------------------------
# sharing

def test_jails_share_the_base_inodes_and_a_rerun_changes_nothing(shared):
    for path in FILES:
        assert ino(shared, 'a', path) == ino(shared, 'b', path) == ino(shared, 'base', path)
    assert os.lstat(shared['base'] + LIBC).st_nlink == 3
    for name, base in (('base', None), ('a', 'base'), ('b', 'base')):
        again = build(shared, name, base=base)
        assert (again.changed, again.added, again.updated, again.removed) == (False, [], [], [])
    assert again.base == {'path': shared['base'], 'linked': []}


def test_check_mode_links_nothing(env):
    build(env, 'base')
    checked = build(env, 'a', base='base', check_mode=True)
    assert checked.changed and BASH in checked.added and checked.base['linked'] == []
    assert not os.path.exists(env['a'])
    assert os.lstat(env['base'] + BASH).st_nlink == 1


def test_a_base_refresh_updates_every_jail_and_each_reports_it(shared):
    upgrade(shared, LIBC, b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc 2.40-2')
    old = ino(shared, 'a', LIBC)
    assert build(shared, 'base').updated == [LIBC]
    for name in ('a', 'b'):
        result = build(shared, name, base='base')
        assert (result.updated, result.base['linked']) == ([LIBC], [LIBC])
        assert ino(shared, name, LIBC) == ino(shared, 'base', LIBC) != old
        assert content(shared, name, LIBC).endswith(b'2.40-2')


def test_a_jail_refreshed_before_its_base_copies_then_shares_once_the_base_has_it(shared):
    # same size as the old libc: only the source's identity tells the base holds the old one
    upgrade(shared, LIBC, b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libC')
    early = build(shared, 'a', base='base')
    assert (early.updated, early.base['linked']) == ([LIBC], [])  # the base still holds the old libc
    assert ino(shared, 'a', LIBC) != ino(shared, 'base', LIBC)
    assert content(shared, 'a', LIBC).endswith(b'libC')
    build(shared, 'base')
    later = build(shared, 'a', base='base')
    assert (later.updated, later.base['linked']) == ([LIBC], [LIBC])
    assert ino(shared, 'a', LIBC) == ino(shared, 'base', LIBC)


def test_absent_jail_leaves_the_base_alone(shared):
    before = {path: (ino(shared, 'base', path), content(shared, 'base', path)) for path in FILES}
    gone = remove_jail(shared['a'], shared['state_dir'], root_lstat=safe_tmp_lstat)
    assert gone.changed and not os.path.exists(shared['a'])
    assert {path: (ino(shared, 'base', path), content(shared, 'base', path)) for path in FILES} == before
    assert os.lstat(shared['base'] + LIBC).st_nlink == 2
    assert build(shared, 'base').changed is False


# --------------------------------------------------------------------------
# drift, and what a jailed process can do to a shared inode

def test_a_write_through_a_shared_link_is_caught_everywhere_and_repaired_with_new_inodes(shared):
    shared_ino = ino(shared, 'a', LIBC)
    with open(shared['a'] + LIBC, 'ab') as handle:  # uid 0 in jail a writes its copy: the shared inode
        handle.write(b' evil')
    repaired = build(shared, 'a', base='base')
    assert (repaired.updated, repaired.base['linked']) == ([LIBC], [])  # the base is tampered too: copied
    assert ino(shared, 'a', LIBC) != shared_ino and not content(shared, 'a', LIBC).endswith(b' evil')
    # the jail's repair never wrote into the shared inode: the base and b still hold it, as it was left
    assert ino(shared, 'base', LIBC) == ino(shared, 'b', LIBC) == shared_ino
    assert content(shared, 'base', LIBC).endswith(b' evil')
    assert build(shared, 'base').updated == [LIBC]
    assert ino(shared, 'base', LIBC) != shared_ino and not content(shared, 'base', LIBC).endswith(b' evil')
    fixed = build(shared, 'b', base='base')
    assert (fixed.updated, fixed.base['linked']) == ([LIBC], [LIBC])
    assert ino(shared, 'b', LIBC) == ino(shared, 'base', LIBC)
    assert build(shared, 'a', base='base').base['linked'] == [LIBC]  # a shares the sound base again
    for name, base in (('base', None), ('a', 'base'), ('b', 'base')):
        assert build(shared, name, base=base).changed is False


def test_a_replaced_copy_in_one_jail_is_relinked_and_nothing_else_moves(shared):
    before = (ino(shared, 'base', LIBC), ino(shared, 'b', LIBC))
    os.unlink(shared['a'] + LIBC)
    write(shared['a'], LIBC, b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 trojan', 0o755)
    repaired = build(shared, 'a', base='base')
    assert (repaired.updated, repaired.base['linked']) == ([LIBC], [LIBC])
    assert (ino(shared, 'base', LIBC), ino(shared, 'b', LIBC)) == before == (ino(shared, 'a', LIBC),) * 2


def test_a_file_a_base_process_swapped_in_is_never_linked(shared):
    """uid 0 in the base puts its own inode, with the right content, where the base's copy was:
    it could keep writing it, so it is not the inode the base's run verified, and is not shared."""
    path = shared['base'] + LIBC
    data = content(shared, 'base', LIBC)
    os.unlink(path)
    write(shared['base'], LIBC, data, 0o755)
    os.unlink(shared['b'] + LIBC)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([LIBC], [])
    assert ino(shared, 'b', LIBC) != os.lstat(path).st_ino


def test_a_symlink_planted_in_the_base_is_not_followed(shared, tmp_path):
    secret = tmp_path / 'host-secret'
    secret.write_bytes(b'host secret')
    os.unlink(shared['base'] + LIBC)
    os.symlink(str(secret), shared['base'] + LIBC)
    os.unlink(shared['b'] + LIBC)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([LIBC], [])
    st = os.lstat(shared['b'] + LIBC)
    assert stat.S_ISREG(st.st_mode) and st.st_ino != secret.stat().st_ino
    assert content(shared, 'b', LIBC) == content(shared, 'a', LIBC)


def test_a_base_copy_written_in_place_is_never_linked(shared):
    """Same size, content changed by a process in the base: the change time tells, the checksum
    refuses it, and a new jail gets a copy of the host file."""
    path = shared['base'] + LIBC
    size = os.lstat(path).st_size
    with open(path, 'r+b') as handle:
        handle.write(b'X')
    assert os.lstat(path).st_size == size
    os.unlink(shared['b'] + LIBC)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([LIBC], [])
    assert content(shared, 'b', LIBC).startswith(b'FAKEELF')


def test_setuid_of_the_base_is_never_shared_with_a_jail_that_strips_it(env):
    build(env, 'base', binaries=['/usr/bin/su'], allow_setuid=True)
    assert stat.S_IMODE(os.lstat(env['base'] + '/usr/bin/su').st_mode) == 0o4755
    result = build(env, 'a', base='base', binaries=['/usr/bin/su'])
    assert result.base['linked'] == []
    assert stat.S_IMODE(os.lstat(env['a'] + '/usr/bin/su').st_mode) == 0o755
    assert stat.S_IMODE(os.lstat(env['base'] + '/usr/bin/su').st_mode) == 0o4755


def test_a_jail_takes_from_the_base_only_what_the_base_holds(env):
    build(env, 'base', binaries=['/usr/bin/busybox'])
    result = build(env, 'a', base='base', binaries=[BASH, '/usr/bin/busybox'])
    assert result.base['linked'] == ['/usr/bin/busybox']
    assert ino(env, 'a', '/usr/bin/busybox') == ino(env, 'base', '/usr/bin/busybox')
    assert os.lstat(env['a'] + BASH).st_nlink == 1


def test_another_file_system_is_copied(shared, monkeypatch):
    real_fstat = os.fstat

    def other_device(fd):
        st = real_fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return os.stat_result(tuple(st)[:2] + (st.st_dev + 1,) + tuple(st)[3:])
        return st

    os.unlink(shared['b'] + LIBC)
    monkeypatch.setattr(base_room.os, 'fstat', other_device)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([LIBC], [])
    assert os.lstat(shared['b'] + LIBC).st_nlink == 1


def test_the_checked_descriptor_is_linked_never_the_name_again(shared, monkeypatch):
    """uid 0 in the base renames another file over the entry once the module holds it open: the
    inode that was checked is linked, never what the name leads to by then."""
    original = content(shared, 'base', LIBC)
    opened = base_room.Base._open

    def swapped_after_open(self, path):
        fd = opened(self, path)
        write(self.jail.root, path + '.evil', b'FAKEELF evil', 0o755)
        os.rename(self.jail.root + path + '.evil', self.jail.root + path)
        return fd

    os.unlink(shared['b'] + LIBC)
    monkeypatch.setattr(base_room.Base, '_open', swapped_after_open)
    result = build(shared, 'b', base='base')
    assert result.base['linked'] == [LIBC]
    assert content(shared, 'b', LIBC) == original and ino(shared, 'b', LIBC) == ino(shared, 'a', LIBC)


def test_a_base_directory_swapped_for_a_link_to_the_host_is_not_entered(shared):
    """uid 0 in the base (with a way out) points its lib directory at the host's: the host's own
    libc must never become an inode the jails share."""
    os.rename(shared['base'] + '/usr/lib64', shared['base'] + '/usr/lib64.old')
    os.symlink(shared['root'] + '/usr/lib64', shared['base'] + '/usr/lib64')
    os.unlink(shared['b'] + LIBC)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([LIBC], [])
    assert os.lstat(shared['root'] + LIBC).st_nlink == 1


def test_another_jail_linking_a_shared_file_is_no_change_of_this_one(shared, monkeypatch):
    """b's link moved the change time of a's files too: a's next run records it, but a's content
    did not change, so a daemon of a does not predate its jail (jailed_service predates_jail)."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    written = audit.last_copy_ns(shared['a'], shared['state_dir'])
    assert build(shared, 'a', base='base').changed is False
    assert audit.last_copy_ns(shared['a'], shared['state_dir']) == written
    os.unlink(shared['a'] + LIBC)
    build(shared, 'a', base='base')
    assert audit.last_copy_ns(shared['a'], shared['state_dir']) > written


# --------------------------------------------------------------------------
# extended attributes and shared inodes: what no checksum sees

def xattrs(env, name, path):
    return [attr for attr in os.listxattr(env[name] + path) if attr != 'security.selinux']


def test_a_capability_set_through_a_shared_link_is_removed_everywhere_with_new_inodes(shared):
    """uid 0 in jail a runs `setcap cap_setuid+ep` on its bash: the base's and b's inode too. Every
    run sees it, writes a new inode (never strips the shared one) and links nothing that has it."""
    tainted = ino(shared, 'a', BASH)
    os.setxattr(shared['a'] + BASH, *CAP_SETUID)
    assert build(shared, 'base').updated == [BASH]
    fixed = build(shared, 'b', base='base')
    assert (fixed.updated, fixed.base['linked']) == ([BASH], [BASH])
    repaired = build(shared, 'a', base='base')
    assert (repaired.updated, repaired.base['linked']) == ([BASH], [BASH])
    for name in ('base', 'a', 'b'):
        assert xattrs(shared, name, BASH) == [] and ino(shared, name, BASH) != tainted
    assert ino(shared, 'a', BASH) == ino(shared, 'b', BASH) == ino(shared, 'base', BASH)


def test_a_base_entry_with_a_capability_is_copied_not_linked(shared):
    os.setxattr(shared['base'] + BASH, *CAP_SETUID)  # uid 0 in the base
    os.unlink(shared['b'] + BASH)
    result = build(shared, 'b', base='base')
    assert (result.added, result.base['linked']) == ([BASH], [])
    assert xattrs(shared, 'b', BASH) == [] and os.lstat(shared['b'] + BASH).st_nlink == 1


def test_a_base_entry_with_a_capability_is_never_verified(shared):
    os.setxattr(shared['base'] + BASH, *CAP_SETUID)
    with base_room.shared_base(shared['base'], shared['state_dir'], shared['a'], shared['host'],
                               safe_tmp_lstat) as base:
        record = base.records[BASH]  # the host file as the base's run copied it
        entry = {'type': 'file', 'source': record['source'], 'size': record['size'], 'mtime_ns': record['mtime_ns'],
                 'ctime_ns': record['source_ctime_ns'], 'uid': 0, 'gid': 0, 'mode': 0o755}
        with base.verified(BASH, entry, content=False) as found:
            assert found is None
        os.removexattr(shared['base'] + BASH, CAP_SETUID[0])
        with base.verified(BASH, entry, content=False) as found:
            assert found is not None


@pytest.mark.parametrize('attr', [CAP_SETUID, ('user.note', b'x'), ('trusted.anything', b'x')])
def test_an_attribute_added_to_a_jail_copy_is_drift(env, attr):
    build(env, 'a')
    before = ino(env, 'a', LIBC)
    os.setxattr(env['a'] + LIBC, *attr)  # uid 0 in the jail
    assert build(env, 'a', check_mode=True).updated == [LIBC]
    assert build(env, 'a').updated == [LIBC]
    assert xattrs(env, 'a', LIBC) == [] and ino(env, 'a', LIBC) != before
    assert build(env, 'a').changed is False


def test_a_default_acl_the_jail_set_is_never_inherited_by_a_copy(env):
    """uid 0 in the jail gives a directory a default ACL: a new copy written there would inherit an
    access ACL (read for uid 1000), be drift at once, and be rewritten on every run."""
    build(env, 'a')
    acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', tag, perm, uid) for tag, perm, uid in (
        (0x01, 7, 0xffffffff), (0x02, 4, 1000), (0x04, 5, 0xffffffff), (0x10, 5, 0xffffffff), (0x20, 5, 0xffffffff)))
    os.setxattr(env['a'] + '/usr/lib64', 'system.posix_acl_default', acl)
    os.setxattr(env['a'] + LIBC, 'user.note', b'x')
    assert build(env, 'a').updated == [LIBC]
    assert xattrs(env, 'a', LIBC) == []
    assert build(env, 'a').changed is False


def test_unsetting_the_base_unshares(shared):
    result = build(shared, 'a')
    assert sorted(result.updated) == sorted(FILES)
    for path in FILES:
        assert ino(shared, 'a', path) != ino(shared, 'base', path)
        assert os.lstat(shared['a'] + path).st_nlink == 1
    assert ino(shared, 'b', LIBC) == ino(shared, 'base', LIBC)  # b still names the base
    assert build(shared, 'a').changed is False
    assert build(shared, 'base').changed is False  # the base's own inodes, linked by b: not drift


def test_a_jail_copy_replaced_by_a_link_to_another_name_is_drift(env):
    """uid 0 in a jail without a base puts a second name of its own file in place of a managed copy."""
    build(env, 'a')
    with open(env['a'] + LIBC, 'rb') as handle:
        data = handle.read()
    write(env['a'], '/tmp/libc', data, 0o755)
    os.link(env['a'] + '/tmp/libc', env['a'] + LIBC + '.new')
    os.rename(env['a'] + LIBC + '.new', env['a'] + LIBC)
    assert build(env, 'a').updated == [LIBC]
    assert os.lstat(env['a'] + LIBC).st_nlink == 1


@pytest.mark.parametrize('proc', [True, False])
def test_xattrs_at_lists_only_what_was_added_and_never_follows(tmp_path, monkeypatch, proc):
    if not proc:
        monkeypatch.setattr(compare_room, 'PROC_FDS', str(tmp_path / 'no-proc'))
    (tmp_path / 'file').write_bytes(b'x')
    os.setxattr(str(tmp_path / 'file'), 'user.note', b'x')
    (tmp_path / 'target').write_bytes(b'x')
    os.setxattr(str(tmp_path / 'target'), 'user.target', b'x')
    os.symlink(str(tmp_path / 'target'), str(tmp_path / 'link'))
    os.mkfifo(str(tmp_path / 'fifo'))
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        found = {name: compare_room.xattrs_at(fd, name) for name in ('file', 'link', 'fifo', 'gone')}
    finally:
        os.close(fd)
    assert found == {'file': ['user.note'], 'link': [], 'fifo': [], 'gone': []}


def lstat_of(ino, nlink=2):
    return SimpleNamespace(st_ino=ino, st_nlink=nlink, st_dev=1)


@pytest.mark.parametrize('st, record, base_holds, foreign', [
    (lstat_of(5, nlink=1), None, None, False),
    (lstat_of(5), {'ino': 5}, None, False),  # the base's own inode, linked by its jails
    (lstat_of(5), {'ino': 5, 'base': '/srv/base'}, None, True),  # linked from a base no longer named
    (lstat_of(5), {'ino': 6}, None, True),
    (lstat_of(5), None, None, True),
    (lstat_of(5), {'ino': 5}, True, False),
    (lstat_of(5), {'ino': 5}, False, True),  # with a base, only the base's inode may be shared
    (lstat_of(5, nlink=1), {'ino': 5}, False, False),
])
def test_foreign_link(st, record, base_holds, foreign):
    shared = None if base_holds is None else SimpleNamespace(holds=lambda path, st: base_holds)
    assert foreign_link(st, record, LIBC, shared) is foreign


# --------------------------------------------------------------------------
# races while linking and writing

def test_a_base_write_between_the_check_and_the_link_is_never_recorded_as_sound(env, monkeypatch):
    """uid 0 in the base writes its copy (same size, mtime restored) just before the link: the
    jail gets a copy of the host file, not the written inode under the base's checksum."""
    build(env, 'base')
    real_link = os.link
    path = env['base'] + LIBC

    def written_first(*args, **kwargs):
        st = os.lstat(path)
        with open(path, 'r+b') as handle:
            handle.write(b'X')
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        return real_link(*args, **kwargs)

    monkeypatch.setattr(base_room.os, 'link', written_first)
    result = build(env, 'a', base='base')
    monkeypatch.undo()
    assert LIBC not in result.base['linked']
    assert content(env, 'a', LIBC).startswith(b'FAKEELF') and ino(env, 'a', LIBC) != ino(env, 'base', LIBC)
    assert LIBC in build(env, 'base').updated


def swap_before_rename(monkeypatch, module):
    """The jail's root renames a file of its own over the temporary name just before the rename."""
    real_rename = os.rename

    def swapped(src, dst, src_dir_fd=None, dst_dir_fd=None):
        if not src.startswith('.libc.so.6.sjtmp'):  # the state's own writes
            return real_rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        fd = os.open('.evil', os.O_WRONLY | os.O_CREAT, 0o755, dir_fd=src_dir_fd)
        os.write(fd, b'evil')
        os.close(fd)
        real_rename('.evil', src, src_dir_fd=src_dir_fd, dst_dir_fd=src_dir_fd)
        return real_rename(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)

    monkeypatch.setattr(module.os, 'rename', swapped)


def test_a_file_renamed_over_the_link_fails_the_run(env, monkeypatch):
    build(env, 'base')
    build(env, 'a')
    os.unlink(env['a'] + LIBC)
    swap_before_rename(monkeypatch, base_room)
    with pytest.raises(JailError) as excinfo:
        build(env, 'a', base='base')
    assert str(excinfo.value) == f"{env['a']}{LIBC}: changed while it was written; run again"


def test_a_file_renamed_over_a_copy_fails_the_run(env, monkeypatch):
    build(env, 'a')
    os.unlink(env['a'] + LIBC)
    swap_before_rename(monkeypatch, jailfs)
    with pytest.raises(JailError) as excinfo:
        build(env, 'a')
    assert str(excinfo.value) == f"{env['a']}{LIBC}: changed while it was written; run again"
