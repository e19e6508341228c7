# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libwrap parity (issue 11, section 4) through the modules: tcpwrap_info's queries, problems and
unreadable tables, and what tcpwrap_rule refuses or warns about."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.modules import tcpwrap_info, tcpwrap_rule


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """No SSH session and no daemon inspection."""
    monkeypatch.setattr(tcpwrap_rule, 'ssh_connection', lambda: None)
    monkeypatch.setattr(tcpwrap_rule, 'daemon_warnings', lambda daemons: [])


@pytest.fixture
def info(run_module, tmp_path):
    """Run tcpwrap_info on the given table texts (bytes) with these queries."""
    def run(allow, deny=b'', queries=(), **args):
        for name, data in (('hosts.allow', allow), ('hosts.deny', deny)):
            if data is not None:
                (tmp_path / name).write_bytes(data)
        args.setdefault('allow_path', str(tmp_path / 'hosts.allow'))
        args.setdefault('deny_path', str(tmp_path / 'hosts.deny'))
        return run_module(tcpwrap_info, dict(queries=list(queries), **args))
    return run


@pytest.fixture
def rule(run_module):
    return lambda args, check=False: run_module(tcpwrap_rule, args, check=check)


# ---------------------------------------------------------------- server ports

def test_a_query_with_a_server_port_meets_port_patterns(info):
    result = info(b'22 : 10.0.0.0/8 : deny\n', queries=[
        dict(daemon='sshd', address='10.0.0.1', server_port=22),
        dict(daemon='sshd', address='10.0.0.1', server_port='22'),
        dict(daemon='sshd', address='10.0.0.1', server_port=2222),
        dict(daemon='sshd', address='10.0.0.1')])
    assert [v['access'] for v in result['verdicts']] == ['denied', 'denied', 'granted', 'granted']
    assert result['verdicts'][1]['query'] == dict(daemon='sshd', address='10.0.0.1', server_port=22)
    assert {'file': result['verdicts'][0]['file'], 'line': 1, 'severity': 'info',
            'message': 'daemon pattern "22" is a number: Debian\'s libwrap matches it against the server port (22), '
                       'not a process name'} in result['problems']


@pytest.mark.parametrize('port', [-1, 65536, '22x', 2.5, True, '', '٢٢'])
def test_a_server_port_must_be_a_port_number(info, port):
    result = info(b'', queries=[dict(daemon='sshd', server_port=port)])
    assert result['failed'] is True
    assert result['msg'] == f'queries[0].server_port: must be a port number from 0 to 65535, got {port!r}'


def test_tcpwrap_rule_does_not_look_for_a_program_named_like_a_port(tmp_path, rule, monkeypatch):
    inspected = []
    monkeypatch.setattr(tcpwrap_rule, 'daemon_warnings', lambda daemons: inspected.extend(daemons) or [])
    result = rule(dict(path=str(tmp_path / 'hosts.allow'), daemons=['22', 'sshd', '080@10.0.0.1'], clients=['ALL']))
    assert result['added'] == ['22, sshd, 080@10.0.0.1 : ALL']
    assert inspected == ['sshd']
