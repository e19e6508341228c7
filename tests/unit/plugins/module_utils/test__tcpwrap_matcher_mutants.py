# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Reader and matcher cases that `make mutation` showed no other test pins down.

Each case kills mutants of _tcpwrap.py that every other unit test let live: lines at the
2047-byte limit, hexadecimal and partial-byte network masks, one-letter user patterns, option
values at their limits, the notes a verdict carries. The expected verdicts were read from
Debian's tcpdmatch on the same tables, not from our code (host names, which tcpdmatch cannot be
given, follow hosts_access(5)).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap as tw
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate


def verdict(rule, address='10.1.2.3', daemon='sshd', user=None, hostname=None):
    """One rule in hosts.allow and `ALL : ALL` in hosts.deny: granted only if the rule matched
    and libwrap accepted its options."""
    tables = [('allow', '/etc/hosts.allow', tw.scan_table(rule.encode() + b'\n')),
              ('deny', '/etc/hosts.deny', tw.scan_table(b'ALL : ALL\n'))]
    return evaluate(tables, daemon, address=address, user=user, hostname=hostname)


# ---------------------------------------------------------------- reading

@pytest.mark.parametrize('data, expected', [
    (b'\0junk\nsshd : ALL\n', [('rule', 1, 1)]),                  # a NUL first: the line is joined
    (b'sshd : ALL\n\\\n', [('rule', 1, 1), ('blank', 2, 2)]),     # a lone continuation at the end
    (b'x : ' + b'y' * 2100, [('broken', 1, 1)]),                    # over-long, no newline
    (b'x : ' + b'y' * 2043 + b'\n', [('broken', 1, 1)]),            # over-long, nothing after it
    (b'sshd : ALL' + b' ' * 2035 + b'\\\na\0\n', [('rule', 1, 2)]),  # the newline fills the last byte
])
def test_scan_table_at_the_limits(data, expected):
    entries = tw.scan_table(data)
    assert [(e.kind, e.first_line, e.last_line) for e in entries] == expected
    assert b''.join(e.raw for e in entries) == data


def test_line_without_separator_says_why():
    assert tw.scan_table(b'sshd 10.1.2.3\n')[0].problem == 'missing ":" separator: libwrap skips this line'


def test_overlong_line_keeps_its_own_bytes():
    first = b'x : ' + b'y' * 2043 + b'\n'
    assert [e.raw for e in tw.scan_table(first + b'sshd : ALL\n')] == [first, b'sshd : ALL\n']


def test_line_filling_the_buffer_with_a_continuation_is_read():
    rule = 'sshd : ALL' + ' ' * 2035 + '\\\na\0'
    assert verdict(rule).access == 'granted'


@pytest.mark.parametrize('text, fields', [
    (' spawn printf a\\tb : deny', [' spawn printf a\\tb ', ' deny']),
    (' spawn echo a\\1 : deny', [' spawn echo a\\1 ', ' deny']),
])
def test_backslash_before_anything_but_a_colon_is_kept(text, fields):
    assert tw.option_fields(text) == fields


# ---------------------------------------------------------------- matching

@pytest.mark.parametrize('pattern, address, access', [
    ('0xa.0.0.0/255.0.0.0', '10.1.2.3', 'granted'),
    ('0xa.0.0.0/255.0.0.0', '11.1.2.3', 'denied'),
    ('10.0.0.0/0xff.0.0.0', '10.1.2.3', 'granted'),
    ('10.0.0.0/0xff.0.0.0', '11.1.2.3', 'denied'),
    ('[2001:db8:8000::]/33', '2001:db8:8000::1', 'granted'),
    ('[2001:db8:8000::]/33', '2001:db8:ffff::1', 'granted'),
    ('[2001:db8:8000::]/33', '2001:db8:7fff::1', 'denied'),
    ('[2001:db8::]/127', '2001:db8::1', 'granted'),
    ('[2001:db8::]/127', '2001:db8::2', 'denied'),
    ('[2001:db8::]/-1', '2001:db8::1', 'denied'),
    ('[::]/0', '2001:db8::1', 'granted'),
    ('[2001:db8::1]/128', '2001:db8::1', 'granted'),
    ('[2001:db8::1]/129', '2001:db8::1', 'denied'),
    ('[2001:db8::zz]/64', '2001:db8::1', 'denied'),
    ('[2001:db8::]/32', '2001:db7::1', 'denied'),
    ('10.0.0.0/255.0.0.0', '::10.1.2.3', 'denied'),   # IPv4-compatible is not IPv4-mapped
    ('0.0.0.0/255.255.255.0', '::1', 'denied'),
    ('10.1.2.256/255.255.255.0', '10.1.3.5', 'denied'),
    ('10.1.2.4/32', '10.1.2.4', 'granted'),
    ('10.1.2.4/32', '10.1.2.5', 'denied'),
    ('0x10.0.0.0/255.0.0.0', '16.1.2.3', 'granted'),
    ('10.0x.0.0/255.255.0.0', '10.0.1.2', 'denied'),   # a bare 0x is not a number (tcpdmatch)
    ('10.0x10.0.0/255.255.0.0', '10.16.1.2', 'granted'),
    ('10.1.3.256/255.255.255.0', '10.1.4.3', 'denied'),
    ('0.0.0.0/x', '10.9.9.9', 'denied'),
    ('128.0.0.0/1', '200.1.1.1', 'granted'),
])
def test_network_masks(pattern, address, access):
    assert verdict(f'sshd : {pattern}', address).access == access


def _requires_value(name):
    return f'denied by libwrap: option "{name}" requires value (/etc/hosts.allow line 1)'


@pytest.mark.parametrize('options, access, reason', [
    ('user', 'denied', _requires_value('user')),
    ('group', 'denied', _requires_value('group')),
    ('twist', 'denied', _requires_value('twist')),
    ('umask', 'denied', _requires_value('umask')),
    ('linger', 'denied', _requires_value('linger')),
    ('setenv', 'denied', _requires_value('setenv')),
    ('banners', 'denied', _requires_value('banners')),
    ('deny x', 'denied', 'denied by libwrap: option "deny" requires no value (/etc/hosts.allow line 1)'),
    ('group root : keepalive', 'granted', 'matched /etc/hosts.allow line 1'),
    ('spawn echo: deny', 'denied', 'matched /etc/hosts.allow line 1'),
    ('rfc931 1', 'granted', 'matched /etc/hosts.allow line 1'),
    ('rfc931 -1', 'denied', 'denied by libwrap: bad rfc931 timeout: "-1" (/etc/hosts.allow line 1)'),
    ('group nosuchgroup=', 'denied', 'denied by libwrap: unknown group: "nosuchgroup=" (/etc/hosts.allow line 1)'),
    ('user nosuchuser', 'denied', 'denied by libwrap: unknown user: "nosuchuser" (/etc/hosts.allow line 1)'),
    ('umask 777', 'granted', 'matched /etc/hosts.allow line 1'),
    ('umask 1', 'granted', 'matched /etc/hosts.allow line 1'),
    ('umask 1000', 'denied', 'denied by libwrap: bad umask value: "1000" (/etc/hosts.allow line 1)'),
    ('severity', 'denied', _requires_value('severity')),
    ('user root.nosuchgroup', 'denied',
     'denied by libwrap: unknown group: "nosuchgroup" (/etc/hosts.allow line 1)'),
])
def test_option_values_at_their_limits(options, access, reason):
    result = verdict(f'sshd : ALL : {options}')
    assert (result.access, result.reason) == (access, reason)


def test_verdict_keeps_the_notes_of_its_options():
    result = verdict('sshd : ALL : user root')
    assert result.as_dict()['notes'] == ['the "user" option does not switch the daemon to root: Debian\'s libwrap '
                                         'acts on it only in tcpdmatch\'s dry run; checked against this host\'s '
                                         'passwd only']


@pytest.mark.parametrize('pattern, daemon, access', [
    ('.example.com', '.example.com', 'denied'),   # a suffix needs at least one character before it
    ('.example.com', 'x.example.com', 'granted'),
    ('a!*', 'a!b', 'granted'),                    # only * and ? are wildcards ...
    ('a!*', 'axb', 'denied'),                     # ... punctuation is literal
    ('vsftpd@ALL', 'vsftpd', 'granted'),
    ('sshd-v21.2.3.4', 'sshd-v21.2.3.4', 'granted'),  # ends like an address, is not one
    ('ZEBRA', 'zebra', 'granted'),
])
def test_pattern_edges(pattern, daemon, access):
    assert verdict(f'{pattern} : ALL', daemon=daemon).access == access


@pytest.mark.parametrize('pattern, address, access', [
    ('[2001:db8::1]', '2001:DB8:0::1', 'granted'),   # compared as the address inet_ntop() prints
    ('10.', '2001:db8::zz', 'denied'),               # not an address (tcpdmatch refuses it): no exception
    ('@admins', '10.1.2.3', 'denied'),               # without NIS no netgroup has members
    ('[2001:db8::2]', '2001:db8::1', 'denied'),
    ('10.', '0:0:0:0:0:ffff:10.1.2.3', 'granted'),   # sshd passes inet_ntop()'s ::ffff:10.1.2.3
    ('1.2.', '::ffff:1.2.3.4', 'granted'),
    ('ALL [x : deny', '10.1.2.3', 'granted'),         # an open bracket swallows the ":" ...
    ('ALL ] : deny', '10.1.2.3', 'granted'),          # ... and so does a stray closing one
    ('.2.3.4', '::ffff:1.2.3.4', 'granted'),
    ('[2001:db8::1', '2001:db8::', 'denied'),        # an unclosed bracket is no IPv6 pattern
])
def test_client_forms(pattern, address, access):
    assert verdict(f'sshd : {pattern}', address).access == access


def test_known_takes_any_host_name():
    assert verdict('sshd : KNOWN', hostname='www.example.com').access == 'granted'


def test_known_takes_any_address_but_unknown():
    # libwrap only asks that the address is not "unknown", whatever string it is
    assert verdict('sshd : KNOWN', address='zz', hostname='www.example.com').access == 'granted'


@pytest.mark.parametrize('user, access', [('b', 'granted'), ('c', 'denied')])
def test_one_letter_user_pattern(user, access):
    assert verdict('sshd : b@ALL', user=user).access == access
