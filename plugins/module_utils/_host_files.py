# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Several host files put in place by one module run (``host_files``).

Every entry is checked before anything is written: its path, owner, group and mode, and every
directory from ``/`` to it, walked one component at a time without following a link. A
directory a non-root user owns or can write, or a symbolic link on the way, is refused: such a
user could swap what the path reaches between the check and the write, and make root write or
chown another file. Missing directories are created root-owned. Writes go through the shared
I/O layer (a temporary file in the target's directory, one rename, backup on request).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import grp
import os
import posixpath
import pwd
import stat
from collections import namedtuple

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import user_writable
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    read_if_exists,
    write_atomic,
)
from ansible_collections.serversec.confine.plugins.module_utils._known_jails import JAIL_STATE_DIR, known_jails
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathError, check_abs_path

DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
# Bits a file written from a playbook never gets here: a setuid/setgid root file, or one any
# user can rewrite while root daemons read it.
REFUSED_MODE_BITS = (stat.S_ISUID, 'setuid'), (stat.S_ISGID, 'setgid'), (stat.S_IWOTH, 'world-writable')

# How a directory on the way to a file is judged. Only unit tests replace it (to trust the sticky
# system temp dir above their scratch directories); no module option reaches it.
directory_check = user_writable

HostFile = namedtuple('HostFile', 'path content uid gid mode')


class HostFilesError(Exception):
    """An entry that cannot be put in place safely; the message names it and the cause."""


def parse_mode(value, what):
    """The numeric mode of an octal string (V(0644)) or a number; symbolic modes are refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str) and value and all(c in '01234567' for c in value):
        mode = int(value, 8)
    else:
        raise HostFilesError(f"{what}: {value!r} is not an octal mode such as '0644'")
    if not 0 <= mode <= 0o7777:
        raise HostFilesError(f'{what}: {value!r} is out of range')
    for bit, name in REFUSED_MODE_BITS:
        if mode & bit:
            raise HostFilesError(f'{what}: {mode:04o} is {name}; host_files does not write such files')
    return mode


def resolve_id(name, what, lookup):
    """The numeric id of a user or group name (or of a number given as text)."""
    if name.isdigit():
        return int(name)
    try:
        return lookup(name)
    except KeyError:
        raise HostFilesError(f'{what}: {name!r} does not exist on this host') from None


def check_entries(entries):
    """The entries as ``HostFile`` tuples, or ``HostFilesError`` naming the first bad field."""
    checked = []
    seen = set()
    for index, entry in enumerate(entries):
        where = f'files[{index}]'
        if entry.get('src') is not None:
            raise HostFilesError(f'{where}.src is read on the controller by the action plugin of '
                                 'serversec.confine.host_files; give content when calling the module directly')
        try:
            path = check_abs_path(entry['path'], f'{where}.path', HostFilesError)
        except PathError as exc:
            raise HostFilesError(str(exc)) from None
        if path == '/':
            raise HostFilesError(f'{where}.path names the root directory')
        if path in seen:
            raise HostFilesError(f'{where}.path {path} is given twice')
        seen.add(path)
        content = entry.get('content')
        checked.append(HostFile(
            path=path,
            content=None if content is None else content.encode('utf-8'),
            uid=resolve_id(entry['owner'], f'{where}.owner', lambda n: pwd.getpwnam(n).pw_uid),
            gid=resolve_id(entry['group'], f'{where}.group', lambda n: grp.getgrnam(n).gr_gid),
            mode=parse_mode(entry['mode'], f'{where}.mode'),
        ))
    return checked


def refuse_inside_jails(entries, jails):
    """uid 0 in a jail could swap a directory of the path for a link between the check and the write."""
    for index, entry in enumerate(entries):
        for jail in jails:
            if entry.path.startswith(jail + '/'):
                raise HostFilesError(f'files[{index}].path {entry.path} lies inside the jail {jail}, where uid 0 '
                                     'could replace a directory on the way with a link to any host path; '
                                     'chroot_jail puts files into jails')


def walk_directories(path, dir_check, create_mode=None):
    """The directories missing on the way to ``path`` after checking every one that exists.

    Each directory is entered with openat(O_NOFOLLOW) from the one before and judged by
    ``dir_check(path, fstat)`` on the descriptor held. With ``create_mode``, the missing ones are
    created root-owned with that mode (set on the new directory's descriptor, whatever the umask);
    without it nothing is created and the missing ones are only reported.
    """
    missing = []
    fd = os.open('/', DIR_FLAGS)
    try:
        refuse_unsafe(path, dir_check, '/', fd)
        current = '/'
        for name in [c for c in posixpath.dirname(path).split('/') if c]:
            candidate = posixpath.join(current, name)
            current = candidate
            if missing and create_mode is None:
                missing.append(candidate)
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                missing.append(candidate)
                if create_mode is None:
                    continue
                os.mkdir(name, 0o700, dir_fd=fd)
            else:
                if stat.S_ISLNK(st.st_mode):
                    raise HostFilesError(f'{path}: {candidate} is a symbolic link; give the path it points to')
                if not stat.S_ISDIR(st.st_mode):
                    raise HostFilesError(f'{path}: {candidate} is not a directory')
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            if missing:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, create_mode)
            refuse_unsafe(path, dir_check, candidate, fd)
    finally:
        os.close(fd)
    return missing


def refuse_unsafe(path, dir_check, directory, fd):
    """Refuse ``path`` when a non-root user could change the directory held on ``fd``."""
    reason = dir_check(directory, os.fstat(fd))
    if reason:
        raise HostFilesError(f'{path}: {reason} (a non-root user could swap what it holds); '
                             'host_files writes only where root alone can')


def target_state(path):
    """The lstat of the file at ``path``, None when absent; anything but a regular file is refused."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise HostFilesError(f'{path}: exists and is not a regular file, refusing to replace it')
    if st.st_nlink > 1:
        raise HostFilesError(f'{path}: has {st.st_nlink} hard links; its owner and mode would change under '
                             'the other names too')
    return st


class HostFiles:
    """Puts every entry of ``files`` in place, or none when one is refused."""

    def __init__(self, module):
        self.module = module
        self.result = {'files': [], 'created_directories': []}
        self.diffs = []

    def execute(self):
        params = self.module.params
        entries = check_entries(params['files'])
        directory_mode = parse_mode(params['directory_mode'], 'directory_mode')
        refuse_inside_jails(entries, known_jails(JAIL_STATE_DIR))
        # Everything is checked before the first write: a refused entry leaves the host as it was.
        plans = []
        for entry in entries:
            missing = walk_directories(entry.path, directory_check)
            current = None if missing else target_state(entry.path)
            plans.append((entry, missing, current))
        for entry, missing, current in plans:
            self.put(entry, missing, current, directory_mode, params['backup'])
        self.result['changed'] = any(f['changed'] for f in self.result['files'])
        if self.module._diff:
            self.result['diff'] = self.diffs
        return self.result

    def put(self, entry, missing, current, directory_mode, backup):
        module = self.module
        report = {'path': entry.path, 'created': current is None, 'content_changed': False}
        if missing and not module.check_mode:
            missing = walk_directories(entry.path, directory_check, directory_mode)
            for directory in missing:
                module.set_default_selinux_context(directory, False)
        for directory in missing:
            if directory not in self.result['created_directories']:
                self.result['created_directories'].append(directory)
        before = None if current is None else read_if_exists(entry.path)
        after = entry.content if entry.content is not None else (b'' if before is None else before)
        if before != after:
            report['content_changed'] = True
            self.diffs.append({'before_header': entry.path, 'after_header': entry.path,
                               'before': (before or b'').decode('utf-8', 'replace'),
                               'after': after.decode('utf-8', 'replace')})
            if not module.check_mode:
                backup_file = write_atomic(module, entry.path, after, backup=backup and before is not None,
                                           create_mode=0o600)
                if backup_file:
                    report['backup_file'] = backup_file
        report['attributes_changed'] = self.set_attributes(entry, current)
        report['changed'] = report['created'] or report['content_changed'] or report['attributes_changed']
        self.result['files'].append(report)

    def set_attributes(self, entry, current):
        """Owner, group and mode of the file; True when one differed (or the file is new)."""
        if self.module.check_mode:
            if current is None:
                return True
            st = current
        else:
            # the file as it is now, after the rename: write_atomic kept the old owner and mode
            st = target_state(entry.path)
        wanted = (entry.uid, entry.gid, entry.mode)
        found = (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode))
        if found == wanted:
            return False
        if current is not None:
            self.diffs.append({'before_header': f'{entry.path} (owner, group, mode)',
                               'after_header': f'{entry.path} (owner, group, mode)',
                               'before': f'{found[0]}:{found[1]} {found[2]:04o}\n',
                               'after': f'{wanted[0]}:{wanted[1]} {wanted[2]:04o}\n'})
        if not self.module.check_mode:
            fd = os.open(entry.path, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC | os.O_NONBLOCK)
            try:
                os.fchown(fd, entry.uid, entry.gid)
                os.fchmod(fd, entry.mode)
            finally:
                os.close(fd)
        return True
