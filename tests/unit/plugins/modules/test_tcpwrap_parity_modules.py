# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""libwrap parity (issue 11, section 4) through the modules: tcpwrap_info's queries, problems and
unreadable tables, and what tcpwrap_rule refuses or warns about."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_policy
from ansible_collections.serversec.confine.plugins.modules import tcpwrap_info, tcpwrap_rule


@pytest.fixture(autouse=True)
def quiet_host(monkeypatch):
    """No SSH session and no daemon inspection."""
    monkeypatch.setattr(_tcpwrap_policy, 'ssh_connection', lambda: None)
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: [])


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
    monkeypatch.setattr(_tcpwrap_policy, 'daemon_warnings', lambda daemons: inspected.extend(daemons) or [])
    result = rule(dict(path=str(tmp_path / 'hosts.allow'), daemons=['22', 'sshd', '080@10.0.0.1'], clients=['ALL']))
    assert result['added'] == ['22, sshd, 080@10.0.0.1 : ALL']
    assert inspected == ['sshd']


# ---------------------------------------------------------------- tables that exist but cannot be read

DIRECTORY = ('is a directory: libwrap opens it, reads no rule and goes on as if the file were empty (a hosts.deny '
             'that is a directory denies nothing: the policy fails open)')

# A table linked to /dev/null (a common way to empty one): libwrap reads it, finds nothing.
DEV_NULL = ('is /dev/null: libwrap opens it, reads no rule and goes on as if the file were empty (a hosts.deny '
            'that is /dev/null denies nothing: the policy fails open)')


def _cannot_read(cause):
    return (f'cannot be read as a table ({cause}): libwrap fails closed when this is hosts.deny and goes on to '
            'hosts.deny when it is hosts.allow')


def _make(tmp_path, name, kind):
    path = tmp_path / name
    if kind == 'directory':
        path.mkdir()
    elif kind == 'loop':
        path.symlink_to(name)
    elif kind == 'dev null':
        path.symlink_to('/dev/null')
    elif kind == 'through a file':
        (tmp_path / 'file').write_bytes(b'')
        path = tmp_path / 'file' / name
    return str(path)


@pytest.mark.parametrize('allow_kind, deny_kind, allow, deny, verdict, problem', [
    # (access, reason) as tcpdmatch -d decides with such files in its directory, and the problem
    (None, 'directory', b'', None,
     ('granted', 'no rule matched: access granted'), ('deny', 'error', DIRECTORY)),
    ('directory', None, None, b'ALL : ALL\n',
     ('denied', 'matched {deny_path} line 1'), ('allow', 'error', DIRECTORY)),
    (None, 'dev null', b'', None,
     ('granted', 'no rule matched: access granted'), ('deny', 'error', DEV_NULL)),
    ('dev null', None, None, b'ALL : ALL\n',
     ('denied', 'matched {deny_path} line 1'), ('allow', 'error', DEV_NULL)),
    (None, 'loop', b'', None,
     ('denied', 'denied by libwrap: ' + _cannot_read('Too many levels of symbolic links') + ' ({deny_path})'),
     ('deny', 'error', _cannot_read('Too many levels of symbolic links'))),
    ('loop', None, None, b'',
     ('granted', 'no rule matched: access granted'), ('allow', 'error', _cannot_read('Too many levels of symbolic links'))),
    ('loop', None, None, b'sshd : ALL : deny\n',
     ('denied', 'matched {deny_path} line 1'), ('allow', 'error', _cannot_read('Too many levels of symbolic links'))),
    (None, 'through a file', b'', None,
     ('denied', 'denied by libwrap: ' + _cannot_read('Not a directory') + ' ({deny_path})'),
     ('deny', 'error', _cannot_read('Not a directory'))),
])
def test_unreadable_tables_get_libwraps_verdict_and_a_problem(info, tmp_path, allow_kind, deny_kind, allow, deny,
                                                              verdict, problem):
    paths = dict(allow_path=_make(tmp_path, 'hosts.allow', allow_kind), deny_path=_make(tmp_path, 'hosts.deny', deny_kind))
    result = info(allow, deny, queries=[dict(daemon='sshd', address='10.0.0.1')], **paths)
    (access, reason), (table, severity, message) = verdict, problem
    assert (result['verdicts'][0]['access'], result['verdicts'][0]['reason']) == (access, reason.format(**paths))
    assert {'file': paths[f'{table}_path'], 'line': None, 'severity': severity, 'message': message} in result['problems']


def test_a_table_without_read_permission_is_an_error(info, tmp_path, monkeypatch):
    """As root the module reads any mode; a daemon or module without permission gets EACCES."""
    from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap

    def refuse(path):
        if path.endswith('hosts.deny'):
            raise PermissionError(13, 'Permission denied', path)
        return b''
    monkeypatch.setattr(_tcpwrap, 'read_if_exists', refuse)
    result = info(b'', b'', queries=[dict(daemon='sshd', address='10.0.0.1')])
    assert result['verdicts'][0]['access'] == 'denied'
    assert {'file': str(tmp_path / 'hosts.deny'), 'line': None, 'severity': 'error',
            'message': _cannot_read('Permission denied')} in result['problems']


@pytest.mark.parametrize('kind, message', [
    ('directory', DIRECTORY),
    ('loop', _cannot_read('Too many levels of symbolic links')),
    ('through a file', _cannot_read('Not a directory')),
])
def test_tcpwrap_rule_refuses_to_write_through_an_unreadable_path(tmp_path, rule, kind, message):
    path = _make(tmp_path, 'hosts.deny', kind)
    result = rule(dict(path=path, daemons=['ALL'], clients=['ALL']))
    assert result['failed'] is True
    assert result['msg'] == f'{path} {message}. Refusing to write through this path'


# ---------------------------------------------------------------- aclexec

def test_aclexec_is_written_and_its_verdict_says_the_command_decides(tmp_path, rule, info):
    path = str(tmp_path / 'hosts.allow')
    result = rule(dict(path=path, daemons=['sshd'], clients=['ALL'], options=['aclexec /usr/local/bin/check %a']))
    assert result['added'] == ['sshd : ALL : aclexec /usr/local/bin/check %a']
    verdict = info(None, b'ALL : ALL\n', queries=[dict(daemon='sshd', address='10.0.0.1')])['verdicts'][0]
    assert (verdict['access'], verdict['reason']) == (
        'granted', f'matched {path} line 1; at connection time its aclexec command decides')


# ---------------------------------------------------------------- rules written after a line that shadows them

@pytest.mark.parametrize('table, args, shadowed', [
    (b'# local policy\nALL: ALL: DENY\n', dict(daemons=['sshd'], clients=['10.0.0.0/8']),
     [dict(rule='sshd : 10.0.0.0/8', message='dead rule: "ALL : ALL" on line 2 matches first')]),
    (b'sshd : 10.0.0.0/8 : deny\n', dict(daemons=['sshd'], clients=['10.0.0.0/8'], options=['severity auth.info']),
     [dict(rule='sshd : 10.0.0.0/8 : severity auth.info',
           message='dead rule: line 1 matches every request this rule matches, and first')]),
    (b'ALL : ALL : deny\n', dict(daemons=['sshd'], clients=['10.0.0.0/8'], position='first'), []),
    (b'sshd : 10.0.0.0/8\n', dict(daemons=['sshd'], clients=['ALL']), []),
    (b'ALL : ALL : deny\n', dict(daemons=['sshd'], clients=['ALL'], state='absent'), []),
])
def test_a_rule_written_after_a_line_that_shadows_it_is_reported(tmp_path, rule, module_warnings, table, args,
                                                                 shadowed):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(table)
    result = rule(dict(path=str(path), **args))
    assert result['shadowed'] == shadowed
    assert module_warnings == [f'{path}: the rule "{s["rule"]}" can never match - {s["message"]}' for s in shadowed]


def test_a_rule_already_in_place_is_not_reported_again(tmp_path, rule, module_warnings):
    path = tmp_path / 'hosts.allow'
    path.write_bytes(b'ALL : ALL : deny\nsshd : ALL\n')
    assert rule(dict(path=str(path), daemons=['sshd'], clients=['ALL']))['shadowed'] == []
    assert module_warnings == []


def test_a_deny_rule_shadowed_by_hosts_allow_names_that_file(tmp_path, rule, module_warnings, monkeypatch):
    tables = {'allow': str(tmp_path / 'hosts.allow'), 'deny': str(tmp_path / 'hosts.deny')}
    for kind, table in tables.items():
        monkeypatch.setitem(_tcpwrap_policy.SYSTEM_TABLES, kind, table)
    (tmp_path / 'hosts.allow').write_bytes(b'\nsshd : ALL\n')
    result = rule(dict(table='deny', daemons=['sshd'], clients=['10.0.0.0/8']))
    assert result['shadowed'] == [dict(rule='sshd : 10.0.0.0/8', message=f'dead rule: {tables["allow"]} line 2 matches '
                                       'every request this rule matches, and first')]


@pytest.mark.parametrize('names', [('hosts.allow', 'hosts.deny'), ('z-allow', 'a-deny')])
def test_only_the_hosts_deny_is_judged_after_hosts_allow(tmp_path, rule, monkeypatch, names):
    tables = {'allow': str(tmp_path / names[0]), 'deny': str(tmp_path / names[1])}
    for kind, table in tables.items():
        monkeypatch.setitem(_tcpwrap_policy.SYSTEM_TABLES, kind, table)
    (tmp_path / names[0]).write_bytes(b'sshd : ALL\n')
    dead = rule(dict(table='deny', daemons=['sshd'], clients=['10.0.0.0/8']))['shadowed']
    assert [entry['rule'] for entry in dead] == ['sshd : 10.0.0.0/8']
    # Tables of their own, whichever way their names sort against hosts.deny's.
    for name in ('aa-table', 'zz-table'):
        assert rule(dict(path=str(tmp_path / name), daemons=['sshd'], clients=['10.0.0.0/8']))['shadowed'] == []
