# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""What a jail is asked to hold, validated before anything is read or written.

``JailError`` (the engine's one error class), ``JailSpec`` (the module options checked and
normalised: paths, ids in range, names, modes, device names and list shapes, so that nothing
malformed reaches the plan or a write), the ``PROFILES`` data (what ldd cannot see), the names
of the presets and their families (presets.py holds what they expand to and is loaded only for a
jail that names one) and ``check_jail_root``, which refuses a jail path that OpenSSH's
ChrootDirectory would refuse.
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

# presets.py: jailkit's jk_init sections in the order of its issue and documentation, for the
# option's choices, and the distribution families whose paths they name
PRESET_NAMES = ('basicshell', 'editors', 'netutils', 'ssh', 'sftp', 'scp', 'rsync', 'git', 'perl', 'python',
                'uidbasics', 'netbasics', 'logbasics')
FAMILIES = ('debian', 'redhat')
# the options that list what goes into a jail, which presets add to
LIST_KEYS = ('binaries', 'files', 'devices', 'profiles', 'users', 'groups')

DEVICE_NAME_RE = re.compile(r'[a-z][a-z0-9]{0,63}')
DIRECTORY_KEYS = ('path', 'owner', 'group', 'mode')
# chown(2) takes 32-bit ids, and (uid_t)-1 = 4294967295 means "leave unchanged".
MAX_ID = 2 ** 32 - 2
# A user or group name: printable ASCII without whitespace, ':' or ',' (the passwd/group
# separators) or '/'. ASCII only, so that digits always mean a numeric id (see parse_id).
ACCOUNT_NAME_RE = re.compile(r'[!-+\-.0-9;-~]{1,256}')
PATH_MAX = 4095
NAME_MAX = 255


class JailError(Exception):
    """Bad input or an unsafe situation; the message names the path."""


def abs_path(path, what):
    """``check_abs_path`` raising JailError, and a path the kernel can take."""
    if not isinstance(path, str) and path is not None:
        raise JailError(f'{what} {path!r} is not a path (a string)')
    normal = check_abs_path(path, what, error=JailError)
    try:
        raw = os.fsencode(normal)
    except UnicodeError:
        raise JailError(f'{what} {path!r} cannot be encoded as a file name')
    if len(raw) > PATH_MAX or any(len(part) > NAME_MAX for part in raw.split(b'/')):
        raise JailError(f'{what} {path[:64]!r}... is longer than a path can be '
                        f'({PATH_MAX} bytes, {NAME_MAX} per component)')
    return normal


def parse_mode(mode, what):
    if isinstance(mode, int) and not isinstance(mode, bool):
        value = mode
    elif isinstance(mode, str) and re.fullmatch(r'0?[0-7]{3,4}', mode):
        value = int(mode, 8)
    else:
        raise JailError(f'{what}: mode {mode!r} is not an octal mode like "0750"')
    if value & ~0o7777:
        raise JailError(f'{what}: mode {mode!r} is out of range')
    return value


def parse_id(value, field, kind, what):
    """A uid/gid given as a number or digits, range-checked; a name is returned as it is."""
    if value is None or value == '':
        return 'root'
    if isinstance(value, str) and re.fullmatch(r'[0-9]+', value):
        number = int(value) if len(value) <= 20 else MAX_ID + 2
    elif isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and ACCOUNT_NAME_RE.fullmatch(value):
        return value
    else:
        raise JailError(f'{what}: {field} {value!r} is neither a {kind} name nor a numeric id')
    if not 0 <= number <= MAX_ID:
        raise JailError(f'{what}: {field} {value!r} is out of range (numeric ids run from 0 to {MAX_ID})')
    return number


def account_names(names, kind):
    """The ``users``/``groups`` option: a list of plain names."""
    for name in names:
        if not isinstance(name, str) or not ACCOUNT_NAME_RE.fullmatch(name):
            raise JailError(f'{kind}s: {name!r} is not a valid {kind} name')
    return list(names)


def _directory(item):
    if isinstance(item, str):
        item = {'path': item}
    if not isinstance(item, dict):
        raise JailError(f'directory {item!r} is neither a path nor a dict with a path')
    dpath = abs_path(item.get('path'), 'directory')
    if dpath == '/':
        raise JailError("directory '/' is the jail root; it stays root-owned")
    unknown = sorted(str(key) for key in item if key not in DIRECTORY_KEYS)
    if unknown:
        raise JailError(f"directory {dpath}: unknown key(s) {', '.join(unknown)} (known: {', '.join(DIRECTORY_KEYS)})")
    what = f'directory {dpath}'
    return {
        'path': dpath,
        'owner': parse_id(item.get('owner'), 'owner', 'user', what),
        'group': parse_id(item.get('group'), 'group', 'group', what),
        'mode': parse_mode('0755' if item.get('mode') in (None, '') else item['mode'], what),
    }


def _device(name):
    if isinstance(name, dict):
        raise JailError(f'device {name!r}: give a device by name, like "null"; '
                        'its major/minor numbers always come from the host device')
    if not isinstance(name, str) or not DEVICE_NAME_RE.fullmatch(name):
        raise JailError(f'device {name!r} is not a plain device name like "null" or "urandom"')
    return name


def _as_list(value, option):
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise JailError(f'{option}: {value!r} is not a list')
    return value


class JailSpec:
    """Validated module options."""

    def __init__(self, path, binaries=None, files=None, directories=None, devices=None,
                 users=None, groups=None, profiles=None, allow_setuid=False, prune=True,
                 allow_user_writable_sources=False, allow_sensitive_files=False, allow_special_files=False,
                 allow_block_devices=False):
        self.path = abs_path(path, 'jail path')
        if self.path == '/':
            raise JailError("refusing to use '/' as a jail")
        self.binaries = [abs_path(b, 'binary') for b in _as_list(binaries, 'binaries')]
        self.files = [abs_path(f, 'file') for f in _as_list(files, 'files')]
        self.directories = [_directory(item) for item in _as_list(directories, 'directories')]
        self.devices = [_device(name) for name in _as_list(devices, 'devices')]
        self.users = account_names(_as_list(users, 'users'), 'user')
        self.groups = account_names(_as_list(groups, 'groups'), 'group')
        self.profiles = list(_as_list(profiles, 'profiles'))
        for profile in self.profiles:
            if not isinstance(profile, str) or profile not in PROFILES:
                raise JailError(f"unknown profile {profile!r} (known: {', '.join(sorted(PROFILES))})")
        self.allow_setuid = bool(allow_setuid)
        self.prune = bool(prune)
        self.allow_user_writable_sources = bool(allow_user_writable_sources)
        self.allow_sensitive_files = bool(allow_sensitive_files)
        self.allow_special_files = bool(allow_special_files)
        self.allow_block_devices = bool(allow_block_devices)


def check_jail_root(path, lstat=os.lstat, what='jail path', ancestors_only=False):
    """Refuse jails that OpenSSH's ChrootDirectory would refuse (also used for the state directory).

    Returns the list of missing components that would have to be created. With
    ``ancestors_only`` the last component is not looked at.
    """
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    missing = []
    current = '/'
    names = [c for c in path.split('/') if c]
    for name in (names if ancestors_only else names + [None]):
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
