# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""tcpwrap_info's enforcement report, on a fake host tree (the room's HOST_ROOT)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_enforcement as enforcement
from ansible_collections.serversec.confine.plugins.modules import tcpwrap_info
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__tcpwrap_enforcement import PLAIN, WRAPPED

ALLOW = b'sshd : 192.168.\nin.telnetd : 192.168.\nvsftpd : LOCAL\n'
DENY = b'ALL : ALL : spawn /bin/echo "%c tried to connect to %d" >> /var/log/tcpwrappers.log\n'


@pytest.fixture
def host(tmp_path, monkeypatch):
    root = tmp_path / 'root'
    for path, content in (('usr/sbin/sshd', PLAIN), ('usr/lib/openssh/sshd-session', WRAPPED), ('usr/sbin/vsftpd', PLAIN),
                          ('etc/systemd/system/telnet.socket', b'[Socket]\nListenStream=23\nAccept=yes\n'),
                          ('etc/systemd/system/telnet@.service',
                           b'[Service]\nExecStart=@/usr/sbin/tcpd /usr/local/sbin/in.telnetd\nStandardInput=socket\n')):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(content)
    monkeypatch.setattr(enforcement, 'HOST_ROOT', str(root))
    allow, deny = tmp_path / 'hosts.allow', tmp_path / 'hosts.deny'
    allow.write_bytes(ALLOW)
    deny.write_bytes(DENY)
    return dict(allow_path=str(allow), deny_path=str(deny))


def test_enforcement_per_daemon_named_in_the_files_and_the_queries(host, run_module):
    result = run_module(tcpwrap_info, dict(host, queries=[dict(daemon='sshd', address='192.168.1.2')], daemons=['ghost'],
                                           addresses=['192.0.2.1']))
    summary = [(item['daemon'], item['enforced_by'], item['nobody']) for item in result['enforcement']]
    assert summary == [
        ('sshd', [{'mechanism': 'libwrap', 'binary': '/usr/lib/openssh/sshd-session'}], False),
        ('in.telnetd', [{'mechanism': 'tcpd', 'unit': 'telnet.socket', 'service': 'telnet@.service',
                         'file': '/etc/systemd/system/telnet@.service'}], False),
        ('vsftpd', [], True),
        ('ghost', [], True),
    ]
    unenforced = [(problem['file'], problem['line'], problem['message']) for problem in result['problems']
                  if 'nobody enforces' in problem['message']]
    assert unenforced == [
        (host['allow_path'], 3, 'daemon "vsftpd": nobody enforces its TCP wrappers rules on this host (/usr/sbin/vsftpd '
                                'does not link libwrap; no tcpd socket unit or systemd IP filter serves it)'),
        (None, None, 'daemon "ghost": nobody enforces its TCP wrappers rules on this host (no binary of it found on this '
                     'host; no tcpd socket unit or systemd IP filter serves it)'),
    ]


def test_report_enforcement_false_reads_no_daemon(host, run_module, monkeypatch):
    monkeypatch.setattr(enforcement.Enforcement, 'report', None)
    result = run_module(tcpwrap_info, dict(host, report_enforcement=False))
    assert 'enforcement' not in result
    assert not [problem for problem in result['problems'] if 'nobody enforces' in problem['message']]
