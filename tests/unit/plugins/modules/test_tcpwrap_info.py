# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


import os

import pytest

from ansible_collections.serversec.confine.plugins.modules import tcpwrap_info


@pytest.fixture
def run(run_module):
    # What enforces the rules depends on the host: test_tcpwrap_info_enforcement.py asks it on a fake one.
    return lambda args: run_module(tcpwrap_info, dict({'report_enforcement': False}, **args))


SEED_ALLOW = b'sshd : ALL\nin.telnetd : LOCAL\nin.telnetd : 192.168.* 127.0.0.1\n'
SEED_DENY = b'ALL : ALL : /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log\n'


@pytest.fixture
def tables(tmp_path):
    allow, deny = tmp_path / 'hosts.allow', tmp_path / 'hosts.deny'
    allow.write_bytes(SEED_ALLOW)
    deny.write_bytes(SEED_DENY)
    return str(allow), str(deny)


def test_verdicts_in_query_order_with_file_and_line(tables, run):
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=deny, queries=[
        dict(daemon='sshd', address='192.0.2.7'),
        dict(daemon='in.telnetd', address='192.168.1.20'),
        dict(daemon='in.telnetd', address='10.0.0.1', hostname='lab1'),
        dict(daemon='in.telnetd', address='10.0.0.1', hostname='www.example.com'),
        dict(daemon='vsftpd', address='2001:db8::1'),
    ]))
    assert result['changed'] is False
    summary = [(v['access'], v['table'], v['file'], v['line']) for v in result['verdicts']]
    assert summary == [
        ('granted', 'allow', allow, 1),
        ('granted', 'allow', allow, 3),
        ('granted', 'allow', allow, 2),
        ('denied', 'deny', deny, 1),
        ('denied', 'deny', deny, 1),
    ]
    assert result['verdicts'][0]['query'] == dict(daemon='sshd', address='192.0.2.7')
    assert result['verdicts'][4]['reason'] == (
        f'denied by libwrap: bad option name: "/bin/echo" ({deny} line 1)')


def test_no_rule_matched_gives_null_file_and_line(tmp_path, run):
    result = run(dict(allow_path=str(tmp_path / 'none.allow'), deny_path=str(tmp_path / 'none.deny'),
                      queries=[dict(daemon='sshd', address='192.0.2.7')]))
    verdict = result['verdicts'][0]
    assert (verdict['access'], verdict['file'], verdict['line'], verdict['table']) == ('granted', None, None, None)
    assert result['problems'] == [dict(file=str(tmp_path / 'none.deny'), line=None, severity='info',
                                       message='no "ALL : ALL" rule in hosts.deny: connections no rule matches '
                                               'are granted (the policy fails open)')]


def test_problems_name_hazards(tables, run):
    allow, deny = tables
    with open(allow, 'ab') as handle:
        handle.write(b'sshd : ALL\nsshd : 2001:db8::1\nvsftpd : 10.0.0.1/8\nin.telnetd : 127.0.0.1 : deny\n'
                     b'ftpd : ALL : echo hi')
    result = run(dict(allow_path=allow, deny_path=deny))
    messages = [(p['file'] == allow, p['line'], p['severity'], p['message']) for p in result['problems']]
    assert messages == [
        (True, 4, 'warning', 'dead rule: same meaning as line 1, which matches first'),
        (True, 5, 'warning', 'client pattern "2001": "2001" is neither a complete IPv4 address nor a prefix ending '
                             'in "." (libwrap would never match it)'),
        (True, 5, 'error', 'libwrap rejects this rule\'s options (bad option name: "db8"): the rule denies the '
                           'clients it is meant to allow. A shell command must be written as "spawn <command>"'),
        (True, 5, 'warning', 'dead rule: line 1 matches every request this rule matches, and first'),
        (True, 6, 'warning', 'client pattern "10.0.0.1/8": 10.0.0.1/8 has host bits set, so libwrap would never '
                             'match it; the network is 10.0.0.0/8'),
        (True, 7, 'warning', 'dead rule: line 3 matches every request this rule matches, and first'),
        (True, 8, 'error', 'missing newline at end of file: libwrap ignores this line and fails closed'),
        (False, 1, 'error', 'libwrap rejects this rule\'s options (bad option name: "/bin/echo"): the rule still '
                            'denies, but nothing in its options runs. A shell command must be written as '
                            '"spawn <command>"'),
    ]
    assert [r['line'] for r in result['rules']] == [1, 2, 3, 4, 5, 6, 7, 1]
    assert result['rules'][2]['clients'] == ['192.168.*', '127.0.0.1']


def test_a_table_that_is_not_a_regular_file_is_named_not_read(tables, run):
    """A FIFO is never opened (it could block the module); a directory reads as empty, as in libwrap."""
    allow, _deny = tables
    os.unlink(allow)
    os.mkfifo(allow)
    deny = str(os.path.dirname(allow))
    result = run(dict(allow_path=allow, deny_path=deny, queries=[dict(daemon='sshd', address='10.0.0.1')]))
    assert result['verdicts'][0]['reason'] == 'no rule matched: access granted'
    assert [(p['file'], p['severity'], p['message'].split(':')[0]) for p in result['problems']] == [
        (allow, 'error', 'cannot be read as a table (a FIFO, socket or device)'),
        (deny, 'error', 'is a directory'),
        (deny, 'info', 'no "ALL '),
    ]


def test_an_unreadable_path_is_not_taken_for_a_missing_table(tables, run):
    """Only a missing file reads as empty: a path through a regular file is libwrap's error, which denies."""
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=os.path.join(deny, 'hosts.deny'),
                      queries=[dict(daemon='vsftpd', address='10.0.0.1')]))
    assert result['verdicts'][0]['access'] == 'denied'
    assert result['verdicts'][0]['reason'] == (
        'denied by libwrap: cannot be read as a table (Not a directory): libwrap fails closed when this is '
        f'hosts.deny and goes on to hosts.deny when it is hosts.allow ({deny}/hosts.deny)')


@pytest.mark.parametrize('queries, message', [
    ([dict(daemon='sshd'), dict(address='10.0.0.1')], 'queries[1]: "daemon" is required'),
    ([dict(daemon=None)], 'queries[0]: "daemon" is required'),
    ([dict(daemon='sshd', adress='10.0.0.1', zzz=1)],
     'queries[0]: unsupported key "adress"; supported keys are daemon, address, hostname, user, server_address, '
     'server_hostname, server_port'),
    ([dict(daemon='sshd', address=['10.0.0.1'])], 'queries[0].address: must be a string, got list'),
    ([dict(daemon='sshd', user=True)], 'queries[0].user: must be a string, got bool'),
])
def test_bad_queries_are_refused_by_element_and_key(tables, run, queries, message):
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=deny, queries=queries))
    assert result['failed'] is True
    assert result['msg'] == message


def test_a_query_key_given_as_null_or_a_number_reads_like_ansible_str(tables, run):
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=deny, queries=[
        dict(daemon='in.telnetd', address='127.0.0.1', hostname=None, user=1000)]))
    assert result['verdicts'][0]['query'] == dict(daemon='in.telnetd', address='127.0.0.1', user='1000')
    assert (result['verdicts'][0]['access'], result['verdicts'][0]['line']) == ('granted', 3)


def test_compact_form_answers_every_daemon_for_every_address(tables, run):
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=deny, daemons=['sshd', 'in.telnetd', 'vsftpd'],
                      addresses=['192.168.1.20', '10.0.0.1']))
    assert result['access_matrix'] == {
        'sshd': {'192.168.1.20': 'granted', '10.0.0.1': 'granted'},
        'in.telnetd': {'192.168.1.20': 'granted', '10.0.0.1': 'denied'},
        'vsftpd': {'192.168.1.20': 'denied', '10.0.0.1': 'denied'},
    }
    assert result['verdicts'] == []


def test_compact_form_needs_both_lists(tables, run):
    allow, deny = tables
    result = run(dict(allow_path=allow, deny_path=deny, daemons=['sshd']))
    assert result['failed'] is True
    assert result['msg'] == 'parameters are required together: daemons, addresses'
