# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_policy, _tcpwrap_rules
from ansible_collections.serversec.confine.plugins.modules import tcpwrap_rule


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """No SSH session and no daemon inspection unless a test asks for it."""
    monkeypatch.setattr(_tcpwrap_policy, 'ssh_connection', lambda: None)
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: [])


@pytest.fixture
def run(run_module):
    return lambda args, check=False, diff=False: run_module(tcpwrap_rule, args, check=check, diff=diff)


def test_creates_file_then_idempotent(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    args = dict(path=str(path), daemons=['sshd'], clients=['ALL'])
    result = run(args)
    assert result['changed'] is True
    assert result['added'] == ['sshd : ALL']
    assert path.read_bytes() == b'sshd : ALL\n'
    assert oct(os.stat(str(path)).st_mode & 0o777) in ('0o644', '0o664', '0o600')
    assert run(args)['changed'] is False


def test_check_mode_and_diff_leave_file_untouched(tmp_path, run):
    path = tmp_path / 'hosts.deny'
    path.write_bytes(b'# header\n')
    result = run(dict(path=str(path), daemons=['ALL'], clients=['ALL'],
                      command='/bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log'),
                 check=True, diff=True)
    assert result['changed'] is True
    assert result['diff']['before'] == '# header\n'
    assert result['diff']['after'] == ('# header\nALL : ALL : spawn /bin/echo "%c tried to connect to %d and was '
                                       'blocked" >> /var/log/tcpwrappers.log\n')
    assert result['diff']['before_header'] == f'{path} (content)'
    assert path.read_bytes() == b'# header\n'


def test_rules_list_in_one_call_keeps_unmanaged_lines_and_backs_up(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    original = b'sshd: 203.0.113.9 # DenyHosts\r\nALL : 198.51.100. \\\n 198.51.100.7 : deny\n'
    path.write_bytes(original)
    rules = [dict(daemons=['sshd'], clients=['10.0.0.0/8', '[2001:db8::]/32']),
             dict(daemons=['in.telnetd'], clients=['192.168.', '127.0.0.1'], position='first', comment='lab'),
             dict(daemons=['sshd'], clients=['203.0.113.9'], state='absent')]
    result = run(dict(path=str(path), rules=rules, backup=True))
    assert result['changed'] is True
    assert path.read_bytes() == (b'# lab\nin.telnetd : 192.168., 127.0.0.1\n' + original
                                 + b'sshd : 10.0.0.0/8, [2001:db8::]/32\n')
    with open(result['backup_file'], 'rb') as handle:
        assert handle.read() == original
    assert run(dict(path=str(path), rules=rules))['changed'] is False


@pytest.mark.parametrize('args, message', [
    (dict(daemons=['sshd'], clients=['2001:db8::1']),
     'clients[0]: IPv6 address "2001:db8::1" must be bracketed, e.g. [2001:db8::1]'),
    (dict(rules=[dict(daemons=['sshd'], clients=['ALL']), dict(daemons=['sshd'], clients=['10.0.0.1/8'])]),
     'rules[1].clients[0]: 10.0.0.1/8 has host bits set, so libwrap would never match it; the network is 10.0.0.0/8'),
    (dict(daemons=['ALL'], clients=['ALL'], options=['/bin/echo hi']),
     'options[0]: unknown option "/bin/echo"; libwrap denies access on it ("bad option name"). '
     'To run a shell command use "spawn <command>" (or the command parameter)'),
    (dict(daemons=['sshd'], clients=['ALL'], comment='two\nlines'),
     'comment: contains a newline, which libwrap would misread'),
])
def test_bad_input_is_refused_and_file_left_byte_identical(tmp_path, run, args, message):
    path = tmp_path / 'hosts.allow'
    original = b'# keep me\nsshd : ALL'
    path.write_bytes(original)
    result = run(dict(args, path=str(path)))
    assert result['failed'] is True
    assert result['msg'] == message
    assert path.read_bytes() == original


def test_writes_through_a_symlink_and_keeps_the_mode(tmp_path, run):
    real = tmp_path / 'policy' / 'hosts.allow'
    real.parent.mkdir()
    real.write_bytes(b'# shared\n')
    real.chmod(0o640)
    link = tmp_path / 'hosts.allow'
    link.symlink_to(real)
    assert run(dict(path=str(link), daemons=['sshd'], clients=['ALL']))['changed'] is True
    assert link.is_symlink()
    assert real.read_bytes() == b'# shared\nsshd : ALL\n'
    assert os.stat(str(real)).st_mode & 0o777 == 0o640
    assert sorted(p.name for p in real.parent.iterdir()) == ['hosts.allow']


def test_missing_final_newline_is_refused(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'# keep me\nsshd : ALL')
    result = run(dict(path=str(path), daemons=['vsftpd'], clients=['ALL']))
    assert result['msg'] == (f'rule: cannot add a rule to {path}: line 2: missing newline at end of file: libwrap '
                             'ignores this line and fails closed. Fix that line first; the file was left unchanged')
    assert path.read_bytes() == b'# keep me\nsshd : ALL'


@pytest.fixture
def system_tables(tmp_path, monkeypatch):
    tables = {'allow': str(tmp_path / 'hosts.allow'), 'deny': str(tmp_path / 'hosts.deny')}
    for kind, table in tables.items():
        monkeypatch.setitem(_tcpwrap_policy.SYSTEM_TABLES, kind, table)
    monkeypatch.setattr(_tcpwrap_policy, 'ssh_connection', lambda: ('192.0.2.7', '192.0.2.1'))
    return tables


def test_lockout_guard_refuses_to_cut_the_ansible_connection(system_tables, run):
    with open(system_tables['allow'], 'wb') as handle:
        handle.write(b'sshd : 198.51.100.\n')
    result = run(dict(table='deny', daemons=['ALL'], clients=['ALL']))
    assert result['failed'] is True
    deny = system_tables['deny']
    assert result['msg'] == (f'refusing to change {deny}: it would deny the SSH connection Ansible is using '
                             f'(sshd to 192.0.2.1 from 192.0.2.7: matched {deny} line 1). Grant that client first, '
                             'or set allow_lockout=true if you really mean it')
    assert not os.path.exists(system_tables['deny'])


def test_lockout_guard_passes_when_the_client_is_granted_or_overridden(system_tables, run):
    with open(system_tables['allow'], 'wb') as handle:
        handle.write(b'sshd : 192.0.2.\n')
    assert run(dict(table='deny', daemons=['ALL'], clients=['ALL']))['changed'] is True
    result = run(dict(table='allow', daemons=['sshd'], clients=['192.0.2.'], state='absent'))
    assert result['failed'] is True
    result = run(dict(table='allow', daemons=['sshd'], clients=['192.0.2.'], state='absent', allow_lockout=True))
    assert result['changed'] is True


def test_daemon_warnings_are_reported(tmp_path, monkeypatch, run, module_warnings):
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: [f'daemon "{d}": checked' for d in daemons])
    run(dict(path=str(tmp_path / 'hosts.allow'), daemons=['sshd@10.0.0.1', 'vsftpd'], clients=['ALL']))
    assert module_warnings == ['daemon "sshd": checked', 'daemon "vsftpd": checked']


def test_hazards_already_in_the_file_are_warned_about(tmp_path, run, module_warnings):
    """Lines the module keeps but libwrap misreads are reported, each with its line."""
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'# managed elsewhere\nsshd 10.0.0.1\nin.telnetd : LOCAL\0junk\nsshd : 10.0.0.2\n')
    result = run(dict(path=str(path), daemons=['vsftpd'], clients=['ALL']))
    assert result['changed'] is True
    assert module_warnings == [
        f'{path} line 2: missing ":" separator: libwrap skips this line',
        f'{path} line 3: NUL byte: libwrap truncates the line there and joins what follows',
    ]


def test_a_clean_file_gives_no_warning(tmp_path, run, module_warnings):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'# managed elsewhere\nsshd : 10.0.0.1\n')
    assert run(dict(path=str(path), daemons=['vsftpd'], clients=['ALL']))['changed'] is True
    assert module_warnings == []


@pytest.mark.parametrize('check', [False, True], ids=['write', 'check-mode'])
def test_a_table_that_would_not_read_back_is_never_written(tmp_path, run, monkeypatch, check):
    """The rendered table is read back before it is written: a renderer fault (here the escaping
    of ':' in option values) fails the task and leaves the file as it was."""
    monkeypatch.setattr(_tcpwrap_rules, '_escape_option_value', lambda value: value)
    path = tmp_path / 'hosts.deny'
    path.write_bytes(b'# header\n')
    result = run(dict(path=str(path), daemons=['ALL'], clients=['ALL'], options=['spawn /bin/echo a:b'],
                      backup=True), check=check)
    assert result['failed'] is True
    assert result['msg'] == ('rule: internal check failed: the rendered rule "ALL : ALL : spawn /bin/echo a:b" '
                             'does not read back the same')
    assert os.listdir(str(tmp_path)) == ['hosts.deny']
    assert path.read_bytes() == b'# header\n'


def test_a_colon_in_an_option_value_is_escaped_and_reads_back(tmp_path, run):
    path = tmp_path / 'hosts.deny'
    assert run(dict(path=str(path), daemons=['ALL'], clients=['ALL'], options=['spawn /bin/echo a:b']))['changed']
    assert path.read_bytes() == b'ALL : ALL : spawn /bin/echo a\\:b\n'


def test_backup_only_when_asked_and_the_file_existed(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    result = run(dict(path=str(path), daemons=['sshd'], clients=['ALL'], backup=True))
    assert 'backup_file' not in result
    result = run(dict(path=str(path), daemons=['vsftpd'], clients=['ALL']))
    assert 'backup_file' not in result
    assert sorted(os.listdir(str(tmp_path))) == ['hosts.allow']


@pytest.mark.parametrize('make, what', [
    (os.mkdir, 'is a directory: libwrap opens it, reads no rule and goes on as if the file were empty (a hosts.deny '
               'that is a directory denies nothing: the policy fails open)'),
    (os.mkfifo, 'cannot be read as a table (a FIFO, socket or device): libwrap fails closed when this is hosts.deny '
                'and goes on to hosts.deny when it is hosts.allow'),
], ids=['directory', 'fifo'])
def test_what_is_not_a_regular_file_is_refused_by_name(tmp_path, run, make, what):
    path = str(tmp_path / 'hosts.allow')
    make(path)
    result = run(dict(path=path, daemons=['sshd'], clients=['ALL']))
    assert (result['failed'], result['msg'], result['path']) == (
        True, f'{path} {what}. Refusing to write through this path', path)


def test_file_attributes_are_set_with_or_without_a_content_change(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    args = dict(path=str(path), daemons=['sshd'], clients=['ALL'], mode='0600')
    assert run(args)['changed'] is True
    assert os.stat(str(path)).st_mode & 0o7777 == 0o600
    assert run(args)['changed'] is False
    path.chmod(0o666)
    result = run(args, check=True)
    assert (result['changed'], result['added']) == (True, [])
    assert os.stat(str(path)).st_mode & 0o7777 == 0o666
    result = run(args)
    assert (result['changed'], result['added']) == (True, [])
    assert os.stat(str(path)).st_mode & 0o7777 == 0o600


def test_file_attributes_apply_to_the_target_of_a_symlink(tmp_path, run):
    real = tmp_path / 'policy' / 'hosts.allow'
    real.parent.mkdir()
    real.write_bytes(b'sshd : ALL\n')
    real.chmod(0o644)
    link = tmp_path / 'hosts.allow'
    link.symlink_to(real)
    assert run(dict(path=str(link), daemons=['sshd'], clients=['ALL'], mode='0640'))['changed'] is True
    assert link.is_symlink() and os.stat(str(real)).st_mode & 0o7777 == 0o640


def test_check_mode_on_a_missing_table_creates_nothing(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    result = run(dict(path=str(path), daemons=['sshd'], clients=['ALL'], mode='0600'), check=True)
    assert result['changed'] is True
    assert os.listdir(str(tmp_path)) == []


def test_an_unknown_owner_is_refused_before_the_file_is_written(tmp_path, run):
    path = tmp_path / 'hosts.allow'
    result = run(dict(path=str(path), daemons=['sshd'], clients=['ALL'], owner='no-such-account-here'))
    assert result['failed'] is True
    assert result['msg'] == 'owner: no-such-account-here does not exist on this host'
    assert not path.exists()
