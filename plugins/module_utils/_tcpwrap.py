# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: not a public API, it may change
# without notice.  Pure logic for hosts_access(5) / hosts_options(5) tables:
#  * scan_table()  reads a table the way libwrap's xgets()/table_match() does
#    and keeps every byte, so unmanaged lines survive an edit untouched;
#  * Rule          a rule given by a user, validated and rendered so that
#    libwrap reads exactly what was meant;
#  * evaluate()    decides access exactly like Debian's libwrap 7.6.q
#    (hosts.allow first, then hosts.deny, first match wins, no match grants).
# Nothing here touches AnsibleModule; modules wrap it.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket
from functools import lru_cache

# libwrap reads a logical line into char[2048] with fgets(): 2046 bytes of
# text plus the newline fit, anything longer is "line too long".
BUFLEN = 2048
MAX_LINE_TEXT = BUFLEN - 2
LIST_SEPARATORS = ', \t\r\n'
WHITESPACE = ' \t\r\n'
UNKNOWN = 'unknown'
PARANOID = 'paranoid'

# hosts_options(5) keywords: (needs a value, accepts a value, must be last)
OPTION_TABLE = {
    'user': (True, True, False),
    'group': (True, True, False),
    'umask': (True, True, False),
    'linger': (True, True, False),
    'keepalive': (False, False, False),
    'spawn': (True, True, False),
    'twist': (True, True, True),
    'rfc931': (False, True, False),
    'setenv': (True, True, False),
    'nice': (False, True, False),
    'severity': (True, True, False),
    'allow': (False, False, True),
    'deny': (False, False, True),
    'banners': (True, True, False),
}
SYSLOG_FACILITIES = ('kern', 'user', 'mail', 'daemon', 'auth', 'lpr', 'news', 'uucp', 'cron',
                     'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7')
SYSLOG_LEVELS = ('emerg', 'alert', 'crit', 'err', 'warning', 'notice', 'info', 'debug')

_ASCII_FOLD = dict((c, c + 32) for c in range(ord('A'), ord('Z') + 1))
_INT_RE = re.compile(r'^[+-]?[0-9]+$')
_OCTAL_RE = re.compile(r'^[+-]?[0-7]+$')


class TcpwrapError(ValueError):
    """Input that libwrap would misread; the message names the field."""


def _cached(func):
    """Memoise a pure function of strings: evaluating 10,000 queries reuses every pattern."""
    return lru_cache(maxsize=65536)(func)


@_cached
def fold(text):
    """strcasecmp() semantics: ASCII letters only, as in the C locale."""
    return text.translate(_ASCII_FOLD)


# ---------------------------------------------------------------------------
# Reading a table
# ---------------------------------------------------------------------------

class Entry(object):
    """One logical line of a table with the exact bytes it came from.

    kind is one of: blank, comment, rule, malformed (libwrap skips it with a
    warning), broken (no newline: libwrap stops reading the file and treats
    it as an error, which denies access when it happens in hosts.deny),
    ignored (libwrap never reads it: it follows an over-long line).
    """

    def __init__(self, raw, first_line, last_line, kind, text=None, problem=None):
        self.raw = raw
        self.first_line = first_line
        self.last_line = last_line
        self.kind = kind
        self.text = text
        self.problem = problem
        self.daemons = self.clients = self.options = None
        self.daemon_tokens = self.client_tokens = ()
        if kind == 'rule':
            self.daemons, rest = split_at(text, ':')
            self.clients, self.options = split_at(rest, ':')
            self.daemon_tokens = tuple(tokens_of(self.daemons))
            self.client_tokens = tuple(tokens_of(self.clients))

    def __repr__(self):
        return 'Entry(%s, lines %d-%d, %r)' % (self.kind, self.first_line, self.last_line, self.raw)


@_cached
def split_at(text, delimiter):
    """libwrap split_at(): first delimiter outside [brackets]; (head, tail|None)."""
    if '[' not in text and ']' not in text:
        index = text.find(delimiter)
        return (text, None) if index < 0 else (text[:index], text[index + 1:])
    depth = 0
    for index, char in enumerate(text):
        if char == '[':
            depth += 1
        elif char == ']':
            depth -= 1
        elif depth == 0 and char == delimiter:
            return text[:index], text[index + 1:]
    return text, None


def _xgets(data, pos, line):
    """Model of libwrap xgets(): (logical bytes, new pos, new line, status).

    status: 'line' (ends in LF), 'eof' (text without LF at end of file),
    'overflow' (the 2048-byte buffer filled: libwrap reads no further),
    'end' (nothing left).
    """
    buf = bytearray()
    room = BUFLEN
    size = len(data)
    while True:
        if pos >= size:
            return bytes(buf), pos, line, ('eof' if buf else 'end')
        if room <= 1:
            return bytes(buf), pos, line, 'overflow'
        newline = data.find(b'\n', pos, pos + room - 1)
        end = newline + 1 if newline >= 0 else min(size, pos + room - 1)
        chunk = data[pos:end]
        pos = end
        nul = chunk.find(b'\0')
        got = chunk if nul < 0 else chunk[:nul]
        if got.endswith(b'\n'):
            line += 1
            if got.endswith(b'\\\n'):
                got = got[:-2]
            else:
                buf += got
                return bytes(buf), pos, line, 'line'
        buf += got
        room -= len(got)


def scan_table(data):
    """Split table bytes into Entry objects whose raw bytes concatenate to data."""
    entries = []
    pos = 0
    line = 0
    while pos < len(data):
        start, first = pos, line + 1
        logical, pos, line, status = _xgets(data, pos, line)
        raw = data[start:pos]
        text = logical.decode('latin-1')
        if status == 'overflow':
            # The rest of the over-long physical line belongs to this entry.
            newline = data.find(b'\n', pos)
            pos = len(data) if newline < 0 else newline + 1
            raw = data[start:pos]
            line += 1
            entries.append(Entry(raw, first, line, 'broken', text,
                                 'line too long (%d bytes or more): libwrap stops reading this file here '
                                 'and fails closed' % (BUFLEN - 1)))
            if pos < len(data):
                rest = data[pos:]
                entries.append(Entry(rest, line + 1, line + rest.count(b'\n') + (not rest.endswith(b'\n')),
                                     'ignored', None,
                                     'never read by libwrap: follows a line that is too long'))
            break
        if status == 'end':
            if raw:
                entries.append(Entry(raw, first, max(first, line), 'blank', text))
            break
        if status == 'eof':
            entries.append(Entry(raw, first, max(first, line), 'broken', text,
                                 'missing newline at end of file: libwrap ignores this line and fails closed'))
            break
        if b'\0' in raw:
            problem = 'NUL byte: libwrap truncates the line there and joins what follows'
        else:
            problem = None
        if text.startswith('#'):
            kind = 'comment'
        elif text.strip(WHITESPACE) == '':
            kind = 'blank'
        elif split_at(text, ':')[1] is None:
            kind, problem = 'malformed', problem or 'missing ":" separator: libwrap skips this line'
        else:
            kind = 'rule'
        entries.append(Entry(raw, first, line, kind, text, problem))
    return entries


# ---------------------------------------------------------------------------
# Matching (hosts_access.c)
# ---------------------------------------------------------------------------

class Host(object):
    """Client or server endpoint as libwrap sees it (strings, 'unknown' if not known)."""

    def __init__(self, address=None, name=None):
        self.address = canonical_address(address) if address else UNKNOWN
        self.name = name or UNKNOWN


@_cached
def canonical_address(address):
    """The text libwrap gets from inet_ntop() for an address."""
    if ':' in address:
        try:
            return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, address))
        except (OSError, ValueError):
            return address
    return address


@_cached
def hostname_known(name):
    folded = fold(name)
    return folded != UNKNOWN and folded != PARANOID


@_cached
def not_inaddr(token):
    """NOT_INADDR(): the token contains something besides digits, dots and slashes."""
    return any(char not in '0123456789./' for char in token)


def inet_aton(text):
    """glibc inet_aton() for the four-part form only (what dot_quad_addr() accepts); int or None."""
    parts = text.split('.')
    if len(parts) != 4 or any(part == '' for part in parts):
        return None
    value = 0
    for part in parts:
        number = _c_number(part)
        if number is None or number > 255:
            return None
        value = (value << 8) | number
    return value


def _c_number(part):
    if not part[0].isdigit():
        return None
    if part[:2].lower() == '0x':
        digits = part[2:]
        if digits and not all(c in '0123456789abcdefABCDEF' for c in digits):
            return None
        return int(digits, 16) if digits else 0
    if part.startswith('0'):
        return int(part, 8) if all(c in '01234567' for c in part) else None
    return int(part) if part.isdigit() else None


@_cached
def dot_quad_addr(text):
    """libwrap dot_quad_addr(): 4 runs of non-dots, then inet_addr(); 255.255.255.255 fails."""
    runs = [run for run in text.split('.') if run]
    if len(runs) != 4:
        return None
    value = inet_aton(text)
    if value == 0xFFFFFFFF:
        return None
    return value


def c_atoi(text):
    match = re.match(r'^[ \t\n\v\f\r]*([+-]?[0-9]+)', text)
    return int(match.group(1)) if match else 0


@_cached
def cidr_mask(text):
    bits = c_atoi(text)
    if bits < 1 or bits > 32:
        return None
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF


@_cached
def _wildcard_regex(pattern):
    regex = ''.join('.*' if c == '*' else '.' if c == '?' else re.escape(c) for c in pattern)
    return re.compile('(?s)' + regex + r'\Z')


def wildcard_match(string, pattern):
    """Debian's match_pattern_ylo(): '*' and '?' over the whole string (case folded)."""
    return _wildcard_regex(pattern).match(string) is not None


@_cached
def _ipv6_bytes(text):
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None


@_cached
def string_match(token, string):
    token_f, string_f = fold(token), fold(string)
    if string_f.startswith('::ffff:') and dot_quad_addr(string[7:]) is not None:
        string_f = string_f[7:]
        string = string[7:]
    if '*' in token or '?' in token:
        return wildcard_match(string_f, token_f)
    if token.startswith('.'):
        extra = len(string) - len(token)
        return extra > 0 and string_f[extra:] == token_f
    if token_f == 'all':
        return True
    if token_f == 'known':
        return string_f != UNKNOWN
    if token.endswith('.'):
        return string_f.startswith(token_f)
    if token.startswith('[') and token.endswith(']') and len(token) > 1:
        pattern = _ipv6_bytes(token[1:-1])
        candidate = _ipv6_bytes(string)
        return pattern is not None and candidate is not None and pattern == candidate
    return token_f == string_f


def masked_match(net_token, mask_token, string):
    return _masked_match4(net_token, mask_token, string) or _masked_match6(net_token, mask_token, string)


def _masked_match4(net_token, mask_token, string):
    address = dot_quad_addr(string)
    if address is None:
        return False
    net = dot_quad_addr(net_token)
    mask = dot_quad_addr(mask_token)
    if mask is None:
        mask = cidr_mask(mask_token)
    if net is None or mask is None:
        return False
    return (address & mask) == net


def _masked_match6(net_token, mask_token, string):
    address = _ipv6_bytes(string)
    if address is None:
        return False
    if address[:12] == b'\0' * 10 + b'\xff\xff':
        net = dot_quad_addr(net_token)
        mask = dot_quad_addr(mask_token)
        if mask is None:
            mask = cidr_mask(mask_token)
        if net is None or mask is None:
            return False
        return (int.from_bytes(address[12:], 'big') & mask) == net
    if not (net_token.startswith('[') and net_token.endswith(']')):
        return False
    net6 = _ipv6_bytes(net_token[1:-1])
    if net6 is None:
        return False
    bits = c_atoi(mask_token)
    if bits < 0 or bits > 128:
        return False
    full, rest = divmod(bits, 8)
    if address[:full] != net6[:full]:
        return False
    if rest == 0:
        return True
    mask = (0xFF << (8 - rest)) & 0xFF
    return (address[full] & mask) == (net6[full] & mask)


class Matcher(object):
    """Pattern matching against one request; env supplies host-dependent lookups."""

    def __init__(self, daemon, client, server, user, env):
        self.daemon = daemon or UNKNOWN
        self.client = client
        self.server = server
        self.user = user or UNKNOWN
        self.env = env

    def list_match(self, tokens, match_fn):
        for index, token in enumerate(tokens):
            if fold(token) == 'except':
                return False
            if match_fn(token):
                rest = tokens[index + 1:]
                folded = [fold(t) for t in rest]
                if 'except' not in folded:
                    return True
                return not self.list_match(rest[folded.index('except') + 1:], match_fn)
        return False

    def daemons_match(self, tokens):
        """Daemon lists do not depend on the client: decide each once per daemon and server."""
        cache = self.env.__dict__.setdefault('_daemon_matches', {})
        key = (tokens, self.daemon, self.server.address, self.server.name)
        if key not in cache:
            cache[key] = self.list_match(tokens, self.server_match)
        return cache[key]

    def server_match(self, token):
        head, host = split_at(token[1:], '@')
        if host is None:
            return string_match(token, self.daemon)
        return string_match(token[0] + head, self.daemon) and self.host_match(host, self.server)

    def client_match(self, token):
        head, host = split_at(token[1:], '@')
        if host is None:
            return self.host_match(token, self.client)
        return self.host_match(host, self.client) and string_match(token[0] + head, self.user)

    def host_match(self, token, host):
        if token.startswith('@'):
            return self.env.innetgr(token[1:], host.name)
        if token.startswith('/'):
            for word in self.env.host_file_words(token):
                if self.host_match(word, host):
                    return True
            return False
        folded = fold(token)
        if folded == 'known':
            return host.address != UNKNOWN and hostname_known(host.name)
        if folded == 'local':
            return '.' not in host.name and hostname_known(host.name)
        net, mask = split_at(token, '/')
        if mask is not None:
            return masked_match(net, mask, host.address)
        return string_match(token, host.address) or (not_inaddr(token) and string_match(token, host.name))


def tokens_of(text):
    return [t for t in re.split('[' + re.escape(LIST_SEPARATORS) + ']+', text or '') if t]


# ---------------------------------------------------------------------------
# Options (options.c)
# ---------------------------------------------------------------------------

def option_fields(text):
    """libwrap get_field(): split at ':' with '\\:' read as a literal ':'."""
    fields = []
    current = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == ':':
            fields.append(''.join(current))
            current = []
            index += 1
            if index >= len(text):
                return fields
            continue
        if char == '\\' and text[index + 1:index + 2] == ':':
            index += 1
            char = ':'
        current.append(char)
        index += 1
    if current or not fields:
        fields.append(''.join(current))
    return fields if text else []


def split_option(field):
    """(key, value|None) as process_options() separates them."""
    option = field.strip(WHITESPACE)
    cut = len(option)
    for index, char in enumerate(option):
        if char in '= \t\r\n':
            cut = index
            break
    key, value = option[:cut], option[cut:]
    if value and value[0] != '=':
        value = value[1:].lstrip(WHITESPACE)
    if value.startswith('='):
        value = value[1:].lstrip(WHITESPACE)
    return key, (value or None)


class OptionOutcome(object):
    def __init__(self, verdict=None, delegated=False, error=None, notes=None):
        self.verdict = verdict          # True (allow), False (deny), None: no decision
        self.delegated = delegated      # twist: the connection goes to a shell command
        self.error = error              # what made libwrap deny ("bad option name" ...)
        self.notes = notes or []


def process_options(text, env):
    """Run options like libwrap in dry-run mode; never executes anything."""
    notes = []
    fields = option_fields(text)
    delegated = False
    for position, field in enumerate(fields):
        key, value = split_option(field)
        is_last = position == len(fields) - 1
        if key == '':
            return OptionOutcome(False, delegated, 'missing option name', notes)
        spec = OPTION_TABLE.get(fold(key))
        if spec is None:
            return OptionOutcome(False, delegated, 'bad option name: "%s"' % key, notes)
        needs, permits, last = spec
        name = fold(key)
        if value is None and needs:
            return OptionOutcome(False, delegated, 'option "%s" requires value' % key, notes)
        if value is not None and not permits:
            return OptionOutcome(False, delegated, 'option "%s" requires no value' % key, notes)
        if not is_last and last:
            return OptionOutcome(False, delegated, 'option "%s" must be at end' % key, notes)
        error = option_value_error(name, value, env, notes)
        if error:
            return OptionOutcome(False, delegated, error, notes)
        if name == 'allow':
            return OptionOutcome(True, delegated, None, notes)
        if name == 'deny':
            return OptionOutcome(False, delegated, None, notes)
        if name == 'twist':
            delegated = True
    return OptionOutcome(None, delegated, None, notes)


def option_value_error(name, value, env, notes):
    if name == 'umask':
        if not _OCTAL_RE.match(value):
            return 'bad umask value: "%s"' % value
        mask = int(value, 8) & 0xFFFFFFFF
        if mask & 0o777 != mask:
            return 'bad umask value: "%s"' % value
    elif name in ('linger', 'nice') and value is not None and not _INT_RE.match(value):
        return 'bad %s value: "%s"' % (name, value)
    elif name == 'rfc931' and value is not None and (not _INT_RE.match(value) or int(value) <= 0):
        return 'bad rfc931 timeout: "%s"' % value
    elif name == 'severity':
        facility, level = split_at(value, '.')
        names = [(SYSLOG_LEVELS, value)] if level is None else [(SYSLOG_FACILITIES, facility), (SYSLOG_LEVELS, level)]
        for table, word in names:
            if fold(word) not in table:
                return 'bad syslog facility or severity: "%s"' % word
    elif name == 'user':
        user, group = split_at(value, '.')
        if not env.user_exists(user):
            return 'unknown user: "%s"' % user
        if group and not env.group_exists(group):
            return 'unknown group: "%s"' % group
        notes.append('the "user" option switches to %s: checked against this host\'s passwd only' % value)
    elif name == 'group' and not env.group_exists(value):
        return 'unknown group: "%s"' % value
    return None


# ---------------------------------------------------------------------------
# Evaluation (hosts_access())
# ---------------------------------------------------------------------------

class Environment(object):
    """Host-dependent lookups; the defaults read the local system."""

    def host_file_words(self, path):
        try:
            with open(path, 'rb') as handle:
                return handle.read().decode('latin-1').split()
        except (IOError, OSError):
            return []

    def innetgr(self, netgroup, hostname):
        # No portable netgroup lookup from Python: libwrap without NIS says no.
        return False

    def user_exists(self, name):
        import pwd
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def group_exists(self, name):
        import grp
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False


class Verdict(object):
    def __init__(self, granted, table=None, path=None, line=None, delegated=False, reason=None, notes=None):
        self.granted = granted
        self.table = table
        self.path = path
        self.line = line
        self.delegated = delegated
        self.reason = reason
        self.notes = notes or []

    @property
    def access(self):
        return 'granted' if self.granted and not self.delegated else 'denied'

    def as_dict(self):
        return {
            'access': self.access,
            'delegated': self.delegated,
            'table': self.table,
            'file': self.path,
            'line': self.line,
            'reason': self.reason,
            'notes': self.notes,
        }


def rule_matches(entry, matcher):
    return matcher.daemons_match(entry.daemon_tokens) and matcher.list_match(entry.client_tokens, matcher.client_match)


def evaluate(tables, daemon, address=None, hostname=None, user=None,
             server_address=None, server_hostname=None, env=None):
    """tables: [('allow', path, entries), ('deny', path, entries)] in that order."""
    env = env or Environment()
    matcher = Matcher(daemon, Host(address, hostname), Host(server_address, server_hostname), user, env)
    for position, (table, path, entries) in enumerate(tables):
        for entry in entries:
            if entry.kind == 'broken':
                # table_match() returns ERR: hosts_access() wants YES from
                # hosts.allow and NO from hosts.deny, so an error denies there.
                if table == 'deny' or position > 0:
                    return Verdict(False, table, path, entry.last_line,
                                   reason='denied by libwrap: %s (%s line %d)' % (entry.problem, path, entry.last_line))
                break
            if entry.kind != 'rule' or not rule_matches(entry, matcher):
                continue
            table_verdict = position == 0
            if entry.options is None:
                return Verdict(table_verdict, table, path, entry.last_line,
                               reason='matched %s line %d' % (path, entry.last_line))
            outcome = process_options(entry.options, env)
            if outcome.error:
                return Verdict(False, table, path, entry.last_line, outcome.delegated,
                               'denied by libwrap: %s (%s line %d)' % (outcome.error, path, entry.last_line),
                               outcome.notes)
            granted = table_verdict if outcome.verdict is None else outcome.verdict
            return Verdict(granted, table, path, entry.last_line, outcome.delegated,
                           'matched %s line %d' % (path, entry.last_line), outcome.notes)
    return Verdict(True, reason='no rule matched: access granted')
