# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The systemd units installed on a host, read from their files and never through systemctl.

InstalledUnits reads the unit directories under a root (``/`` on a host, a fake tree in tests)
in systemd's order of precedence: a unit file in /etc hides one of the same name in /usr/lib,
and a drop-in ``<unit>.d/x.conf`` hides a drop-in of the same file name further down. Every
file is reached component by component through _paths (links resolve under the root) and read
with a size bound; a unit masked by a link to /dev/null is not a unit. Only what the
enforcement report needs is parsed: settings in order, and the comment lines of each file.
``dropin_fingerprint`` identifies every drop-in that applies to one unit name anywhere on
systemd's search path, so that jailed_service knows when a recorded score no longer holds.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import hashlib
import os
import posixpath
import shlex

from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW, O_PATH, open_held_regular, read_fd,
)
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathError, PathWalk, check_abs_path

# Highest precedence first, as systemd reads them.
UNIT_DIRS = ('/etc/systemd/system', '/run/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system')
# systemd's whole system unit search path (systemd.unit(5)), highest precedence first: a drop-in
# in any of them applies to a unit, whichever directory holds the unit file.
SEARCH_PATH = ('/etc/systemd/system.control', '/run/systemd/system.control', '/run/systemd/transient',
               '/run/systemd/generator.early', '/etc/systemd/system', '/etc/systemd/system.attached',
               '/run/systemd/system', '/run/systemd/system.attached', '/run/systemd/generator',
               '/usr/local/lib/systemd/system', '/usr/lib/systemd/system', '/lib/systemd/system',
               '/run/systemd/generator.late')
UNIT_SUFFIXES = ('.service', '.socket')
MAX_UNIT_BYTES = 1 << 20
# ExecStart= prefixes; "@" makes the second word argv[0].
EXEC_PREFIXES = '@-:+!|'
# How PathWalk ends "does not exist ..." here, to tell a dangling link from a failure.
MISSING = 'under the root inspected'


class UnitReadError(Exception):
    """A unit file or directory that is there but cannot be read; the message names it."""


def open_under(root, path, what, flags=os.O_RDONLY):
    """A descriptor of path under root reached component by component, or None when nothing is there.

    The final component is opened with O_NOFOLLOW relative to its directory, so what is opened is
    what the walk saw; O_NONBLOCK keeps a FIFO from hanging the module.
    """
    if not os.path.lexists(os.path.join(root, path.lstrip('/'))):
        return None
    try:
        with PathWalk(root, path, what, where=MISSING, error=UnitReadError) as walk:
            return os.open(walk.name, flags | O_NOFOLLOW | O_CLOEXEC | os.O_NONBLOCK, dir_fd=walk.parent_fd)
    except UnitReadError as exc:
        if MISSING in str(exc):
            return None     # a dangling link: nothing there either
        raise
    except (OSError, PathError) as exc:
        raise UnitReadError(f'{what}: cannot open {path} ({exc})') from None


def read_stat(root, path, what, limit=MAX_UNIT_BYTES):
    """(fstat, bytes) of the file at path under root, bytes None when it is not a regular file
    (a mask); None when nothing is there."""
    # Held, not opened, until it is known to be a regular file: whoever can write a unit
    # directory could put a device there whose open has effects (/dev/watchdog arms it).
    held = open_under(root, path, what, O_PATH)
    if held is None:
        return None
    try:
        info, fd = open_held_regular(held)
    except OSError as exc:
        raise UnitReadError(f'{what}: cannot open {path} ({exc})') from None
    finally:
        os.close(held)
    if fd is None:
        return info, None
    try:
        if info.st_size > limit:
            raise UnitReadError(f'{what}: {path} is larger than {limit} bytes')
        return info, read_fd(fd)
    except OSError as exc:
        raise UnitReadError(f'{what}: cannot read {path} ({exc})') from None
    finally:
        os.close(fd)


def read_regular(root, path, what, limit=MAX_UNIT_BYTES):
    """Bytes of the regular file at path under root; None when absent or not a regular file (a mask)."""
    found = read_stat(root, path, what, limit)
    return None if found is None else found[1]


def dir_names(root, path, what):
    """Names in the directory at path under root; [] when nothing is there; raises
    UnitReadError when something else is there or it cannot be listed."""
    fd = open_under(root, path, what, os.O_RDONLY | O_DIRECTORY)
    if fd is None:
        return []
    try:
        return sorted(os.listdir(fd))
    except OSError as exc:
        raise UnitReadError(f'{what}: cannot list {path} ({exc})') from None
    finally:
        os.close(fd)


def list_dir(root, path):
    """Names in the directory at path under root; [] when it is not there."""
    try:
        return dir_names(root, path, f'unit directory {path}')
    except UnitReadError:
        return []       # a file or a dangling link where a unit directory could be: systemd skips it too


def dropin_dir_names(name):
    """The drop-in directories systemd applies to unit ``name``: its own, its template's for an
    instance, one per dash prefix (``a-b-.service.d``, ``a-.service.d`` for ``a-b-c.service``)
    and its type's (``service.d``)."""
    stem, kind = name.rsplit('.', 1)
    names = [name]
    prefix = stem.split('@', 1)[0]
    if '@' in stem:
        names.append(f'{prefix}@.{kind}')
    parts = prefix.split('-')
    names.extend(f"{'-'.join(parts[:count])}-.{kind}" for count in range(len(parts) - 1, 0, -1))
    names.append(kind)
    return [f'{entry}.d' for entry in dict.fromkeys(names)]


def search_path(unit_path):
    """The directories systemd searches for units: SYSTEMD_UNIT_PATH's (``unit_path``) first, then
    the defaults (always walked: more directories than systemd reads only cost a stat)."""
    extra = [entry for entry in (unit_path or '').split(':') if entry]
    return [check_abs_path(entry, 'SYSTEMD_UNIT_PATH entry', UnitReadError) for entry in extra] + list(SEARCH_PATH)


def dropin_fingerprint(name, root='/', unit_path=None):
    """``[path, size, mtime_ns, ctime_ns, sha256]`` of every ``*.conf`` in a drop-in directory that
    applies to unit ``name`` (sha256 None for what is not a regular file, all None for a dangling
    link), in search path order. Raises UnitReadError when any of them cannot be read."""
    found = []
    for directory in search_path(unit_path):
        for dropins in dropin_dir_names(name):
            path = posixpath.join(directory, dropins)
            for conf in dir_names(root, path, f'drop-in directory {path}'):
                if not conf.endswith('.conf'):
                    continue
                conf_path = posixpath.join(path, conf)
                read = read_stat(root, conf_path, 'drop-in')
                if read is None:
                    found.append([conf_path, None, None, None, None])
                    continue
                info, data = read
                digest = None if data is None else hashlib.sha256(data).hexdigest()
                found.append([conf_path, info.st_size, info.st_mtime_ns, info.st_ctime_ns, digest])
    return found


def parse_unit(text):
    """([(section, key, value)], [comment lines]) of a unit file; continuation lines are joined."""
    settings, comments = [], []
    section = None
    pending = ''
    for raw in text.splitlines():
        line = (pending + ' ' + raw.strip()) if pending else raw.strip()
        if line.endswith('\\'):
            pending = line[:-1].rstrip()
            continue
        pending = ''
        if not line:
            continue
        if line[0] in '#;':
            comments.append(line)
        elif line.startswith('[') and line.endswith(']'):
            section = line[1:-1]
        elif '=' in line:
            key, value = line.split('=', 1)
            settings.append((section, key.strip(), value.strip()))
    return settings, comments


def split_exec(value):
    """(flags, words) of an ExecStart= value; words is empty when it cannot be split."""
    flags = ''
    while value and value[0] in EXEC_PREFIXES:
        flags, value = flags + value[0], value[1:]
    try:
        return flags, shlex.split(value)
    except ValueError:
        return flags, []


class Unit:
    """One unit with its drop-ins: settings in the order systemd applies them, each with its file."""

    def __init__(self, name, path, files):
        self.name = name
        self.path = path
        self.settings = []          # (section, key, value, file)
        self.comments = []          # (file, comment line)
        for file_path, text in files:
            settings, comments = parse_unit(text)
            self.settings.extend(setting + (file_path,) for setting in settings)
            self.comments.extend((file_path, comment) for comment in comments)

    def values(self, key):
        """Values of a list setting: an empty assignment resets what came before, as in systemd."""
        found = []
        for _section, name, value, _file in self.settings:
            if name == key:
                found = [] if not value else found + [value]
        return found

    def value(self, key):
        values = self.values(key)
        return values[-1] if values else None

    def files_setting(self, *keys):
        """The files that set any of keys (after the last reset), in order."""
        files = []
        for _section, name, value, file_path in self.settings:
            if name in keys and value and file_path not in files:
                files.append(file_path)
        return files

    def exec_start(self):
        """(flags, program, argv0, args) of the first ExecStart= command, or None."""
        values = self.values('ExecStart')
        if not values:
            return None
        flags, words = split_exec(values[0])
        if not words:
            return None
        if '@' in flags:
            if len(words) < 2:
                return None
            return flags, words[0], words[1], words[2:]
        return flags, words[0], words[0], words[1:]

    @property
    def jailed(self):
        return bool(self.value('RootDirectory') or self.value('RootImage'))

    @property
    def kind(self):
        return self.name.rsplit('.', 1)[1]


class InstalledUnits:
    """The .service and .socket units under root, read on first use."""

    def __init__(self, root='/', unit_dirs=UNIT_DIRS):
        self.root = root
        self.unit_dirs = unit_dirs
        self._units = None
        self.errors = []            # unit files that could not be read, by message

    def _read(self, path):
        try:
            data = read_regular(self.root, path, 'unit file')
        except UnitReadError as exc:
            self.errors.append(str(exc))
            return None
        return None if data is None else data.decode('utf-8', 'surrogateescape')

    def _load(self):
        mains, dropins = {}, {}
        for directory in self.unit_dirs:
            for entry in list_dir(self.root, directory):
                path = posixpath.join(directory, entry)
                if entry.endswith(UNIT_SUFFIXES):
                    mains.setdefault(entry, path)
                elif entry.endswith(tuple(suffix + '.d' for suffix in UNIT_SUFFIXES)):
                    confs = dropins.setdefault(entry[:-2], {})
                    for conf in list_dir(self.root, path):
                        if conf.endswith('.conf'):
                            confs.setdefault(conf, posixpath.join(path, conf))
        units = {}
        for name, path in mains.items():
            main = self._read(path)
            if main is None:
                continue        # masked, or unreadable (in errors)
            files = [(path, main)]
            for _conf, conf_path in sorted(dropins.get(name, {}).items()):
                text = self._read(conf_path)
                if text is not None:
                    files.append((conf_path, text))
            units[name] = Unit(name, path, files)
        return units

    def units(self):
        if self._units is None:
            self._units = self._load()
        return self._units

    def get(self, name):
        return self.units().get(name)

    def service_of(self, socket):
        """The service a socket unit starts: Service=, else its name, templated with Accept=yes."""
        named = socket.value('Service')
        if named:
            return named
        base = socket.name[:-len('.socket')]
        accept = (socket.value('Accept') or 'no').lower() in ('yes', 'true', 'on', '1')
        return f'{base}@.service' if accept else f'{base}.service'
