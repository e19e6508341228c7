# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""A rule's options, run dry as libwrap's options.c runs them: nothing is executed.

process_options() says whether the options decide (allow, deny), hand the connection over
(twist), leave the decision to a command at connection time (aclexec) or make libwrap deny
(a bad name or value). With Environment.dry_run, the user and group options switch
credentials as they do in tcpdmatch, the only place Debian's libwrap acts on them.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    OPTION_TABLE,
    fold,
    option_fields,
    option_value_error,
    split_at,
    split_option,
)

ACLEXEC_NOTE = ('aclexec: at connection time its command decides; exit status 0 keeps this verdict, any other '
                'makes the rule not match and the rules after it decide (tcpdmatch does not run it)')


class OptionOutcome:
    def __init__(self, verdict=None, delegated=False, error=None, notes=None, runtime=False):
        self.verdict = verdict          # True (allow), False (deny), None: no decision
        self.delegated = delegated      # twist: the connection goes to a shell command
        self.error = error              # what made libwrap deny ("bad option name" ...)
        self.notes = notes or []
        self.runtime = runtime          # aclexec: a command's exit status decides at connection time


class DryRunSwitch:
    """What tcpdmatch, as root, does with user and group options in its dry run.

    Debian's libwrap (7.6.q-32, disassembled and run) switches credentials only when dry_run is
    set, so never in a daemon. group: setgid then setgroups. user: the ".group" part first,
    then setuid, and without one setgid and initgroups, which fail once the uid is not 0.
    """

    def __init__(self, env):
        self.env = env
        self.uid = self.gid = 0

    def group(self, name):
        gid = self.env.group_id(name)
        if self.uid != 0:
            return f'{"setgroups" if gid == self.gid else "setgid"}({name}): Operation not permitted'
        self.gid = gid
        return None

    def user(self, value):
        name, group = split_at(value, '.')
        error = None if group is None else self.group(group)
        if error:
            return error
        uid, gid = self.env.user_ids(name)
        if self.uid != 0 and uid != self.uid:
            return f'setuid({name}): Operation not permitted'
        self.uid = uid
        if group is None:
            if uid != 0:
                return f'{"initgroups" if gid == self.gid else "setgid"}({name}): Operation not permitted'
            self.gid = gid
        return None


def process_options(text, env):
    """Run options like libwrap in dry-run mode; never executes anything."""
    switch = DryRunSwitch(env) if env.dry_run else None
    notes = []
    fields = option_fields(text)
    delegated = runtime = False
    for position, field in enumerate(fields):
        key, value = split_option(field)
        is_last = position == len(fields) - 1
        if key == '':
            return OptionOutcome(False, delegated, 'missing option name', notes)
        spec = OPTION_TABLE.get(fold(key))
        if spec is None:
            return OptionOutcome(False, delegated, f'bad option name: "{key}"', notes)
        needs, permits, last = spec
        name = fold(key)
        if value is None and needs:
            return OptionOutcome(False, delegated, f'option "{key}" requires value', notes)
        if value is not None and not permits:
            return OptionOutcome(False, delegated, f'option "{key}" requires no value', notes)
        if not is_last and last:
            return OptionOutcome(False, delegated, f'option "{key}" must be at end', notes)
        error = option_value_error(name, value, env, notes)
        if switch is not None and not error and name in ('user', 'group'):
            error = (switch.user if name == 'user' else switch.group)(value)
        if error:
            return OptionOutcome(False, delegated, error, notes)
        if name == 'allow':
            return OptionOutcome(True, delegated, None, notes)
        if name == 'deny':
            return OptionOutcome(False, delegated, None, notes)
        if name == 'twist':
            delegated = True
        if name == 'aclexec':
            runtime = True
    if runtime and not delegated:
        notes.append(ACLEXEC_NOTE)
    return OptionOutcome(None, delegated, None, notes, runtime and not delegated)
