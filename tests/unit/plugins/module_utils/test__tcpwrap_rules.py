# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap as tw
from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_rules as rules
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment


class FakeEnv(Environment):
    def user_exists(self, name):
        return name in ('root', 'nobody')

    def group_exists(self, name):
        return name in ('root', 'nogroup')


def make(**spec):
    return rules.Rule(spec, 'rules[0]', FakeEnv())


VALID = [
    (dict(daemons=['sshd'], clients=['ALL']), 'sshd : ALL'),
    (dict(daemons=['in.telnetd'], clients=['192.168.*', '127.0.0.1']), 'in.telnetd : 192.168.*, 127.0.0.1'),
    (dict(daemons=['ALL'], except_daemons=['vsftpd'], clients=['LOCAL', '.example.com'],
          except_clients=['bad.example.com']),
     'ALL EXCEPT vsftpd : LOCAL, .example.com EXCEPT bad.example.com'),
    (dict(daemons=['sshd@192.0.2.1'], clients=['10.0.0.0/255.0.0.0', '172.16.0.0/12', '[2001:db8::]/32',
                                               '[2001:db8::1]', 'bob@10.', '@admins', '/etc/trusted', 'KNOWN',
                                               'UNKNOWN', 'PARANOID', '10.?.*']),
     'sshd@192.0.2.1 : 10.0.0.0/255.0.0.0, 172.16.0.0/12, [2001:db8::]/32, [2001:db8::1], bob@10., @admins, '
     '/etc/trusted, KNOWN, UNKNOWN, PARANOID, 10.?.*'),
    (dict(daemons=['ALL'], clients=['ALL'],
          command='/bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log'),
     'ALL : ALL : spawn /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['severity auth.info', 'setenv A b:c', 'twist /bin/echo no']),
     'sshd : ALL : severity auth.info : setenv A b\\:c : twist /bin/echo no'),
    (dict(daemons=['sshd'], clients=['ALL'], command='logger x', options=['umask=022', 'DENY']),
     'sshd : ALL : spawn logger x : umask 022 : deny'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['keepalive', 'rfc931', 'nice 5',
                                                      'linger 10', 'banners /etc/banners', 'allow']),
     'sshd : ALL : keepalive : rfc931 : nice 5 : linger 10 : banners /etc/banners : allow'),
]


@pytest.mark.parametrize('spec, line', VALID)
def test_valid_rules_render_and_read_back(spec, line):
    rule = make(**spec)
    assert rule.line == line
    entry = tw.scan_table(rule.render())[0]
    assert entry.kind == 'rule'
    assert rules.entry_key(entry) == rule.key


INVALID = [
    (dict(daemons=[], clients=['ALL']),
     'rules[0].daemons: at least one daemon pattern is required (ALL for every daemon)'),
    (dict(daemons=['sshd'], clients=[]),
     'rules[0].clients: at least one client pattern is required (ALL for every client)'),
    (dict(daemons=['sshd'], clients=['10.0.0.1\n']),
     'rules[0].clients[0]: contains a newline, which libwrap would misread'),
    (dict(daemons=['ss\0hd'], clients=['ALL']),
     'rules[0].daemons[0]: contains a NUL byte, which libwrap would misread'),
    (dict(daemons=['sshd'], clients=['a\rb']),
     'rules[0].clients[0]: contains a carriage return, which libwrap would misread'),
    (dict(daemons=['\ufeffsshd'], clients=['ALL']),
     'rules[0].daemons[0]: contains a byte order mark, which libwrap would misread'),
    (dict(daemons=['sshd'], clients=['10.0.0.1 10.0.0.2']),
     'rules[0].clients[0]: "10.0.0.1 10.0.0.2" contains whitespace or a comma, which separate patterns; '
     'give each pattern as its own list item'),
    (dict(daemons=['sshd'], clients=['host:22']),
     'rules[0].clients[0]: "host:22" contains an unescaped ":", which ends the field in libwrap'),
    (dict(daemons=['sshd'], clients=['2001:db8::1']),
     'rules[0].clients[0]: IPv6 address "2001:db8::1" must be bracketed, e.g. [2001:db8::1]'),
    (dict(daemons=['sshd'], clients=['bob@2001:db8::/32']),
     'rules[0].clients[0]: IPv6 address "2001:db8::" must be bracketed, e.g. [2001:db8::]'),
    (dict(daemons=['sshd'], clients=['#evil']),
     'rules[0].clients[0]: "#evil" contains "#"; libwrap patterns cannot contain it'),
    (dict(daemons=['sshd'], clients=['host\\']),
     'rules[0].clients[0]: "host\\" contains a backslash; at the end of a line it joins the next line'),
    (dict(daemons=['sshd'], clients=['EXCEPT']),
     'rules[0].clients[0]: EXCEPT is not a pattern; list exceptions in except_clients'),
    (dict(daemons=['sshd'], clients=['10.0.0.1/8']),
     'rules[0].clients[0]: 10.0.0.1/8 has host bits set, so libwrap would never match it; the network is 10.0.0.0/8'),
    (dict(daemons=['sshd'], clients=['10.0.0.0/33']),
     'rules[0].clients[0]: "/33" is not a valid prefix length (1-32)'),
    (dict(daemons=['sshd'], clients=['10.0.0.0/0']),
     'rules[0].clients[0]: "/0" is not a valid prefix length (1-32)'),
    (dict(daemons=['sshd'], clients=['10.0.0.0/255.0.255.0']),
     'rules[0].clients[0]: "255.0.255.0" is not a valid netmask (contiguous, 128.0.0.0 to 255.255.255.254)'),
    (dict(daemons=['sshd'], clients=['10.0.0.1/255.255.255.255']),
     'rules[0].clients[0]: libwrap cannot read the mask 255.255.255.255; write the plain address 10.0.0.1'),
    (dict(daemons=['sshd'], clients=['010.0.0.0/8']),
     'rules[0].clients[0]: "010.0.0.0" is not a valid IPv4 network address in n.n.n.n form'),
    (dict(daemons=['sshd'], clients=['[2001:db8::]/129']),
     'rules[0].clients[0]: "/129" is not a valid IPv6 prefix length (0-128)'),
    (dict(daemons=['sshd'], clients=['[2001:zz::]']),
     'rules[0].clients[0]: "[2001:zz::]" is not a valid bracketed IPv6 address'),
    (dict(daemons=['sshd'], clients=['192.168']),
     'rules[0].clients[0]: "192.168" is neither a complete IPv4 address nor a prefix ending in "." '
     '(libwrap would never match it)'),
    (dict(daemons=['sshd'], clients=['300.1.']),
     'rules[0].clients[0]: "300.1." is not a valid network prefix such as 192.168.'),
    (dict(daemons=['sshd'], clients=['bob@']),
     'rules[0].clients[0]: "bob@" has nothing after "@"'),
    (dict(daemons=['sshd'], clients=['ALL'], command='/bin/echo hi', options=['deny', 'spawn x']),
     'rules[0].options[0]: option "deny" must come last (libwrap denies access otherwise)'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['/bin/echo hi']),
     'rules[0].options[0]: unknown option "/bin/echo"; libwrap denies access on it ("bad option name"). '
     'To run a shell command use "spawn <command>" (or the command parameter)'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['spawn']),
     'rules[0].options[0]: option "spawn" requires a value'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['keepalive yes']),
     'rules[0].options[0]: option "keepalive" takes no value'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['spawn echo \\']),
     'rules[0].options[0]: ends in a backslash, which would join the next line'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['severity authpriv.info']),
     'rules[0].options[0]: bad syslog facility or severity: "authpriv"'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['umask 0999']),
     'rules[0].options[0]: bad umask value: "0999"'),
    (dict(daemons=['sshd'], clients=['ALL'], options=['umask 022', 'USER nobody']),
     'rules[0].options[1]: option "USER" is refused: daemons linked with Debian\'s libwrap ignore it (the daemon and '
     'its spawn commands keep their own credentials, root under tcpd), and tcpdmatch switches in its dry run and may '
     'deny. Run the service as an unprivileged user instead (serversec.confine.jailed_service)'),
    (dict(daemons=['sshd'], clients=['ALL'], command='echo\nrm -rf /'),
     'rules[0].command: contains a newline, which libwrap would misread'),
    (dict(daemons=['sshd'], clients=['ALL'], command='  '),
     'rules[0].command: must be a non-empty shell command'),
    (dict(daemons=['sshd'], clients=['h%d.example.com' % n for n in range(150)]),
     'rules[0]: the rule renders to 2595 bytes; libwrap reads at most 2046 bytes per line (split it into several rules)'),
    (dict(daemons=['sshd'], clients=['ALL'], position='before'),
     'rules[0].anchor: position before needs the existing rule to place it by'),
    (dict(daemons=['sshd'], clients=['ALL'], position='before', anchor='ALL ALL'),
     'rules[0].anchor: "ALL ALL" is not a rule line such as "ALL : ALL"'),
    (dict(daemons=['sshd'], clients=['ALL'], comment='a\nb'),
     'rules[0].comment: contains a newline, which libwrap would misread'),
    (dict(daemons=['sshd'], clients=['ALL'], comment='see C:\\'),
     'rules[0].comment: ends in a backslash, which would join the rule to the comment'),
    (dict(daemons=['sshd'], clients=['ALL'], comment='x' * 2045),
     'rules[0].comment: longer than the 2046 bytes libwrap reads per line'),
    (dict(daemons=['sshd'], clients=['ALL'], command='/bin/echo \\'),
     'rules[0].command: ends in a backslash, which would join the next line'),
]


@pytest.mark.parametrize('spec, message', INVALID)
def test_invalid_rules_are_refused_with_the_field_named(spec, message):
    with pytest.raises(tw.TcpwrapError) as excinfo:
        make(**spec)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('existing, spec', [
    (b'sshd: 10.0.0.1 10.0.0.2\n', dict(daemons=['sshd'], clients=['10.0.0.2', '10.0.0.1'])),
    (b'SSHD ,  sshd : all\n', dict(daemons=['sshd'], clients=['ALL'])),
    (b'sshd : ALL EXCEPT 10.0.0.1 : spawn echo a\\:b : DENY\n',
     dict(daemons=['sshd'], clients=['ALL'], except_clients=['10.0.0.1'], options=['spawn echo a:b', 'deny'])),
    (b'sshd : \\\n ALL\n', dict(daemons=['sshd'], clients=['ALL'])),
])
def test_rule_equal_in_meaning_is_found(existing, spec):
    edit = rules.TableEdit(existing, '/etc/hosts.allow')
    assert edit.apply(make(**spec)) is False
    assert edit.render() == existing


@pytest.mark.parametrize('existing, spec', [
    (b'sshd : ALL\n', dict(daemons=['sshd'], clients=['ALL'], options=['deny'])),
    (b'sshd : ALL :\n', dict(daemons=['sshd'], clients=['ALL'])),
    (b'sshd : /etc/Trusted\n', dict(daemons=['sshd'], clients=['/etc/trusted'])),
    (b'sshd : ALL EXCEPT 10.\n', dict(daemons=['sshd'], clients=['ALL', '10.'])),
    (b'# sshd : ALL\n', dict(daemons=['sshd'], clients=['ALL'])),
])
def test_rule_different_in_meaning_is_added(existing, spec):
    edit = rules.TableEdit(existing, '/etc/hosts.allow')
    assert edit.apply(make(**spec)) is True


UNMANAGED = (b'# fail2ban and DenyHosts lines stay as they are\n'
             b'sshd: 203.0.113.9   # DenyHosts: Sat Nov 28 2026\n'
             b'\n'
             b'ALL : 198.51.100.  \\\n   198.51.100.7 : deny\n'
             b'ALL : ALL\n')


def test_edit_keeps_unmanaged_bytes_and_positions():
    edit = rules.TableEdit(UNMANAGED, '/etc/hosts.deny')
    assert edit.apply(make(daemons=['sshd'], clients=['10.0.0.1'], position='first', comment='ops')) is True
    assert edit.apply(make(daemons=['vsftpd'], clients=['ALL'], position='before', anchor='ALL:ALL')) is True
    assert edit.apply(make(daemons=['in.telnetd'], clients=['LOCAL'], position='after', anchor='ALL:ALL')) is True
    assert edit.apply(make(daemons=['cupsd'], clients=['ALL'])) is True
    assert edit.render() == (
        b'# fail2ban and DenyHosts lines stay as they are\n'
        b'# ops\nsshd : 10.0.0.1\n'
        b'sshd: 203.0.113.9   # DenyHosts: Sat Nov 28 2026\n'
        b'\n'
        b'ALL : 198.51.100.  \\\n   198.51.100.7 : deny\n'
        b'vsftpd : ALL\n'
        b'ALL : ALL\n'
        b'in.telnetd : LOCAL\n'
        b'cupsd : ALL\n')
    again = rules.TableEdit(edit.render(), '/etc/hosts.deny')
    for spec in (dict(daemons=['sshd'], clients=['10.0.0.1'], position='first', comment='ops'),
                 dict(daemons=['vsftpd'], clients=['ALL'], position='before', anchor='ALL:ALL'),
                 dict(daemons=['in.telnetd'], clients=['LOCAL'], position='after', anchor='ALL:ALL'),
                 dict(daemons=['cupsd'], clients=['ALL'])):
        assert again.apply(make(**spec)) is False


def test_position_first_moves_an_existing_rule():
    edit = rules.TableEdit(b'ALL : ALL\nsshd : ALL\n', '/etc/hosts.allow')
    assert edit.apply(make(daemons=['sshd'], clients=['ALL'], position='first')) is True
    assert edit.render() == b'sshd : ALL\nALL : ALL\n'


def test_absent_removes_every_copy_and_its_comment():
    edit = rules.TableEdit(b'# keep\n# ops\nsshd : ALL\nsshd,sshd : ALL\n', '/etc/hosts.allow')
    assert edit.apply(make(daemons=['sshd'], clients=['ALL'], state='absent', comment='ops')) is True
    assert edit.render() == b'# keep\n'
    assert edit.apply(make(daemons=['sshd'], clients=['ALL'], state='absent')) is False


def test_missing_anchor_is_an_error():
    edit = rules.TableEdit(b'sshd : ALL\n', '/etc/hosts.allow')
    with pytest.raises(tw.TcpwrapError) as excinfo:
        edit.apply(make(daemons=['x'], clients=['ALL'], position='after', anchor='ALL : ALL'))
    assert str(excinfo.value) == 'rules[0].anchor: no rule equal to the anchor exists in /etc/hosts.allow'


@pytest.mark.parametrize('existing, message', [
    (b'sshd : ALL', 'rules[0]: cannot add a rule to /etc/hosts.allow: line 1: missing newline at end of file: '
                    'libwrap ignores this line and fails closed. Fix that line first; the file was left unchanged'),
    (b'x : ' + b'y' * 3000 + b'\n',
     'rules[0]: cannot add a rule to /etc/hosts.allow: line 1: line too long '
     '(2047 bytes or more): libwrap stops reading this file here and fails closed. '
     'Fix that line first; the file was left unchanged'),
])
def test_refuses_to_append_after_a_line_libwrap_misreads(existing, message):
    edit = rules.TableEdit(existing, '/etc/hosts.allow')
    with pytest.raises(tw.TcpwrapError) as excinfo:
        edit.apply(make(daemons=['sshd'], clients=['10.0.0.1']))
    assert str(excinfo.value) == message
    assert edit.render() == existing


def test_replace_swaps_the_options_of_a_rule_in_place_of_adding_a_dead_one():
    edit = rules.TableEdit(b'# top\nALL : ALL : spawn /bin/echo old\nsshd : ALL\n', '/etc/hosts.deny')
    assert edit.apply(make(daemons=['ALL'], clients=['ALL'], command='/bin/echo new', replace=True)) is True
    assert edit.render() == b'# top\nsshd : ALL\nALL : ALL : spawn /bin/echo new\n'
    assert edit.apply(make(daemons=['ALL'], clients=['ALL'], command='/bin/echo new', replace=True)) is False
    assert edit.apply(make(daemons=['ALL'], clients=['ALL'], replace=True)) is True
    assert edit.render() == b'# top\nsshd : ALL\nALL : ALL\n'


def test_hazards_name_the_first_line_of_each_misread_entry():
    edit = rules.TableEdit(b'# ok\nsshd 10.0.0.1\nin.telnetd : LOCAL\0junk\nsshd : 10.0.0.2\nvsftpd : ALL', '/t')
    assert edit.hazards() == [
        (2, 'missing ":" separator: libwrap skips this line'),
        (3, 'NUL byte: libwrap truncates the line there and joins what follows'),
        # libwrap counts only the newlines it sees: the NUL hid the one ending line 3
        (4, 'missing newline at end of file: libwrap ignores this line and fails closed'),
    ]


def test_verify_returns_the_table_that_reads_back():
    edit = rules.TableEdit(b'# top\n', '/etc/hosts.deny')
    rule = make(daemons=['ALL'], clients=['ALL'], options=['spawn /bin/echo a:b'])
    edit.apply(rule)
    assert edit.verify([rule]) == b'# top\nALL : ALL : spawn /bin/echo a\\:b\n'


def test_verify_refuses_a_table_whose_rule_does_not_read_back(monkeypatch):
    """A renderer fault (here ':' left unescaped in an option value) is caught before any write."""
    monkeypatch.setattr(rules, '_escape_option_value', lambda value: value)
    edit = rules.TableEdit(b'# top\n', '/etc/hosts.deny')
    rule = make(daemons=['ALL'], clients=['ALL'], options=['spawn /bin/echo a:b'])
    edit.apply(rule)
    with pytest.raises(tw.TcpwrapError) as excinfo:
        edit.verify([rule])
    assert str(excinfo.value) == ('rules[0]: internal check failed: the rendered rule "ALL : ALL : spawn /bin/echo a:b" '
                                  'does not read back the same')


def test_a_large_batch_gives_the_table_written_out_by_hand():
    """600 rules in one batch: adds, re-runs, removals, replacements and placements.

    The expected table is built here line by line from the rule numbers, not by the edit's code.
    """
    daemons = ['sshd', 'vsftpd', 'in.telnetd']

    def line(n, options=''):
        return f'{daemons[n % 3]} : 10.{n // 256}.{n % 256}.0/24{options}\n'

    def spec(n, **extra):
        made = dict(daemons=[daemons[n % 3]], clients=[f'10.{n // 256}.{n % 256}.0/24'], **extra)
        if n % 7 == 0:
            made['comment'] = f'grant {n}'
        return made

    def block(n, options=''):
        return (f'# grant {n}\n' if n % 7 == 0 else '') + line(n, options)

    header = '# unmanaged header\nALL : 127.0.0.1\n'
    edit = rules.TableEdit(header.encode(), '/etc/hosts.allow')
    assert all(edit.apply(make(**spec(n))) for n in range(600))
    expected = header + ''.join(block(n) for n in range(600))
    assert edit.render() == expected.encode()

    rerun = rules.TableEdit(edit.render(), '/etc/hosts.allow')
    assert not any(rerun.apply(make(**spec(n))) for n in range(600))
    assert rerun.render() == expected.encode()

    # Every 5th rule removed, every 4th (not removed) replaced by a deny rule, moved to the end;
    # rule 1000 first, rule 1001 after it, rule 1002 before rule 3.
    batch = rules.TableEdit(edit.render(), '/etc/hosts.allow')
    for n in range(600):
        if n % 5 == 0:
            assert batch.apply(make(**spec(n, state='absent'))) is True
        elif n % 4 == 0:
            assert batch.apply(make(**spec(n, options=['deny'], replace=True))) is True
    assert batch.apply(make(**spec(1000, position='first'))) is True
    assert batch.apply(make(**spec(1001, position='after', anchor=line(1000).strip()))) is True
    assert batch.apply(make(**spec(1002, position='before', anchor=line(3).strip()))) is True
    kept = [n for n in range(600) if n % 5 and n % 4]
    body = ''.join(block(1002) + block(n) if n == 3 else block(n) for n in kept)
    moved = ''.join(block(n, ' : deny') for n in range(600) if n % 5 and not n % 4)
    assert batch.render() == ('# unmanaged header\n' + block(1000) + block(1001) + 'ALL : 127.0.0.1\n'
                              + body + moved).encode()
    assert len(batch.removed) == 120 + 120
