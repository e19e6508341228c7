# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_policy
from ansible_collections.serversec.confine.plugins.modules import tcpwrap_policy, tcpwrap_rule

CLIENT, SERVER = '192.0.2.7', '192.0.2.1'
GRANT = dict(daemons=['sshd'], clients=['192.0.2.'])
DENY_ALL = dict(daemons=['ALL'], clients=['ALL'])


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """No SSH session and no daemon inspection unless a test asks for it."""
    monkeypatch.setattr(_tcpwrap_policy, 'ssh_connection', lambda: None)
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: [])


@pytest.fixture
def tables(tmp_path):
    return {'allow': tmp_path / 'hosts.allow', 'deny': tmp_path / 'hosts.deny'}


@pytest.fixture
def system_tables(tables, monkeypatch):
    """The test's files stand for /etc/hosts.allow and /etc/hosts.deny, over an SSH session."""
    for kind, path in tables.items():
        monkeypatch.setitem(_tcpwrap_policy.SYSTEM_TABLES, kind, str(path))
    monkeypatch.setattr(_tcpwrap_policy, 'ssh_connection', lambda: (CLIENT, SERVER))
    return tables


@pytest.fixture
def run(run_module, tables):
    def run(args, check=False, diff=False):
        paths = dict(allow_path=str(tables['allow']), deny_path=str(tables['deny']))
        return run_module(tcpwrap_policy, dict(paths, **args), check=check, diff=diff)
    return run


def test_writes_both_tables_in_one_run_then_changes_nothing(tables, run):
    args = dict(allow=[dict(daemons=['sshd'], clients=['ALL'])], deny=[DENY_ALL])
    result = run(args)
    assert result['changed'] is True
    assert result['allow'] == dict(changed=True, path=str(tables['allow']), added=['sshd : ALL'], removed=[],
                                   shadowed=[])
    assert result['deny'] == dict(changed=True, path=str(tables['deny']), added=['ALL : ALL'], removed=[],
                                  shadowed=[])
    assert tables['allow'].read_bytes() == b'sshd : ALL\n'
    assert tables['deny'].read_bytes() == b'ALL : ALL\n'
    again = run(args)
    assert again['changed'] is False
    assert again['allow']['changed'] is False and again['deny']['changed'] is False


def test_writes_what_tcpwrap_rule_writes(tables, run, run_module, tmp_path):
    original = b'sshd: 203.0.113.9 # DenyHosts\r\nALL : 198.51.100. \\\n 198.51.100.7 : deny\n'
    tables['allow'].write_bytes(original)
    rules = [dict(daemons=['sshd'], clients=['10.0.0.0/8', '[2001:db8::]/32']),
             dict(daemons=['in.telnetd'], clients=['192.168.', '127.0.0.1'], position='first', comment='lab'),
             dict(daemons=['sshd'], clients=['203.0.113.9'], state='absent')]
    run(dict(allow=rules))
    alone = tmp_path / 'alone'
    alone.write_bytes(original)
    run_module(tcpwrap_rule, dict(path=str(alone), rules=rules))
    assert tables['allow'].read_bytes() == alone.read_bytes()


def test_a_table_not_given_is_neither_written_nor_reported_changed(tables, run):
    tables['allow'].write_bytes(b'# by hand\n')
    result = run(dict(deny=[DENY_ALL]))
    assert result['allow'] == dict(changed=False, path=str(tables['allow']), added=[], removed=[], shadowed=[])
    assert result['deny']['added'] == ['ALL : ALL']
    assert tables['allow'].read_bytes() == b'# by hand\n'


def test_check_mode_shows_both_diffs_and_writes_nothing(tables, run):
    tables['deny'].write_bytes(b'# header\n')
    result = run(dict(allow=[GRANT], deny=[DENY_ALL]), check=True, diff=True)
    assert result['changed'] is True
    assert result['diff'] == [
        dict(before='', after='sshd : 192.0.2.\n', before_header=f"{tables['allow']} (content)",
             after_header=f"{tables['allow']} (content)"),
        dict(before='# header\n', after='# header\nALL : ALL\n', before_header=f"{tables['deny']} (content)",
             after_header=f"{tables['deny']} (content)"),
    ]
    assert not tables['allow'].exists()
    assert tables['deny'].read_bytes() == b'# header\n'


@pytest.mark.parametrize('args, message', [
    (dict(allow=[GRANT], deny=[dict(daemons=['sshd'], clients=['2001:db8::1'])]),
     'deny[0].clients[0]: IPv6 address "2001:db8::1" must be bracketed, e.g. [2001:db8::1]'),
    (dict(allow=[GRANT, dict(daemons=['sshd'], clients=['10.0.0.1/8'])], deny=[DENY_ALL]),
     'allow[1].clients[0]: 10.0.0.1/8 has host bits set, so libwrap would never match it; the network is 10.0.0.0/8'),
    (dict(allow=[GRANT], deny=[dict(DENY_ALL, position='before')]),
     'deny[0].anchor: position before needs the existing rule to place it by'),
    (dict(allow=[dict(clients=['ALL'])], deny=[DENY_ALL]), 'missing required arguments: daemons found in allow'),
    (dict(allow=[GRANT], deny=[dict(daemons=['ALL'])]), 'missing required arguments: clients found in deny'),
])
def test_bad_input_in_either_list_writes_neither_table(tables, run, args, message):
    tables['allow'].write_bytes(b'# allow\n')
    result = run(args)
    assert result['failed'] is True
    assert result['msg'] == message
    assert tables['allow'].read_bytes() == b'# allow\n'
    assert not tables['deny'].exists()


def test_lockout_is_judged_on_the_whole_new_policy_and_nothing_is_written(system_tables, run):
    # Removing the grant alone would pass (hosts.deny is empty), and denying all alone would pass
    # (the grant is still there); together they cut the connection.
    system_tables['allow'].write_bytes(b'sshd : 192.0.2.\n')
    result = run(dict(allow=[dict(GRANT, state='absent')], deny=[DENY_ALL]))
    assert result['failed'] is True
    allow, deny = system_tables['allow'], system_tables['deny']
    assert result['msg'] == (f'refusing to change {allow} and {deny}: it would deny the SSH connection Ansible is '
                             f'using (sshd to {SERVER} from {CLIENT}: matched {deny} line 1). Grant that client '
                             'first, or set allow_lockout=true if you really mean it')
    assert result['path'] == str(allow)
    assert allow.read_bytes() == b'sshd : 192.0.2.\n'
    assert not deny.exists()


def test_a_connection_the_old_policy_already_denied_does_not_stop_a_change(system_tables, run):
    system_tables['deny'].write_bytes(b'ALL : ALL\n')
    result = run(dict(allow=[dict(daemons=['in.telnetd'], clients=['LOCAL'])], deny=[dict(daemons=['sshd'], clients=['ALL'])]))
    assert result['changed'] is True


def test_a_grant_and_a_deny_all_in_one_run_keep_the_connection(system_tables, run, run_module):
    # On a fresh host tcpwrap_rule refuses hosts.deny alone; the policy grants in the same run.
    alone = run_module(tcpwrap_rule, dict(table='deny', **DENY_ALL))
    assert alone['failed'] is True
    result = run(dict(allow=[GRANT], deny=[DENY_ALL]))
    assert result['changed'] is True
    assert system_tables['deny'].read_bytes() == b'ALL : ALL\n'


def test_allow_lockout_writes_a_policy_that_cuts_the_connection(system_tables, run):
    system_tables['allow'].write_bytes(b'sshd : 192.0.2.\n')
    result = run(dict(allow=[dict(GRANT, state='absent')], deny=[DENY_ALL], allow_lockout=True))
    assert result['changed'] is True
    assert system_tables['deny'].read_bytes() == b'ALL : ALL\n'


def test_a_deny_rule_dead_behind_the_new_hosts_allow_is_reported(tables, run, module_warnings):
    result = run(dict(allow=[dict(daemons=['sshd'], clients=['ALL'])], deny=[dict(daemons=['sshd'], clients=['10.0.0.0/8'])]))
    message = f"dead rule: {tables['allow']} line 1 matches every request this rule matches, and first"
    assert result['deny']['shadowed'] == [dict(rule='sshd : 10.0.0.0/8', message=message)]
    assert module_warnings == [f"{tables['deny']}: the rule \"sshd : 10.0.0.0/8\" can never match - {message}"]


def test_daemons_of_both_tables_are_inspected_once_and_removed_rules_not_at_all(run, monkeypatch, module_warnings):
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: [f'daemon "{d}": checked' for d in daemons])
    run(dict(allow=[dict(daemons=['sshd', 'sshd@192.0.2.1', 'in.telnetd'], clients=['ALL'])],
             deny=[dict(daemons=['sshd', '23', 'vsftpd'], clients=['ALL']),
                   dict(daemons=['in.fingerd'], clients=['ALL'], state='absent')]))
    assert module_warnings == ['daemon "sshd": checked', 'daemon "in.telnetd": checked', 'daemon "vsftpd": checked']


def test_a_failed_second_write_names_its_file_and_keeps_the_first(tables, run, tmp_path):
    result = run(dict(allow=[GRANT], deny=[DENY_ALL], deny_path=str(tmp_path / 'missing' / 'hosts.deny')))
    assert result['failed'] is True
    assert str(tmp_path / 'missing' / 'hosts.deny') in result['msg']
    assert tables['allow'].read_bytes() == b'sshd : 192.0.2.\n'


def test_one_file_for_both_tables_is_refused(tables, run, tmp_path):
    link = tmp_path / 'deny-link'
    link.symlink_to(tables['allow'])
    result = run(dict(allow=[GRANT], deny=[DENY_ALL], deny_path=str(link)))
    assert result['failed'] is True
    assert result['msg'] == f"{tables['allow']} and {link} are the same file; the allow and deny tables must be two files"
    assert not tables['allow'].exists()


@pytest.fixture
def writes(monkeypatch):
    """The files written, in order."""
    done = []
    real_write = _tcpwrap_policy.write_atomic

    def write(module, path, data, **kwargs):
        done.append(path)
        return real_write(module, path, data, **kwargs)
    monkeypatch.setattr(_tcpwrap_policy, 'write_atomic', write)
    return done


def test_grants_are_written_first(tables, run, writes):
    run(dict(allow=[GRANT], deny=[DENY_ALL]))
    assert writes == [str(tables['allow']), str(tables['deny'])]


def test_grants_are_written_first_also_under_the_lockout_guard(system_tables, run, writes):
    run(dict(allow=[GRANT], deny=[DENY_ALL]))
    assert writes == [str(system_tables['allow']), str(system_tables['deny'])]


def test_a_failed_write_after_an_unchanged_table_changed_nothing(tables, run, monkeypatch):
    tables['allow'].write_bytes(b'sshd : 192.0.2.\n')

    def write(module, path, data, **kwargs):
        raise _tcpwrap_policy.FileIOError(f'{path}: No space left on device')
    monkeypatch.setattr(_tcpwrap_policy, 'write_atomic', write)
    result = run(dict(allow=[GRANT], deny=[DENY_ALL]))
    assert result['failed'] is True and not result.get('changed')
    assert result['msg'] == f"{tables['deny']}: No space left on device"


def test_hosts_deny_goes_first_when_hosts_allow_alone_would_cut_the_connection(system_tables, run, writes):
    # The grant leaves hosts.allow and the deny-all leaves hosts.deny: granted before and after,
    # but hosts.allow written first would leave the deny-all without the grant.
    system_tables['allow'].write_bytes(b'sshd : 192.0.2.\n')
    system_tables['deny'].write_bytes(b'ALL : ALL\n')
    result = run(dict(allow=[dict(GRANT, state='absent')], deny=[dict(DENY_ALL, state='absent')]))
    assert result['changed'] is True
    assert writes == [str(system_tables['deny']), str(system_tables['allow'])]
    assert system_tables['allow'].read_bytes() == b'' and system_tables['deny'].read_bytes() == b''


def test_a_failed_second_write_says_the_first_was_written(tables, run, monkeypatch):
    real_write = _tcpwrap_policy.write_atomic

    def write(module, path, data, **kwargs):
        if path == str(tables['deny']):
            raise _tcpwrap_policy.FileIOError(f'{path}: No space left on device')
        return real_write(module, path, data, **kwargs)
    monkeypatch.setattr(_tcpwrap_policy, 'write_atomic', write)
    result = run(dict(allow=[GRANT], deny=[DENY_ALL]))
    assert result['failed'] is True and result['changed'] is True
    assert result['msg'] == f"{tables['deny']}: No space left on device; {tables['allow']} had been written already"
    assert result['path'] == str(tables['deny'])
    assert tables['allow'].read_bytes() == b'sshd : 192.0.2.\n'


@pytest.mark.parametrize('kind, other', [('allow', 'deny'), ('deny', 'allow')])
def test_a_table_given_the_path_of_the_other_system_table_is_refused(system_tables, run, kind, other):
    result = run({kind: [GRANT], f'{kind}_path': str(system_tables[other])})
    assert result['failed'] is True
    assert result['msg'] == (f"{kind}_path: {system_tables[other]} is this host's {system_tables[other]}, which "
                             f'libwrap reads as the {other} table')


def test_one_file_for_both_tables_is_refused_also_when_one_list_is_omitted(tables, run, tmp_path):
    tables['deny'].write_bytes(b'ALL : ALL\n')
    link = tmp_path / 'allow-link'
    link.symlink_to(tables['deny'])
    result = run(dict(deny=[dict(daemons=['sshd'], clients=['10.0.0.1'], position='first')], allow_path=str(link)))
    assert result['failed'] is True
    assert result['msg'] == f"{link} and {tables['deny']} are the same file; the allow and deny tables must be two files"
    assert tables['deny'].read_bytes() == b'ALL : ALL\n'


def test_the_hosts_deny_is_judged_after_the_hosts_allow_libwrap_reads(system_tables, run, tmp_path):
    system_tables['allow'].write_bytes(b'sshd : ALL\n')
    own_allow = tmp_path / 'own.allow'
    result = run(dict(allow=[dict(daemons=['in.telnetd'], clients=['LOCAL'])],
                      deny=[dict(daemons=['sshd'], clients=['10.0.0.0/8'])], allow_path=str(own_allow)))
    assert [entry['rule'] for entry in result['deny']['shadowed']] == ['sshd : 10.0.0.0/8']


@pytest.mark.parametrize('field', ['owner', 'group'])
def test_an_unknown_owner_or_group_is_refused_before_the_first_write(tables, run, field):
    result = run({'allow': [GRANT], 'deny': [DENY_ALL], field: 'no-such-account-here'})
    assert result['failed'] is True
    assert result['msg'] == f'{field}: no-such-account-here does not exist on this host'
    assert not tables['allow'].exists() and not tables['deny'].exists()


def test_an_unknown_owner_is_a_warning_in_check_mode(tables, run, module_warnings):
    result = run(dict(allow=[GRANT], owner='no-such-account-here'), check=True)
    assert result['changed'] is True
    assert module_warnings == ['owner: no-such-account-here does not exist on this host']
