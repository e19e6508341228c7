# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libwrap parity (issue 11, section 4): each class of difference once found against tcpdmatch.

Expected values were read from Debian's tcpdmatch -d (tcpd 7.6.q-32) or, where its dry run
cannot show them, from hosts_access() of the same libwrap run for real in a test program.
Every case is decided by the reference evaluator and by the compiled policy, which must agree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import (
    TcpwrapError,
    c_atoi,
    scan_int,
    scan_unsigned,
    scan_table,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import CompiledPolicy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_problems import policy_problems
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_rules import Rule


class FakeEnv(Environment):
    """Host lookups without touching the machine running the tests."""

    users = {'root': (0, 0), 'daemon': (1, 1), 'nobody': (65534, 65534)}
    groups = {'root': 0, 'daemon': 1, 'nogroup': 65534}
    interfaces = {'lo': 1, 'eth0': 2}

    def __init__(self, dry_run=False):
        self.dry_run = dry_run

    def user_exists(self, name):
        return name in self.users

    def user_ids(self, name):
        return self.users[name]

    def group_exists(self, name):
        return name in self.groups

    def group_id(self, name):
        return self.groups[name]

    def interface_index(self, name):
        return self.interfaces.get(name)


def decide(allow, deny, daemon, address, **kwargs):
    """(access, reason) of the reference evaluator, checked equal to the compiled policy's verdict."""
    tables = [('allow', '/etc/hosts.allow', scan_table(allow)), ('deny', '/etc/hosts.deny', scan_table(deny))]
    reference = evaluate(tables, daemon, address=address, env=FakeEnv(), **kwargs)
    compiled = CompiledPolicy(tables, FakeEnv()).decide(daemon, address, **kwargs)
    assert compiled.as_dict() == reference.as_dict()
    return reference.access, reference.reason


def problems(allow, deny=b''):
    """The problems of a policy, without the "no ALL : ALL" note every test policy would get."""
    found = policy_problems('/etc/hosts.allow', scan_table(allow), '/etc/hosts.deny', scan_table(deny), FakeEnv())
    return [(p['file'], p['line'], p['severity'], p['message']) for p in found if p['line'] is not None]


def rule_error(spec):
    with pytest.raises(TcpwrapError) as caught:
        Rule(spec, 'rules[0]', FakeEnv())
    return str(caught.value)


# ---------------------------------------------------------------- numbers

@pytest.mark.parametrize('text, expected', [
    ('8', 8), ('+8', 8), ('-8', -8), ('08', 8), ('8x', 8), ('\v 8', 8), ('x8', 0), ('', 0), ('0x10', 0),
    ('4294967304', 8), ('-4294967288', 8), ('2147483648', -2147483648),
    ('18446744073709551624', -1), ('9223372036854775816', -1), ('-9223372036854775809', 0),
])
def test_atoi_wraps_like_glibc(text, expected):
    assert c_atoi(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('5', 5), ('+5', 5), ('-0', 0), ('\v5', 5), (' \f5', 5), ('4294967301', 5), ('-4294967291', 5),
    ('2147483648', -2147483648), ('99999999999999999999', -1), ('-9223372036854775809', 0),
    ('5x', None), ('0x5', None), ('', None), ('+', None), ('- 5', None), ('+-5', None), ('5 ', None),
])
def test_scan_int_is_sscanf_d_c(text, expected):
    assert scan_int(text) == expected


@pytest.mark.parametrize('text, octal, expected', [
    ('22', False, 22), ('+22', False, 22), ('4294967318', False, 22), ('-4294967274', False, 22),
    ('-22', False, 4294967274), ('18446744073709551638', False, 0xFFFFFFFF), ('022', False, 22),
    ('2x', False, None), ('0x16', False, None), ('', False, None),
    ('022', True, 0o22), ('+022', True, 0o22), ('-0', True, 0), ('040000000000', True, 0),
    ('01000000000000000000000000', True, 0xFFFFFFFF), ('08', True, None), ('0x1', True, None),
])
def test_scan_unsigned_is_sscanf_u_or_o(text, octal, expected):
    assert scan_unsigned(text, octal) == expected


@pytest.mark.parametrize('pattern, address, access', [
    # tcpdmatch: "denied" where the pattern matches (the rule says deny), "granted" where not
    ('10.0.0.0/4294967304', '10.1.2.3', 'denied'),
    ('10.0.0.0/-4294967288', '10.1.2.3', 'denied'),
    ('10.0.0.0/+8', '10.1.2.3', 'denied'),
    ('10.0.0.0/40', '10.1.2.3', 'granted'),
    ('10.0.0.0/18446744073709551624', '10.1.2.3', 'granted'),
    ('10.0.0.0/9223372036854775816', '10.1.2.3', 'granted'),
    ('10.0x.0.0/255.255.0.0', '10.0.2.3', 'granted'),
    ('0x.0.0.0/8', '0.1.2.3', 'granted'),
    ('[2001:db8::]/4294967328', '2001:db8::1', 'denied'),
    ('[2001:db8::]/-4294967264', '2001:db8::1', 'denied'),
    ('[2001:db8::]/18446744073709551616', '2001:db8::1', 'granted'),
])
def test_prefix_lengths_wrap_like_libwrap(pattern, address, access):
    assert decide(f'sshd : {pattern} : deny\n'.encode(), b'', 'sshd', address)[0] == access


# ---------------------------------------------------------------- linger and the other numeric options

@pytest.mark.parametrize('option', [
    'linger 5', 'linger +5', 'linger 0', 'linger -0', 'linger 4294967301', 'linger -4294967291',
    'linger -9223372036854775809', 'rfc931 4294967297', 'umask +022', 'umask -0', 'umask 040000000000',
    'nice 99999999999999999999', 'nice -5',
])
def test_numeric_options_libwrap_accepts(option):
    assert decide(f'sshd : ALL : {option}\n'.encode(), b'', 'sshd', '10.0.0.1') == (
        'granted', 'matched /etc/hosts.allow line 1')


@pytest.mark.parametrize('option, error', [
    ('linger -1', 'bad linger value: "-1"'),
    ('linger 5x', 'bad linger value: "5x"'),
    ('linger 0x5', 'bad linger value: "0x5"'),
    ('linger 2147483648', 'bad linger value: "2147483648"'),
    ('linger 99999999999999999999', 'bad linger value: "99999999999999999999"'),
    ('rfc931 4294967296', 'bad rfc931 timeout: "4294967296"'),
    ('umask 01000000000000000000000000', 'bad umask value: "01000000000000000000000000"'),
    ('nice 5x', 'bad nice value: "5x"'),
])
def test_numeric_options_libwrap_rejects(option, error):
    assert decide(f'sshd : ALL : {option}\n'.encode(), b'', 'sshd', '10.0.0.1') == (
        'denied', f'denied by libwrap: {error} (/etc/hosts.allow line 1)')


# ---------------------------------------------------------------- \v and \f in options

@pytest.mark.parametrize('options, access', [
    ('\vallow', 'granted'), ('allow\v\f ', 'granted'), ('\v\fallow\f', 'granted'), ('\fdeny', 'denied'),
    ('severity auth.info\v', 'granted'), ('nice \v5', 'granted'), ('umask \v022', 'granted'),
    ('umask 022\f', 'granted'), ('linger \v5', 'granted'), ('rfc931 \f7', 'granted'), ('keepalive =\f', 'granted'),
    ('group root\v', 'granted'), ('setenv \vA b', 'granted'),
])
def test_blanks_libwrap_trims(options, access):
    assert decide(f'sshd : ALL : {options}\n'.encode(), b'', 'sshd', '10.0.0.1') == (
        access, 'matched /etc/hosts.allow line 1')


@pytest.mark.parametrize('options, error', [
    ('al\vlow', 'bad option name: "al\vlow"'),
    ('spawn\v/bin/true', 'bad option name: "spawn\v/bin/true"'),
    ('nice\v5', 'bad option name: "nice\v5"'),
    ('severity \vauth.info', 'bad syslog facility or severity: "\vauth"'),
    ('group \vroot', 'unknown group: "\vroot"'),
    ('spawn /bin/true :\v', 'missing option name'),
    ('\v', 'missing option name'),
])
def test_blanks_libwrap_keeps(options, error):
    assert decide(f'sshd : ALL : {options}\n'.encode(), b'', 'sshd', '10.0.0.1') == (
        'denied', f'denied by libwrap: {error} (/etc/hosts.allow line 1)')


def test_blanks_in_a_rule_are_reported():
    assert problems(b'sshd : ALL : \vallow\n') == [
        ('/etc/hosts.allow', 1, 'warning', 'vertical tab or form feed in the rule: libwrap trims it around an option '
         'name or value like a space, but in a pattern, or between an option name and its value, it is part of the '
         'text')]


@pytest.mark.parametrize('spec, error', [
    ({'daemons': ['sshd'], 'clients': ['ALL'], 'options': ['\vallow']},
     'rules[0].options[0]: contains a vertical tab, which libwrap would misread'),
    ({'daemons': ['sshd'], 'clients': ['ALL'], 'options': ['severity \fauth.info']},
     'rules[0].options[0]: contains a form feed, which libwrap would misread'),
    ({'daemons': ['\vsshd'], 'clients': ['ALL']},
     'rules[0].daemons[0]: contains a vertical tab, which libwrap would misread'),
])
def test_rule_refuses_blanks_libwrap_reads_its_own_way(spec, error):
    assert rule_error(spec) == error


# ---------------------------------------------------------------- IPv6 scope ids

@pytest.mark.parametrize('pattern, address', [
    ('[fe80::1%lo]', 'fe80::1'), ('[fe80::1%eth0]', 'fe80::1'), ('[fe80::1%1]', 'fe80::1'), ('[fe80::1%0]', 'fe80::1'),
    ('[fe80::1%01]', 'fe80::1'), ('[fe80::1%4294967295]', 'fe80::1'), ('[fe80::%lo]/64', 'fe80::1'),
    ('[fe80::1%lo]/4294967360', 'fe80::1'), ('[febf::1%lo]', 'febf::1'), ('[ff02::1%lo]', 'ff02::1'),
    ('[ff01::1%lo]', 'ff01::1'), ('[ff12::1%lo]', 'ff12::1'), ('[2001:db8::1%99]', '2001:db8::1'),
    ('[2001:db8::%7]/32', '2001:db8::1'), ('[fe80::1]', 'fe80::1%lo'), ('sshd@[fe80::1%lo]', 'fe80::1'),
])
def test_scope_ids_libwrap_accepts_match_the_address(pattern, address):
    user = {'user': 'sshd'} if '@' in pattern else {}
    assert decide(f'sshd : {pattern} : deny\n'.encode(), b'', 'sshd', address, **user)[0] == 'denied'


@pytest.mark.parametrize('pattern, address', [
    ('[fe80::1%nonexist]', 'fe80::1'), ('[FE80::1%LO]', 'fe80::1'), ('[fe80::1%4294967296]', 'fe80::1'),
    ('[fe80::1%-1]', 'fe80::1'), ('[fe80::1%]', 'fe80::1'), ('[fe80::1%1x]', 'fe80::1'), ('[fe80::1%lo%x]', 'fe80::1'),
    ('[fe80::*%lo]', 'fe80::1'), ('[2001:db8::1%lo]', '2001:db8::1'), ('[2001:db8::%lo]/32', '2001:db8::1'),
    ('[ff03::1%lo]', 'ff03::1'), ('[fec0::1%lo]', 'fec0::1'), ('[fe80::1%lo]', 'fe80::2'),
])
def test_scope_ids_glibc_rejects_never_match(pattern, address):
    assert decide(f'sshd : {pattern} : deny\n'.encode(), b'', 'sshd', address)[0] == 'granted'


def test_scope_id_is_reported_and_refused():
    message = ('client pattern "[fe80::1%lo]": "[fe80::1%lo]" has a scope id, which libwrap does not compare: it '
               'matches fe80::1 from any interface (or nothing, when glibc rejects the scope); write [fe80::1]')
    assert problems(b'sshd : [fe80::1%lo] : deny\n') == [('/etc/hosts.allow', 1, 'warning', message)]
    assert rule_error({'daemons': ['sshd'], 'clients': ['[fe80::%eth0]/64']}) == (
        'rules[0].clients[0]: "[fe80::%eth0]" has a scope id, which libwrap does not compare: it matches fe80:: from '
        'any interface (or nothing, when glibc rejects the scope); write [fe80::]')


# ---------------------------------------------------------------- numbers as daemon patterns: server ports

@pytest.mark.parametrize('pattern, daemon, port', [
    # hosts_access() of Debian's libwrap, run for real with a server port (tcpdmatch has none)
    ('22', 'sshd', 22), ('022', 'sshd', 22), ('+22', 'sshd', 22), ('0', 'sshd', 0), ('00', 'sshd', 0),
    ('4294967318', 'sshd', 22), ('-4294967274', 'sshd', 22), ('65535', 'sshd', 65535), ('22@ALL', 'sshd', 22),
    ('sshd,22', 'vsftpd', 22), ('-22', '-22', 22), ('2x', '2x', 2), ('2?', '22', 23), ('65558', '65558', 22),
])
def test_daemon_patterns_libwrap_matches(pattern, daemon, port):
    assert decide(f'{pattern} : ALL : deny\n'.encode(), b'', daemon, '10.0.0.1', server_port=port)[0] == 'denied'


@pytest.mark.parametrize('pattern, daemon, port', [
    ('22', '22', 23), ('22', '22', None), ('0', 'sshd', None), ('22@ALL', '22', None), ('+22', '+22', 23),
    ('65558', 'sshd', 22), ('18446744073709551638', 'sshd', 22), ('-22', 'sshd', 65514), ('2x', 'sshd', 2),
    ('ALL EXCEPT 22', 'sshd', 22),
])
def test_daemon_patterns_libwrap_does_not_match(pattern, daemon, port):
    assert decide(f'{pattern} : ALL : deny\n'.encode(), b'', daemon, '10.0.0.1', server_port=port)[0] == 'granted'


# ---------------------------------------------------------------- aclexec

ACLEXEC_NOTE = ('aclexec: at connection time its command decides; exit status 0 keeps this verdict, any other makes '
                'the rule not match and the rules after it decide (tcpdmatch does not run it)')


@pytest.mark.parametrize('allow, deny, access, notes, reason', [
    # tcpdmatch -d reports these accesses (a dry run does not execute the command)
    (b'sshd : ALL : aclexec /bin/false\n', b'', 'granted', [ACLEXEC_NOTE],
     'matched /etc/hosts.allow line 1; at connection time its aclexec command decides'),
    (b'', b'sshd : ALL : ACLEXEC /usr/bin/check %a\n', 'denied', [ACLEXEC_NOTE],
     'matched /etc/hosts.deny line 1; at connection time its aclexec command decides'),
    (b'sshd : ALL : spawn y : aclexec=x : severity auth.info\n', b'', 'granted', [ACLEXEC_NOTE],
     'matched /etc/hosts.allow line 1; at connection time its aclexec command decides'),
    (b'', b'sshd : ALL : aclexec /bin/true : allow\n', 'granted', [], 'matched /etc/hosts.deny line 1'),
    (b'sshd : ALL : aclexec /bin/false : deny\n', b'', 'denied', [], 'matched /etc/hosts.allow line 1'),
    (b'sshd : ALL : aclexec\n', b'', 'denied', [],
     'denied by libwrap: option "aclexec" requires value (/etc/hosts.allow line 1)'),
])
def test_aclexec_verdicts_say_the_command_decides(allow, deny, access, notes, reason):
    tables = [('allow', '/etc/hosts.allow', scan_table(allow)), ('deny', '/etc/hosts.deny', scan_table(deny))]
    verdict = evaluate(tables, 'sshd', address='10.0.0.1', env=FakeEnv())
    assert (verdict.access, verdict.notes, verdict.reason) == (access, notes, reason)
    assert CompiledPolicy(tables, FakeEnv()).decide('sshd', '10.0.0.1').as_dict() == verdict.as_dict()


def test_aclexec_is_reported_and_written():
    assert problems(b'sshd : ALL : aclexec /usr/bin/check %a\n') == [
        ('/etc/hosts.allow', 1, 'info', 'aclexec: its command decides at connection time (exit status 0 keeps this '
         'rule, any other lets the rules after it decide); tcpdmatch and the verdicts here take the rule as matching')]
    rule = Rule({'daemons': ['sshd'], 'clients': ['ALL'], 'options': ['aclexec /usr/bin/check %a : b']}, 'rules[0]',
                FakeEnv())
    assert rule.line == 'sshd : ALL : aclexec /usr/bin/check %a \\: b'


# ---------------------------------------------------------------- user and group

USER_CASES = [
    # options, (daemon: hosts_access() of libwrap0 7.6.q-32 run for real), (tcpdmatch -d as root)
    ('user nobody', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setgid(nobody): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user daemon', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setgid(daemon): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user root', ('granted', 'matched /etc/hosts.allow line 1'), ('granted', 'matched /etc/hosts.allow line 1')),
    ('user nobody.nogroup', ('granted', 'matched /etc/hosts.allow line 1'),
     ('granted', 'matched /etc/hosts.allow line 1')),
    ('user nobody.root', ('granted', 'matched /etc/hosts.allow line 1'), ('granted', 'matched /etc/hosts.allow line 1')),
    ('group nogroup', ('granted', 'matched /etc/hosts.allow line 1'), ('granted', 'matched /etc/hosts.allow line 1')),
    ('group nogroup : user nobody', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: initgroups(nobody): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user nobody.nogroup : group root', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setgid(root): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user nobody.nogroup : user daemon', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setuid(daemon): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user daemon.daemon : group daemon', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setgroups(daemon): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user root : user nobody', ('granted', 'matched /etc/hosts.allow line 1'),
     ('denied', 'denied by libwrap: setgid(nobody): Operation not permitted (/etc/hosts.allow line 1)')),
    ('user nobody.', ('denied', 'denied by libwrap: unknown group: "" (/etc/hosts.allow line 1)'),
     ('denied', 'denied by libwrap: unknown group: "" (/etc/hosts.allow line 1)')),
    ('user nosuch.nosuchg', ('denied', 'denied by libwrap: unknown group: "nosuchg" (/etc/hosts.allow line 1)'),
     ('denied', 'denied by libwrap: unknown group: "nosuchg" (/etc/hosts.allow line 1)')),
]


@pytest.mark.parametrize('options, daemon, tcpdmatch', USER_CASES)
def test_user_and_group_as_a_daemon_and_as_tcpdmatch_decide(options, daemon, tcpdmatch):
    tables = [('allow', '/etc/hosts.allow', scan_table(f'sshd : ALL : {options}\n'.encode())),
              ('deny', '/etc/hosts.deny', [])]
    for env, expected in ((FakeEnv(), daemon), (FakeEnv(dry_run=True), tcpdmatch)):
        verdict = evaluate(tables, 'sshd', address='10.0.0.1', env=env)
        assert (verdict.access, verdict.reason) == expected
        assert CompiledPolicy(tables, env).decide('sshd', '10.0.0.1').as_dict() == verdict.as_dict()


def test_user_and_group_are_reported_and_refused():
    user = ('option "user": daemons linked with Debian\'s libwrap ignore it, so the daemon and its spawn commands keep '
            'running as their own user (root under tcpd); tcpdmatch switches to it in its dry run and then denies, '
            'unless the user is root or ".group" is given. Run the service as an unprivileged user instead '
            '(serversec.confine.jailed_service)')
    group = ('option "group": daemons linked with Debian\'s libwrap ignore it, so the daemon and its spawn commands '
             'keep their own group (root\'s under tcpd); only tcpdmatch switches group in its dry run')
    assert problems(b'sshd : ALL : group nogroup : User nobody\n') == [
        ('/etc/hosts.allow', 1, 'error', group), ('/etc/hosts.allow', 1, 'error', user)]
    assert rule_error({'daemons': ['sshd'], 'clients': ['ALL'], 'options': ['group nogroup']}) == (
        'rules[0].options[0]: option "group" is refused: daemons linked with Debian\'s libwrap ignore it (the daemon '
        'and its spawn commands keep their own credentials, root under tcpd), and tcpdmatch switches in its dry run '
        'and may deny. Run the service as an unprivileged user instead (serversec.confine.jailed_service)')
