# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""A shared base jail: the jail's files hard-linked from another jail the module manages.

The base is an ordinary jail, populated by its own chroot_jail run; a jail that names it only
reads it, under a shared lock on the base's state, and never writes into it. A planned file of
the jail is linked from the base when the base's state records the same host source, seen
unchanged (size, mtime, change time), and the base's entry is still the inode that state
verified, with the owner and mode the jail wants and the recorded checksum. The base is a jail
too, so a process in it may have changed its files: its entry is reached through descriptors
(``jailfs.Jail``), hashed unless its change time and inode are those the base's run recorded,
and the very descriptor that was checked is linked (``linkat`` of ``/proc/self/fd/N``), never a
name looked up again. Anything else (not in the base, another file system, no ``/proc``) is
copied from the host as without a base. A hard link is never written to: a jail's entry whose
content, mode or extended attributes drifted is replaced by a new inode (relinked from a sound
base, or copied); an entry with an extended attribute other than its SELinux label is never
linked. A jail's record of a linked entry names the base, so a run without ``base`` copies it.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import contextlib
import errno
import os
import posixpath
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail, tmp_name
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    JailError,
    abs_path,
    check_jail_root,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import locked_state
from ansible_collections.serversec.confine.plugins.module_utils._fileio import PROC_FDS, added_xattrs, sha256_fd


def check_base(jail_path, base):
    """``base`` normalised; refused when it is the jail, inside it or around it."""
    base = abs_path(base, 'base')
    if base == '/':
        raise JailError("base '/' is the host's root, not a jail; name a jail managed by chroot_jail")
    if base == jail_path:
        raise JailError(f'base {base} is the jail itself; name another jail managed by chroot_jail')
    if base.startswith(jail_path + '/'):
        raise JailError(f'base {base} is inside the jail {jail_path}; a jailed process could change it')
    if jail_path.startswith(base + '/'):
        raise JailError(f'base {base} contains the jail {jail_path}; the base must be a jail of its own')
    return base


@contextlib.contextmanager
def shared_base(base, state_dir, jail_path, host, root_lstat):
    """The ``Base`` named ``base``, its state locked shared until the block ends."""
    base = check_base(jail_path, base)
    check_jail_root(base, root_lstat, what='base')
    # shared, never created: the base's own run is the only writer of the base and its state
    with locked_state(state_dir, base, check_mode=True, lstat=root_lstat) as store:
        state = store.load()
        if store.saved is None:
            raise JailError(f'base {base}: no state in {store.state_dir}; build the base with its own '
                            'chroot_jail task (same state_dir) before the jails that use it')
        if store.saved.get('base'):
            raise JailError(f"base {base} itself uses the base {store.saved['base']}; a base must not have "
                            'a base of its own')
        jail = Jail(base, host)
        try:
            yield Base(base, state.managed, jail)
        finally:
            jail.close()


class Base:
    """What the jail may take from the base, and the linking itself."""

    def __init__(self, path, records, jail):
        self.path = path
        self.records = records
        self.jail = jail
        self.linked = []  # jail paths hard-linked from the base by this run

    def report(self):
        return {'path': self.path, 'linked': sorted(self.linked)}

    def _candidate(self, path, entry):
        """lstat of the base's entry for the planned file ``entry``, when the base's state
        recorded that very host file and the entry is the inode it verified; else None."""
        record = self.records.get(path)
        if not record or record.get('type') != 'file' or not record.get('sha256') \
                or record.get('source') != entry['source'] or record.get('size') != entry['size'] \
                or record.get('mtime_ns') != entry['mtime_ns'] or record.get('source_ctime_ns') != entry['ctime_ns']:
            return None
        st = self.jail.lstat(path)
        if st is None or not stat.S_ISREG(st.st_mode) or st.st_ino != record.get('ino') \
                or (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (entry['uid'], entry['gid'], entry['mode']):
            return None
        return st

    def holds(self, path, st):
        """True when ``st`` is the base's entry at ``path`` and the inode the base's state recorded."""
        base_st = self.jail.lstat(path)
        record = self.records.get(path) or {}
        return base_st is not None and (st.st_dev, st.st_ino) == (base_st.st_dev, base_st.st_ino) \
            and record.get('ino') == st.st_ino

    @contextlib.contextmanager
    def verified(self, path, entry, content=True):
        """``(fd, fstat)`` of the base's entry for ``entry`` once checked to hold the recorded
        content (left to the caller when ``content`` is false), or None; the descriptor stays
        open for the block (it is what gets linked). An entry with an extended attribute other
        than its SELinux label (a capability a process in the base set) is never sound."""
        fd = self._open(path) if self._candidate(path, entry) is not None else None
        if fd is None:
            yield None
            return
        try:
            st = os.fstat(fd)
            record = self.records[path]
            sound = st.st_ino == record['ino'] and st.st_size == entry['size'] \
                and (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (entry['uid'], entry['gid'], entry['mode']) \
                and not added_xattrs(fd) \
                and (not content or st.st_ctime_ns == record.get('ctime_ns') or sha256_fd(fd) == record['sha256'])
            yield (fd, st) if sound else None
        finally:
            os.close(fd)

    def _open(self, path):
        try:
            return self.jail.open_read(path)
        except (OSError, JailError):  # replaced since its lstat by a process in the base
            return None

    def relinks(self, jail, path, entry, st):
        """True when the jail's sound copy ``path`` (lstat ``st``) is not the base's inode but
        could be: a jail that was copied before its base held the file shares it from now on."""
        base_st = self._candidate(path, entry)
        if base_st is None or (st.st_dev, st.st_ino) == (base_st.st_dev, base_st.st_ino) \
                or st.st_dev != base_st.st_dev or not os.path.isdir(PROC_FDS):
            return False
        with self.verified(path, entry) as found:
            return found is not None

    def write(self, jail, path, entry):
        """Hard-link the base's verified entry at ``path`` in ``jail``; its state record, or
        None when it must be copied instead (the caller's copy then replaces whatever is there).

        A process in the base (or in a jail sharing the entry) may write it between any two
        steps, and the jail's root may rename a file of its own over the temporary name. So the
        name is checked to be the linked inode after the rename, and the content is hashed after
        the link, between two looks at its change time: the time recorded is one the checked
        content had, and a later write moves it, so the next run hashes again.
        """
        if entry['type'] != 'file' or not os.path.isdir(PROC_FDS):
            return None
        parent = jail.dir_fd(posixpath.dirname(path))
        if parent is None:
            return None
        name = posixpath.basename(path)
        old = jail.lstat(path)
        with self.verified(path, entry, content=False) as found:
            if found is None:
                return None
            fd, st = found
            if os.fstat(parent).st_dev != st.st_dev:
                return None
            if old is not None and stat.S_ISDIR(old.st_mode):
                return None  # a directory in the way: the copy clears it (only an empty one)
            tmp = tmp_name(name)
            try:
                os.link(f'{PROC_FDS}/{fd}', tmp, dst_dir_fd=parent, follow_symlinks=True)
            except OSError as exc:
                if exc.errno in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOENT):
                    return None  # another mount, a link limit, or the base's entry just removed: copied
                raise JailError(f'{jail.root}{path}: cannot link from the base {self.path}: {exc}')
            try:
                os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
                now = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except OSError as exc:
                try:
                    os.unlink(tmp, dir_fd=parent)
                except OSError:
                    pass
                raise JailError(f'{jail.root}{path}: cannot link from the base {self.path}: {exc}')
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                raise JailError(f'{jail.root}{path}: changed while it was written; run again')
            ctime_ns = os.fstat(fd).st_ctime_ns
            if sha256_fd(fd) != self.records[path]['sha256'] or os.fstat(fd).st_ctime_ns != ctime_ns \
                    or added_xattrs(fd):
                return None  # written meanwhile in the base: the copy replaces the link at once
        self.linked.append(path)
        return {'type': 'file', 'source': entry['source'], 'sha256': self.records[path]['sha256'],
                'size': entry['size'], 'mtime_ns': entry['mtime_ns'], 'source_ctime_ns': entry['ctime_ns'],
                'ctime_ns': ctime_ns, 'ino': now.st_ino, 'base': self.path}
