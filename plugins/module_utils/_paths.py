# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Paths given by a playbook, and the one symlink-safe walker for host and jail paths.

``check_abs_path`` is the single absolute-path validator. ``PathWalk`` resolves a path under
a root (``/`` for the host, a jail directory for a jail) one component at a time: each
component is looked at with ``lstat`` relative to a directory it holds open, each directory
is entered with ``openat(O_NOFOLLOW | O_DIRECTORY)``, each symlink is read with ``readlink``
relative to that held directory, ``..`` steps back to a directory already held and never
above the root, and an absolute link restarts at the root. While the walk is open,
``parent_fd`` and ``name`` reach the final component without any path lookup, and ``dirs``
lists every directory the walk went through (link targets included) with the ``fstat`` of
the descriptor it held, so a caller can judge who could have changed what they hold.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import posixpath
import stat

from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
)

MAX_SYMLINK_HOPS = 40
# What readlink/open say when the entry lstat just saw was replaced: not a link any more,
# gone, or a link where a directory was.
SWAPPED_ERRNOS = (errno.EINVAL, errno.ENOENT, errno.ENOTDIR, errno.ELOOP)


class PathError(Exception):
    """A path that is malformed or cannot be walked safely; the message names it."""


def check_abs_path(path, what, error=PathError):
    """Return ``path`` normalised if it is absolute and has no ``.``/``..``, else raise ``error`` naming it."""
    if not isinstance(path, str) or not path:
        raise error(f'{what}: empty path')
    if not path.startswith('/'):
        raise error(f'{what} {path!r} is not an absolute path')
    if '\0' in path:
        raise error(f'{what} {path!r} contains a NUL byte')
    parts = path.split('/')
    if '..' in parts:
        raise error(f"{what} {path!r} contains a '..' component")
    if '.' in parts[1:]:
        raise error(f"{what} {path!r} contains a '.' component")
    normal = posixpath.normpath(path)
    if normal.startswith('//'):
        normal = normal[1:]
    return normal


def naming(what, path):
    """'binary /bin/x' stays as it is; 'profile dns' becomes 'profile dns: /etc/hosts'."""
    return what if what == path or what.endswith(' ' + path) else f'{what}: {path}'


class PathWalk:
    """Resolve ``path`` under the directory ``root`` without following anything blindly.

    Use as a context manager; the held directory descriptors close on exit. Afterwards
    ``steps`` lists ``('dir', p)`` for each directory passed, ``('symlink', p, target)`` for
    each link met and ``('file', p)`` for the final component (whatever non-link it is);
    ``real`` is the final path; ``dirs`` lists ``(p, fstat)`` for every directory held, the
    root first; ``links`` lists ``(link, (dir, fstat))`` for each link met with the directory
    that held it. Paths are relative to ``root`` (absolute, as seen inside it).
    ``where`` completes "does not exist ..." in errors; ``error`` is the exception raised.
    ``check_dir(path, fstat)`` is called as each directory is entered and ``check_link(link,
    (dir, fstat))`` before each link is read: either may raise to stop the walk there, before
    anything that directory holds is looked at.
    """

    def __init__(self, root, path, what, where='on the host', error=PathError, check_dir=None, check_link=None):
        self.root = root
        self.path = path
        self.what = what
        self.where = where
        self.error = error
        self.check_dir = check_dir
        self.check_link = check_link
        self.steps = []
        self.dirs = []
        self.links = []
        self.real = None
        self.parent_fd = None
        self.name = None
        self._held = []

    def __enter__(self):
        try:
            self._walk()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        while self._held:
            os.close(self._held.pop()[1])
        self.parent_fd = None

    def _fail(self, detail):
        raise self.error(f'{naming(self.what, self.path)}{detail}')

    def _hold(self, path, fd):
        self._held.append((path, fd))
        # the descriptor's own stat: what was entered, whatever the name pointed to before
        self.dirs.append((path, os.fstat(fd)))
        if self.check_dir:
            self.check_dir(*self.dirs[-1])

    def _changed(self, candidate, exc):
        # lstat saw one kind of entry and the next call met another (or none): someone swapped it
        if exc.errno not in SWAPPED_ERRNOS:
            raise exc
        self._fail(f': {candidate} changed while it was read; run again')

    def _walk(self):
        flags = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
        self._hold('/', os.open(self.root, flags))
        todo = [c for c in self.path.split('/') if c]
        hops = 0
        while todo:
            name = todo.pop(0)
            if name == '.':
                continue
            if name == '..':
                if len(self._held) > 1:
                    os.close(self._held.pop()[1])
                continue
            current, dir_fd = self._held[-1]
            candidate = posixpath.join(current, name)
            try:
                st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.ENOTDIR):
                    raise
                detail = '' if candidate == self.path else f' ({candidate} is missing)'
                self._fail(f' does not exist {self.where}{detail}')
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    self._fail(': too many levels of symbolic links')
                held = (current, os.fstat(dir_fd))
                if self.check_link:
                    self.check_link(candidate, held)
                try:
                    target = os.readlink(name, dir_fd=dir_fd)
                except OSError as exc:
                    self._changed(candidate, exc)
                self.steps.append(('symlink', candidate, target))
                self.links.append((candidate, held))
                if target.startswith('/'):
                    while len(self._held) > 1:
                        os.close(self._held.pop()[1])
                todo = [c for c in target.split('/') if c] + todo
                continue
            if todo:
                if not stat.S_ISDIR(st.st_mode):
                    self._fail(f': {candidate} is not a directory')
                self.steps.append(('dir', candidate))
                try:
                    fd = os.open(name, flags, dir_fd=dir_fd)
                except OSError as exc:
                    self._changed(candidate, exc)
                self._hold(candidate, fd)
            else:
                self.steps.append(('file', candidate))
                self.parent_fd, self.name = dir_fd, name
        if not self.steps or self.steps[-1][0] != 'file':
            self._fail(' names the root directory')
        self.real = self.steps[-1][1]


def resolve(root, path, what, where='on the host', error=PathError):
    """Return ``(steps, real)`` of ``path`` walked under ``root`` (see ``PathWalk``)."""
    with PathWalk(root, path, what, where, error) as walk:
        return walk.steps, walk.real
