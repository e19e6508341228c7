# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The jailed users' authorized keys files, on the host, outside every jail.

``install_keys`` writes the files of ``AuthorizedKeysFile`` (its ``%u`` replaced by each user's
name; ``SshJailSpec`` checks the keys and gives each file's text): root-owned 0644, so that a
jailed user can read but never change who may log in as them, in a root-owned 0755 directory.
The directory is reached from ``/`` one component at a time through held descriptors, never
through a symlink, and every directory above it must be root-owned and not group- or
world-writable (what sshd's StrictModes asks too), so nobody else can swap what is written.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import posixpath
import stat

from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, read_fd, replace_at,
)
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError

DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
KEYS_DIR_MODE = 0o755
KEYS_FILE_MODE = 0o644


def _held_dir(directory, check_mode, changes):
    """A descriptor of ``directory`` (or None when check mode would create it), made root-owned
    0755; the directories above it must already be root-owned and not group/world-writable."""
    fd = os.open('/', DIR_FLAGS)
    current = ''
    parts = [c for c in directory.split('/') if c]
    try:
        for index, name in enumerate(parts):
            current = f'{current}/{name}'
            last = index == len(parts) - 1
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                changes.append(f'create {current}')
                if check_mode:
                    os.close(fd)
                    return None
                os.mkdir(name, KEYS_DIR_MODE, dir_fd=fd)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                kind = 'a symlink' if stat.S_ISLNK(st.st_mode) else 'not a directory'
                raise SshJailError(f'authorized_keys: {current} is {kind}')
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            st = os.fstat(fd)
            if not last and (st.st_uid != 0 or st.st_mode & 0o022):
                raise SshJailError(f'authorized_keys: {current} must be root-owned and not group- or world-writable '
                                   '(whoever can write it can replace the keys)')
        if (st.st_uid, st.st_gid) != (0, 0):
            changes.append(f'chown {directory} root:root')
            if not check_mode:
                os.fchown(fd, 0, 0)
        if stat.S_IMODE(st.st_mode) != KEYS_DIR_MODE:
            changes.append(f'chmod {directory} {KEYS_DIR_MODE:04o}')
            if not check_mode:
                os.fchmod(fd, KEYS_DIR_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_file(dir_fd, name, path):
    """A read descriptor of the regular file ``name`` in the held directory, or None when absent."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        if exc.errno == errno.ELOOP:
            raise SshJailError(f'authorized_keys: {path} is a symlink')
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise SshJailError(f'authorized_keys: {path} is not a regular file')
    return fd


def install_keys(files, check_mode):
    """Make each ``{path: text}`` file hold its text, root-owned 0644. Returns ``(changes, diffs)``."""
    changes, diffs = [], []
    for path, text in sorted(files.items()):
        directory, name = posixpath.split(path)
        dir_fd = _held_dir(directory, check_mode, changes)
        fd = None
        try:
            fd = None if dir_fd is None else _open_file(dir_fd, name, path)
            before = '' if fd is None else read_fd(fd).decode('utf-8', 'surrogateescape')
            if fd is None or before != text:
                changes.append(f'write {path}')
                diffs.append({'before_header': path, 'after_header': path, 'before': before, 'after': text})
                if fd is not None:
                    os.close(fd)
                fd = None
                if check_mode:
                    continue
                replace_at(dir_fd, name, text.encode('utf-8'), f'.{name}.{os.getpid()}.tmp')
                fd = _open_file(dir_fd, name, path)
            st = os.fstat(fd)
            if (st.st_uid, st.st_gid) != (0, 0):
                changes.append(f'chown {path} root:root')
                if not check_mode:
                    os.fchown(fd, 0, 0)
            if stat.S_IMODE(st.st_mode) != KEYS_FILE_MODE:
                if before == text:  # a file just written is 0600 until here, which is no change to report
                    changes.append(f'chmod {path} {KEYS_FILE_MODE:04o}')
                if not check_mode:
                    os.fchmod(fd, KEYS_FILE_MODE)
        finally:
            if dir_fd is not None:
                os.close(dir_fd)
            if fd is not None:
                os.close(fd)
    return changes, diffs
