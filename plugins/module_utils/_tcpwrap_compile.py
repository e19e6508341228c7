# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""A TCP wrappers policy for one daemon, compiled into systemd's IPAddressAllow=/IPAddressDeny=.

compile_policy() walks hosts.allow then hosts.deny as libwrap does (first match decides,
EXCEPT, no match grants) and keeps, per rule, the client addresses no earlier rule decided.
Only patterns that name addresses compile; a rule that needs a host name, a user, a netgroup,
a file or a command to decide is refused with its file and line, never dropped or widened.
The result grants exactly the addresses the policy grants: IPAddressDeny=any plus the
granted networks in IPAddressAllow=, which systemd checks first.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import ipaddress

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    TcpwrapError,
    fold,
    option_fields,
    scan_table,
    split_at,
    split_option,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import read_if_exists
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import (
    Host,
    Matcher,
    port_pattern,
    process_options,
    string_match,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_rules import check_pattern

ALLOW_PATH = '/etc/hosts.allow'
DENY_PATH = '/etc/hosts.deny'
FAMILY_BITS = {4: 32, 6: 128}
# Options whose only effect is a verdict or a log level: nothing is lost at kernel level.
VERDICT_OPTIONS = ('allow', 'deny', 'severity')
# Options whose outcome is decided by running something when the connection comes.
RUNTIME_OPTIONS = {
    'twist': 'hands the connection to a shell command, which no kernel filter can do',
    'aclexec': 'runs a command whose exit status decides access at connection time',
}
# Client patterns that need the client's host name or a lookup, by their folded text.
NAME_PATTERNS = {
    'local': 'LOCAL matches host names without a dot',
    'known': 'KNOWN depends on name resolution',
    'unknown': 'UNKNOWN depends on name resolution',
    'paranoid': 'PARANOID depends on name resolution',
}


class AddressSet:
    """A set of IPv4 and IPv6 addresses as sorted, disjoint, inclusive integer ranges."""

    def __init__(self, ranges=None):
        self.ranges = {4: [], 6: []}
        for family, items in (ranges or {}).items():
            self.ranges[family] = _normalise(items)

    @classmethod
    def everything(cls):
        return cls({family: [(0, (1 << bits) - 1)] for family, bits in FAMILY_BITS.items()})

    @classmethod
    def network(cls, text):
        net = ipaddress.ip_network(text, strict=False)
        return cls({net.version: [(int(net.network_address), int(net.broadcast_address))]})

    def union(self, other):
        return AddressSet({family: self.ranges[family] + other.ranges[family] for family in FAMILY_BITS})

    def minus(self, other):
        return AddressSet({family: _subtract(self.ranges[family], other.ranges[family]) for family in FAMILY_BITS})

    def is_empty(self):
        return not any(self.ranges.values())

    def __eq__(self, other):
        return isinstance(other, AddressSet) and self.ranges == other.ranges

    def __contains__(self, address):
        ip = ipaddress.ip_address(address)
        value = int(ip)
        return any(low <= value <= high for low, high in self.ranges[ip.version])

    def networks(self):
        """The fewest CIDR networks covering exactly this set, IPv4 first."""
        result = []
        for family in (4, 6):
            make = ipaddress.IPv4Address if family == 4 else ipaddress.IPv6Address
            for low, high in self.ranges[family]:
                result.extend(ipaddress.summarize_address_range(make(low), make(high)))
        return result


def _normalise(ranges):
    merged = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _subtract(ranges, removed):
    result = []
    for low, high in ranges:
        for cut_low, cut_high in removed:
            if cut_high < low or cut_low > high:
                continue
            if cut_low > low:
                result.append((low, cut_low - 1))
            low = cut_high + 1
            if low > high:
                break
        if low <= high:
            result.append((low, high))
    return result


# ---------------------------------------------------------------------------
# Client patterns
# ---------------------------------------------------------------------------

def _where(path, line):
    return f'{path} line {line}'


def pattern_set(token, where):
    """The client addresses one pattern matches, or TcpwrapError naming the rule."""
    folded = fold(token)
    if folded == 'all':
        return AddressSet.everything()
    if folded in NAME_PATTERNS:
        raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: {NAME_PATTERNS[folded]}')
    if token.startswith('@'):
        raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" is a NIS netgroup')
    if token.startswith('/'):
        raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" reads its patterns from a file '
                           'at connection time')
    if split_at(token[1:], '@')[1] is not None:
        raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" needs the client\'s user name')
    try:
        check_pattern(token, f'client pattern "{token}"')
    except TcpwrapError as exc:
        raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: {exc}') from None
    net, mask = split_at(token, '/')
    if net.startswith('[') and net.endswith(']'):
        return AddressSet.network(f'{net[1:-1]}/{128 if mask is None else mask}')
    if mask is not None:
        return AddressSet.network(f'{net}/{mask}')
    if token and all(char in '0123456789.' for char in token):
        if token.endswith('.'):
            octets = token[:-1].split('.')
            return AddressSet.network('.'.join(octets + ['0'] * (4 - len(octets))) + f'/{8 * len(octets)}')
        return AddressSet.network(f'{token}/32')
    kind = 'a domain' if token.startswith('.') else 'a host name pattern'
    raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" is {kind}; only addresses, '
                       'a.b. prefixes, n/m masks, /len, [v6]/len and ALL can be')


def list_set(tokens, where):
    """Addresses a client list matches, as libwrap's list_match() reads EXCEPT: A EXCEPT rest."""
    head = []
    for index, token in enumerate(tokens):
        if fold(token) == 'except':
            return _union(head, where).minus(list_set(tokens[index + 1:], where))
        head.append(token)
    return _union(head, where)


def _union(tokens, where):
    result = AddressSet()
    for token in tokens:
        result = result.union(pattern_set(token, where))
    return result


# ---------------------------------------------------------------------------
# The policy
# ---------------------------------------------------------------------------

class CompiledFilter:
    """What the policy grants one daemon; rules names every rule that decided some address."""

    def __init__(self, daemon, granted, rules, warnings):
        self.daemon = daemon
        self.granted = granted
        self.rules = rules
        self.warnings = warnings

    def allows(self, address):
        return address in self.granted

    def allow_list(self):
        """IPAddressAllow= words: "any" when everything is granted, else the networks."""
        if self.granted == AddressSet.everything():
            return ['any']
        return [str(net) for net in self.granted.networks()]

    def properties(self):
        """(name, value) settings in unit order; the allow list is checked first by systemd."""
        allow = self.allow_list()
        return ([('IPAddressAllow', ' '.join(allow))] if allow else []) + [('IPAddressDeny', 'any')]

    def as_dict(self):
        return {'daemon': self.daemon, 'ip_address_allow': self.allow_list(), 'ip_address_deny': ['any'],
                'rules': self.rules, 'filter_warnings': self.warnings}


def _daemon_matches(entry, matcher, daemon, where):
    """Whether the rule's daemon list names this daemon; daemon@host forms and server ports are refused."""
    for token in entry.daemon_tokens:
        head, host = split_at(token[1:], '@')
        if port_pattern(token[0] + head) is not None:
            raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" is a server port to '
                               'Debian\'s libwrap, which the filter of one daemon cannot tell apart')
        if host is not None and fold(token) != 'except' and string_match(token[0] + head, daemon):
            raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: "{token}" depends on the server '
                               'address the client connected to')
    return matcher.daemons_match(entry.daemon_tokens)


def _rule_verdict(entry, table, where, env, warnings):
    """Whether a matching rule grants, as libwrap decides it; TcpwrapError when a command decides."""
    if entry.options is None:
        return table == 'allow'
    names = [fold(split_option(field)[0]) for field in option_fields(entry.options)]
    for name in names:
        if name in RUNTIME_OPTIONS:
            raise TcpwrapError(f'{where}: cannot be compiled into an IP filter: {name} {RUNTIME_OPTIONS[name]}')
    outcome = process_options(entry.options, env)
    if outcome.error:
        warnings.append(f'{where}: libwrap rejects the options ({outcome.error}), so the rule denies; the filter '
                        'denies too')
        return False
    if 'spawn' in names:
        warnings.append(f'{where}: its spawn command cannot run in a kernel filter; the filter keeps the verdict '
                        'but nothing is executed or logged')
    lost = sorted(set(name for name in names if name not in VERDICT_OPTIONS and name != 'spawn'))
    if lost:
        warnings.append(f"{where}: options {', '.join(lost)} take no effect in a kernel filter; the filter keeps "
                        'the verdict')
    granted = table == 'allow' if outcome.verdict is None else outcome.verdict
    return granted and not outcome.delegated


def compile_policy(tables, daemon, env=None):
    """Compile [('allow', path, entries), ('deny', path, entries)] for daemon; TcpwrapError if impossible."""
    env = env or Environment()
    matcher = Matcher(daemon, Host(), Host(), None, env)
    everything = AddressSet.everything()
    decided = AddressSet()
    granted = AddressSet()
    rules = []
    warnings = []
    for position, (table, path, entries) in enumerate(tables):
        for entry in entries:
            if decided == everything:
                break
            where = _where(path, entry.last_line)
            if entry.kind == 'broken':
                if table == 'deny' or position > 0:
                    # libwrap fails closed here: everything not decided yet is denied.
                    warnings.append(f'{where}: {entry.problem}; the filter denies every client not granted before')
                    rules.append(where)
                    decided = everything
                break
            if entry.kind != 'rule' or not _daemon_matches(entry, matcher, daemon, where):
                continue
            matched = list_set(entry.client_tokens, where)
            fresh = matched.minus(decided)
            if fresh.is_empty():
                continue
            if _rule_verdict(entry, table, where, env, warnings):
                granted = granted.union(fresh)
            decided = decided.union(matched)
            rules.append(where)
    # No rule matched: libwrap grants.
    granted = granted.union(everything.minus(decided))
    return CompiledFilter(daemon, granted, rules, warnings)


def host_filter(daemon, allow_path=None, deny_path=None, env=None):
    """Compile the policy files of this host for daemon; a missing file reads as empty, as in libwrap."""
    tables = [(table, path, scan_table(read_if_exists(path) or b''))
              for table, path in (('allow', allow_path or ALLOW_PATH), ('deny', deny_path or DENY_PATH))]
    return compile_policy(tables, daemon, env)


def filter_settings(daemon, warn, result):
    """[(setting, [value])] of daemon's compiled policy for a unit; warnings go to warn, the filter to
    result['ip_filter']. A policy that cannot be compiled is a ServiceError naming tcpwrap_daemon."""
    try:
        compiled = host_filter(daemon)
    except TcpwrapError as exc:
        raise ServiceError(f'tcpwrap_daemon: {exc}') from None
    for warning in compiled.warnings:
        warn(warning)
    result['ip_filter'] = compiled.as_dict()
    return [(name, [value]) for name, value in compiled.properties()]
