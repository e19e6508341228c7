# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate


class FakeEnv(Environment):
    """Host lookups without touching the machine running the tests."""

    def __init__(self, files=None, netgroups=None, users=('root', 'nobody'), groups=('root', 'nogroup')):
        self.files = files or {}
        self.netgroups = netgroups or {}
        self.users = users
        self.groups = groups

    def host_file_words(self, path):
        return self.files.get(path, '').split()

    def innetgr(self, netgroup, hostname):
        return hostname in self.netgroups.get(netgroup, ())

    def user_exists(self, name):
        return name in self.users

    def group_exists(self, name):
        return name in self.groups


def verdict(allow, deny, daemon, address=None, env=None, **kwargs):
    tables = [('allow', '/etc/hosts.allow', scan_table(allow)), ('deny', '/etc/hosts.deny', scan_table(deny))]
    return evaluate(tables, daemon, address=address, env=env or FakeEnv(), **kwargs)


# ---------------------------------------------------------------- matching

MATCH_CASES = [
    # (client pattern, address, hostname, user, expected)
    ('ALL', '10.1.2.3', None, None, True),
    ('all', '10.1.2.3', None, None, True),
    ('192.168.', '192.168.7.1', None, None, True),
    ('192.168.', '192.169.7.1', None, None, False),
    ('10.0.0.0/255.0.0.0', '10.9.9.9', None, None, True),
    ('10.0.0.0/8', '10.9.9.9', None, None, True),
    ('10.0.0.1/8', '10.9.9.9', None, None, False),
    ('10.0.0.0/0', '10.9.9.9', None, None, False),
    ('10.0.0.0/33', '10.0.0.0', None, None, False),
    ('10.0.0.0/8x', '10.9.9.9', None, None, True),
    ('010.0.0.0/8', '8.1.1.1', None, None, True),
    ('1.2.3.4/255.255.255.255', '1.2.3.4', None, None, False),
    ('[2001:db8::]/32', '2001:db8:5::1', None, None, True),
    ('[2001:db8::]/32', '2001:db9::1', None, None, False),
    ('[2001:DB8::1]', '2001:db8::1', None, None, True),
    ('10.0.0.0/8', '::ffff:10.1.1.1', None, None, True),
    ('1?.2*.3.4', '11.22.3.4', None, None, True),
    ('*.example.com', '10.0.0.1', 'www.EXAMPLE.com', None, True),
    ('.example.com', '10.0.0.1', 'www.example.com', None, True),
    ('.example.com', '10.0.0.1', 'example.com', None, False),
    ('LOCAL', '10.0.0.1', 'gateway', None, True),
    ('LOCAL', '10.0.0.1', 'gw.example.com', None, False),
    ('LOCAL', '10.0.0.1', None, None, False),
    ('KNOWN', '10.0.0.1', 'gw.example.com', None, True),
    ('KNOWN', '10.0.0.1', None, None, False),
    ('UNKNOWN', '10.0.0.1', None, None, True),
    ('UNKNOWN', '10.0.0.1', 'gw', None, False),
    ('PARANOID', '10.0.0.1', 'paranoid', None, True),
    ('PARANOID', '10.0.0.1', 'gw', None, False),
    ('bob@ALL', '10.0.0.1', None, 'BOB', True),
    ('bob@ALL', '10.0.0.1', None, None, False),
    ('KNOWN@10.', '10.0.0.1', None, 'alice', True),
    ('@admins', '10.0.0.1', 'gw', None, True),
    ('@admins', '10.0.0.1', 'other', None, False),
    ('/etc/trusted', '10.0.0.7', None, None, True),
    ('/etc/trusted', '10.0.0.8', None, None, False),
    ('ALL EXCEPT 10.', '10.0.0.1', None, None, False),
    ('ALL EXCEPT 10. EXCEPT 10.0.0.1', '10.0.0.1', None, None, True),
    ('ALL EXCEPT 10. EXCEPT 10.0.0.1', '10.0.0.2', None, None, False),
    ('EXCEPT 10.0.0.1', '10.0.0.1', None, None, False),
]


@pytest.mark.parametrize('pattern, address, hostname, user, expected', MATCH_CASES)
def test_client_patterns(pattern, address, hostname, user, expected):
    env = FakeEnv(files={'/etc/trusted': '192.0.2.1\n10.0.0.7 .example.org'}, netgroups={'admins': ['gw']})
    result = verdict(f'sshd : {pattern} : deny\n'.encode(), b'', 'sshd', address, env,
                     hostname=hostname, user=user)
    assert (result.access == 'denied') is expected


@pytest.mark.parametrize('pattern, daemon, server, expected', [
    ('sshd', 'SSHD', None, True),
    ('s*d', 'sshd', None, True),
    ('in.?elnetd', 'in.telnetd', None, True),
    ('ALL EXCEPT vsftpd', 'vsftpd', None, False),
    ('sshd@10.0.0.1', 'sshd', '10.0.0.1', True),
    ('sshd@10.0.0.1', 'sshd', '10.0.0.2', False),
    ('sshd@unknown', 'sshd', None, True),
    ('sshd@KNOWN', 'sshd', None, False),
])
def test_daemon_patterns(pattern, daemon, server, expected):
    result = verdict(f'{pattern} : ALL : deny\n'.encode(), b'', daemon, '192.0.2.1', server_address=server)
    assert (result.access == 'denied') is expected


# ---------------------------------------------------------------- evaluation

EVAL_CASES = [
    # allow, deny, daemon, address, (access, table, line, delegated)
    (b'sshd : ALL\n', b'ALL : ALL\n', 'sshd', '10.0.0.1', ('granted', 'allow', 1, False)),
    (b'sshd : ALL\n', b'ALL : ALL\n', 'in.telnetd', '10.0.0.1', ('denied', 'deny', 1, False)),
    (b'', b'', 'sshd', '10.0.0.1', ('granted', None, None, False)),
    (b'# c\nsshd : 10.0.0.1 \\\n 10.0.0.2\n', b'ALL : ALL\n', 'sshd', '10.0.0.2', ('granted', 'allow', 3, False)),
    (b'sshd : ALL : /bin/echo hi\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : ALL : spawn /bin/echo hi\n', b'', 'sshd', '10.0.0.1', ('granted', 'allow', 1, False)),
    (b'sshd : ALL : twist /bin/echo hi\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, True)),
    (b'sshd : ALL : deny\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'', b'ALL : ALL : allow\n', 'sshd', '10.0.0.1', ('granted', 'deny', 1, False)),
    (b'sshd : ALL : allow : spawn x\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : ALL :\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : ALL : allow # comment\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : ALL : severity authpriv.info\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : ALL : severity local3.err : umask 022 : nice : rfc931 : keepalive\n', b'', 'sshd', '10.0.0.1',
     ('granted', 'allow', 1, False)),
    (b'sshd : ALL : user nosuchuser\n', b'', 'sshd', '10.0.0.1', ('denied', 'allow', 1, False)),
    (b'sshd : 10.0.0.1', b'ALL : ALL\n', 'sshd', '10.0.0.1', ('denied', 'deny', 1, False)),
    (b'', b'x : y', 'sshd', '10.0.0.1', ('denied', 'deny', 1, False)),
    (b'x : ' + b'y' * 2043 + b'\nsshd : ALL : deny\n', b'', 'sshd', '10.0.0.1', ('granted', None, None, False)),
    (b'', b'x : ' + b'y' * 2043 + b'\n', 'sshd', '10.0.0.1', ('denied', 'deny', 1, False)),
    (b'sshd : 10.0.0.1\0junk\nsshd : ALL : deny\n', b'', 'sshd', '10.0.0.1', ('granted', None, None, False)),
    (b'sshd 10.0.0.1\n', b'ALL : ALL\n', 'sshd', '10.0.0.1', ('denied', 'deny', 1, False)),
    (b'sshd : 2001:db8::1\n', b'ALL : ALL\n', 'sshd', '2001:db8::1', ('denied', 'deny', 1, False)),
]


@pytest.mark.parametrize('allow, deny, daemon, address, expected', EVAL_CASES)
def test_evaluate(allow, deny, daemon, address, expected):
    result = verdict(allow, deny, daemon, address)
    assert (result.access, result.table, result.line, result.delegated) == expected


@pytest.mark.parametrize('options, reason', [
    ('/bin/echo hi', 'denied by libwrap: bad option name: "/bin/echo" (/etc/hosts.allow line 1)'),
    ('allow : spawn x', 'denied by libwrap: option "allow" must be at end (/etc/hosts.allow line 1)'),
    ('spawn', 'denied by libwrap: option "spawn" requires value (/etc/hosts.allow line 1)'),
    ('keepalive 1', 'denied by libwrap: option "keepalive" requires no value (/etc/hosts.allow line 1)'),
    ('umask 999', 'denied by libwrap: bad umask value: "999" (/etc/hosts.allow line 1)'),
    ('severity bogus', 'denied by libwrap: bad syslog facility or severity: "bogus" (/etc/hosts.allow line 1)'),
    ('rfc931 0', 'denied by libwrap: bad rfc931 timeout: "0" (/etc/hosts.allow line 1)'),
    ('group wheel', 'denied by libwrap: unknown group: "wheel" (/etc/hosts.allow line 1)'),
    (' : deny', 'denied by libwrap: missing option name (/etc/hosts.allow line 1)'),
])
def test_option_failures_are_explained(options, reason):
    result = verdict(f'sshd : ALL : {options}\n'.encode(), b'', 'sshd', '10.0.0.1')
    assert result.access == 'denied'
    assert result.reason == reason


def test_broken_line_reason_names_file_and_line():
    result = verdict(b'', b'sshd : ALL\nx : y', 'vsftpd', '10.0.0.1')
    assert result.reason == ('denied by libwrap: missing newline at end of file: libwrap ignores this line '
                             'and fails closed (/etc/hosts.deny line 2)')
