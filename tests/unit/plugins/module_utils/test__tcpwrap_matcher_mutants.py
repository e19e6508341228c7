# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Matcher cases that `make mutation` showed no other test pins down.

Each case kills mutants of _tcpwrap.py that every other unit test let live: hexadecimal and
partial-byte network masks, option values at their limits, the notes a verdict carries. The
expected verdicts were read from Debian's tcpdmatch on the same tables, not from our code;
the address and netgroup cases follow inet_ntop(3) and libwrap without NIS.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap as tw


def verdict(rule, address='10.1.2.3', daemon='sshd'):
    """One rule in hosts.allow and `ALL : ALL` in hosts.deny: granted only if the rule matched
    and libwrap accepted its options."""
    tables = [('allow', '/etc/hosts.allow', tw.scan_table(rule.encode() + b'\n')),
              ('deny', '/etc/hosts.deny', tw.scan_table(b'ALL : ALL\n'))]
    return tw.evaluate(tables, daemon, address=address)


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
])
def test_network_masks(pattern, address, access):
    assert verdict(f'sshd : {pattern}', address).access == access


@pytest.mark.parametrize('options, access, reason', [
    ('umask 777', 'granted', 'matched /etc/hosts.allow line 1'),
    ('umask 1', 'granted', 'matched /etc/hosts.allow line 1'),
    ('umask 1000', 'denied', 'denied by libwrap: bad umask value: "1000" (/etc/hosts.allow line 1)'),
    ('severity', 'denied', 'denied by libwrap: option "severity" requires value (/etc/hosts.allow line 1)'),
    ('user root.nosuchgroup', 'denied',
     'denied by libwrap: unknown group: "nosuchgroup" (/etc/hosts.allow line 1)'),
])
def test_option_values_at_their_limits(options, access, reason):
    result = verdict(f'sshd : ALL : {options}')
    assert (result.access, result.reason) == (access, reason)


def test_verdict_keeps_the_notes_of_its_options():
    result = verdict('sshd : ALL : user root')
    assert result.as_dict()['notes'] == ['the "user" option switches to root: checked against this host\'s passwd only']


@pytest.mark.parametrize('pattern, daemon, access', [
    ('.example.com', '.example.com', 'denied'),   # a suffix needs at least one character before it
    ('.example.com', 'x.example.com', 'granted'),
    ('a!*', 'a!b', 'granted'),                    # only * and ? are wildcards ...
    ('a!*', 'axb', 'denied'),                     # ... punctuation is literal
])
def test_pattern_edges(pattern, daemon, access):
    assert verdict(f'{pattern} : ALL', daemon=daemon).access == access


@pytest.mark.parametrize('address, canonical', [
    ('2001:DB8:0::1', '2001:db8::1'),
    ('2001:db8::zz', '2001:db8::zz'),       # not an address: kept as given, never an exception
])
def test_canonical_address(address, canonical):
    assert tw.canonical_address(address) == canonical


def test_netgroups_never_match_without_nis():
    assert tw.Environment().innetgr('admins', 'gw') is False
