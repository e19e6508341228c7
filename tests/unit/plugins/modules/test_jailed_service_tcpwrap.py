# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailed_service's tcpwrap_daemon: the daemon's TCP wrappers policy as the unit's IP filter."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_compile
from ansible_collections.serversec.confine.tests.unit.plugins.modules import test_jailed_service as jailed_tests
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_jailed_service import EXPECTED_UNIT, params

# The fake host and the module runner, shared with jailed_service's tests.
host = jailed_tests.host
run = jailed_tests.run


@pytest.fixture
def policy(tmp_path, monkeypatch):
    allow, deny = tmp_path / 'hosts.allow', tmp_path / 'hosts.deny'
    allow.write_text('lighttpd : 192.168. 10.0.0.0/8\n')
    deny.write_text('ALL : ALL : spawn /bin/echo "%c tried to connect to %d" >> /var/log/tcpwrappers.log\n')
    monkeypatch.setattr(_tcpwrap_compile, 'ALLOW_PATH', str(allow))
    monkeypatch.setattr(_tcpwrap_compile, 'DENY_PATH', str(deny))
    return {'allow': allow, 'deny': deny}


def test_the_compiled_filter_goes_into_the_unit(host, run, policy, module_warnings):
    result = run(params(host, tcpwrap_daemon='lighttpd'))
    assert result.get('failed') is not True, result.get('msg')
    expected = EXPECTED_UNIT.format(jail=host['jail']).replace(
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n',
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\nIPAddressAllow=10.0.0.0/8 192.168.0.0/16\nIPAddressDeny=any\n')
    with open(host['unit_file']) as handle:
        assert handle.read() == result['unit'] == expected
    assert result['ip_filter']['ip_address_allow'] == ['10.0.0.0/8', '192.168.0.0/16']
    assert module_warnings == [f"{policy['deny']} line 1: its spawn command cannot run in a kernel filter; the filter "
                               'keeps the verdict but nothing is executed or logged']
    assert run(params(host, tcpwrap_daemon='lighttpd'))['changed'] is False


def test_a_policy_change_changes_the_unit(host, run, policy):
    run(params(host, tcpwrap_daemon='lighttpd'))
    policy['allow'].write_text('lighttpd : 10.1.\n')
    result = run(params(host, tcpwrap_daemon='lighttpd'))
    assert result['changed'] is True and 'IPAddressAllow=10.1.0.0/16\n' in result['unit']


def test_without_tcpwrap_daemon_the_unit_has_no_filter(host, run, policy):
    assert 'IPAddress' not in run(params(host))['unit']


@pytest.mark.parametrize('allow, extra, message', [
    ('lighttpd : LOCAL\n', {},
     'tcpwrap_daemon: {allow} line 1: cannot be compiled into an IP filter: LOCAL matches host names without a dot'),
    ('lighttpd : 10.\n', {'IPAddressAllow': 'any'},
     'extra_properties: IPAddressAllow is set by tcpwrap_daemon; give one or the other'),
])
def test_refusals_before_anything_is_written(host, run, policy, allow, extra, message):
    policy['allow'].write_text(allow)
    result = run(params(host, tcpwrap_daemon='lighttpd', extra_properties=extra))
    assert result['failed'] is True and result['msg'] == message.format(allow=policy['allow'])
    assert not os.path.exists(host['unit_file']) and host['systemd'].calls == []
