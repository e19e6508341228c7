# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential test: our evaluators against Debian's real libwrap (tcpdmatch -d).

tcpdmatch -d reads hosts.allow and hosts.deny from its working directory and
prints "access: granted|denied|delegated".  Rule sets are generated from a
fixed seed, well-formed and malformed alike; every verdict must agree, both the reference
evaluator's and the compiled, indexed policy's that tcpwrap_info uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import shutil
import subprocess

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import CompiledPolicy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate

TCPDMATCH = shutil.which('tcpdmatch') or ('/usr/sbin/tcpdmatch' if os.path.exists('/usr/sbin/tcpdmatch') else None)
SEED = 20261128
RULE_SETS = 300
QUERIES_PER_SET = 14

DAEMON_PATTERNS = [
    'sshd', 'in.telnetd', 'vsftpd', 'ALL', 'all', 'SSHD', 's*d', 'in.?elnetd', '*', 'sshd@ALL',
    'sshd@KNOWN', 'sshd@unknown', 'ALL EXCEPT vsftpd', 'EXCEPT sshd', 'KNOWN', 'sshd,vsftpd',
    'sshd vsftpd', 'ALL EXCEPT s* EXCEPT sshd',
]
CLIENT_PATTERNS = [
    'ALL', 'all', 'LOCAL', 'KNOWN', 'UNKNOWN', 'PARANOID', '192.168.', '10.', '10.0.0.0/8',
    '10.0.0.0/255.0.0.0', '10.1.0.0/16', '172.16.0.0/12', '172.16.0.0/255.240.0.0', '192.168.1.5',
    '192.168.1.*', '1?2.168.1.5', '.example.com', '.1.5', '[2001:db8::]/32', '[2001:db8::1]',
    '[2001:DB8::]/64x', '[2001:db8::]/129', 'bob@ALL', 'KNOWN@ALL', 'b*@10.', 'BOB@192.168.',
    '@trusted', '{hostsfile}', '/nonexistent/file', '10.0.0.1/8', '10.0.0.0/33', '10.0.0.0/0',
    '010.0.0.0/8', '10.0.0.0/8x', '1.2.3.4/255.255.255.255', '127.0.0.1', '127.', '8.8.8.8/32',
    '10.0.0.0/255.0.255.0', 'localhost', 'ALL EXCEPT 10.1.0.0/16', '*', '?.?.?.?', '2001',
]
OPTIONS = [
    None, None, None, 'allow', 'deny', 'ALLOW', 'spawn /bin/echo %c %d', 'twist /bin/echo no',
    'severity auth.info', 'severity bogus', 'severity authpriv.notice', 'severity local3.err',
    'umask 022', 'umask 999', 'nice 5', 'nice x', 'nice', 'keepalive', 'keepalive 1', 'rfc931',
    'rfc931 0', 'rfc931 10', 'linger 5', 'linger x', 'banners /nonexistent', 'setenv A b',
    '/bin/echo "%c tried to connect to %d and was blocked"', 'spawn a \\: b', 'allow : spawn x',
    'spawn x : deny', 'spawn x : allow', 'spawn=x', '', 'deny :', ': deny', 'group root',
    'group nosuchgroup', 'bogus', 'allow # trailing comment',
]
QUERY_DAEMONS = ['sshd', 'in.telnetd', 'vsftpd', 'SSHD', 'smtpd']
QUERY_ADDRESSES = [
    '192.168.1.5', '192.168.2.9', '10.1.2.3', '10.200.0.1', '172.20.1.1', '8.8.8.8', '127.0.0.1',
    '1.2.3.4', '2001:db8::1', '2001:db9::1', '::ffff:10.1.2.3',
]
HOSTS_FILE = '10.200.0.1\n192.168.2.9 .example.org 172.16.0.0/12 bob@127.\n'


def _client_list(rng, hostsfile):
    patterns = [rng.choice(CLIENT_PATTERNS).replace('{hostsfile}', hostsfile) for _pattern in range(rng.randint(1, 3))]
    text = rng.choice([' ', ', ', ',']).join(patterns)
    if rng.random() < 0.25:
        text += ' EXCEPT ' + rng.choice(CLIENT_PATTERNS).replace('{hostsfile}', hostsfile)
        if rng.random() < 0.3:
            text += ' except ' + rng.choice(CLIENT_PATTERNS).replace('{hostsfile}', hostsfile)
    return text


def _rule(rng, hostsfile):
    line = '%s : %s' % (rng.choice(DAEMON_PATTERNS), _client_list(rng, hostsfile))
    option = rng.choice(OPTIONS)
    if option is not None:
        line += ' : ' + option
    return line + '\n'


def _malformed(rng, hostsfile):
    kind = rng.randrange(12)
    if kind == 0:
        return 'sshd 10.1.2.3\n'                                  # missing separator
    if kind == 1:
        return '# ' + _rule(rng, hostsfile)                       # comment
    if kind == 2:
        return '  # sshd : ALL : deny\n'                          # indented "comment" is a rule
    if kind == 3:
        head = _rule(rng, hostsfile).rstrip('\n')
        cut = head.index(':') + 1
        return head[:cut] + ' \\\n  ' + head[cut:] + '\n'        # continuation
    if kind == 4:
        return _rule(rng, hostsfile).replace('\n', '\r\n')        # CRLF
    if kind == 5:
        return 'sshd : 10.1.2.3\0 junk\n'                         # NUL joins the next line
    if kind == 6:
        return 'x : ' + 'y ' * rng.choice([1020, 1021, 1022, 1500]) + '\n'   # around the 2047 limit
    if kind == 7:
        return '\ufeff' + _rule(rng, hostsfile)                    # BOM
    if kind == 8:
        return 'sshd : ALL : \\\n'                                # trailing backslash joins next line
    if kind == 9:
        return 'sshd : ' + 'y ' * 1011 + '10.1.2.3\n'            # long but still within the limit
    if kind == 10:
        return rng.choice([
            'sshd : [2001:db8::1 : deny\n',                      # unbalanced brackets swallow ":"
            'sshd : 10.1.2.3] : deny\n',
            ': ALL : deny\n',                                    # empty daemon list
            'sshd :\n',                                          # empty client list
            'ALL : ALL : twist /bin/echo "%c\\: no" : deny\n',  # twist not last
            'ALL : ALL : spawn /bin/echo a\\:b : allow\n',
        ])
    return '\n   \t\n'


def _table(rng, hostsfile):
    lines = []
    for _option in range(rng.randint(0, 6)):
        lines.append(_malformed(rng, hostsfile) if rng.random() < 0.25 else _rule(rng, hostsfile))
    text = ''.join(lines)
    if text and rng.random() < 0.1:
        text = text.rstrip('\n')                                  # missing final newline
    return text.encode('utf-8')


def _tcpdmatch(workdir, daemon, client):
    output = subprocess.run([TCPDMATCH, '-d', daemon, client], cwd=workdir, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, check=False, timeout=20).stdout.decode('latin-1')
    for line in output.splitlines():
        if line.startswith('access:'):
            return line.split()[1]
    raise AssertionError('tcpdmatch printed no verdict for %s %s:\n%s' % (daemon, client, output))


def _ours(allow, deny, daemon, address, user):
    tables = [('allow', 'hosts.allow', scan_table(allow)),
              ('deny', 'hosts.deny', scan_table(deny))]
    verdict = evaluate(tables, daemon, address=address, user=user)
    compiled = CompiledPolicy(tables).decide(daemon, address=address, user=user)
    if compiled.as_dict() != verdict.as_dict():
        return 'compiled policy: %r, reference: %r' % (compiled.as_dict(), verdict.as_dict())
    if verdict.delegated:
        return 'delegated'
    return verdict.access


@pytest.fixture(scope='module')
def oracle():
    if TCPDMATCH is None:
        if os.environ.get('CI', '').lower() == 'true':
            pytest.fail('tcpdmatch (Debian package tcpd) is required in CI but is not installed')
        pytest.skip('tcpdmatch (Debian package tcpd) is not installed')
    return TCPDMATCH


def test_verdicts_agree_with_tcpdmatch(oracle, tmp_path):
    rng = random.Random(SEED)
    hostsfile = str(tmp_path / 'trusted-hosts')
    with open(hostsfile, 'w') as handle:
        handle.write(HOSTS_FILE)
    workdir = tmp_path / 'tables'
    workdir.mkdir()
    disagreements = []
    checked = 0
    for number in range(RULE_SETS):
        allow, deny = _table(rng, hostsfile), _table(rng, hostsfile)
        (workdir / 'hosts.allow').write_bytes(allow)
        (workdir / 'hosts.deny').write_bytes(deny)
        for _query in range(QUERIES_PER_SET):
            daemon = rng.choice(QUERY_DAEMONS)
            address = rng.choice(QUERY_ADDRESSES)
            user = 'bob' if rng.random() < 0.3 else None
            client = '%s@%s' % (user, address) if user else address
            expected = _tcpdmatch(str(workdir), daemon, client)
            got = _ours(allow, deny, daemon, address, user)
            checked += 1
            if got != expected:
                disagreements.append('set %d: %s %s: tcpdmatch=%s ours=%s\nallow=%.600r\ndeny=%.600r'
                                     % (number, daemon, client, expected, got, allow, deny))
    assert checked == RULE_SETS * QUERIES_PER_SET
    assert not disagreements, '%d of %d verdicts disagree; first:\n%s' % (
        len(disagreements), checked, '\n\n'.join(disagreements[:5]))


@pytest.mark.parametrize('allow, deny, query', [
    (b'x : ' + b'y' * 2043 + b'\nsshd : ALL : deny\n', b'', ('sshd', '1.2.3.4')),
    (b'x : ' + b'y' * 2042 + b'\nsshd : ALL : deny\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : 1.2.3.4', b'ALL : ALL\n', ('sshd', '1.2.3.4')),
    (b'sshd : ALL : /bin/echo "%c tried to connect to %d"\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : ALL : twist /bin/echo hi\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : ALL : allow # c\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : ALL :\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : 10.1.2.3\0 junk\nsshd : ALL : deny\n', b'', ('sshd', '10.1.2.3')),
])
def test_known_hazards_agree_with_tcpdmatch(oracle, tmp_path, allow, deny, query):
    (tmp_path / 'hosts.allow').write_bytes(allow)
    (tmp_path / 'hosts.deny').write_bytes(deny)
    assert _ours(allow, deny, query[0], query[1], None) == _tcpdmatch(str(tmp_path), *query)
