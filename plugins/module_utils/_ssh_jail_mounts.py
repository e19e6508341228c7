# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The filesystem side of ssh_jail: writable directories inside the jail and their mounts.

A writable directory is created inside the jail through directory descriptors (never through
a symlink) and owned by the user; every directory above it must be root-owned and not group-
or world-writable, because a mount follows paths and the user must not be able to swap one.
Each is then bind-mounted onto itself ``noexec,nosuid,nodev`` by a systemd ``.mount`` unit
(persistent across reboots); another unit binds the host's ``/dev/log`` socket into the jail
so ``internal-sftp -l`` reaches the log. Units carry ``X-ServersecSshJail=<name>`` so that a
later run finds, and ``state=absent`` removes, exactly its own.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import grp
import os
import posixpath
import pwd
import stat

from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW
from ansible_collections.serversec.confine.plugins.module_utils._jail_exec import numeric_id, open_jail
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError

UNIT_DIR = '/etc/systemd/system'
MARKER_KEY = 'X-ServersecSshJail'
NOEXEC_OPTIONS = 'bind,noexec,nosuid,nodev'
NOEXEC_FLAGS = {'noexec', 'nosuid', 'nodev'}
ESCAPE_KEEP = frozenset('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.')
DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC


def escape_path(path):
    """``systemd-escape --path``: the unit name stem of a mount point."""
    trimmed = posixpath.normpath(path).strip('/')
    if not trimmed:
        return '-'
    out = []
    for index, byte in enumerate(trimmed.encode('utf-8')):
        char = chr(byte)
        if char == '/':
            out.append('-')
        elif char in ESCAPE_KEEP and not (index == 0 and char == '.'):
            out.append(char)
        else:
            out.append(f'\\x{byte:02x}')
    return ''.join(out)


def unit_name(where):
    return escape_path(where) + '.mount'


def render_unit(name, what, where, options, after=None):
    """A .mount unit text binding ``what`` onto ``where``."""
    lines = [f'# Managed by serversec.confine.ssh_jail ({name}); do not edit.', '[Unit]',
             f'Description=ssh_jail {name}: {where}', f'{MARKER_KEY}={name}']
    if after:
        lines += [f'After={after}', f'Requires={after}']
    lines += ['', '[Mount]', f'What={what}', f'Where={where}', 'Type=none', f'Options={options}',
              '', '[Install]', 'WantedBy=local-fs.target']
    return '\n'.join(lines) + '\n'


def unit_owner(text):
    """The ssh_jail name a unit file belongs to, or None."""
    for line in text.splitlines():
        key, sep, value = line.partition('=')
        if sep and key.strip() == MARKER_KEY:
            return value.strip()
    return None


def _unescape_mountinfo(field):
    out, index = [], 0
    while index < len(field):
        if field[index] == '\\' and field[index + 1:index + 4].isdigit():
            out.append(chr(int(field[index + 1:index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return ''.join(out)


def mount_options(where, mountinfo_text):
    """Per-mount options of the topmost mount at ``where`` (a set), or None when nothing is mounted there."""
    found = None
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if len(fields) > 5 and _unescape_mountinfo(fields[4]) == where:
            found = set(fields[5].split(','))
    return found


def resolve_owner(owner, group):
    """(uid, gid) of a writable directory's owner and group (the owner's primary group by default)."""
    number = numeric_id(owner, 'writable: owner', SshJailError)
    try:
        entry = pwd.getpwnam(owner) if number is None else pwd.getpwuid(number)
    except (KeyError, ValueError):  # ValueError: a NUL byte in the name
        raise SshJailError(f'writable: owner {owner!r} does not exist on the host')
    uid = entry.pw_uid
    gid = entry.pw_gid if group is None else numeric_id(group, 'writable: group', SshJailError)
    if gid is None:
        try:
            gid = grp.getgrnam(group).gr_gid
        except (KeyError, ValueError):
            raise SshJailError(f'writable: group {group!r} does not exist on the host')
    if uid == 0 or gid == 0:
        raise SshJailError(f'writable: {owner}:{group} is root; a writable directory belongs to the jailed user')
    return uid, gid


def _lstat_at(dir_fd, name):
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            raise
        return None


def ensure_directory(jail, path, uid, gid, mode, check_mode):
    """Make ``path`` (inside ``jail``) a directory owned by uid:gid with ``mode``; return what changed.

    Missing directories above it are created root-owned 0755; existing ones must already be
    root-owned and not group/world-writable, and nothing on the way may be a symlink.
    """
    changes = []
    parts = [c for c in path.split('/') if c]
    fd = open_jail(jail)
    try:
        current = ''
        for index, name in enumerate(parts):
            current = f'{current}/{name}'
            last = index == len(parts) - 1
            st = _lstat_at(fd, name)
            if st is None:
                changes.append(f'create {current}')
                if check_mode:
                    return changes if last else changes + [f'create {path}']
                os.mkdir(name, 0o700 if last else 0o755, dir_fd=fd)
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            elif not stat.S_ISDIR(st.st_mode):
                kind = 'a symlink' if stat.S_ISLNK(st.st_mode) else 'not a directory'
                raise SshJailError(f'writable {path}: {current} in the jail {jail} is {kind}')
            elif not last and (st.st_uid != 0 or st.st_mode & 0o022):
                raise SshJailError(f'writable {path}: {current} in the jail {jail} must be root-owned and not group- or '
                                   'world-writable (a user could swap what the mount covers)')
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
        if (st.st_uid, st.st_gid) != (uid, gid):
            changes.append(f'chown {path} {uid}:{gid}')
            if not check_mode:
                os.fchown(fd, uid, gid)
        if stat.S_IMODE(st.st_mode) != mode:
            changes.append(f'chmod {path} {mode:04o}')
            if not check_mode:
                os.fchmod(fd, mode)
    finally:
        os.close(fd)
    return changes


def ensure_devlog_placeholder(jail, check_mode):
    """Make ``/dev/log`` in the jail a mount point (an empty root-owned file); return what changed."""
    changes = []
    fd = open_jail(jail)
    try:
        st = _lstat_at(fd, 'dev')
        if st is None:
            changes.append('create /dev')
            if check_mode:
                return changes + ['create /dev/log']
            os.mkdir('dev', 0o755, dir_fd=fd)
        elif not stat.S_ISDIR(st.st_mode):
            raise SshJailError(f'/dev in the jail {jail} is not a directory')
        dev = os.open('dev', DIR_FLAGS, dir_fd=fd)
        try:
            st = _lstat_at(dev, 'log')
            if st is None:
                changes.append('create /dev/log')
                if not check_mode:
                    os.close(os.open('log', os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                                     0o644, dir_fd=dev))
            elif not (stat.S_ISREG(st.st_mode) or stat.S_ISSOCK(st.st_mode)):
                raise SshJailError(f'/dev/log in the jail {jail} is neither a file nor a socket; remove it')
        finally:
            os.close(dev)
    finally:
        os.close(fd)
    return changes


def desired_units(spec, devlog_source):
    """{unit name: (where, options, text)} of the mounts ``spec`` asks for."""
    units = {}
    for item in spec.writable:
        where = spec.jail + item['path']
        units[unit_name(where)] = (where, NOEXEC_FLAGS, render_unit(spec.name, where, where, NOEXEC_OPTIONS))
    if devlog_source:
        where = spec.jail + '/dev/log'
        units[unit_name(where)] = (where, NOEXEC_FLAGS, render_unit(
            spec.name, devlog_source, where, NOEXEC_OPTIONS, after='systemd-journald-dev-log.socket'))
    return units


def installed_units(name, unit_dir=UNIT_DIR):
    """{unit name: text} of the .mount units in ``unit_dir`` that belong to ssh_jail ``name``."""
    found = {}
    try:
        entries = sorted(os.listdir(unit_dir))
    except OSError:
        return found
    for entry in entries:
        if not entry.endswith('.mount'):
            continue
        text = _read_unit(posixpath.join(unit_dir, entry))
        if text is not None and unit_owner(text) == name:
            found[entry] = text
    return found


def _read_unit(path):
    """A unit file's text, or None when it cannot be opened (a symlink is not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, 'rb') as handle:
        return handle.read().decode('utf-8', 'replace')


def check_unit_owners(name, units, unit_dir=UNIT_DIR):
    """Refuse to take over a unit file that exists under one of ``units``' names but is not ``name``'s:
    another ssh_jail block's mount (its state=absent would remove ours) or another tool's."""
    for unit in sorted(units):
        path = posixpath.join(unit_dir, unit)
        if not os.path.lexists(path):
            continue
        text = _read_unit(path)
        owner = None if text is None else unit_owner(text)
        if owner != name:
            whose = f'ssh_jail {owner}' if owner else f'something else (no {MARKER_KEY}={name} line)'
            raise SshJailError(f'{path} exists and belongs to {whose}: refusing to take it over '
                               '(two ssh_jail blocks cannot mount the same path)')
