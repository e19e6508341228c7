# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Make a jail match its spec, or remove it; compare and audit what is on disk.

Flow: ``JailSpec`` -> ``Planner.run()`` (the ``Plan``, nothing written) -> ``compare()``
(compare.py) each planned entry with the jail (a status and the facts it learned; the plan is never
changed) -> the intent (what is about to be made) saved in the host state -> ``Jail.write()``/
``Jail.remove()`` for what differs -> the state, built from the records written and the facts
compared. The whole run holds the jail's lock (``state.StateStore``); temporaries a killed
run left are removed. ``tree.audit()`` lists setuid files, entries writable by others than root,
and device nodes, walking the jail through descriptors (``tree.walk()``, bounded, links never
followed); that one walk also gives ``compare()`` its lstat of each planned entry, and the
jail is walked again only after a run that changed it. All validation happens before any
write to the jail.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import contextlib
import os
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot.compare import compare, kept_record
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import (
    Jail,
    remove_created_dirs,
    reserve_descriptors,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import LoaderDeps
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner
from ansible_collections.serversec.confine.plugins.module_utils._chroot.selinux import host_labels
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    JailError,
    abs_path,
    check_jail_root,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import (
    LEGACY_PATH,
    JailState,
    locked_state,
)


class JailResult:
    def __init__(self):
        self.changed = False
        self.added = []
        self.updated = []
        self.removed = []
        self.warnings = []
        self.audit = {'setuid': [], 'writable': [], 'devices': []}
        self.files = 0
        self.size = 0
        self.base = None  # what a jail built on a base took from it (base.Base.report)
        self.selinux = {'enabled': False, 'equivalence': None, 'relabelled': []}

    def as_dict(self):
        result = {'changed': self.changed, 'added': self.added, 'updated': self.updated, 'removed': self.removed,
                  'audit': self.audit, 'files': self.files, 'size': self.size, 'selinux': self.selinux}
        if self.base is not None:
            result['base'] = self.base
        return result

    def diff(self):
        lines = []
        for label, items in (('added', self.added), ('updated', self.updated), ('removed', self.removed),
                             ('relabelled', self.selinux['relabelled'])):
            lines.extend(f'{label}: {item}' for item in items)
        return '\n'.join(lines) + ('\n' if lines else '')


def _depth_key(path):
    return (path.count('/') if path != '/' else 0, path)


def converge(spec, state_dir, check_mode=False, host=None, runner=None, read_info=None, root_lstat=None, base=None,
             labels=None):
    """Make the jail match ``spec``, its state kept in ``state_dir``, its files linked from the jail
    ``base`` where it holds them (see base.py). All validation happens before any write.

    ``labels`` (a ``selinux.JailLabels``, by default the host's) labels what is written."""
    host = host or Host()
    labels = labels or host_labels(spec.path)
    root_lstat = root_lstat or tree.jail_root_lstat
    result = JailResult()
    check_jail_root(spec.path, root_lstat)  # a bad jail path is refused before state_dir is touched
    with _shared_base(base, state_dir, spec.path, host, root_lstat) as shared, \
            locked_state(state_dir, spec.path, check_mode, root_lstat) as store:
        # again under the lock: a run that held it may have created the jail meanwhile
        missing_root = check_jail_root(spec.path, root_lstat)
        jail = Jail(spec.path, host, labels if labels.active else None)
        try:
            _converge(spec, store, jail, labels, missing_root, check_mode, runner, read_info, result, shared)
        finally:
            jail.close()
    result.added.sort()
    result.updated.sort()
    result.removed.sort()
    return result


def _shared_base(base, state_dir, jail_path, host, root_lstat):
    """The base's ``shared_base`` context, or one that gives None: base.py is loaded only for a jail
    that names a base (a module run compiles every file it loads)."""
    if base is None:
        return contextlib.nullcontext()
    from ansible_collections.serversec.confine.plugins.module_utils._chroot.base import shared_base
    return shared_base(base, state_dir, jail_path, host, root_lstat)


def _converge(spec, store, jail, labels, missing_root, check_mode, runner, read_info, result, shared):
    host = jail.host
    state = store.load(jail if not missing_root else None)
    created = sorted(set(state.created) | set(missing_root))
    rule = labels.rule_status(spec.path in created)  # present, missing (to add) or None
    managed = state.managed
    # the legacy in-jail manifest never tells which host files to copy: its cache is not read
    deps = LoaderDeps(host, cache=state.deps, runner=runner)
    plan = Planner(spec, host=host, deps=deps, read_info=read_info).run()
    result.warnings.extend(plan.warnings)
    reserve_descriptors(sum(1 for entry in plan.entries.values() if entry['type'] == 'dir'))

    # One walk of the jail gives the audit and the lstat of each planned entry; it is walked
    # again at the end only if this run changed something.
    seen = {}
    walk_warnings = []
    first_audit = None
    if not missing_root:
        first_audit = tree.audit(jail, walk_warnings, _noting(tree.walk(jail.root, walk_warnings), plan.entries, seen))
    todo = []
    verified = {}  # the entries found as planned, {jail path: entry}
    new_managed = {}
    sizes = {}
    for path in sorted(plan.entries, key=_depth_key):
        entry = plan.entries[path]
        if missing_root:
            status, facts = 'add', {}
        else:
            seen[path] = seen[path] if path in seen else jail.lstat(path)
            status, _detail, facts = compare(jail, path, entry, managed.get(path), seen[path], shared)
            if status == 'ok' and shared and entry['type'] == 'file' and shared.relinks(jail, path, entry, seen[path]):
                status = 'update'  # a sound copy the base now holds too: shared from now on
        if 'size' in facts:
            sizes[path] = facts['size']
        if status == 'ok':
            verified[path] = entry
            if path in managed or entry['type'] != 'dir' or not entry.get('implicit'):
                new_managed[path] = kept_record(entry, managed.get(path), facts)
            continue
        todo.append((path, entry))
        (result.added if status == 'add' else result.updated).append(path)

    stale = [p for p in managed if p not in plan.entries] if spec.prune else []
    stale.sort(key=_depth_key, reverse=True)
    if not spec.prune:
        for path, record in managed.items():
            if path not in plan.entries:
                new_managed[path] = record
    leftovers = [] if missing_root else jail.leftovers(managed)
    legacy = not missing_root and _legacy_present(jail)

    if check_mode:
        result.removed = [p for p in stale if jail.lstat(p) is not None] + leftovers
        if legacy:
            result.removed.append(LEGACY_PATH)
    else:
        pending = {path: {'type': entry['type']} for path, entry in todo if path != '/'}
        if pending or created != state.created:
            # the intent first: a run killed from here on leaves nothing the state does not name
            store.save(JailState(managed, created, deps.used, shared and shared.path, state.selinux_rule), pending)
        if missing_root:
            jail.make_root(missing_root)
        for path in leftovers:
            jail.unlink(path)
            result.removed.append(path)
        for path, entry in todo:
            record = (shared and shared.write(jail, path, entry)) or jail.write(path, entry)
            if 'ctime_ns' in record:
                # when the jail's content last changed (audit.last_copy_ns): kept as the change time
                # moves without a write here (another jail linking the same inode)
                record['written_ns'] = record['ctime_ns']
            new_managed[path] = record
        for path in stale:
            if jail.lstat(path) is None:
                continue
            if jail.remove(path, managed[path]):
                result.removed.append(path)
            else:
                new_managed[path] = managed[path]
        new_managed.pop('/', None)
        owned = state.selinux_rule  # a rule is claimed only once semanage added it
        try:
            owned = labels.add_rule(rule) or owned
        finally:
            store.save(JailState(new_managed, created, deps.used, shared and shared.path, owned))
        if legacy:
            jail.unlink(LEGACY_PATH)
            result.removed.append(LEGACY_PATH)
    result.selinux = labels.outcome(rule, jail, verified, seen, check_mode, result.warnings)
    result.changed = bool(result.added or result.updated or result.removed or result.selinux['relabelled']
                          or rule == 'missing')
    for path, entry in plan.entries.items():
        if entry['type'] == 'file':
            result.files += 1
            result.size += sizes.get(path) or entry['size']
        elif entry['type'] == 'generated':
            result.files += 1
            result.size += len(entry['content'].encode('utf-8'))
    if shared:
        result.base = shared.report()
    if first_audit is not None and (check_mode or not (todo or result.removed)):
        result.audit = first_audit
        result.warnings.extend(walk_warnings)
    else:
        result.audit = tree.audit(jail, result.warnings)


def _noting(entries, wanted, seen):
    """Pass ``walk()`` entries through, keeping in ``seen`` the lstat of those in ``wanted``."""
    for rel, st in entries:
        if rel in wanted:
            seen[rel] = st
        yield rel, st


def _legacy_present(jail):
    """The manifest of earlier versions is still in the jail (anything but a directory)."""
    st = jail.lstat(LEGACY_PATH)
    return st is not None and not stat.S_ISDIR(st.st_mode)


def remove_jail(path, state_dir, check_mode=False, root_lstat=None, labels=None):
    """state=absent: remove what the state says the module made, then the dirs it created if empty,
    and the jail's SELinux equivalence when the state says the module added it."""
    root_lstat = root_lstat or tree.jail_root_lstat
    path = abs_path(path, 'jail path')
    result = JailResult()
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    try:
        st = root_lstat(path)
    except OSError:
        st = None
    if st is not None:
        if not stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            raise JailError(f'{path} is not a directory')
        check_jail_root(path, root_lstat)
    with locked_state(state_dir, path, check_mode, root_lstat) as store:
        jail = Jail(path)
        try:
            state = store.load(jail if st is not None else None)
            remaining = _remove_managed(jail, state, check_mode, result) if st is not None else {}
        finally:
            jail.close()
        created = [p for p in state.created if _is_dir(p)]
        if check_mode:
            result.removed.extend('/' if p == path else p for p in created)
        else:
            gone = remove_created_dirs(created) if not remaining else []
            result.removed.extend('/' if p == path else p for p in gone)
            left = [p for p in created if p not in gone]
        if state.selinux_rule and not remaining:
            result.selinux = (labels or host_labels(path)).removal(check_mode, result.warnings)
        if not check_mode:
            if remaining or left:
                store.save(JailState(remaining, left, {}, selinux_rule=state.selinux_rule and bool(remaining)))
            else:
                store.drop()
    result.changed = bool(result.removed or result.selinux['equivalence'])
    result.removed.sort()
    return result


def _is_dir(path):
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _remove_managed(jail, state, check_mode, result):
    """Remove the leftovers, what the state names and the legacy manifest; returns what stayed."""
    managed = state.managed
    remaining = {}
    for item in jail.leftovers(managed):
        if not check_mode:
            jail.unlink(item)
        result.removed.append(item)
    for item in sorted(managed, key=_depth_key, reverse=True):
        if jail.lstat(item) is None:
            continue
        if check_mode or jail.remove(item, managed[item]):
            result.removed.append(item)
        else:
            remaining[item] = managed[item]
    if _legacy_present(jail):
        if not check_mode:
            jail.unlink(LEGACY_PATH)
        result.removed.append(LEGACY_PATH)
    return remaining
