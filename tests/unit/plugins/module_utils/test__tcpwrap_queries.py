# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError, scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import CompiledPolicy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_queries import (
    access_matrix,
    check_queries,
    verdicts,
)


def test_a_query_that_is_not_a_dict_is_refused():
    with pytest.raises(TcpwrapError) as excinfo:
        check_queries([dict(daemon='sshd'), 'sshd'])
    assert str(excinfo.value) == 'queries[1]: must be a dict with at least "daemon"'


def test_verdicts_keep_query_order_and_do_not_share_dicts():
    tables = [('allow', 'a', scan_table(b'sshd : 10.\n')), ('deny', 'd', scan_table(b'ALL : ALL\n'))]
    policy = CompiledPolicy(tables)
    answers = verdicts(policy, check_queries([dict(daemon='sshd', address='10.0.0.1'),
                                              dict(daemon='sshd', address='10.0.0.2'),
                                              dict(daemon='sshd', address='11.0.0.1')]))
    assert [(a['query']['address'], a['access'], a['line']) for a in answers] == [
        ('10.0.0.1', 'granted', 1), ('10.0.0.2', 'granted', 1), ('11.0.0.1', 'denied', 1)]
    assert answers[0] is not answers[1]
    assert access_matrix(policy, ['sshd', 'vsftpd'], ['10.0.0.1', '11.0.0.1']) == {
        'sshd': {'10.0.0.1': 'granted', '11.0.0.1': 'denied'},
        'vsftpd': {'10.0.0.1': 'denied', '11.0.0.1': 'denied'}}
