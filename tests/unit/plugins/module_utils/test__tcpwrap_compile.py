# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compiling a hosts.allow/hosts.deny policy into IPAddressAllow=/IPAddressDeny=.

Golden filters for the guides' policies, exact refusals with file and line, and a generated
differential check: the rendered networks grant exactly the addresses the project's own
evaluator (tcpwrap_info's) grants.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import random

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError, scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import AddressSet, compile_policy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__tcpwrap_match import FakeEnv

ALLOW = '/etc/hosts.allow'
DENY = '/etc/hosts.deny'
LOG_ALL = 'ALL : ALL : spawn /bin/echo "%c tried to connect to %d" >> /var/log/tcpwrappers.log\n'


def tables(allow, deny):
    return [('allow', ALLOW, scan_table(allow.encode())), ('deny', DENY, scan_table(deny.encode()))]


def compiled(allow, deny, daemon):
    return compile_policy(tables(allow, deny), daemon, env=FakeEnv())


# ---------------------------------------------------------------- golden filters

GOLDEN = [
    # (hosts.allow, hosts.deny, daemon, IPAddressAllow words)
    ('in.telnetd : 192.168.\n', LOG_ALL, 'in.telnetd', ['192.168.0.0/16']),
    ('in.telnetd : 192.168.\n', LOG_ALL, 'sshd', []),
    ('', '', 'sshd', ['any']),
    ('', 'ALL : 10.0.0.0/8\n', 'sshd', ['0.0.0.0/5', '8.0.0.0/7', '11.0.0.0/8', '12.0.0.0/6', '16.0.0.0/4',
                                        '32.0.0.0/3', '64.0.0.0/2', '128.0.0.0/1', '::/0']),
    ('sshd : 10.0.0.0/255.0.0.0, [2001:db8::]/32, 127.0.0.1\n', 'ALL : ALL\n', 'sshd',
     ['10.0.0.0/8', '127.0.0.1/32', '2001:db8::/32']),
    # First match decides: the deny of 10.1. in hosts.allow comes before the grant of 10.
    ('sshd : 10.1. : deny\nsshd : 10.\n', 'ALL : ALL\n', 'sshd',
     ['10.0.0.0/16', '10.2.0.0/15', '10.4.0.0/14', '10.8.0.0/13', '10.16.0.0/12', '10.32.0.0/11', '10.64.0.0/10',
      '10.128.0.0/9']),
    # EXCEPT nests: 172.16.0.0/12 except 172.16.0.0/16 except 172.16.1.1.
    ('ALL EXCEPT vsftpd : 172.16.0.0/12 EXCEPT 172.16.0.0/16 EXCEPT 172.16.1.1\n', 'ALL : ALL\n', 'sshd',
     ['172.16.1.1/32', '172.17.0.0/16', '172.18.0.0/15', '172.20.0.0/14', '172.24.0.0/13']),
    ('ALL EXCEPT vsftpd : 10.0.0.1\n', 'ALL : ALL\n', 'vsftpd', []),
    ('sshd : [::1] [fe80::]/10\n', 'ALL : ALL\n', 'sshd', ['::1/128', 'fe80::/10']),
    # Options libwrap rejects deny, even in hosts.allow.
    ('sshd : 10.0.0.1 : nosuchoption\nsshd : 10.0.0.2 : severity auth.info : allow\n', 'ALL : ALL\n', 'sshd',
     ['10.0.0.2/32']),
    # A rule for another daemon, whatever patterns it uses, is irrelevant.
    ('vsftpd : .example.com LOCAL\nsshd : 10.0.0.1\n', 'ALL : ALL\n', 'sshd', ['10.0.0.1/32']),
    # Nothing after a complete decision is read: the LOCAL rule is never reached.
    ('sshd : ALL\nsshd : LOCAL\n', '', 'sshd', ['any']),
]


@pytest.mark.parametrize('allow, deny, daemon, expected', GOLDEN)
def test_golden_filters(allow, deny, daemon, expected):
    result = compiled(allow, deny, daemon)
    assert result.allow_list() == expected
    assert result.properties()[-1] == ('IPAddressDeny', 'any')
    assert result.properties()[:-1] == ([('IPAddressAllow', ' '.join(expected))] if expected else [])


def test_guides_policy_keeps_the_spawn_verdict_and_warns_naming_the_rule():
    result = compiled('in.telnetd : 192.168.\n', LOG_ALL, 'in.telnetd')
    assert result.as_dict() == {
        'daemon': 'in.telnetd',
        'ip_address_allow': ['192.168.0.0/16'],
        'ip_address_deny': ['any'],
        'rules': [f'{ALLOW} line 1', f'{DENY} line 1'],
        'filter_warnings': [f'{DENY} line 1: its spawn command cannot run in a kernel filter; the filter keeps the '
                            'verdict but nothing is executed or logged'],
    }


def test_options_without_kernel_meaning_are_named():
    result = compiled('sshd : 10.0.0.1 : banners /etc/banners : keepalive\n', 'ALL : ALL\n', 'sshd')
    assert result.allow_list() == ['10.0.0.1/32']
    assert result.warnings == [f'{ALLOW} line 1: options banners, keepalive take no effect in a kernel filter; '
                               'the filter keeps the verdict']


def test_broken_hosts_deny_fails_closed_like_libwrap():
    # No final newline: libwrap stops and denies whatever was not granted before.
    result = compiled('sshd : 10.0.0.1\n', 'vsftpd : ALL', 'sshd')
    assert result.allow_list() == ['10.0.0.1/32']
    assert result.warnings == [f'{DENY} line 1: missing newline at end of file: libwrap ignores this line and '
                               'fails closed; the filter denies every client not granted before']


# ---------------------------------------------------------------- refusals

NOT_COMPILED = 'cannot be compiled into an IP filter'
REFUSED = [
    ('sshd : LOCAL\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: LOCAL matches host names without a dot'),
    ('sshd : 10.0.0.1 KNOWN\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: KNOWN depends on name resolution'),
    ('sshd : ALL EXCEPT UNKNOWN\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: UNKNOWN depends on name resolution'),
    ('', 'sshd : PARANOID\n', f'{DENY} line 1: {NOT_COMPILED}: PARANOID depends on name resolution'),
    ('\nsshd : host.example.com\n', '', f'{ALLOW} line 2: {NOT_COMPILED}: "host.example.com" is a host name pattern; '
     'only addresses, a.b. prefixes, n/m masks, /len, [v6]/len and ALL can be'),
    ('sshd : .example.com\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: ".example.com" is a domain; only addresses, '
     'a.b. prefixes, n/m masks, /len, [v6]/len and ALL can be'),
    ('sshd : 192.168.*\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "192.168.*" is a host name pattern; only '
     'addresses, a.b. prefixes, n/m masks, /len, [v6]/len and ALL can be'),
    ('sshd : alice@10.0.0.1\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "alice@10.0.0.1" needs the client\'s user name'),
    ('sshd : @trusted\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "@trusted" is a NIS netgroup'),
    ('sshd : /etc/ssh.clients\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "/etc/ssh.clients" reads its patterns from '
     'a file at connection time'),
    ('', 'sshd : ALL : twist /bin/echo go away\n', f'{DENY} line 1: {NOT_COMPILED}: twist hands the connection to a '
     'shell command, which no kernel filter can do'),
    ('sshd : ALL : aclexec /usr/local/bin/check %a\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: aclexec runs a command '
     'whose exit status decides access at connection time'),
    ('ALL EXCEPT 22 : 10.0.0.0/8 : deny\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "22" is a server port to Debian\'s '
     'libwrap, which the filter of one daemon cannot tell apart'),
    ('', '022@ALL : ALL\n', f'{DENY} line 1: {NOT_COMPILED}: "022@ALL" is a server port to Debian\'s libwrap, which '
     'the filter of one daemon cannot tell apart'),
    ('sshd@192.0.2.1 : ALL\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: "sshd@192.0.2.1" depends on the server address '
     'the client connected to'),
    ('sshd : 10.0.0.1/8\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: client pattern "10.0.0.1/8": 10.0.0.1/8 has host '
     'bits set, so libwrap would never match it; the network is 10.0.0.0/8'),
    ('sshd : [fe80::1%lo]\n', '', f'{ALLOW} line 1: {NOT_COMPILED}: client pattern "[fe80::1%lo]": "[fe80::1%lo]" has '
     'a scope id, which libwrap does not compare: it matches fe80::1 from any interface (or nothing, when glibc '
     'rejects the scope); write [fe80::1]'),
]


@pytest.mark.parametrize('allow, deny, message', REFUSED)
def test_uncompilable_rules_are_refused_with_file_and_line(allow, deny, message):
    with pytest.raises(TcpwrapError) as excinfo:
        compiled(allow, deny, 'sshd')
    assert str(excinfo.value) == message


# ---------------------------------------------------------------- address sets

def test_address_set_operations():
    wide = AddressSet.network('10.0.0.0/8')
    hole = AddressSet.network('10.1.0.0/16').union(AddressSet.network('10.255.255.255/32'))
    rest = wide.minus(hole)
    assert '10.0.255.255' in rest and '10.1.0.0' not in rest and '10.2.0.0' in rest
    assert '10.255.255.254' in rest and '10.255.255.255' not in rest and '11.0.0.0' not in rest
    assert rest.union(hole) == wide
    assert AddressSet.everything().minus(AddressSet.everything()).is_empty()
    assert [str(n) for n in AddressSet.network('2001:db8::/127').networks()] == ['2001:db8::/127']


# ---------------------------------------------------------------- generated differential check

V4_PATTERNS = ['ALL', '10.', '10.1.', '10.1.2.', '10.1.2.3', '10.1.2.200', '10.1.0.0/16', '10.1.2.128/25',
               '10.0.0.0/255.0.0.0', '10.1.2.0/255.255.255.0', '192.168.', '192.168.0.0/17', '0.0.0.0/1',
               '127.0.0.1', '172.16.0.0/12']
V6_PATTERNS = ['[2001:db8::1]', '[2001:db8::]/32', '[2001:db8:1::]/48', '[::1]', '[::]/1', '[fe80::]/10',
               '[2001:db8::ff00]/120']
DAEMON_LISTS = ['sshd', 'ALL', 'in.telnetd', 'sshd, in.telnetd', 'ALL EXCEPT in.telnetd', 'ALL EXCEPT sshd',
                'SSHD', 'ssh*']
OPTIONS = [None, None, None, 'allow', 'deny', 'spawn /bin/true %c', 'severity auth.info', 'banners /etc/b',
           'nosuchoption', 'spawn /bin/true : deny']


def _client_list(rng):
    pool = V4_PATTERNS + V6_PATTERNS
    levels = [rng.sample(pool, rng.randint(1, 3)) for _level in range(rng.choice([1, 1, 2, 3]))]
    return ' EXCEPT '.join(', '.join(level) for level in levels)


def _table(rng):
    lines = []
    for _rule in range(rng.randint(0, 5)):
        fields = [rng.choice(DAEMON_LISTS), _client_list(rng)]
        option = rng.choice(OPTIONS)
        if option:
            fields.append(option)
        lines.append(' : '.join(fields) + '\n')
    return ''.join(lines)


def _addresses(rng):
    """Every edge of every network in the pool, and random addresses near them."""
    addresses = set(['0.0.0.0', '255.255.255.255', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'])  # noqa: S104 edges, not binds
    for text in ('10.0.0.0/8', '10.1.0.0/16', '10.1.2.0/24', '10.1.2.3/32', '10.1.2.200/32', '10.1.2.128/25',
                 '192.168.0.0/16', '192.168.0.0/17', '0.0.0.0/1', '127.0.0.1/32', '172.16.0.0/12',
                 '2001:db8::1/128', '2001:db8::/32', '2001:db8:1::/48', '::1/128', '::/1', 'fe80::/10',
                 '2001:db8::ff00/120'):
        net = ipaddress.ip_network(text)
        first, last = int(net.network_address), int(net.broadcast_address)
        top = (1 << net.max_prefixlen) - 1
        for value in (first - 1, first, last, last + 1, rng.randint(first, last)):
            if 0 <= value <= top:
                addresses.add(str(ipaddress.ip_address(value) if net.version == 4 else ipaddress.IPv6Address(value)))
    return sorted(addresses)


def _rendered_networks(result):
    """The networks systemd passes: IPAddressAllow= is checked first, then IPAddressDeny=any."""
    words = dict(result.properties()).get('IPAddressAllow', '').split()
    return [ipaddress.ip_network(net) for word in words for net in (['0.0.0.0/0', '::/0'] if word == 'any' else [word])]


def _passes(networks, address):
    ip = ipaddress.ip_address(address)
    return any(net.version == ip.version and ip in net for net in networks)


@pytest.mark.parametrize('seed', range(25))
def test_compiled_filter_grants_exactly_what_the_evaluator_grants(seed):
    rng = random.Random(seed)
    for _policy in range(15):
        allow, deny = _table(rng), _table(rng)
        policy = tables(allow, deny)
        for daemon in ('sshd', 'in.telnetd'):
            networks = _rendered_networks(compile_policy(policy, daemon, env=FakeEnv()))
            for address in _addresses(rng):
                expected = evaluate(policy, daemon, address=address, env=FakeEnv()).access == 'granted'
                assert _passes(networks, address) == expected, (allow, deny, daemon, address)
