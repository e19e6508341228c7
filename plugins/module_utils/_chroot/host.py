# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The host as the jail engine reads it: never written, optionally rooted elsewhere for tests.

``Host`` answers lstat, readlink, glob, symlink-safe resolution (through the one walker in
``_paths``), the checksum of a host file, and the naming of users and groups.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import glob
import grp
import os
import pwd

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_NOFOLLOW,
    sha256_fd,
)
from ansible_collections.serversec.confine.plugins.module_utils._paths import resolve


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

    def readlink(self, path):
        return os.readlink(self.fs(path))

    def glob(self, pattern):
        found = sorted(glob.glob(self.fs(pattern)))
        if self.root == '/':
            return found
        return [p[len(self.root):] for p in found]

    def resolve(self, path, what):
        """``(steps, real)`` of ``path`` on the host: see ``_paths.PathWalk``."""
        return resolve(self.root, path, what, error=JailError)

    def sha256(self, path):
        fd = os.open(self.fs(path), os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        try:
            return sha256_fd(fd)
        finally:
            os.close(fd)

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
