# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Compare one planned entry with what the jail holds; nothing is written.

``compare()`` judges type, owner, mode, target or content, and for regular files two things no
checksum sees: extended attributes other than the SELinux label (a file capability or an ACL a
jailed root added) and other names of the same inode than the module made (``foreign_link()``).
Either is drift, repaired by writing a new inode, never by editing the shared one.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import posixpath
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import device_record
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_NOFOLLOW,
    PROC_FDS,
    added_xattrs,
)


def xattrs_at(dir_fd, name):
    """``added_xattrs()`` of the entry ``name`` of the directory ``dir_fd``, never followed: listed
    by name below the descriptor where /proc has it (no open), else on a non-blocking open of a
    regular file; none when the entry is gone, or is no longer a regular file without /proc."""
    try:
        if os.path.isdir(PROC_FDS):
            return added_xattrs(f'{PROC_FDS}/{dir_fd}/{name}', follow_symlinks=False)
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | O_NOFOLLOW | O_CLOEXEC, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return []
        raise
    try:
        return added_xattrs(fd) if stat.S_ISREG(os.fstat(fd).st_mode) else []
    finally:
        os.close(fd)


def jail_xattrs(jail, path):
    """``xattrs_at()`` of the entry ``path`` of ``jail``."""
    parent = jail.dir_fd(posixpath.dirname(path))
    return [] if parent is None else xattrs_at(parent, posixpath.basename(path))


def _owner_mode(st):
    return st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def compare(jail, path, entry, record, st=None, shared=None):
    """Return ``(status, detail, facts)``: status in ok/add/update.

    ``facts`` holds what was learned about a copied file (host size and mtime, the jail
    copy's ctime, inode and checksum) for the state record. ``st`` is the lstat of ``path``
    when a walk of the jail through descriptors already took it; else it is taken here.
    ``shared`` is the jail's base (``base.Base``), or None.
    """
    facts = {}
    if st is None:
        st = jail.lstat(path)
    if st is None:
        return 'add', None, facts
    kind = entry['type']
    if kind == 'dir':
        if not stat.S_ISDIR(st.st_mode):
            return 'update', 'not a directory', facts
        # an existing directory we did not create: only insist on safety
        if entry.get('implicit') and (path == '/' or record is None) \
                and st.st_uid == 0 and not st.st_mode & 0o022:
            return 'ok', None, facts
        if _owner_mode(st) != (entry['uid'], entry['gid'], entry['mode']):
            return 'update', 'owner/mode', facts
        return 'ok', None, facts
    if kind == 'symlink':
        if not stat.S_ISLNK(st.st_mode):
            return 'update', 'not a symlink', facts
        if jail.readlink(path) != entry['target']:
            return 'update', 'target', facts
        return 'ok', None, facts
    if kind == 'device':
        want = stat.S_IFCHR if entry['kind'] == 'char' else stat.S_IFBLK
        if stat.S_IFMT(st.st_mode) != want or st.st_rdev != os.makedev(entry['major'], entry['minor']):
            return 'update', 'device numbers', facts
        if _owner_mode(st) != (entry['uid'], entry['gid'], entry['mode']):
            return 'update', 'owner/mode', facts
        return 'ok', None, facts
    if not stat.S_ISREG(st.st_mode):
        return 'update', 'not a regular file', facts
    if _owner_mode(st) != (entry['uid'], entry['gid'], entry['mode']):
        return 'update', 'owner/mode', facts
    # a file capability or an ACL a jailed root added is not content: no checksum sees it
    if jail_xattrs(jail, path):
        return 'update', 'extended attributes', facts
    if foreign_link(st, record, path, shared):
        return 'update', 'shared inode', facts
    if kind == 'generated':
        data = entry['content'].encode('utf-8')
        if st.st_size != len(data) or jail.read(path) != data:
            return 'update', 'content', facts
        return 'ok', None, facts
    # the host file as the plan saw it through its descriptor, never looked up by path again
    facts.update(size=entry['size'], mtime_ns=entry['mtime_ns'], source_ctime_ns=entry['ctime_ns'])
    if st.st_size != entry['size']:
        return 'update', 'size', facts
    facts.update(ctime_ns=st.st_ctime_ns, ino=st.st_ino)
    # Same size and mtime as the host file, neither the host file nor the jail copy changed
    # since we wrote or last verified it (ctime cannot be set back, unlike mtime, which
    # `cp -p` or `touch -r` keep): no need to read either.
    if st.st_mtime_ns == entry['mtime_ns'] and record and record.get('sha256') \
            and record.get('source_ctime_ns') == entry['ctime_ns'] \
            and record.get('ctime_ns') == st.st_ctime_ns and record.get('ino') == st.st_ino:
        facts['sha256'] = record['sha256']
        return 'ok', None, facts
    host_sum = jail.host.source_sha256(entry)
    if jail.sha256(path) != host_sum:
        return 'update', 'content', facts
    facts['sha256'] = host_sum
    return 'ok', None, facts


def kept_record(entry, record, facts):
    """The state record of an entry found as planned: the old one refreshed with ``facts``."""
    record = dict(record or {})
    record['type'] = entry['type']
    for key in ('source', 'target'):
        if key in entry:
            record[key] = entry[key]
    if entry['type'] == 'device':
        record.update(device_record(entry))
    record.update(facts)
    return record


def foreign_link(st, record, path, shared):
    """True when the regular file ``st`` has other names than ``path`` it should not have.

    With a base, only the base's verified inode may be shared. Without one, only an inode this
    jail wrote itself: one linked from a base (the record says so) stays shared until a copy
    replaces it, so unsetting ``base`` isolates the jail.
    """
    if st.st_nlink <= 1:
        return False
    if shared is not None:
        return not shared.holds(path, st)
    return record is None or record.get('ino') != st.st_ino or bool(record.get('base'))
