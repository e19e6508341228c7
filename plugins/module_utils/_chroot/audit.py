# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Read-only audit of a jail against the module's state (chroot_jail_info's logic).

Nothing is written and no exclusive lock is taken: the state is read under a shared lock
(waited for at most ``LOCK_WAIT_SECONDS``; a run that holds it longer makes the state
``locked`` and drift and unmanaged files are not judged). The jail is hostile: it is reached
only through ``jailfs.Jail`` and ``tree.walk`` (directory descriptors, O_NOFOLLOW, links
never followed, FIFOs and devices never opened, the walk bounded), and host paths come only
from the root-only state file, never from the jail. Findings:

- ``drift``: each managed path found ``missing``, ``tampered`` (the jail copy differs from
  what the state recorded) or ``stale`` (the host source differs from what was copied);
- ``setuid``, ``writable``: as ``tree.audit`` judges them;
- ``capabilities``: regular files with file capabilities (``security.capability``), setuid's
  quieter twin; any extended attribute but the SELinux label on a managed file is drift too;
- ``devices``: every device node but a character device the module made, with its numbers;
  block devices always;
- ``unmanaged``: what the state does not say the module made;
- ``state``: its health, ``ok`` or what is wrong with it.

``process_predates_jail`` tells jailed_service whether a daemon started before chroot_jail last
refreshed its jail (``last_copy_ns``, from the same state).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import stat
import time

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot.compare import jail_xattrs, xattrs_at
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    JailError,
    abs_path,
    check_jail_root,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import (
    StateLocked,
    StateStore,
    parse_state,
    read_legacy,
    validate_state,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import sha256_fd

FINDINGS = ('drift', 'setuid', 'capabilities', 'writable', 'devices', 'unmanaged', 'state')
# Where the kernel keeps a file's capabilities (what `setcap` writes).
FILE_CAPABILITY = 'security.capability'
# How long the audit waits for a chroot_jail run on the same jail to finish.
LOCK_WAIT_SECONDS = 5
# What each record type must be in the jail.
RECORD_FORMATS = {'dir': stat.S_ISDIR, 'symlink': stat.S_ISLNK, 'file': stat.S_ISREG, 'generated': stat.S_ISREG,
                  'device': lambda mode: stat.S_ISCHR(mode) or stat.S_ISBLK(mode)}
NOT_A = {'dir': 'not a directory', 'symlink': 'not a symlink', 'file': 'not a regular file',
         'generated': 'not a regular file', 'device': 'not a device node'}


class AuditResult:
    def __init__(self):
        self.exists = False
        self.drift = []
        self.setuid = []
        self.capabilities = []
        self.writable = []
        self.devices = []
        self.unmanaged = []
        self.state = {'file': None, 'health': 'ok', 'detail': ''}
        self.warnings = []

    def findings(self):
        """The kinds of finding present, in ``FINDINGS`` order."""
        present = {kind: getattr(self, kind) for kind in FINDINGS[:-1]}
        present['state'] = self.state['health'] != 'ok'
        return [kind for kind in FINDINGS if present[kind]]

    def as_dict(self):
        return {'exists': self.exists, 'drift': self.drift, 'setuid': self.setuid,
                'capabilities': self.capabilities, 'writable': self.writable,
                'devices': self.devices, 'unmanaged': self.unmanaged, 'state': self.state,
                'findings': self.findings()}

    def summary(self, kinds, most=5):
        """A part per kind in ``kinds`` that has findings, naming up to ``most`` of them."""
        parts = []
        for kind in kinds:
            if kind == 'state':
                if self.state['health'] != 'ok':
                    parts.append(f"state: {self.state['health']} ({self.state['detail']})")
                continue
            items = [_describe(kind, item) for item in getattr(self, kind)]
            if items:
                more = f' and {len(items) - most} more' if len(items) > most else ''
                parts.append(f"{kind}: {', '.join(items[:most])}{more}")
        return '; '.join(parts)


def _describe(kind, item):
    if kind == 'drift':
        return f"{item['path']} ({item['reason']}: {item['detail']})"
    if kind == 'devices':
        return f"{item['path']} ({item['kind']} {item['major']}:{item['minor']})"
    return item


def shown(path):
    """A jail path as text: a name the jail made up of bytes that are not UTF-8 stays readable."""
    return path.encode('utf-8', 'surrogateescape').decode('utf-8', 'backslashreplace')


def audit_jail(path, state_dir):
    """The ``AuditResult`` of the jail ``path`` whose state lives in ``state_dir``; nothing is written."""
    root_lstat = tree.jail_root_lstat
    path = abs_path(path, 'jail path')
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    result = AuditResult()
    # the jail root itself is judged like what it holds: uid 0 in the jail can chmod it
    check_jail_root(path, root_lstat, ancestors_only=True)
    result.exists = _jail_root(path, root_lstat)
    store = StateStore(state_dir, path, check_mode=True, lstat=root_lstat, wait=LOCK_WAIT_SECONDS)
    result.state['file'] = store.where
    jail = Jail(path, Host())
    try:
        managed = _open_state(store, jail if result.exists else None, result.state)
        if managed is not None:
            result.drift = _drift(jail, managed)
        if result.exists:
            _walk(jail, managed, result)
    finally:
        jail.close()
        store.close()
    return result


def _jail_root(path, root_lstat):
    """True when the jail directory exists; a JailError when it is something else."""
    try:
        st = root_lstat(path)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return False
        raise JailError(f'{path}: cannot inspect: {exc}')
    if not stat.S_ISDIR(st.st_mode):
        raise JailError(f'jail path {path} is a symlink or not a directory')
    return True


def last_copy_ns(path, state_dir):
    """When chroot_jail last wrote a host file into the jail ``path``: the newest change time its
    state records of a copy as it was written (``written_ns``; the verified ``ctime_ns`` of records
    from before it was kept), in ns since the epoch; None when the state cannot tell."""
    try:
        store = StateStore(state_dir, abs_path(path, 'jail path'), check_mode=True, lstat=tree.jail_root_lstat,
                           wait=LOCK_WAIT_SECONDS)
        try:
            store.open()
            raw = store.read()
            state = validate_state(parse_state(raw, store.where), store.where, store.jail_path) if raw else None
        finally:
            store.close()
    except JailError:
        return None
    times = [record.get('written_ns', record['ctime_ns']) for record in state.managed.values()
             if 'ctime_ns' in record] if state else []
    return max(times) if times else None


def process_predates_jail(properties, path, state_dir, clock=time):
    """Whether a service's main process started before chroot_jail last refreshed the jail
    ``path``, so it still runs the old copies; None when none runs or the state cannot tell.

    ``properties`` are systemd's ``MainPID`` and ``ExecMainStartTimestampMonotonic`` of the unit.
    """
    started_us = properties.get('ExecMainStartTimestampMonotonic', '')
    if properties.get('MainPID', '0') in ('', '0') or not started_us.isdigit():
        return None
    changed_ns = last_copy_ns(path, state_dir)
    if changed_ns is None:
        return None
    # systemd keeps the start on the monotonic clock, the state inode change times on the wall clock
    return clock.time_ns() - (clock.monotonic_ns() - int(started_us) * 1000) < changed_ns


def _open_state(store, jail, health):
    """The managed records, with the lock held; None when the state cannot be used (``health`` says why)."""
    try:
        store.open()
    except StateLocked as exc:
        health.update(health='locked', detail=f'{exc}; drift and unmanaged files were not judged')
        return None
    except JailError as exc:
        health.update(health='unsafe', detail=str(exc))
        return None
    try:
        raw = store.read()
    except JailError as exc:
        health.update(health='unsafe', detail=str(exc))
        return None
    try:
        if raw is None:
            state = read_legacy(jail) if jail is not None else None
            if state is None:
                health.update(health='missing', detail=f'{store.where} does not exist; drift and unmanaged '
                                                       'files were not judged')
                return None
            health.update(health='legacy', detail='only the in-jail manifest of an earlier version exists (no '
                                                  'checksums); the next chroot_jail run migrates it')
            return state.managed
        data = parse_state(raw, store.where)
        state = validate_state(data, store.where, store.jail_path)
    except JailError as exc:
        health.update(health='malformed', detail=f'{exc}; drift and unmanaged files were not judged')
        return None
    if data.get('pending'):
        health.update(health='incomplete', detail=f"a run was interrupted before it made {len(data['pending'])} "
                                                  'entries; the next chroot_jail run completes them')
    return state.managed


def _drift(jail, managed):
    """Drift of every managed path, sorted: ``{path, reason, detail}``."""
    drift = []
    for path in sorted(managed):
        record = managed[path]
        try:
            found = _record_drift(jail, path, record)
        except JailError as exc:
            found = [('tampered', str(exc))]
        except OSError as exc:  # swapped by the jail between the lstat and the next look
            found = [('tampered', f'changed while it was read: {exc.strerror}')]
        drift.extend({'path': path, 'reason': reason, 'detail': detail} for reason, detail in found)
    return drift


def _record_drift(jail, path, record):
    """``[(reason, detail)]`` of one managed path."""
    st = jail.lstat(path)
    if st is None:
        return [('missing', 'not in the jail')]
    kind = record['type']
    if not RECORD_FORMATS[kind](st.st_mode):
        return [('tampered', NOT_A[kind])]
    if kind == 'symlink' and 'target' in record and jail.readlink(path) != record['target']:
        return [('tampered', 'target')]
    if kind == 'device' and 'rdev' in record and (
            record.get('kind') != ('char' if stat.S_ISCHR(st.st_mode) else 'block') or st.st_rdev != record['rdev']):
        return [('tampered', 'device numbers')]
    if kind not in ('file', 'generated'):
        return []
    found = [('tampered', 'extended attributes')] if jail_xattrs(jail, path) else []
    if 'sha256' not in record:
        return found
    if st.st_size != record.get('size', st.st_size):
        found.append(('tampered', 'size'))
    elif _jail_sha256(jail, path, st.st_size) != record['sha256']:
        found.append(('tampered', 'content'))
    if 'source' in record:
        stale = _host_drift(jail.host, record)
        if stale:
            found.append(('stale', stale))
    return found


def _jail_sha256(jail, path, size):
    """SHA-256 of the jail file ``path`` if it still holds ``size`` bytes, else None; never followed."""
    try:
        fd = jail.open_read(path)
    except (OSError, JailError):
        return None
    try:
        return sha256_fd(fd, limit=size)
    finally:
        os.close(fd)


def _host_drift(host, record):
    """Why the host source of a copied file no longer matches the record, or None."""
    source = record['source']
    try:
        src = host.open_source(source, f'source {source}', allow_user_writable=True)
    except JailError as exc:
        return str(exc)
    except OSError as exc:
        return f'{source}: cannot read it on the host: {exc.strerror}'
    with src:
        if src.fd is None or not stat.S_ISREG(src.st.st_mode):
            return f'{source} is not a regular file on the host'
        if src.st.st_size != record.get('size', src.st.st_size) \
                or sha256_fd(src.fd, limit=src.st.st_size) != record['sha256']:
            return f'{source} changed on the host'
    return None


def _walk(jail, managed, result):
    """setuid, writable, devices and (when the state is usable) unmanaged, in one walk."""
    root = jail.lstat('/')
    if root is not None and 'writable' in tree.audit_kinds(root):
        result.writable.append('/')
    for rel, st, dir_fd in tree.walk(jail.root, result.warnings, dir_fds=True):
        name = shown(rel)
        kinds = tree.audit_kinds(st)
        if 'setuid' in kinds:
            result.setuid.append(name)
        if stat.S_ISREG(st.st_mode) and FILE_CAPABILITY in xattrs_at(dir_fd, os.path.basename(rel)):
            result.capabilities.append(name)
        if 'writable' in kinds:
            result.writable.append(name)
        if 'devices' in kinds and not _planned_char_device(st, (managed or {}).get(rel)):
            result.devices.append({'path': name, 'kind': 'char' if stat.S_ISCHR(st.st_mode) else 'block',
                                   'major': os.major(st.st_rdev), 'minor': os.minor(st.st_rdev)})
        if managed is not None and rel not in managed:
            result.unmanaged.append(name)
    for found in (result.setuid, result.capabilities, result.writable, result.unmanaged):
        found.sort()
    result.devices.sort(key=lambda device: device['path'])


def _planned_char_device(st, record):
    """True for a character device the module made and recorded with these numbers."""
    return (record is not None and record.get('type') == 'device' and record.get('kind') == 'char'
            and stat.S_ISCHR(st.st_mode) and record.get('rdev') == st.st_rdev)
