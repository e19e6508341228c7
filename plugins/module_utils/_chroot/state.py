# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The module's record of each jail, kept on the host where no jailed process can reach it.

``state_dir`` (root-owned, mode 0700, every ancestor root-owned and not group/world-writable,
never inside the jail nor containing it) holds per jail ``STEM.HASH.json`` and ``STEM.HASH.lock``
(STEM a readable form of the jail path, HASH from its SHA-256). The state is::

    {"version": 2, "jail": "/srv/jails/web",
     "managed": {jail path: record},     # what the module made, with checksums
     "pending": {jail path: {"type"}},   # what this run is about to make (intent, written first)
     "created": [host dirs],             # the jail root and ancestors the module created
     "deps": {host path: cache entry},   # the loader cache (see loader.LoaderDeps)
     "base": "/srv/jails/base",          # only for a jail built on a base (see base.py)
     "selinux_rule": true}               # only when the module added the jail's SELinux equivalence

It is written atomically (temporary name, fsync, rename, fsync of the directory) through the
directory's descriptor, and every field is checked on read: a malformed file is a JailError
naming it, never a traceback. A run holds ``flock`` on the lock file throughout (shared in
check mode). Earlier versions kept a manifest at ``/.serversec-jail.json`` inside the jail,
where uid 0 in the jail could edit it: when no host state exists it is migrated, taking only
the type of each entry, and only if every entry is a normalised path inside the jail; its
dependency cache is ignored.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time

from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import (
    inside_jail,
    make_root_dirs,
    tmp_leftovers,
    tmp_name,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    JailError,
    abs_path,
    check_jail_root,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    replace_at,
)

STATE_VERSION = 2
LEGACY_VERSION = 1
LEGACY_PATH = '/.serversec-jail.json'
MAX_STATE_BYTES = 32 << 20
# How long a run waits for another run on the same jail before failing.
LOCK_WAIT_SECONDS = 600
RECORD_TYPES = ('dir', 'file', 'symlink', 'device', 'generated')
RECORD_FIELDS = {'type': str, 'source': str, 'target': str, 'sha256': str,
                 'size': int, 'mtime_ns': int, 'ctime_ns': int, 'source_ctime_ns': int, 'ino': int, 'kind': str,
                 'rdev': int, 'base': str, 'written_ns': int}
DEVICE_KINDS = ('char', 'block')
SHA256_RE = re.compile(r'\A[0-9a-f]{64}\Z')


def state_text(data):
    # compact: with indent=, json falls back to its pure-Python encoder, 4x slower on a big state
    return json.dumps(data, sort_keys=True, separators=(',', ':')) + '\n'


def state_name(jail_path):
    """``STEM.HASH`` of a jail: at most 59 characters, so temporaries keep the whole name."""
    stem = re.sub(r'[^A-Za-z0-9_.-]+', '_', jail_path.strip('/').replace('/', '-')).lstrip('.')[:34]
    return f"{stem or 'jail'}.{hashlib.sha256(jail_path.encode('utf-8', 'surrogateescape')).hexdigest()[:24]}"


class StateLocked(JailError):
    """Another run held the jail's lock longer than the caller would wait."""


class JailState:
    """What the module knows about one jail (pending intent already folded into ``managed``)."""

    def __init__(self, managed=None, created=None, deps=None, base=None, selinux_rule=False):
        self.managed = managed or {}
        self.created = created or []
        self.deps = deps or {}
        self.base = base
        self.selinux_rule = selinux_rule


# -- validation -------------------------------------------------------------
def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_sig(value):
    return isinstance(value, list) and len(value) == 3 and all(_is_int(v) for v in value)


def _host_path(value):
    # host paths come from the trusted loader and are walked safely when used; they may hold '..'
    return isinstance(value, str) and value.startswith('/') and '\0' not in value


def _records(data, key, where, fields):
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise JailError(f'{where}: {key!r} is not an object')
    for path, record in table.items():
        if not inside_jail(path):
            raise JailError(f'{where}: entry {path!r} is not a normalised path inside the jail')
        if not isinstance(record, dict) or record.get('type') not in RECORD_TYPES:
            raise JailError(f'{where}: entry {path} has no known type')
        for field, value in record.items():
            if field not in fields or not isinstance(value, RECORD_FIELDS[field]) or isinstance(value, bool):
                raise JailError(f'{where}: entry {path} has a bad field {field!r}')
        if 'source' in record and not _host_path(record['source']):
            raise JailError(f'{where}: entry {path} has a bad field \'source\'')
        if 'sha256' in record and not SHA256_RE.match(record['sha256']):
            raise JailError(f'{where}: entry {path} has a bad field \'sha256\'')
        if 'kind' in record and record['kind'] not in DEVICE_KINDS:
            raise JailError(f'{where}: entry {path} has a bad field \'kind\'')
    return table


def _deps(data, where):
    cache = data.get('deps', {})
    if not isinstance(cache, dict):
        raise JailError(f"{where}: 'deps' is not an object")
    for path, entry in cache.items():
        if not (_host_path(path) and isinstance(entry, dict)
                and set(entry) == {'sig', 'ldcache', 'deps', 'dep_sigs'}
                and _is_sig(entry['sig']) and (entry['ldcache'] is None or _is_sig(entry['ldcache']))
                and isinstance(entry['deps'], list) and all(_host_path(d) for d in entry['deps'])
                and isinstance(entry['dep_sigs'], list) and len(entry['dep_sigs']) == len(entry['deps'])
                and all(_is_sig(s) for s in entry['dep_sigs'])):
            raise JailError(f'{where}: dependency cache entry {path!r} is malformed')
    return cache


def _created(data, where, jail_path):
    created = data.get('created', [])
    if not isinstance(created, list):
        raise JailError(f"{where}: 'created' is not a list")
    for path in created:
        if not (isinstance(path, str) and inside_jail(path) and (path == jail_path or jail_path.startswith(path + '/'))):
            raise JailError(f'{where}: created directory {path!r} is neither the jail nor one of its parents')
    return created


def parse_state(raw, where):
    """JSON of a state file, or a JailError naming ``where``."""
    try:
        data = json.loads(raw.decode('utf-8'))
    except RecursionError:
        raise JailError(f'{where}: nested too deeply to be a state file')
    except ValueError as exc:
        raise JailError(f'{where}: not valid JSON: {exc}')
    if not isinstance(data, dict):
        raise JailError(f'{where}: not a JSON object')
    return data


def validate_state(data, where, jail_path):
    """A ``JailState`` from a host state file's data; every field checked."""
    if data.get('version') != STATE_VERSION:
        raise JailError(f'{where}: unknown state format (version {data.get("version")!r})')
    if data.get('jail') != jail_path:
        raise JailError(f'{where}: records the jail {data.get("jail")!r}, not {jail_path}')
    managed = dict(_records(data, 'managed', where, RECORD_FIELDS))
    # a run killed mid-way: what it was about to make is ours, its content unverified
    managed.update({path: dict(record) for path, record in _records(data, 'pending', where, ('type',)).items()})
    base = data.get('base')
    if base is not None and not (isinstance(base, str) and inside_jail(base) and base != jail_path):
        raise JailError(f"{where}: 'base' is not the path of another jail")
    if data.get('selinux_rule', True) is not True:  # written only when true
        raise JailError(f"{where}: 'selinux_rule' is not true")
    return JailState(managed, _created(data, where, jail_path), _deps(data, where), base, 'selinux_rule' in data)


def validate_legacy(data, where):
    """A ``JailState`` from an in-jail manifest: only each entry's type, never its dependency cache."""
    if data.get('version') != LEGACY_VERSION or not isinstance(data.get('managed'), dict):
        raise JailError(f'{where}: unknown manifest format')
    managed = {}
    for path, record in data['managed'].items():
        if not inside_jail(path) or not isinstance(record, dict) or record.get('type') not in RECORD_TYPES:
            raise JailError(
                f'{where}: legacy manifest entry {path!r} is not a normalised path inside the jail with a '
                'known type; it was kept inside the jail, where a jailed process can edit it, so it is not '
                'trusted. Check the jail, then remove this file: the module then starts a fresh state')
        managed[path] = {'type': record['type']}
    return JailState(managed)


def read_capped(fd, where):
    """Everything the open file holds, refusing more than ``MAX_STATE_BYTES``."""
    chunks = []
    size = 0
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b''.join(chunks)
        size += len(chunk)
        if size > MAX_STATE_BYTES:
            raise JailError(f'{where}: larger than {MAX_STATE_BYTES} bytes; not a state file')
        chunks.append(chunk)


def read_root_file(opener, where, what):
    """Bytes of the file ``opener()`` opens (O_NOFOLLOW), None if it is missing.

    Refused unless it is a regular file owned by root that nobody else can read or write (the
    module writes it 0600: anything looser was not left by the module).
    """
    try:
        fd = opener()
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise JailError(f'{where}: cannot read the {what}: {exc}')
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o077:
            raise JailError(f'{where}: the {what} is not a regular file only root can read and write; '
                            'refusing to trust it')
        return read_capped(fd, where)
    finally:
        os.close(fd)


def read_legacy(jail):
    """The legacy in-jail manifest of ``jail`` (a ``jailfs.Jail``) as a ``JailState``, or None."""
    where = jail.root + LEGACY_PATH
    raw = read_root_file(lambda: jail.open_read(LEGACY_PATH), where, 'legacy manifest')
    return None if raw is None else validate_legacy(parse_state(raw, where), where)


# -- the state directory ------------------------------------------------------
def check_state_dir(state_dir, jail_path):
    """``state_dir`` normalised; refused when it is inside the jail or contains it."""
    state_dir = abs_path(state_dir, 'state_dir')
    if state_dir == jail_path or state_dir.startswith(jail_path + '/'):
        raise JailError(f'state_dir {state_dir} is inside the jail {jail_path}; a jailed process could edit '
                        'the state: choose a directory outside every jail')
    if state_dir == '/' or jail_path.startswith(state_dir + '/'):
        raise JailError(f'state_dir {state_dir} contains the jail {jail_path}; choose a directory outside every jail')
    return state_dir


@contextlib.contextmanager
def locked_state(state_dir, jail_path, check_mode=False, lstat=os.lstat, wait=None):
    """The ``StateStore`` of a jail, its lock held until the block ends."""
    store = StateStore(state_dir, jail_path, check_mode, lstat, wait)
    try:
        store.open()
        yield store
    finally:
        store.close()


class StateStore:
    """The state and lock files of one jail in ``state_dir``; ``open()`` takes the lock, ``close()`` drops it.

    Outside check mode the directory is created (root-owned, 0700) and the lock taken
    exclusively, and temporaries a killed run left for this jail's state are removed. In
    check mode nothing is created; a shared lock is taken when the lock file exists. Waiting
    for the lock longer than ``wait`` seconds (default ``LOCK_WAIT_SECONDS``) raises ``StateLocked``.
    """

    def __init__(self, state_dir, jail_path, check_mode=False, lstat=os.lstat, wait=None):
        self.jail_path = jail_path
        self.state_dir = check_state_dir(state_dir, jail_path)
        self.check_mode = check_mode
        self.lstat = lstat
        self.wait = LOCK_WAIT_SECONDS if wait is None else wait
        self.name = state_name(jail_path)
        self.where = f'{self.state_dir}/{self.name}.json'
        self.dir_fd = None
        self.lock_fd = None
        self.saved = None  # the data the state file holds, as read or last written

    def open(self):
        self._open_dir()
        if self.dir_fd is not None:
            self._lock()
            if not self.check_mode:
                for leftover in tmp_leftovers(self.dir_fd, [self.name + '.json']):
                    os.unlink(leftover, dir_fd=self.dir_fd)

    def close(self):
        for fd in (self.lock_fd, self.dir_fd):
            if fd is not None:
                os.close(fd)
        self.lock_fd = self.dir_fd = None

    def _open_dir(self):
        missing = check_jail_root(self.state_dir, self.lstat, what='state_dir')
        if missing and self.check_mode:
            return
        make_root_dirs(missing, 0o700)
        fd = os.open(self.state_dir, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        st = os.fstat(fd)
        if st.st_uid != 0 or st.st_mode & 0o022:
            os.close(fd)
            raise JailError(f'state_dir {self.state_dir} changed while it was checked')
        self.dir_fd = fd

    def _lock(self):
        lock_name = self.name + '.lock'
        deadline = time.monotonic() + self.wait
        while True:
            try:
                if self.check_mode:
                    fd = os.open(lock_name, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC, dir_fd=self.dir_fd)
                else:
                    fd = os.open(lock_name, os.O_RDWR | os.O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=self.dir_fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT and self.check_mode:
                    return
                raise JailError(f'{self.state_dir}/{lock_name}: cannot open the lock file: {exc}')
            if self._locked(fd, fcntl.LOCK_SH if self.check_mode else fcntl.LOCK_EX, deadline, lock_name):
                self.lock_fd = fd
                return
            os.close(fd)  # removed by a run that finished meanwhile: lock the new file

    def _locked(self, fd, mode, deadline, lock_name):
        """Wait for the lock on ``fd``; False if the file was unlinked while waiting."""
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    os.close(fd)
                    raise
            if time.monotonic() >= deadline:
                os.close(fd)
                raise StateLocked(f'{self.state_dir}/{lock_name}: another run on the jail {self.jail_path} still holds '
                                  f'the lock after {self.wait} s')
            time.sleep(0.1)
        try:
            now = os.stat(lock_name, dir_fd=self.dir_fd, follow_symlinks=False)
        except OSError:
            return False
        return now.st_ino == os.fstat(fd).st_ino

    # -- reading and writing --------------------------------------------
    def load(self, jail=None):
        """The jail's ``JailState``: from the host, else migrated from the legacy manifest of ``jail``."""
        raw = self.read()
        if raw is not None:
            data = parse_state(raw, self.where)
            state = validate_state(data, self.where, self.jail_path)
            # shared with the returned state: its records are replaced, never changed in place
            self.saved = data
            return state
        legacy = read_legacy(jail) if jail is not None else None
        return legacy or JailState()

    def read(self):
        """The state file's bytes, None when there is none; refused unless root-only."""
        if self.dir_fd is None:
            return None
        return read_root_file(
            lambda: os.open(self.name + '.json', os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC, dir_fd=self.dir_fd),
            self.where, 'state')

    def save(self, state, pending=None):
        """Write ``state`` (and the paths about to be made, ``pending``) if it differs from the file.

        Compared as data, not as text: serialising thousands of records only to find them
        unchanged was the costliest step of a re-run that changes nothing.
        """
        data = {'version': STATE_VERSION, 'jail': self.jail_path, 'managed': state.managed,
                'pending': pending or {}, 'created': state.created, 'deps': state.deps}
        if state.base:
            data['base'] = state.base
        if state.selinux_rule:
            data['selinux_rule'] = True
        if data == self.saved:
            return
        name = self.name + '.json'
        text = state_text(data)
        try:
            replace_at(self.dir_fd, name, text.encode('utf-8'), tmp_name(name))
        except OSError as exc:
            raise JailError(f'{self.where}: cannot write the state: {exc}')
        self.saved = json.loads(text)  # what the file now holds, whatever the caller changes later

    def drop(self):
        """Remove the state and lock files (the lock stays held on the open descriptor until close)."""
        for name in (self.name + '.json', self.name + '.lock'):
            try:
                os.unlink(name, dir_fd=self.dir_fd)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise JailError(f'{self.state_dir}/{name}: cannot remove: {exc}')
        self.saved = None
