# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: not a public API, it may change
# without notice.  Rules given by a user: validation (refuse anything libwrap
# would misread, naming the field), rendering, equality by meaning, and the
# edit of a table that keeps every line it did not write byte for byte.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    MAX_LINE_TEXT,
    OPTION_TABLE,
    WHITESPACE,
    TcpwrapError,
    option_value_error,
    fold,
    option_fields,
    process_options,
    scan_table,
    split_at,
    split_option,
    tokens_of,
)

POSITIONS = ('first', 'last', 'before', 'after')
_LIST_FIELDS = ('daemons', 'except_daemons', 'clients', 'except_clients')


def _is_ipv6(text):
    try:
        socket.inet_pton(socket.AF_INET6, text)
        return True
    except (OSError, ValueError):
        return False


def _strict_quad(text):
    """Dotted quad in plain decimal (libwrap's inet_addr() would read 010 as octal); int or None."""
    parts = text.split('.')
    if len(parts) != 4:
        return None
    value = 0
    for part in parts:
        if not part.isdigit() or (len(part) > 1 and part[0] == '0') or int(part) > 255:
            return None
        value = (value << 8) | int(part)
    return value


def _quad_text(value):
    return '.'.join(str((value >> shift) & 0xFF) for shift in (24, 16, 8, 0))


def _check_characters(text, field):
    for char, name in (('\n', 'a newline'), ('\r', 'a carriage return'), ('\0', 'a NUL byte'), ('\ufeff', 'a byte order mark')):
        if char in text:
            raise TcpwrapError('%s: contains %s, which libwrap would misread' % (field, name))


def _check_host_pattern(token, field):
    if token.startswith('@'):
        if len(token) == 1:
            raise TcpwrapError('%s: "@" needs a netgroup name' % field)
        return
    if token.startswith('/'):
        return
    net, mask = split_at(token, '/')
    if net.startswith('[') or net.endswith(']'):
        if not (net.startswith('[') and net.endswith(']') and _is_ipv6(net[1:-1])):
            raise TcpwrapError('%s: "%s" is not a valid bracketed IPv6 address' % (field, net))
        if mask is not None and not (mask.isdigit() and int(mask) <= 128 and str(int(mask)) == mask):
            raise TcpwrapError('%s: "/%s" is not a valid IPv6 prefix length (0-128)' % (field, mask))
        return
    if mask is not None:
        _check_net_mask(net, mask, field)
        return
    if token and all(char in '0123456789.' for char in token):
        if token.endswith('.'):
            parts = token[:-1].split('.')
            if len(parts) > 3 or _strict_quad('.'.join(parts + ['0'] * (4 - len(parts)))) is None:
                raise TcpwrapError('%s: "%s" is not a valid network prefix such as 192.168.' % (field, token))
        elif _strict_quad(token) is None:
            raise TcpwrapError('%s: "%s" is neither a complete IPv4 address nor a prefix ending in "." '
                               '(libwrap would never match it)' % (field, token))


def _check_net_mask(net, mask, field):
    net_value = _strict_quad(net)
    if net_value is None:
        raise TcpwrapError('%s: "%s" is not a valid IPv4 network address in n.n.n.n form' % (field, net))
    if '.' in mask:
        mask_value = _strict_quad(mask)
        inverted = None if mask_value is None else (~mask_value) & 0xFFFFFFFF
        if mask_value is None or mask_value == 0 or inverted & (inverted + 1):
            raise TcpwrapError('%s: "%s" is not a valid netmask (contiguous, 128.0.0.0 to 255.255.255.254)'
                               % (field, mask))
        if mask_value == 0xFFFFFFFF:
            raise TcpwrapError('%s: libwrap cannot read the mask 255.255.255.255; write the plain address %s'
                               % (field, net))
    else:
        if not (mask.isdigit() and str(int(mask)) == mask and 1 <= int(mask) <= 32):
            raise TcpwrapError('%s: "/%s" is not a valid prefix length (1-32)' % (field, mask))
        mask_value = (0xFFFFFFFF << (32 - int(mask))) & 0xFFFFFFFF
    if net_value & ~mask_value & 0xFFFFFFFF:
        raise TcpwrapError('%s: %s/%s has host bits set, so libwrap would never match it; the network is %s/%s'
                           % (field, net, mask, _quad_text(net_value & mask_value), mask))


def check_pattern(token, field, daemon=False):
    """Refuse a daemon or client pattern libwrap would misread; field names it."""
    if not isinstance(token, str) or token == '':
        raise TcpwrapError('%s: a pattern must be a non-empty string' % field)
    _check_characters(token, field)
    if fold(token) == 'except':
        raise TcpwrapError('%s: EXCEPT is not a pattern; list exceptions in %s' % (
            field, 'except_daemons' if daemon else 'except_clients'))
    for char in ' \t,':
        if char in token:
            raise TcpwrapError('%s: "%s" contains whitespace or a comma, which separate patterns; '
                               'give each pattern as its own list item' % (field, token))
    if '#' in token:
        raise TcpwrapError('%s: "%s" contains "#"; libwrap patterns cannot contain it' % (field, token))
    if '\\' in token:
        raise TcpwrapError('%s: "%s" contains a backslash; at the end of a line it joins the next line' % (field, token))
    if split_at(token, ':')[1] is not None or token.count('[') != token.count(']'):
        bare = token.split('@')[-1].split('/')[0]
        if _is_ipv6(bare):
            raise TcpwrapError('%s: IPv6 address "%s" must be bracketed, e.g. [%s]' % (field, bare, bare))
        raise TcpwrapError('%s: "%s" contains an unescaped ":", which ends the field in libwrap' % (field, token))
    head, host = split_at(token[1:], '@')
    if host is not None:
        if host == '':
            raise TcpwrapError('%s: "%s" has nothing after "@"' % (field, token))
        _check_host_pattern(host, field)
    elif not daemon:
        _check_host_pattern(token, field)


def check_option(text, field, env, is_last):
    """Refuse an option libwrap would reject (which denies access) and return (key, value)."""
    if not isinstance(text, str) or text.strip(WHITESPACE) == '':
        raise TcpwrapError('%s: an option must be a non-empty string' % field)
    _check_characters(text, field)
    if text.rstrip(WHITESPACE).endswith('\\'):
        raise TcpwrapError('%s: ends in a backslash, which would join the next line' % field)
    key, value = split_option(text)
    spec = OPTION_TABLE.get(fold(key))
    if spec is None:
        raise TcpwrapError('%s: unknown option "%s"; libwrap denies access on it ("bad option name"). '
                           'To run a shell command use "spawn <command>" (or the command parameter)' % (field, key))
    needs, permits, last = spec
    if value is None and needs:
        raise TcpwrapError('%s: option "%s" requires a value' % (field, key))
    if value is not None and not permits:
        raise TcpwrapError('%s: option "%s" takes no value' % (field, key))
    if last and not is_last:
        raise TcpwrapError('%s: option "%s" must come last (libwrap denies access otherwise)' % (field, key))
    error = option_value_error(fold(key), value, env, [])
    if error:
        raise TcpwrapError('%s: %s' % (field, error))
    return fold(key), value


def _escape_option_value(value):
    return value.replace(':', '\\:')


def _groups(tokens):
    """Split tokens at EXCEPT into levels; each level's meaning is the set of its patterns."""
    levels = [[]]
    for token in tokens:
        if fold(token) == 'except':
            levels.append([])
        else:
            levels[-1].append(token if token[0] in '/@' else fold(token))
    return tuple(frozenset(level) for level in levels)


def _options_key(text):
    if text is None:
        return ()
    return tuple((fold(key), value) for key, value in (split_option(field) for field in option_fields(text)))


def entry_key(entry):
    """Meaning of an existing rule line, comparable with Rule.key."""
    return (_groups(tokens_of(entry.daemons)), _groups(tokens_of(entry.clients)), _options_key(entry.options))


def _label(field, name):
    return '%s.%s' % (field, name) if field else name


class Rule(object):
    """A rule as the user gives it: validated on creation.

    field prefixes every error message, e.g. "rules[3]"; empty for the module's top-level options.
    """

    def __init__(self, spec, field, env):
        self.field = field or 'rule'
        for name in _LIST_FIELDS:
            value = spec.get(name) or []
            if isinstance(value, str):
                value = [value]
            setattr(self, name, list(value))
            for index, token in enumerate(self.__dict__[name]):
                check_pattern(token, '%s[%d]' % (_label(field, name), index), daemon=name.endswith('daemons'))
        if not self.daemons:
            raise TcpwrapError('%s: at least one daemon pattern is required (ALL for every daemon)'
                               % _label(field, 'daemons'))
        if not self.clients:
            raise TcpwrapError('%s: at least one client pattern is required (ALL for every client)'
                               % _label(field, 'clients'))
        options = list(spec.get('options') or [])
        command = spec.get('command')
        if command is not None:
            if not isinstance(command, str) or command.strip(WHITESPACE) == '':
                raise TcpwrapError('%s: must be a non-empty shell command' % _label(field, 'command'))
            options.insert(0, 'spawn ' + command)
        self.options = []
        for index, text in enumerate(options):
            if command is not None and index == 0:
                label = _label(field, 'command')
            else:
                label = '%s[%d]' % (_label(field, 'options'), index - (1 if command is not None else 0))
            key, value = check_option(text, label, env, index == len(options) - 1)
            self.options.append((key, value))
        self.comment = spec.get('comment')
        if self.comment is not None:
            label = _label(field, 'comment')
            _check_characters(self.comment, label)
            if self.comment.rstrip(WHITESPACE).endswith('\\'):
                raise TcpwrapError('%s: ends in a backslash, which would join the rule to the comment' % label)
            if len(('# ' + self.comment).encode('utf-8')) > MAX_LINE_TEXT:
                raise TcpwrapError('%s: longer than the %d bytes libwrap reads per line' % (label, MAX_LINE_TEXT))
        self.state = spec.get('state') or 'present'
        self.replace = bool(spec.get('replace'))
        self.position = spec.get('position') or 'last'
        if self.position not in POSITIONS:
            raise TcpwrapError('%s: must be one of %s' % (_label(field, 'position'), ', '.join(POSITIONS)))
        self.anchor = None
        anchor = spec.get('anchor')
        if self.position in ('before', 'after'):
            if not anchor:
                raise TcpwrapError('%s: position %s needs the existing rule to place it by'
                                   % (_label(field, 'anchor'), self.position))
            self.anchor = anchor_key(anchor, _label(field, 'anchor'))
        self.anchor_field = _label(field, 'anchor')
        self.line = self._render_line()
        if len(self.line.encode('utf-8')) > MAX_LINE_TEXT:
            raise TcpwrapError('%s: the rule renders to %d bytes; libwrap reads at most %d bytes per line '
                               '(split it into several rules)' % (self.field, len(self.line.encode('utf-8')), MAX_LINE_TEXT))

    def _render_line(self):
        daemons = ', '.join(self.daemons)
        if self.except_daemons:
            daemons += ' EXCEPT ' + ', '.join(self.except_daemons)
        clients = ', '.join(self.clients)
        if self.except_clients:
            clients += ' EXCEPT ' + ', '.join(self.except_clients)
        parts = [daemons, clients]
        for key, value in self.options:
            parts.append(key if value is None else '%s %s' % (key, _escape_option_value(value)))
        return ' : '.join(parts)

    def render(self):
        text = self.line + '\n'
        if self.comment:
            text = '# %s\n%s' % (self.comment, text)
        return text.encode('utf-8')

    @property
    def key(self):
        daemons = _groups(self.daemons + (['EXCEPT'] + self.except_daemons if self.except_daemons else []))
        clients = _groups(self.clients + (['EXCEPT'] + self.except_clients if self.except_clients else []))
        return (daemons, clients, tuple(self.options))


def anchor_key(text, field):
    _check_characters(text, field)
    entries = scan_table(text.encode('utf-8') + b'\n')
    if len(entries) != 1 or entries[0].kind != 'rule':
        raise TcpwrapError('%s: "%s" is not a rule line such as "ALL : ALL"' % (field, text))
    return entry_key(entries[0])


class TableEdit(object):
    """Apply rules to a table's bytes; lines not written by us stay byte for byte."""

    def __init__(self, data, path):
        self.path = path
        self.before = data
        self.entries = scan_table(data)
        self.keys = [entry_key(e) if e.kind == 'rule' else None for e in self.entries]
        self.added = []
        self.removed = []

    def hazards(self):
        return [(e.first_line, e.problem) for e in self.entries if e.problem]

    def _indices(self, key):
        return [index for index, value in enumerate(self.keys) if value == key]

    def _rule_indices(self):
        return [index for index, entry in enumerate(self.entries) if entry.kind == 'rule']

    def _remove(self, index):
        entry = self.entries.pop(index)
        self.keys.pop(index)
        self.removed.append(entry.text.rstrip('\n'))
        return entry

    def _comment_above(self, index, comment):
        if comment and index > 0:
            above = self.entries[index - 1]
            if above.kind == 'comment' and above.raw == ('# %s\n' % comment).encode('utf-8'):
                return index - 1
        return None

    def apply(self, rule):
        """Make the table hold (or not hold) the rule; True when something changed."""
        present = self._indices(rule.key)
        if rule.state == 'absent':
            for index in reversed(present):
                comment = self._comment_above(index, rule.comment)
                self._remove(index)
                if comment is not None:
                    self.entries.pop(comment)
                    self.keys.pop(comment)
            return bool(present)
        stale = [index for index, key in enumerate(self.keys)
                 if rule.replace and key is not None and key[:2] == rule.key[:2] and key != rule.key]
        if present and not stale and self._placed(rule, present[0]):
            return False
        self._refuse_broken(rule)
        for index in reversed(sorted(set(present + stale))):
            comment = self._comment_above(index, rule.comment)
            self._remove(index)
            if comment is not None:
                self.entries.pop(comment)
                self.keys.pop(comment)
        new_entries = scan_table(rule.render())
        where = self._insert_at(rule)
        self.entries[where:where] = new_entries
        self.keys[where:where] = [entry_key(e) if e.kind == 'rule' else None for e in new_entries]
        self.added.append(rule.line)
        return True

    def _placed(self, rule, index):
        rules = self._rule_indices()
        if rule.position == 'first':
            return index == rules[0]
        if rule.position in ('before', 'after'):
            anchors = self._indices(rule.anchor)
            if not anchors:
                return False
            return index < anchors[0] if rule.position == 'before' else index > anchors[0]
        return True

    def _insert_at(self, rule):
        if rule.position == 'last':
            return len(self.entries)
        if rule.position == 'first':
            rules = self._rule_indices()
            return rules[0] if rules else len(self.entries)
        anchors = self._indices(rule.anchor)
        if not anchors:
            raise TcpwrapError('%s: no rule equal to the anchor exists in %s' % (rule.anchor_field, self.path))
        index = anchors[0]
        if rule.position == 'before':
            comment = self._comment_above(index, None)
            return index if comment is None else comment
        return index + 1

    def _refuse_broken(self, rule):
        for entry in self.entries:
            if entry.kind in ('broken', 'ignored'):
                raise TcpwrapError('%s: cannot add a rule to %s: line %d: %s. Fix that line first; '
                                   'the file was left unchanged' % (rule.field, self.path, entry.first_line, entry.problem))

    def render(self):
        return b''.join(entry.raw for entry in self.entries)

    def verify(self, rules):
        """Read back what we would write: every added rule must parse to the same meaning."""
        data = self.render()
        keys = [entry_key(e) for e in scan_table(data) if e.kind == 'rule']
        for rule in rules:
            if rule.state == 'present' and rule.key not in keys:
                raise TcpwrapError('%s: internal check failed: the rendered rule "%s" does not read back the same'
                                   % (rule.field, rule.line))
        return data


# ---------------------------------------------------------------------------
# Problems in existing tables (what tcpdchk reports, plus hazards)
# ---------------------------------------------------------------------------

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


def _shadow_message(key, line, earlier, path):
    for earlier_path, earlier_line, earlier_key in earlier:
        where = 'line %d' % earlier_line if earlier_path == path else '%s line %d' % (earlier_path, earlier_line)
        if earlier_key == key:
            return 'dead rule: same meaning as %s, which matches first' % where
        if _is_catch_all(earlier_key):
            return 'dead rule: "ALL : ALL" on %s matches first' % where
        if _covers(earlier_key, key):
            return 'dead rule: %s matches every request this rule matches, and first' % where
    return None


def table_problems(table, path, entries, env, earlier):
    """Problems of one table; earlier lists (path, line, key) of every rule read before it."""
    problems = []
    for entry in entries:
        if entry.problem:
            severity = 'error' if entry.kind in ('broken', 'ignored') else 'warning'
            problems.append(_problem(path, entry.first_line, severity, entry.problem))
        if entry.kind != 'rule':
            continue
        line = entry.last_line
        if entry.text.startswith('\ufeff') or entry.raw.startswith(b'\xef\xbb\xbf'):
            problems.append(_problem(path, line, 'warning',
                                     'byte order mark: libwrap reads it as part of the first daemon pattern'))
        if '\r' in entry.text:
            problems.append(_problem(path, line, 'warning', 'carriage return (DOS line ending) in the rule'))
        for name, text, daemon in (('daemon', entry.daemons, True), ('client', entry.clients, False)):
            for token in tokens_of(text):
                if fold(token) == 'except':
                    continue
                try:
                    check_pattern(token, '%s pattern "%s"' % (name, token), daemon=daemon)
                except TcpwrapError as exc:
                    problems.append(_problem(path, line, 'warning', str(exc)))
        if entry.options is not None:
            outcome = process_options(entry.options, env)
            if outcome.error:
                consequence = ('denies the clients it is meant to allow' if table == 'allow'
                               else 'still denies, but nothing in its options runs')
                problems.append(_problem(path, line, 'error',
                                         'libwrap rejects this rule\'s options (%s): the rule %s. '
                                         'A shell command must be written as "spawn <command>"'
                                         % (outcome.error, consequence)))
        key = entry_key(entry)
        message = _shadow_message(key, line, earlier, path)
        if message:
            problems.append(_problem(path, line, 'warning', message))
        earlier.append((path, line, key))
    return problems


def policy_problems(allow_path, allow_entries, deny_path, deny_entries, env):
    earlier = []
    problems = table_problems('allow', allow_path, allow_entries, env, earlier)
    problems.extend(table_problems('deny', deny_path, deny_entries, env, earlier))
    if not any(_is_catch_all(key) for _path, _line, key in earlier):
        problems.append(_problem(deny_path, None, 'info', 'no "ALL : ALL" rule in hosts.deny: connections no rule '
                                                          'matches are granted (the policy fails open)'))
    return problems
