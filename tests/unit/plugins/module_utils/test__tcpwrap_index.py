# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The compiled, indexed policy against the reference evaluator, which walks every rule.

Policies and queries are generated from a fixed seed with the patterns the index files (exact
addresses, prefixes, net/masks in every spelling libwrap reads) mixed with those it cannot
(names, wildcards, suffixes, IPv6, EXCEPT, user@host, /files, broken lines); every verdict,
with its file, line, reason and notes, must be the same.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import (
    CompiledPolicy,
    address_keys,
    client_list_keys,
    compile_client_list,
    query_keys,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import Host, Matcher, evaluate

SEED = 20261129
POLICIES = 150
QUERIES_PER_POLICY = 40


class FakeEnv(Environment):
    def host_file_words(self, path):
        return {'/etc/trusted': ['10.1.2.3', '.example.org', '192.168.']}.get(path, [])

    def innetgr(self, netgroup, hostname):
        return netgroup == 'admins' and hostname == 'gw'

    def user_exists(self, name):
        return name in ('root', 'nobody')

    def group_exists(self, name):
        return name in ('root', 'nogroup')


DAEMONS = ['sshd', 'vsftpd', 'in.telnetd', 'ALL', 'ALL EXCEPT vsftpd', 's*d', 'sshd@10.0.0.1', 'sshd@KNOWN',
           'sshd, vsftpd', 'EXCEPT sshd']
INDEXED = ['10.{a}.{b}.{c}', '10.{a}.', '10.', '192.168.{b}.', '10.{a}.0.0/16', '10.{a}.{b}.0/24',
           '10.0.0.0/255.0.0.0', '10.{a}.0.0/255.255.0.0', '10.0.0.0/255.0.255.0', '010.0.0.0/8', '10.0.0.1/8',
           '10.0.0.0/33', '10.0.0.0/8x', '1.2.3.4/255.255.255.255', '0x0a.{a}.{b}.{c}', 'bob@10.{a}.',
           '10.{a}.{b}.{c}.', '10..', '127.0.0.1', '10.0.0.0/2.4']
NOT_INDEXED = ['ALL', 'KNOWN', 'UNKNOWN', 'LOCAL', 'PARANOID', '.{b}.{c}', '10.{a}.*', '1?.{a}.{b}.{c}',
               '[2001:db8::]/32', '[::ffff:10.{a}.{b}.{c}]', '@admins', '/etc/trusted', '.example.org', 'gw',
               'KNOWN@ALL', 'bob@ALL', '2001']
OPTIONS = [None, None, None, 'allow', 'deny', 'spawn /bin/echo %c', 'twist /bin/echo no', 'bogus',
           'severity auth.info', 'user nobody', 'user nosuchuser', 'keepalive 1', 'nice 5 : deny']


def _pattern(rng, choices):
    return rng.choice(choices).format(a=rng.randrange(4), b=rng.randrange(4), c=rng.randrange(4))


def _clients(rng):
    pool = INDEXED if rng.random() < 0.7 else INDEXED + NOT_INDEXED
    text = ', '.join(_pattern(rng, pool) for _n in range(rng.randint(1, 3)))
    if rng.random() < 0.2:
        text += ' EXCEPT ' + _pattern(rng, INDEXED + NOT_INDEXED)
    return text


def _table(rng):
    lines = []
    for _n in range(rng.randint(0, 30)):
        if rng.random() < 0.03:
            lines.append(rng.choice(['# comment\n', 'sshd 10.1.2.3\n', 'x : ' + 'y ' * 1030 + '\n', '\n']))
            continue
        line = f'{rng.choice(DAEMONS)} : {_clients(rng)}'
        option = rng.choice(OPTIONS)
        lines.append(line + ('' if option is None else f' : {option}') + '\n')
    text = ''.join(lines)
    if text and rng.random() < 0.05:
        text = text.rstrip('\n')
    return text.encode()


def _query(rng):
    address = rng.choice([
        '10.{a}.{b}.{c}', '10.{a}.{b}.{c}', '192.168.{b}.{c}', '::ffff:10.{a}.{b}.{c}', '::FFFF:10.{a}.{b}.{c}',
        '010.{a}.{b}.{c}', '127.0.0.1', '2001:db8::{c}', '1.2.3.4', 'gw', None,
    ])
    return dict(daemon=rng.choice(['sshd', 'vsftpd', 'in.telnetd', 'SSHD', None]),
                address=address and address.format(a=rng.randrange(4), b=rng.randrange(4), c=rng.randrange(4)),
                hostname=rng.choice([None, None, 'gw', 'www.example.org', 'paranoid']),
                user=rng.choice([None, None, 'bob']),
                server_address=rng.choice([None, None, '10.0.0.1']))


def test_compiled_policy_decides_like_the_reference_evaluator():
    rng = random.Random(SEED)
    env = FakeEnv()
    compared = 0
    for _policy in range(POLICIES):
        tables = [('allow', '/etc/hosts.allow', scan_table(_table(rng))),
                  ('deny', '/etc/hosts.deny', scan_table(_table(rng)))]
        policy = CompiledPolicy(tables, env)
        for _query_number in range(QUERIES_PER_POLICY):
            query = _query(rng)
            expected = evaluate(tables, env=env, **query).as_dict()
            assert policy.decide(**query).as_dict() == expected, (query, tables)
            compared += 1
    assert compared == POLICIES * QUERIES_PER_POLICY


def test_the_index_is_used():
    """A query for one network tries the rules filed under it and the unfiled ones, nothing else."""
    allow = ''.join(f'sshd : 10.{n}.0.0/16\n' for n in range(500)) + 'sshd : LOCAL\n'
    tables = [('allow', 'a', scan_table(allow.encode())), ('deny', 'd', scan_table(b'ALL : ALL\n'))]
    policy = CompiledPolicy(tables, FakeEnv())
    view = policy._views_for(Matcher('sshd', Host('10.7.1.1'), Host(), None, policy.env))[0]
    assert list(view.candidates(query_keys('10.7.1.1'))) == [7, 500]
    assert policy.decide('sshd', '10.7.1.1').line == 8
    assert policy.decide('sshd', '10.200.1.1').line == 201
    assert policy.decide('sshd', '11.0.0.1').table == 'deny'


@pytest.mark.parametrize('address, keys', [
    ('10.1.2.3', ('10.1.2.3', ['10.', '10.1.', '10.1.2.'], [0x0A010203])),
    ('::FFFF:10.1.2.3', ('10.1.2.3', ['10.', '10.1.', '10.1.2.'], [0x0A010203])),
    ('010.1.2.3', ('010.1.2.3', ['010.', '010.1.', '010.1.2.'], [0x08010203])),
    ('2001:db8::1', ('2001:db8::1', [], [])),
    ('unknown', ('unknown', [], [])),
])
def test_query_keys(address, keys):
    assert query_keys(address) == keys


@pytest.mark.parametrize('token, keys', [
    ('10.1.2.3', (('exact', '10.1.2.3'),)),
    ('bob@10.1.', (('prefix', '10.1.'),)),
    ('10.0.0.0/8', (('mask', 0xFF000000, 0x0A000000),)),
    ('10.0.0.0/255.255.0.0', (('mask', 0xFFFF0000, 0x0A000000),)),
    ('010.0.0.0/8', (('mask', 0xFF000000, 0x08000000),)),
    ('10.0.0.0/33', ()),
    ('.1.2', None),
    ('ALL', None),
    ('10.*', None),
    ('[2001:db8::]/32', None),
    ('@admins', None),
    ('/etc/trusted', None),
])
def test_address_keys(token, keys):
    assert address_keys(token) == keys


@pytest.mark.parametrize('tokens, keys', [
    (('10.', 'EXCEPT', 'ALL'), [('prefix', '10.')]),
    (('10.', 'LOCAL'), None),
    (('EXCEPT', '10.'), []),
])
def test_only_patterns_before_except_decide_where_a_list_is_filed(tokens, keys):
    assert client_list_keys(tokens) == keys


@pytest.mark.parametrize('tokens, address, hostname, expected', [
    (('ALL',), '10.0.0.1', None, True),
    (('10.', 'all'), '11.0.0.1', None, True),
    (('ALL', 'EXCEPT', '10.'), '10.0.0.1', None, False),
    (('ALL', 'EXCEPT', '10.', 'EXCEPT', '10.0.0.1'), '10.0.0.1', None, True),
    (('EXCEPT', 'ALL'), '10.0.0.1', None, False),
    (('10.0.0.0/8',), '::ffff:10.1.1.1', None, True),
    (('10.0.0.0/33',), '10.0.0.0', None, False),
    (('gw', '10.0.0.1'), '11.0.0.1', 'gw', True),
    (('bob@10.',), '10.0.0.1', None, False),
])
def test_compiled_client_list(tokens, address, hostname, expected):
    matcher = Matcher('sshd', Host(address, hostname), Host(), None, FakeEnv())
    assert compile_client_list(tokens)(matcher, query_keys(matcher.client.address)) is expected
