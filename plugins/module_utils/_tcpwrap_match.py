# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Deciding access exactly like Debian's libwrap 7.6.q (hosts_access.c and options.c).

evaluate() reads hosts.allow first, then hosts.deny; the first matching rule decides and no
match grants. Options are run in dry-run mode (_tcpwrap_options): nothing is executed.
Host-dependent lookups come from an Environment (_tcpwrap_host).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import re
import socket

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    c_atoi,
    cached,
    fold,
    place,
    scan_unsigned,
    split_at,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_options import process_options

UNKNOWN = 'unknown'
PARANOID = 'paranoid'


class Host:
    """Client or server endpoint as libwrap sees it (strings, 'unknown' if not known; the port
    an int, None if not known)."""

    def __init__(self, address=None, name=None, port=None):
        self.address = canonical_address(address) if address else UNKNOWN
        self.name = name or UNKNOWN
        self.port = port


@cached
def canonical_address(address):
    """The text libwrap gets from inet_ntop() for an address; a %scope is dropped, as libwrap
    compares IPv6 addresses without it."""
    if ':' in address:
        address = address.partition('%')[0]
        try:
            return socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, address))
        except (OSError, ValueError):
            return address
    return address


@cached
def port_pattern(token):
    """The server port a daemon pattern names, or None when it names a process."""
    port = scan_unsigned(token)
    return port if port is not None and port <= 0xFFFF else None


@cached
def hostname_known(name):
    folded = fold(name)
    return folded != UNKNOWN and folded != PARANOID


@cached
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
        # a bare 0x is no number to libwrap's inet_addr(): the pattern never matches
        if not digits or not all(c in '0123456789abcdefABCDEF' for c in digits):
            return None
        return int(digits, 16)
    if part.startswith('0'):
        return int(part, 8) if all(c in '01234567' for c in part) else None
    return int(part) if part.isdigit() else None


@cached
def dot_quad_addr(text):
    """libwrap dot_quad_addr(): 4 runs of non-dots, then inet_addr(); 255.255.255.255 fails."""
    runs = [run for run in text.split('.') if run]
    if len(runs) != 4:
        return None
    value = inet_aton(text)
    if value == 0xFFFFFFFF:
        return None
    return value


@cached
def cidr_mask(text):
    bits = c_atoi(text)
    if bits < 1 or bits > 32:
        return None
    return (0xFFFFFFFF << (32 - bits)) & 0xFFFFFFFF


@cached
def _wildcard_regex(pattern):
    regex = ''.join('.*' if c == '*' else '.' if c == '?' else re.escape(c) for c in pattern)
    return re.compile('(?s)' + regex + r'\Z')


def has_wildcard(token):
    return '*' in token or '?' in token


def wildcard_match(string, pattern):
    """Debian's match_pattern_ylo(): '*' and '?' over the whole string (case folded)."""
    return _wildcard_regex(pattern).match(string) is not None


@cached
def ipv6_bytes(text):
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return None


_SCOPED_PREFIXES = (
    lambda raw: raw[0] == 0xFE and raw[1] & 0xC0 == 0x80,      # link-local unicast
    lambda raw: raw[0] == 0xFF and raw[1] & 0x0F in (1, 2),     # interface- or link-local multicast
)


def unscoped_pattern(text, env):
    """A bracketed IPv6 pattern "[address%scope]" as getaddrinfo() reads it: "[address]" when
    glibc accepts the scope, None when it refuses it (the pattern then never matches).

    glibc takes an interface name of this host for a link-local address, and for any address
    a decimal number up to 2**32-1; libwrap then compares the addresses without the scope.
    """
    address, _percent, scope = text[1:-1].partition('%')
    raw = ipv6_bytes(address)
    if raw is None:
        return None
    if any(test(raw) for test in _SCOPED_PREFIXES) and env.interface_index(scope):
        return f'[{address}]'
    if re.match(r'[0-9]+\Z', scope) and int(scope) <= 0xFFFFFFFF:
        return f'[{address}]'
    return None


@cached
def string_match(token, string):
    token_f, string_f = fold(token), fold(string)
    if string_f.startswith('::ffff:') and dot_quad_addr(string[7:]) is not None:
        string_f = string_f[7:]
        string = string[7:]
    if has_wildcard(token):
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
        pattern = ipv6_bytes(token[1:-1])
        candidate = ipv6_bytes(string)
        return pattern is not None and candidate is not None and pattern == candidate
    return token_f == string_f


def masked_match(net_token, mask_token, string):
    return _masked_match4(net_token, mask_token, dot_quad_addr(string)) or _masked_match6(net_token, mask_token, string)


def _masked_match4(net_token, mask_token, address):
    """net/mask (dotted or a prefix length) against an IPv4 address as an int, or None."""
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
    address = ipv6_bytes(string)
    if address is None:
        return False
    if address[:12] == b'\0' * 10 + b'\xff\xff':
        return _masked_match4(net_token, mask_token, int.from_bytes(address[12:], 'big'))
    if not (net_token.startswith('[') and net_token.endswith(']')):
        return False
    net6 = ipv6_bytes(net_token[1:-1])
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


class Matcher:
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
        key = (tokens, self.daemon, self.server.address, self.server.name, self.server.port)
        if key not in cache:
            cache[key] = self.list_match(tokens, self.server_match)
        return cache[key]

    def server_match(self, token):
        head, host = split_at(token[1:], '@')
        if host is None:
            return self.daemon_match(token)
        return self.daemon_match(token[0] + head) and self.host_match(host, self.server)

    def daemon_match(self, token):
        """Debian's libwrap reads a number (sscanf "%u%c", up to 65535) as the server port."""
        port = port_pattern(token)
        if port is not None:
            return port == self.server.port
        return string_match(token, self.daemon)

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
        if '%' in net and net.startswith('[') and net.endswith(']') and (mask is not None or not has_wildcard(token)):
            net = unscoped_pattern(net, self.env)
            if net is None:
                return False
            token = net if mask is None else f'{net}/{mask}'
        if mask is not None:
            return masked_match(net, mask, host.address)
        return string_match(token, host.address) or (not_inaddr(token) and string_match(token, host.name))


def rule_verdict(entry, table, path, table_verdict, env):
    """The Verdict of a rule that matched: its table's, unless its options decide or fail."""
    where = place(path, entry.last_line)
    if entry.options is None:
        return Verdict(table_verdict, table, path, entry.last_line, reason=f'matched {where}')
    outcome = process_options(entry.options, env)
    if outcome.error:
        return Verdict(False, table, path, entry.last_line, outcome.delegated,
                       f'denied by libwrap: {outcome.error} ({where})', outcome.notes)
    granted = table_verdict if outcome.verdict is None else outcome.verdict
    reason = f'matched {where}'
    if outcome.runtime:
        reason += '; at connection time its aclexec command decides'
    return Verdict(granted, table, path, entry.last_line, outcome.delegated, reason, outcome.notes)


# ---------------------------------------------------------------------------
# Evaluation (hosts_access())
# ---------------------------------------------------------------------------

class Verdict:
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
             server_address=None, server_hostname=None, env=None, server_port=None):
    """tables: [('allow', path, entries), ('deny', path, entries)] in that order."""
    env = env or Environment()
    server = Host(server_address, server_hostname, server_port)
    matcher = Matcher(daemon, Host(address, hostname), server, user, env)
    for position, (table, path, entries) in enumerate(tables):
        for entry in entries:
            if entry.kind == 'broken':
                # table_match() returns ERR: hosts_access() wants YES from
                # hosts.allow and NO from hosts.deny, so an error denies there.
                if table == 'deny' or position > 0:
                    return Verdict(False, table, path, entry.last_line,
                                   reason=f'denied by libwrap: {entry.problem} ({place(path, entry.last_line)})')
                break
            if entry.kind != 'rule' or not rule_matches(entry, matcher):
                continue
            return rule_verdict(entry, table, path, position == 0, env)
    return Verdict(True, reason='no rule matched: access granted')
