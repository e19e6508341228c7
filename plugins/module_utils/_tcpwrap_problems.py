# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Problems of existing tables: what tcpdchk reports, dead rules, and lines libwrap misreads.

policy_problems() reads hosts.allow then hosts.deny as libwrap does and says, per line, what
fails open or closed; tcpwrap_info returns it.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import heapq

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    TcpwrapError,
    fold,
    option_fields,
    split_option,
    tokens_of,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import port_pattern, process_options
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_rules import check_pattern, entry_key


# Debian's libwrap (7.6.q-32: disassembled, and hosts_access() run for real) switches user and
# group only in tcpdmatch's dry run: a daemon keeps its own credentials.
SWITCH_OPTIONS = {
    'group': ('option "group": daemons linked with Debian\'s libwrap ignore it, so the daemon and its spawn '
              'commands keep their own group (root\'s under tcpd); only tcpdmatch switches group in its dry run'),
    'user': ('option "user": daemons linked with Debian\'s libwrap ignore it, so the daemon and its spawn commands '
             'keep running as their own user (root under tcpd); tcpdmatch switches to it in its dry run and then '
             'denies, unless the user is root or ".group" is given. Run the service as an unprivileged user instead '
             '(serversec.confine.jailed_service)'),
}


def _problem(path, line, severity, message):
    return {'file': path, 'line': line, 'severity': severity, 'message': message}


def _is_catch_all(key):
    """ALL : ALL matches every request, so nothing after it is ever reached, whatever its options."""
    return key[0] == (frozenset(['all']),) and key[1] == (frozenset(['all']),)


def _covers(earlier, later):
    """Whether every request the later rule matches is matched by the earlier one.

    Only lists without EXCEPT are compared, pattern by pattern (ALL covers anything): a
    conservative test, so a rule reported dead really is dead.
    """
    for position in (0, 1):
        wide, narrow = earlier[position], later[position]
        if len(wide) != 1 or len(narrow) != 1:
            return False
        if 'all' not in wide[0] and not narrow[0] <= wide[0]:
            return False
    return True


def _shadow_message(key, earlier_path, earlier_line, earlier_key, path):
    """Why the earlier rule makes this one dead, or None."""
    where = f'line {earlier_line}' if earlier_path == path else f'{earlier_path} line {earlier_line}'
    if earlier_key == key:
        return f'dead rule: same meaning as {where}, which matches first'
    if _is_catch_all(earlier_key):
        return f'dead rule: "ALL : ALL" on {where} matches first'
    if _covers(earlier_key, key):
        return f'dead rule: {where} matches every request this rule matches, and first'
    return None


class EarlierRules:
    """The rules read so far, indexed so that finding the first one that shadows a rule does
    not compare it with every earlier rule (which made a 1,000-rule policy take seconds)."""

    def __init__(self):
        self.rules = []             # (path, line, key), in reading order
        self._first_equal = {}      # key -> number of its first rule
        self.first_catch_all = None
        # For _covers(): rules without EXCEPT, by each daemon and each client pattern.
        self._by_pattern = ({}, {})

    def add(self, path, line, key):
        number = len(self.rules)
        self.rules.append((path, line, key))
        self._first_equal.setdefault(key, number)
        if self.first_catch_all is None and _is_catch_all(key):
            self.first_catch_all = number
        if len(key[0]) == 1 and len(key[1]) == 1:
            for position in (0, 1):
                for pattern in key[position][0]:
                    self._by_pattern[position].setdefault(pattern, []).append(number)

    def _covering_candidates(self, key):
        """Numbers of the earlier rules that may cover key, in order (a superset; _covers decides)."""
        if len(key[0]) != 1 or len(key[1]) != 1:
            return ()
        shortest = None
        for position in (0, 1):
            patterns = key[position][0]
            if not patterns:
                continue            # an empty list is covered by any list: no narrowing here
            # A covering list holds ALL or every pattern of this one, so its rarest one.
            index = self._by_pattern[position]
            rarest = min(patterns, key=lambda pattern: len(index.get(pattern, ())))
            postings = (index.get(rarest, ()), index.get('all', ()))
            if shortest is None or sum(map(len, postings)) < sum(map(len, shortest)):
                shortest = postings
        if shortest is None:
            return range(len(self.rules))
        return heapq.merge(*shortest)

    def shadow_message(self, key, path):
        """Why an earlier rule makes this one dead (the first such rule), or None."""
        found = [number for number in (self._first_equal.get(key), self.first_catch_all) if number is not None]
        for number in self._covering_candidates(key):
            if found and number >= min(found):
                break
            if _covers(self.rules[number][2], key):
                found.append(number)
                break
        if not found:
            return None
        earlier_path, earlier_line, earlier_key = self.rules[min(found)]
        return _shadow_message(key, earlier_path, earlier_line, earlier_key, path)


def table_problems(table, path, entries, env, earlier):
    """Problems of one table; earlier (EarlierRules) holds every rule read before it."""
    problems = []
    for entry in entries:
        if entry.problem:
            severity = 'error' if entry.kind in ('broken', 'ignored', 'unread') else 'warning'
            problems.append(_problem(path, entry.first_line, severity, entry.problem))
        if entry.kind != 'rule':
            continue
        line = entry.last_line
        if entry.text.startswith('\ufeff') or entry.raw.startswith(b'\xef\xbb\xbf'):
            problems.append(_problem(path, line, 'warning',
                                     'byte order mark: libwrap reads it as part of the first daemon pattern'))
        if '\r' in entry.text:
            problems.append(_problem(path, line, 'warning', 'carriage return (DOS line ending) in the rule'))
        if '\v' in entry.text or '\f' in entry.text:
            problems.append(_problem(path, line, 'warning',
                                     'vertical tab or form feed in the rule: libwrap trims it around an option name '
                                     'or value like a space, but in a pattern, or between an option name and its '
                                     'value, it is part of the text'))
        for token in entry.daemon_tokens:
            port = port_pattern(token.partition('@')[0])
            if port is not None:
                problems.append(_problem(path, line, 'info',
                                         f'daemon pattern "{token}" is a number: Debian\'s libwrap matches it against the '
                                         f'server port ({port}), not a process name'))
        for name, text, daemon in (('daemon', entry.daemons, True), ('client', entry.clients, False)):
            for token in tokens_of(text):
                if fold(token) == 'except':
                    continue
                try:
                    check_pattern(token, f'{name} pattern "{token}"', daemon=daemon)
                except TcpwrapError as exc:
                    problems.append(_problem(path, line, 'warning', str(exc)))
        if entry.options is not None:
            outcome = process_options(entry.options, env)
            for name in sorted(set(fold(split_option(field)[0]) for field in option_fields(entry.options))
                               & set(SWITCH_OPTIONS)):
                problems.append(_problem(path, line, 'error', SWITCH_OPTIONS[name]))
            if outcome.runtime:
                problems.append(_problem(path, line, 'info',
                                         'aclexec: its command decides at connection time (exit status 0 keeps '
                                         'this rule, any other lets the rules after it decide); tcpdmatch and the '
                                         'verdicts here take the rule as matching'))
            if outcome.error:
                consequence = ('denies the clients it is meant to allow' if table == 'allow'
                               else 'still denies, but nothing in its options runs')
                problems.append(_problem(path, line, 'error',
                                         f'libwrap rejects this rule\'s options ({outcome.error}): the rule {consequence}. '
                                         'A shell command must be written as "spawn <command>"'))
        key = entry_key(entry)
        message = earlier.shadow_message(key, path)
        if message:
            problems.append(_problem(path, line, 'warning', message))
        earlier.add(path, line, key)
    return problems


def shadowed_rules(earlier_tables, path, numbered_rules):
    """[(rule entry, why an earlier line makes it dead)] for the rules flagged in numbered_rules
    ((line, entry, flagged) in table order); earlier_tables ([(path, entries)]) are read first."""
    earlier = EarlierRules()
    for earlier_path, entries in earlier_tables:
        for entry in entries:
            if entry.kind == 'rule':
                earlier.add(earlier_path, entry.last_line, entry_key(entry))
    shadowed = []
    for line, entry, flagged in numbered_rules:
        key = entry_key(entry)
        message = earlier.shadow_message(key, path) if flagged else None
        if message:
            shadowed.append((entry, message))
        earlier.add(path, line, key)
    return shadowed


def policy_problems(allow_path, allow_entries, deny_path, deny_entries, env):
    earlier = EarlierRules()
    problems = table_problems('allow', allow_path, allow_entries, env, earlier)
    problems.extend(table_problems('deny', deny_path, deny_entries, env, earlier))
    if earlier.first_catch_all is None:
        problems.append(_problem(deny_path, None, 'info', 'no "ALL : ALL" rule in hosts.deny: connections no rule '
                                                          'matches are granted (the policy fails open)'))
    return problems
