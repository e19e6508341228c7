# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The host as the jail engine reads it: never written, optionally rooted elsewhere for tests.

Every source (what goes into a jail) is read race-free: ``Host.open_source`` walks its path one
component at a time (``_paths.PathWalk``), opens the final component relative to the directory
it holds and returns that descriptor with its ``fstat``; what is copied, and the owner, mode and
checksum recorded, all come from such a descriptor. A source whose walk went through a
directory a non-root user owns or can write is refused (``UnsafeSource``) unless the play
accepts it. ``Host.open_planned`` opens a planned source again and refuses it when it is no
longer the file the plan saw. ``Host`` also answers lstat and glob (to find candidates) and
the naming of users and groups.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import glob
import grp
import os
import posixpath
import pwd
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    sha256_fd,
)
from ansible_collections.serversec.confine.plugins.module_utils._paths import SWAPPED_ERRNOS, PathWalk, naming, resolve

# Never blocks on a FIFO, never becomes a controlling terminal: what is opened is looked at first.
O_SOURCE = os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_NOCTTY', 0)


class UnsafeSource(JailError):
    """A source a non-root user could swap; refused unless the play accepts it."""


def user_writable(path, st):
    """Why a non-root user could change what directory ``path`` holds, or None.

    Strict like OpenSSH: owned by anyone but root, or group- or world-writable (a sticky
    directory such as /tmp included: users plant entries there).
    """
    if st.st_uid != 0:
        return f'{path} is owned by uid {st.st_uid}'
    if st.st_mode & 0o022:
        return f'{path} is group- or world-writable (mode {stat.S_IMODE(st.st_mode):04o})'
    return None


# How a directory on a source's path is judged. Only unit tests replace it (to trust the sticky
# system temp dir); no module option reaches it.
source_dir_check = user_writable


def first_user_writable(dirs):
    """The first of ``dirs`` (``(path, stat)`` pairs) a non-root user could change, explained."""
    for path, st in dirs:
        reason = source_dir_check(path, st)
        if reason:
            return reason
    return None


def refuse_user_writable(subject, dirs):
    """Raise ``UnsafeSource`` for ``subject`` when one of ``dirs`` is not root's alone."""
    found = first_user_writable(dirs)
    if found:
        raise UnsafeSource(f'{subject}: {found} (a non-root user could swap what it holds); '
                           'set allow_user_writable_sources to accept it')


def refuse_user_links(subject, links):
    """Raise ``UnsafeSource`` for a link met in a directory a non-root user could change.

    Accepting a user's directory means accepting the user's files, never letting the user point
    the module at any other file on the host: such a link is not followed, even knowingly.
    """
    for link, held in links:
        reason = source_dir_check(*held)
        if reason:
            raise UnsafeSource(f'{subject}: {link} is a symbolic link and {reason}; a link a non-root '
                               'user controls is never followed, even with allow_user_writable_sources')


def seen(st):
    """What the plan records of a source, and the copy checks again: identity, owner/mode, content."""
    return {'dev': st.st_dev, 'ino': st.st_ino, 'ctime_ns': st.st_ctime_ns,
            'size': st.st_size, 'mtime_ns': st.st_mtime_ns}


class Source:
    """A host file open for reading: ``fd`` (None for a FIFO, socket or device node, never
    opened), ``st`` (its fstat), the walk's ``steps``, ``dirs`` and ``real`` path."""

    def __init__(self, fd, st, walk):
        self.fd = fd
        self.st = st
        self.steps = walk.steps
        self.dirs = walk.dirs
        self.real = walk.real

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


class Host:
    """Read-only view of the host. ``root`` lets tests use a fake tree."""

    def __init__(self, root='/', lookup_user=None, lookup_group=None, lookup_uid=None, lookup_gid=None):
        self.root = root.rstrip('/') or '/'
        self.lookup_user = lookup_user or pwd.getpwnam
        self.lookup_group = lookup_group or grp.getgrnam
        self.lookup_uid = lookup_uid or pwd.getpwuid
        self.lookup_gid = lookup_gid or grp.getgrgid

    def fs(self, path):
        return path if self.root == '/' else self.root + path

    def lstat(self, path):
        try:
            return os.lstat(self.fs(path))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def glob(self, pattern):
        found = sorted(glob.glob(self.fs(pattern)))
        if self.root == '/':
            return found
        return [p[len(self.root):] for p in found]

    def resolve(self, path, what):
        """``(steps, real)`` of ``path`` on the host: see ``_paths.PathWalk``."""
        return resolve(self.root, path, what, error=JailError)

    def open_source(self, path, what, allow_user_writable=False):
        """``Source`` of ``path``, reached through held directories; the caller closes it.

        Regular files and directories are opened; anything else is only lstat'ed (opening a
        device can have effects). Unless ``allow_user_writable``, a walk through a directory
        a non-root user could change raises ``UnsafeSource`` naming that directory; a link held
        in such a directory is refused in any case.
        """
        subject = naming(what, path)

        # judged as the walk goes: nothing in a refused directory is even looked at
        def check_dir(path, st):
            if not allow_user_writable:
                refuse_user_writable(subject, [(path, st)])

        def check_link(link, held):
            refuse_user_links(subject, [(link, held)])

        with PathWalk(self.root, path, what, error=JailError, check_dir=check_dir, check_link=check_link) as walk:
            st = os.stat(walk.name, dir_fd=walk.parent_fd, follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                # the walk met no link here: someone put one in place since
                raise JailError(f'{subject}: {walk.real} was replaced while it was opened; run again')
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
                return Source(None, st, walk)
            try:
                fd = os.open(walk.name, O_SOURCE, dir_fd=walk.parent_fd)
            except OSError as exc:
                raise JailError(f'{subject}: cannot open {walk.real}: {exc.strerror}')
            fd_st = os.fstat(fd)
            if (fd_st.st_dev, fd_st.st_ino) != (st.st_dev, st.st_ino):
                os.close(fd)
                raise JailError(f'{subject}: {walk.real} was replaced while it was opened; run again')
            return Source(fd, fd_st, walk)

    def open_planned(self, entry):
        """The planned source of a file entry, opened again and checked to be what the plan saw.

        Directories were judged when the plan was made: from then on, only the file's identity
        (device, inode) and its change time (owner, mode or content changed) are checked.
        """
        source = entry['source']
        src = self.open_source(source, f'source {source}', allow_user_writable=True)
        now = seen(src.st)
        if (now['dev'], now['ino']) != (entry['dev'], entry['ino']):
            src.close()
            raise JailError(f"{source} changed on the host between plan and copy (device/inode "
                            f"{entry['dev']}:{entry['ino']} became {now['dev']}:{now['ino']}); nothing was copied")
        if now['ctime_ns'] != entry['ctime_ns']:
            src.close()
            raise JailError(f'{source} changed on the host between plan and copy (owner, mode or content); '
                            'nothing was copied')
        return src

    def source_sha256(self, entry):
        """SHA-256 of a planned source, read from the descriptor ``open_planned`` checked."""
        with self.open_planned(entry) as src:
            return sha256_fd(src.fd)

    def walk_tree(self, top, dir_fd, what, allow_user_writable=False):
        """``(path, lstat, link target or None)`` of everything below the directory ``top``
        open on ``dir_fd``, depth first, each directory entered through a descriptor.

        Each directory whose entries are taken is judged like those on a source's path.
        """
        if not allow_user_writable:
            refuse_user_writable(what, [(top, os.fstat(dir_fd))])
        for name in sorted(os.listdir(dir_fd)):
            path = posixpath.join(top, name)
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            target = self._read_link(name, dir_fd, naming(what, path)) if stat.S_ISLNK(st.st_mode) else None
            yield path, st, target
            if stat.S_ISDIR(st.st_mode):
                sub = self._enter(name, dir_fd, st, naming(what, path))
                try:
                    yield from self.walk_tree(path, sub, what, allow_user_writable)
                finally:
                    os.close(sub)

    @staticmethod
    def _read_link(name, dir_fd, subject):
        """Target of the link ``name`` that was just lstat'ed; refused if it is something else now."""
        try:
            return os.readlink(name, dir_fd=dir_fd)
        except OSError as exc:
            if exc.errno not in SWAPPED_ERRNOS:
                raise
        raise JailError(f'{subject}: replaced while it was read; run again')

    @staticmethod
    def _enter(name, dir_fd, st, subject):
        """fd of the directory ``name`` that was lstat'ed as ``st``; refused if it is another now."""
        try:
            fd = os.open(name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=dir_fd)
        except OSError:
            fd = None
        if fd is not None:
            fd_st = os.fstat(fd)
            if (fd_st.st_dev, fd_st.st_ino) == (st.st_dev, st.st_ino):
                return fd
            os.close(fd)
        raise JailError(f'{subject}: replaced while it was read; run again')

    def uid(self, owner, why):
        """Numeric uid of ``owner`` (a name or digits)."""
        return _numeric_id(owner, lambda name: self.lookup_user(name).pw_uid, 'user', why)

    def gid(self, group, why):
        """Numeric gid of ``group`` (a name or digits)."""
        return _numeric_id(group, lambda name: self.lookup_group(name).gr_gid, 'group', why)


def _numeric_id(value, lookup, kind, why):
    if isinstance(value, int) or str(value).isdigit():
        return int(value)
    try:
        return lookup(value)
    except KeyError:
        raise JailError(f'{why}: {kind} {value!r} does not exist on the host')
