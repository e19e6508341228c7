# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""What a jail is asked to hold, validated before anything is read or written.

``JailError`` (the engine's one error class), ``JailSpec`` (the module options checked and
normalised), the ``PROFILES`` data (what ldd cannot see) and ``check_jail_root``, which
refuses a jail path that OpenSSH's ChrootDirectory would refuse.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import posixpath
import re
import stat

from ansible_collections.serversec.confine.plugins.module_utils._paths import check_abs_path

TERMINFO_DIRS = ('/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo')
TERMINFO_NAMES = ('ansi', 'dumb', 'linux', 'screen', 'screen-256color', 'tmux', 'tmux-256color',
                  'vt100', 'vt102', 'vt220', 'xterm', 'xterm-256color', 'xterm-color')

# What ldd cannot see: libraries loaded with dlopen() and their data files.
# "libs" get their dependency closure; "files" are copied as they are.
# Entries missing on a host are skipped (layouts differ between distros).
PROFILES = {
    'nss': {
        'libs': ('libnss_files.so.2', 'libnss_compat.so.2'),
        'files': ('/etc/nsswitch.conf',),
    },
    'dns': {
        'libs': ('libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2'),
        'files': ('/etc/nsswitch.conf', '/etc/resolv.conf', '/etc/hosts', '/etc/host.conf',
                  '/etc/gai.conf', '/etc/services', '/etc/protocols'),
    },
    'terminfo': {
        'libs': (),
        'files': tuple(f'{d}/{n[0]}/{n}' for d in TERMINFO_DIRS for n in TERMINFO_NAMES),
    },
    'timezone': {
        'libs': (),
        'files': ('/etc/localtime', '/etc/timezone', '/usr/share/zoneinfo/UTC',
                  '/usr/share/zoneinfo/Etc/UTC'),
    },
    'locale': {
        'libs': (),
        'files': ('/usr/lib/locale/C.utf8', '/usr/lib/locale/C.UTF-8', '/usr/lib/locale/locale-archive',
                  '/etc/default/locale', '/etc/locale.conf', '/usr/share/locale/locale.alias'),
    },
}

DEVICE_NAME_RE = re.compile(r'^[a-z][a-z0-9]*$')


class JailError(Exception):
    """Bad input or an unsafe situation; the message names the path."""


def abs_path(path, what):
    """``check_abs_path`` raising JailError."""
    return check_abs_path(path, what, error=JailError)


def parse_mode(mode, what):
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode)
        if not re.match(r'^0?[0-7]{3,4}$', text):
            raise JailError(f'{what}: mode {mode!r} is not an octal mode like "0750"')
        value = int(text, 8)
    if value & ~0o7777:
        raise JailError(f'{what}: mode {mode!r} is out of range')
    return value


class JailSpec:
    """Validated module options."""

    def __init__(self, path, binaries=None, files=None, directories=None, devices=None,
                 users=None, groups=None, profiles=None, allow_setuid=False, prune=True):
        self.path = abs_path(path, 'jail path')
        if self.path == '/':
            raise JailError("refusing to use '/' as a jail")
        self.binaries = [abs_path(b, 'binary') for b in (binaries or [])]
        self.files = [abs_path(f, 'file') for f in (files or [])]
        self.directories = []
        for item in directories or []:
            if isinstance(item, str):
                item = {'path': item}
            dpath = abs_path(item.get('path'), 'directory')
            if dpath == '/':
                raise JailError("directory '/' is the jail root; it stays root-owned")
            self.directories.append({
                'path': dpath,
                'owner': item.get('owner') or 'root',
                'group': item.get('group') or 'root',
                'mode': parse_mode(item.get('mode') or '0755', f'directory {dpath}'),
            })
        self.devices = []
        for name in devices or []:
            if not isinstance(name, str) or not DEVICE_NAME_RE.match(name):
                raise JailError(f'device {name!r} is not a plain device name like "null" or "urandom"')
            self.devices.append(name)
        self.users = list(users or [])
        self.groups = list(groups or [])
        self.profiles = list(profiles or [])
        for profile in self.profiles:
            if profile not in PROFILES:
                raise JailError(f"unknown profile {profile!r} (known: {', '.join(sorted(PROFILES))})")
        self.allow_setuid = bool(allow_setuid)
        self.prune = bool(prune)


def check_jail_root(path, lstat=os.lstat, what='jail path'):
    """Refuse jails that OpenSSH's ChrootDirectory would refuse (also used for the state directory).

    Returns the list of missing components that would have to be created.
    """
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    missing = []
    current = '/'
    for name in [c for c in path.split('/') if c] + [None]:
        try:
            st = lstat(current)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise JailError(f'{current}: cannot inspect: {exc}')
            missing.append(current)
        else:
            if missing:
                raise JailError(f'{current} appeared while checking the jail path')
            if stat.S_ISLNK(st.st_mode):
                raise JailError(f'{what} component {current} is a symlink; use the real path')
            if not stat.S_ISDIR(st.st_mode):
                raise JailError(f'{what} component {current} is not a directory')
            if st.st_uid != 0:
                raise JailError(f'{what} component {current} is not owned by root (uid {st.st_uid})')
            if st.st_mode & 0o022:
                raise JailError(f'{what} component {current} is group- or world-writable (mode {stat.S_IMODE(st.st_mode):04o})')
        if name is None:
            break
        current = posixpath.join(current, name)
    return missing
