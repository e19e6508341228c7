# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import random

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_problems as _problems
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_problems import policy_problems
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_rules import entry_key


class FakeEnv(Environment):
    def user_exists(self, name):
        return name in ('root', 'nobody')

    def group_exists(self, name):
        return name in ('root', 'nogroup')


@pytest.mark.parametrize('allow, deny, expected', [
    (b'sshd : ALL\n', b'sshd : 10.0.0.1\nALL : ALL\n',
     [('/d', 1, 'dead rule: /a line 1 matches every request this rule matches, and first')]),
    (b'ALL : ALL\n', b'ALL : ALL : spawn echo\n',
     [('/d', 1, 'dead rule: "ALL : ALL" on /a line 1 matches first')]),
    (b'sshd, vsftpd : 10.0.0.1 10.0.0.2\nsshd : 10.0.0.2\n', b'ALL : ALL\n',
     [('/a', 2, 'dead rule: line 1 matches every request this rule matches, and first')]),
    (b'sshd : ALL EXCEPT 10.0.0.1\nsshd : 10.0.0.1\n', b'ALL : ALL\n', []),
    (b'sshd : 10.0.0.1\n', b'sshd : 10.0.0.2\n',
     [('/d', None, 'no "ALL : ALL" rule in hosts.deny: connections no rule matches are granted '
                   '(the policy fails open)')]),
])
def test_policy_problems_find_dead_rules(allow, deny, expected):
    problems = policy_problems('/a', scan_table(allow), '/d', scan_table(deny), FakeEnv())
    assert [(p['file'], p['line'], p['message']) for p in problems] == expected


def _first_shadow_by_walking(rules, key, path):
    """The search before the index: every earlier rule in order, the first that shadows wins."""
    for earlier_path, earlier_line, earlier_key in rules:
        message = _problems._shadow_message(key, earlier_path, earlier_line, earlier_key, path)
        if message:
            return message
    return None


def test_indexed_shadow_search_finds_what_walking_every_rule_finds():
    rng = random.Random(20261129)
    daemons = ['sshd', 'vsftpd', 'ALL', 'all', 'sshd, vsftpd', 'vsftpd sshd in.telnetd', 'ALL EXCEPT sshd', '']
    clients = ['ALL', '10.0.0.1', '10.0.0.2', '10.0.0.1, 10.0.0.2', '10.0.0.2 10.0.0.1 LOCAL', 'LOCAL',
               'ALL EXCEPT 10.0.0.1', '/etc/Trusted', '/etc/trusted', '@admins', '']
    options = ['', '', ' : deny', ' : spawn echo']
    compared = 0
    for _policy in range(200):
        text = ''.join(f'{rng.choice(daemons)} : {rng.choice(clients)}{rng.choice(options)}\n'
                       for _rule in range(rng.randint(1, 40)))
        earlier = _problems.EarlierRules()
        walked = []
        for entry in scan_table(text.encode()):
            key = entry_key(entry)
            assert earlier.shadow_message(key, '/a') == _first_shadow_by_walking(walked, key, '/a'), text
            earlier.add('/a', entry.last_line, key)
            walked.append(('/a', entry.last_line, key))
            compared += 1
    assert compared > 3000
