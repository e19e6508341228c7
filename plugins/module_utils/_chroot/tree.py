# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The jail as it stands on disk: its tree walked through descriptors, and what the audit makes of it.

``walk()`` lists everything below the jail directory, links never followed, bounded; ``audit()``
sorts what it finds into setuid files, entries writable by others than root and device nodes.
chroot_jail (converge.py) and chroot_jail_info's read-only audit (audit.py, which jailed_service
loads too) share them, and ``jail_root_lstat``, without loading the engine that writes jails.
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

# The lstat that judges the jail path's ancestors. Only unit tests replace it (to trust the
# sticky system temp dir); no module option reaches it.
jail_root_lstat = os.lstat

DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
# Bounds of the audit walk through a tree the jail may have built to be endless.
AUDIT_MAX_DEPTH = 256
AUDIT_MAX_ENTRIES = 1000000


def audit(jail, warnings, entries=None):
    """Setuid/setgid files, entries not root-only-writable, and device nodes in the jail.

    What the walk could not look into is said in ``warnings``. ``entries`` is a ``walk()``
    of the jail already under way, when the caller has one.
    """
    result = {'setuid': [], 'writable': [], 'devices': []}
    if entries is None:
        if jail.lstat('/') is None:
            return result
        entries = walk(jail.root, warnings)
    for rel, st in entries:
        for kind in audit_kinds(st):
            result[kind].append(rel)
    for values in result.values():
        values.sort()
    return result


def audit_kinds(st):
    """What ``audit()`` reports an entry with the lstat ``st`` as: setuid, writable, devices."""
    kinds = []
    if stat.S_ISLNK(st.st_mode):
        return kinds
    if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and stat.S_ISREG(st.st_mode):
        kinds.append('setuid')
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        kinds.append('devices')
    elif st.st_uid != 0 or st.st_mode & 0o022:
        kinds.append('writable')
    return kinds


def walk(root, warnings, dir_fds=False):
    """Yield ``(jail path, lstat)`` of everything below the jail directory ``root``, links never followed
    (``(jail path, lstat, descriptor of its directory)`` when ``dir_fds``; open only until the next).

    Iterative, through descriptors: each directory is opened O_NOFOLLOW relative to its parent's
    descriptor and listed through its own, so one the jail swaps for a symlink mid-walk is
    skipped, never entered. A jailed process can build a tree of any depth or size: past
    ``AUDIT_MAX_DEPTH`` levels nothing is entered, past ``AUDIT_MAX_ENTRIES`` the walk stops,
    and ``warnings`` names where.
    """
    stack = [('/', os.open(root, DIR_FLAGS), None)]  # (jail path, descriptor, subdirectory names left)
    seen = 0
    too_deep = []
    try:
        while stack:
            path, fd, subdirs = stack[-1]
            if subdirs is None:
                subdirs = []
                for name in sorted(os.listdir(fd)):
                    seen += 1
                    if seen > AUDIT_MAX_ENTRIES:
                        warnings.append(f'audit: stopped in {path} after {AUDIT_MAX_ENTRIES} entries; '
                                        'the rest of the jail was not looked into')
                        return
                    try:
                        st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    except OSError:  # gone since the listing
                        continue
                    yield (posixpath.join(path, name), st, fd) if dir_fds else (posixpath.join(path, name), st)
                    if stat.S_ISDIR(st.st_mode):
                        subdirs.append(name)
                subdirs = iter(subdirs)
                stack[-1] = (path, fd, subdirs)
            name = next(subdirs, None)
            if name is None:
                os.close(stack.pop()[1])
            elif len(stack) > AUDIT_MAX_DEPTH:
                too_deep.append(posixpath.join(path, name))
            else:
                try:
                    stack.append((posixpath.join(path, name), os.open(name, DIR_FLAGS, dir_fd=fd), None))
                except OSError as exc:
                    # swapped for a link or a file, or gone, since its lstat: nothing to look into;
                    # anything else (out of descriptors, an I/O error) hid what lies below
                    if exc.errno not in (errno.ELOOP, errno.ENOTDIR, errno.ENOENT):
                        warnings.append(f'audit: {posixpath.join(path, name)} could not be opened ({exc.strerror}); '
                                        'what lies below it was not looked into')
    finally:
        for _path, fd, _subdirs in stack:
            os.close(fd)
        if too_deep:
            more = f'; {len(too_deep) - 1} more such directories were skipped too' if len(too_deep) > 1 else ''
            warnings.append(f'audit: {too_deep[0]} and what lies below it were not looked into '
                            f'(more than {AUDIT_MAX_DEPTH} levels deep){more}')
