# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Rules given by a user, and the edit of a table that holds them.

check_pattern()/check_option() refuse anything libwrap would misread, naming the field; Rule
validates and renders one rule; TableEdit places rules by meaning, keeps every line it did
not write byte for byte, and reads its result back before anything is written.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import socket

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    MAX_LINE_TEXT,
    OPTION_TABLE,
    WHITESPACE,
    TcpwrapError,
    fold,
    option_fields,
    option_value_error,
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
    for char, name in (('\n', 'a newline'), ('\r', 'a carriage return'), ('\0', 'a NUL byte'), ('\ufeff', 'a byte order mark'),
                       ('\v', 'a vertical tab'), ('\f', 'a form feed')):
        if char in text:
            raise TcpwrapError(f'{field}: contains {name}, which libwrap would misread')


def _check_host_pattern(token, field):
    if token.startswith('@'):
        if len(token) == 1:
            raise TcpwrapError(f'{field}: "@" needs a netgroup name')
        return
    if token.startswith('/'):
        return
    net, mask = split_at(token, '/')
    address, percent, _scope = net[1:-1].partition('%')
    if percent and net.startswith('[') and net.endswith(']') and _is_ipv6(address):
        raise TcpwrapError(f'{field}: "{net}" has a scope id, which libwrap does not compare: it matches {address} '
                           f'from any interface (or nothing, when glibc rejects the scope); write [{address}]')
    if net.startswith('[') or net.endswith(']'):
        if not (net.startswith('[') and net.endswith(']') and _is_ipv6(net[1:-1])):
            raise TcpwrapError(f'{field}: "{net}" is not a valid bracketed IPv6 address')
        if mask is not None and not (mask.isdigit() and int(mask) <= 128 and str(int(mask)) == mask):
            raise TcpwrapError(f'{field}: "/{mask}" is not a valid IPv6 prefix length (0-128)')
        return
    if mask is not None:
        _check_net_mask(net, mask, field)
        return
    if token and all(char in '0123456789.' for char in token):
        if token.endswith('.'):
            parts = token[:-1].split('.')
            if len(parts) > 3 or _strict_quad('.'.join(parts + ['0'] * (4 - len(parts)))) is None:
                raise TcpwrapError(f'{field}: "{token}" is not a valid network prefix such as 192.168.')
        elif _strict_quad(token) is None:
            raise TcpwrapError(f'{field}: "{token}" is neither a complete IPv4 address nor a prefix ending in "." '
                               '(libwrap would never match it)')


def _check_net_mask(net, mask, field):
    net_value = _strict_quad(net)
    if net_value is None:
        raise TcpwrapError(f'{field}: "{net}" is not a valid IPv4 network address in n.n.n.n form')
    if '.' in mask:
        mask_value = _strict_quad(mask)
        inverted = None if mask_value is None else (~mask_value) & 0xFFFFFFFF
        if mask_value is None or mask_value == 0 or inverted & (inverted + 1):
            raise TcpwrapError(f'{field}: "{mask}" is not a valid netmask (contiguous, 128.0.0.0 to 255.255.255.254)')
        if mask_value == 0xFFFFFFFF:
            raise TcpwrapError(f'{field}: libwrap cannot read the mask 255.255.255.255; write the plain address {net}')
    else:
        if not (mask.isdigit() and str(int(mask)) == mask and 1 <= int(mask) <= 32):
            raise TcpwrapError(f'{field}: "/{mask}" is not a valid prefix length (1-32)')
        mask_value = (0xFFFFFFFF << (32 - int(mask))) & 0xFFFFFFFF
    if net_value & ~mask_value & 0xFFFFFFFF:
        network = _quad_text(net_value & mask_value)
        raise TcpwrapError(f'{field}: {net}/{mask} has host bits set, so libwrap would never match it; '
                           f'the network is {network}/{mask}')


def check_pattern(token, field, daemon=False):
    """Refuse a daemon or client pattern libwrap would misread; field names it."""
    if not isinstance(token, str) or token == '':
        raise TcpwrapError(f'{field}: a pattern must be a non-empty string')
    _check_characters(token, field)
    if fold(token) == 'except':
        exceptions = 'except_daemons' if daemon else 'except_clients'
        raise TcpwrapError(f'{field}: EXCEPT is not a pattern; list exceptions in {exceptions}')
    for char in ' \t,':
        if char in token:
            raise TcpwrapError(f'{field}: "{token}" contains whitespace or a comma, which separate patterns; '
                               'give each pattern as its own list item')
    if '#' in token:
        raise TcpwrapError(f'{field}: "{token}" contains "#"; libwrap patterns cannot contain it')
    if '\\' in token:
        raise TcpwrapError(f'{field}: "{token}" contains a backslash; at the end of a line it joins the next line')
    if split_at(token, ':')[1] is not None or token.count('[') != token.count(']'):
        bare = token.split('@')[-1].split('/')[0]
        if _is_ipv6(bare):
            raise TcpwrapError(f'{field}: IPv6 address "{bare}" must be bracketed, e.g. [{bare}]')
        raise TcpwrapError(f'{field}: "{token}" contains an unescaped ":", which ends the field in libwrap')
    head, host = split_at(token[1:], '@')
    if host is not None:
        if host == '':
            raise TcpwrapError(f'{field}: "{token}" has nothing after "@"')
        _check_host_pattern(host, field)
    elif not daemon:
        _check_host_pattern(token, field)


def check_option(text, field, env, is_last):
    """Refuse an option libwrap would reject (which denies access) and return (key, value)."""
    if not isinstance(text, str) or text.strip(WHITESPACE) == '':
        raise TcpwrapError(f'{field}: an option must be a non-empty string')
    _check_characters(text, field)
    if text.rstrip(WHITESPACE).endswith('\\'):
        raise TcpwrapError(f'{field}: ends in a backslash, which would join the next line')
    key, value = split_option(text)
    spec = OPTION_TABLE.get(fold(key))
    if spec is None:
        raise TcpwrapError(f'{field}: unknown option "{key}"; libwrap denies access on it ("bad option name"). '
                           'To run a shell command use "spawn <command>" (or the command parameter)')
    if fold(key) in ('user', 'group'):
        raise TcpwrapError(f'{field}: option "{key}" is refused: daemons linked with Debian\'s libwrap ignore it (the '
                           'daemon and its spawn commands keep their own credentials, root under tcpd), and tcpdmatch '
                           'switches in its dry run and may deny. Run the service as an unprivileged user instead '
                           '(serversec.confine.jailed_service)')
    needs, permits, last = spec
    if value is None and needs:
        raise TcpwrapError(f'{field}: option "{key}" requires a value')
    if value is not None and not permits:
        raise TcpwrapError(f'{field}: option "{key}" takes no value')
    if last and not is_last:
        raise TcpwrapError(f'{field}: option "{key}" must come last (libwrap denies access otherwise)')
    error = option_value_error(fold(key), value, env, [])
    if error:
        raise TcpwrapError(f'{field}: {error}')
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
    return f'{field}.{name}' if field else name


class Rule:
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
                check_pattern(token, f'{_label(field, name)}[{index}]', daemon=name.endswith('daemons'))
        if not self.daemons:
            raise TcpwrapError(f"{_label(field, 'daemons')}: at least one daemon pattern is required (ALL for every daemon)")
        if not self.clients:
            raise TcpwrapError(f"{_label(field, 'clients')}: at least one client pattern is required (ALL for every client)")
        options = list(spec.get('options') or [])
        command = spec.get('command')
        if command is not None:
            if not isinstance(command, str) or command.strip(WHITESPACE) == '':
                raise TcpwrapError(f"{_label(field, 'command')}: must be a non-empty shell command")
            options.insert(0, 'spawn ' + command)
        self.options = []
        for index, text in enumerate(options):
            if command is not None and index == 0:
                label = _label(field, 'command')
            else:
                label = f"{_label(field, 'options')}[{index - (1 if command is not None else 0)}]"
            key, value = check_option(text, label, env, index == len(options) - 1)
            self.options.append((key, value))
        self.comment = spec.get('comment')
        if self.comment is not None:
            label = _label(field, 'comment')
            _check_characters(self.comment, label)
            if self.comment.rstrip(WHITESPACE).endswith('\\'):
                raise TcpwrapError(f'{label}: ends in a backslash, which would join the rule to the comment')
            if len(('# ' + self.comment).encode('utf-8')) > MAX_LINE_TEXT:
                raise TcpwrapError(f'{label}: longer than the {MAX_LINE_TEXT} bytes libwrap reads per line')
        self.state = spec.get('state') or 'present'
        self.replace = bool(spec.get('replace'))
        self.position = spec.get('position') or 'last'
        if self.position not in POSITIONS:
            raise TcpwrapError(f"{_label(field, 'position')}: must be one of {', '.join(POSITIONS)}")
        self.anchor = None
        anchor = spec.get('anchor')
        if self.position in ('before', 'after'):
            if not anchor:
                raise TcpwrapError(f"{_label(field, 'anchor')}: position {self.position} needs the existing rule to place it by")
            self.anchor = anchor_key(anchor, _label(field, 'anchor'))
        self.anchor_field = _label(field, 'anchor')
        self.line = self._render_line()
        self.key = self._meaning()
        if len(self.line.encode('utf-8')) > MAX_LINE_TEXT:
            raise TcpwrapError(f"{self.field}: the rule renders to {len(self.line.encode('utf-8'))} bytes; libwrap "
                               f'reads at most {MAX_LINE_TEXT} bytes per line (split it into several rules)')

    def _render_line(self):
        daemons = ', '.join(self.daemons)
        if self.except_daemons:
            daemons += ' EXCEPT ' + ', '.join(self.except_daemons)
        clients = ', '.join(self.clients)
        if self.except_clients:
            clients += ' EXCEPT ' + ', '.join(self.except_clients)
        parts = [daemons, clients]
        for key, value in self.options:
            parts.append(key if value is None else f'{key} {_escape_option_value(value)}')
        return ' : '.join(parts)

    def render(self):
        text = self.line + '\n'
        if self.comment:
            text = f'# {self.comment}\n{text}'
        return text.encode('utf-8')

    def _meaning(self):
        """(daemon levels, client levels, options): comparable with entry_key() of a table line."""
        daemons = _groups(self.daemons + (['EXCEPT'] + self.except_daemons if self.except_daemons else []))
        clients = _groups(self.clients + (['EXCEPT'] + self.except_clients if self.except_clients else []))
        return (daemons, clients, tuple(self.options))


def anchor_key(text, field):
    _check_characters(text, field)
    entries = scan_table(text.encode('utf-8') + b'\n')
    if len(entries) != 1 or entries[0].kind != 'rule':
        raise TcpwrapError(f'{field}: "{text}" is not a rule line such as "ALL : ALL"')
    return entry_key(entries[0])


class TableEdit:
    """Apply rules to a table's bytes; lines not written by us stay byte for byte.

    Rules are found through an index of their keys (and of their daemon and client lists, for
    replace), so applying N rules costs O(N) lookups instead of N scans of the table; a
    position is computed only when a rule's placement depends on it.
    """

    def __init__(self, data, path):
        self.path = path
        self.before = data
        self.entries = scan_table(data)
        self.added = []
        self.removed = []
        self.written = []       # the entries of the rules added, for the shadow check
        self._key = {}          # rule entry -> its key
        self._by_key = {}       # key -> rule entries with that meaning, in table order
        self._by_lists = {}     # (daemons, clients) -> rule entries, in table order
        for entry in self.entries:
            self._index(entry)
        # Only scan_table() makes broken or ignored entries, and never from a rendered rule.
        self._broken = next((e for e in self.entries if e.kind in ('broken', 'ignored')), None)

    def hazards(self):
        return [(e.first_line, e.problem) for e in self.entries if e.problem]

    def _index(self, entry):
        if entry.kind != 'rule':
            return
        key = entry_key(entry)
        self._key[entry] = key
        self._by_key.setdefault(key, []).append(entry)
        self._by_lists.setdefault(key[:2], []).append(entry)

    def _position(self, entry):
        return self.entries.index(entry)

    def _first_rule_position(self):
        return next((index for index, entry in enumerate(self.entries) if entry.kind == 'rule'), None)

    def _remove(self, entry, comment):
        """Remove a rule entry and the comment above it when that comment is comment's line."""
        index = self._position(entry)
        above = self._comment_above(index, comment)
        self.entries.pop(index)
        key = self._key.pop(entry)
        self._by_key[key].remove(entry)
        self._by_lists[key[:2]].remove(entry)
        self.removed.append(entry.text.rstrip('\n'))
        if above is not None:
            self.entries.pop(above)

    def _comment_above(self, index, comment):
        if comment and index > 0:
            above = self.entries[index - 1]
            if above.kind == 'comment' and above.raw == (f'# {comment}\n').encode('utf-8'):
                return index - 1
        return None

    def apply(self, rule):
        """Make the table hold (or not hold) the rule; True when something changed."""
        key = rule.key
        present = list(self._by_key.get(key, ()))
        if rule.state == 'absent':
            for entry in reversed(present):
                self._remove(entry, rule.comment)
            return bool(present)
        stale = []
        if rule.replace:
            stale = [e for e in self._by_lists.get(key[:2], ()) if self._key[e] != key]
        if present and not stale and self._placed(rule, present[0]):
            return False
        self._refuse_broken(rule)
        doomed = sorted(present + stale, key=self._position)
        for entry in reversed(doomed):
            self._remove(entry, rule.comment)
        new_entries = scan_table(rule.render())
        where = self._insert_at(rule)
        self.entries[where:where] = new_entries
        # The anchor of a later rule is found as the first rule with its key: keep table order.
        for entry in new_entries:
            self._index(entry)
        self.written.extend(entry for entry in new_entries if entry.kind == 'rule')
        self.added.append(rule.line)
        return True

    def _anchor(self, rule):
        """Position of the first rule equal to the anchor, or None."""
        anchors = self._by_key.get(rule.anchor)
        return self._position(anchors[0]) if anchors else None

    def _placed(self, rule, entry):
        if rule.position == 'first':
            return self._position(entry) == self._first_rule_position()
        if rule.position in ('before', 'after'):
            anchor = self._anchor(rule)
            if anchor is None:
                return False
            index = self._position(entry)
            return index < anchor if rule.position == 'before' else index > anchor
        return True

    def _insert_at(self, rule):
        if rule.position == 'last':
            return len(self.entries)
        if rule.position == 'first':
            first = self._first_rule_position()
            return len(self.entries) if first is None else first
        index = self._anchor(rule)
        if index is None:
            raise TcpwrapError(f'{rule.anchor_field}: no rule equal to the anchor exists in {self.path}')
        return index if rule.position == 'before' else index + 1

    def _refuse_broken(self, rule):
        if self._broken is not None:
            raise TcpwrapError(f'{rule.field}: cannot add a rule to {self.path}: line {self._broken.first_line}: '
                               f'{self._broken.problem}. Fix that line first; the file was left unchanged')

    def render(self):
        return b''.join(entry.raw for entry in self.entries)

    def numbered_rules(self):
        """(last line, entry, written by this edit) for each rule of the edited table, in order."""
        written = set(map(id, self.written))
        line = 0
        numbered = []
        for entry in self.entries:
            line += entry.raw.count(b'\n') + (not entry.raw.endswith(b'\n'))
            if entry.kind == 'rule':
                numbered.append((line, entry, id(entry) in written))
        return numbered

    def verify(self, rules):
        """Read back what we would write: every added rule must parse to the same meaning."""
        data = self.render()
        keys = {entry_key(e) for e in scan_table(data) if e.kind == 'rule'}
        for rule in rules:
            if rule.state == 'present' and rule.key not in keys:
                raise TcpwrapError(f'{rule.field}: internal check failed: the rendered rule "{rule.line}" does not read back the same')
        return data
