# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_problems import policy_problems


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
