# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Do not import it from outside the collection.

"""Edit one table (tcpwrap_rule) or both tables of a policy (tcpwrap_policy) by lists of rules.

``PolicyEdit.execute()`` computes every table's new content first (``TableChange``, nothing
written), warns about hazards, dead rules and daemons nobody enforces the rules for, refuses a
policy that would deny the SSH connection Ansible is using (judged on the whole new policy,
both tables at once), and only then, outside check mode, writes the tables that change, in the
order given (hosts.allow before hosts.deny: grants land before the denials that need them).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import grp
import os
import pwd

from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    FileIOError,
    read_if_exists,
    set_attributes,
    write_atomic,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    TcpwrapError,
    read_table,
    scan_table,
    unreadable_table,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_enforcement import daemon_warnings
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment, ssh_connection
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate, port_pattern
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_problems import shadowed_rules
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_rules import Rule, TableEdit

SYSTEM_TABLES = {'allow': '/etc/hosts.allow', 'deny': '/etc/hosts.deny'}
SSH_DAEMON = 'sshd'
# One rule's options: the elements of a list of rules, and the top-level options of tcpwrap_rule's single rule.
RULE_OPTIONS = dict(
    daemons=dict(type='list', elements='str', required=True),
    except_daemons=dict(type='list', elements='str'),
    clients=dict(type='list', elements='str', required=True),
    except_clients=dict(type='list', elements='str'),
    options=dict(type='list', elements='str'),
    command=dict(type='str'),
    comment=dict(type='str'),
    position=dict(type='str', choices=['first', 'last', 'before', 'after'], default='last'),
    anchor=dict(type='str'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    replace=dict(type='bool', default=False),
)


class TableChange:
    """What a list of rules makes of one table file; nothing is written. ``kind`` is 'deny' for a
    table libwrap reads after hosts.allow, else None."""

    def __init__(self, kind, path, rules):
        self.kind = kind
        self.path = path
        self.rules = rules
        try:
            before = read_if_exists(path)
        except (FileIOError, OSError) as exc:
            raise TcpwrapError(f'{path} {unreadable_table(path, exc)[1]}. Refusing to write through this path') from None
        self.before = before or b''
        self.edit = TableEdit(self.before, path)
        changed = False
        for rule in rules:
            changed = self.edit.apply(rule) or changed
        self.changed = changed
        self.after = self.edit.verify(rules) if changed else self.edit.before

    def is_table(self, kind):
        return os.path.realpath(self.path) == os.path.realpath(SYSTEM_TABLES[kind])


class PolicyEdit:
    """The tables [(kind, path, [(field, rule spec)])] of one run, edited as one policy.

    ``kind`` is 'allow' or 'deny' for a table libwrap reads before or after the other one, or None.
    A 'deny' table is read after the host's hosts.allow when it is the host's hosts.deny, else
    after this run's 'allow' table, or else the file at ``allow_path``.
    """

    def __init__(self, module, tables, allow_path):
        self.module = module
        self.env = Environment()
        self.allow_path = allow_path
        for kind, path, _specs in tables:
            other = {'allow': 'deny', 'deny': 'allow'}.get(kind)
            if other and os.path.realpath(path) == os.path.realpath(SYSTEM_TABLES[other]):
                raise TcpwrapError(f"{kind}_path: {path} is this host's {SYSTEM_TABLES[other]}, which libwrap reads "
                                   f"as the {other} table")
        paths = [path for _kind, path, _specs in tables]
        kinds = [kind for kind, _path, _specs in tables]
        if 'deny' in kinds and 'allow' not in kinds:
            paths.insert(0, allow_path)
        if len({os.path.realpath(path) for path in paths}) < len(paths):
            raise TcpwrapError(f"{' and '.join(paths)} are the same file; the allow and deny tables must be two files")
        self.tables = [(kind, path, [Rule(spec, field, self.env) for field, spec in specs])
                       for kind, path, specs in tables]

    def execute(self):
        """[result of each table] (path, changed, added, removed, shadowed, diff, backup_file)."""
        changes = [TableChange(kind, path, rules) for kind, path, rules in self.tables]
        for change in changes:
            for line, problem in change.edit.hazards():
                self.module.warn(f'{change.path} line {line}: {problem}')
        for warning in daemon_warnings(named_daemons(rule for change in changes for rule in change.rules)):
            self.module.warn(warning)
        results = [dict(changed=change.changed, path=change.path, added=change.edit.added,
                        removed=change.edit.removed, shadowed=self._shadowed(change, changes))
                   for change in changes]
        order = self._write_order([change for change in changes if change.changed])
        self._check_owners()
        for change, result in zip(changes, results):
            if self.module._diff:
                result['diff'] = dict(before=change.before.decode('utf-8', 'replace'),
                                      after=change.after.decode('utf-8', 'replace'),
                                      before_header=f'{change.path} (content)',
                                      after_header=f'{change.path} (content)')
        result_of = dict(zip(changes, results))
        written = []
        for change in order + [change for change in changes if change not in order]:
            try:
                self._write(change, result_of[change])
            except (FileIOError, OSError) as exc:
                cause = exc if isinstance(exc, FileIOError) else f'{change.path}: {exc}'
                if not written:
                    raise TcpwrapError(str(cause)) from None
                self.module.fail_json(msg=f"{cause}; {' and '.join(written)} had been written already", changed=True,
                                      path=change.path)
            if change.changed and not self.module.check_mode:
                written.append(change.path)
        return results

    def _write(self, change, result):
        """Write the table outside check mode, then its attributes (mode, owner, SELinux) if asked."""
        if change.changed and not self.module.check_mode:
            # Written through a symlink to its target, as libwrap reads it.
            backup = write_atomic(self.module, change.path, change.after, backup=self.module.params['backup'], follow=True)
            if backup:
                result['backup_file'] = backup
        target = os.path.realpath(change.path)
        if os.path.exists(target):
            result['changed'] = set_attributes(self.module, target, change.changed)

    def _check_owners(self):
        """An owner or group the host does not know is refused before the first write (a warning
        in check mode, where an earlier task may still create it)."""
        for field, lookup in (('owner', pwd.getpwnam), ('group', grp.getgrnam)):
            name = self.module.params.get(field)
            if not name or name.isdigit():
                continue
            try:
                lookup(name)
            except KeyError:
                message = f'{field}: {name} does not exist on this host'
                if not self.module.check_mode:
                    raise TcpwrapError(message) from None
                self.module.warn(message)

    def _shadowed(self, change, changes):
        """Rules written that an earlier line makes dead: hosts.allow is read before hosts.deny."""
        earlier = []
        if change.kind == 'deny':
            if change.is_table('deny'):
                allow = next((other for other in changes if other.is_table('allow')), None)
                allow_path = SYSTEM_TABLES['allow']
            else:
                allow = {other.kind: other for other in changes}.get('allow')
                allow_path = self.allow_path
            if allow is not None:
                earlier.append((allow.path, scan_table(allow.after)))
            else:
                earlier.append((allow_path, read_table(allow_path)))
        shadowed = []
        for entry, message in shadowed_rules(earlier, change.path, change.edit.numbered_rules()):
            rule = entry.text.rstrip('\n')
            self.module.warn(f'{change.path}: the rule "{rule}" can never match - {message}')
            shadowed.append(dict(rule=rule, message=message))
        return shadowed

    def _write_order(self, changed):
        """The changed tables in the order to write them: as given, or the other way round when the
        first write alone would deny the SSH connection Ansible is using. Fails when the new policy
        would deny that connection while the old one granted it: each system table as the writes
        leave it, the other as it is on the host."""
        edits = {kind: change for kind in SYSTEM_TABLES for change in changed if change.is_table(kind)}
        connection = ssh_connection()
        if self.module.params['allow_lockout'] or not edits or connection is None:
            return changed
        client, server = connection

        def verdict(written):
            tables = [(kind, path, scan_table(edits[kind].after if edits[kind] in written else edits[kind].before)
                       if kind in edits else read_table(path))
                      for kind, path in SYSTEM_TABLES.items()]
            return evaluate(tables, SSH_DAEMON, address=client, server_address=server, env=self.env)

        if verdict([]).access != 'granted':
            return changed
        new = verdict(changed)
        if new.access == 'denied':
            self.module.fail_json(
                msg=f"refusing to change {' and '.join(change.path for change in changed)}: it would deny the SSH "
                    f'connection Ansible is using ({SSH_DAEMON} to {server} from {client}: {new.reason}). '
                    'Grant that client first, or set allow_lockout=true if you really mean it',
                path=changed[0].path)
        if verdict(changed[:1]).access == 'denied':
            # hosts.allow alone denies it, so its new version does not match the client and the old
            # hosts.deny denies it; the old policy granted it, so the old hosts.allow grants it, and
            # keeps granting it while hosts.deny is written first (and the other way round).
            return changed[::-1]
        return changed


def system_table_kind(path):
    """'deny' when path is the host's hosts.deny (and not its hosts.allow too), else None."""
    real = os.path.realpath(path)
    if real == os.path.realpath(SYSTEM_TABLES['deny']) and real != os.path.realpath(SYSTEM_TABLES['allow']):
        return 'deny'
    return None


def named_daemons(rules):
    """The daemon names the present rules grant or deny, once each, in order; a number is a server
    port to Debian's libwrap, not a program to inspect."""
    named = []
    for rule in rules:
        if rule.state == 'present':
            named.extend(d.split('@')[0] for d in rule.daemons
                         if d.split('@')[0] not in named and port_pattern(d.split('@')[0]) is None)
    return named
