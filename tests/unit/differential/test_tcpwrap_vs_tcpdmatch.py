# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Differential test: our evaluators against Debian's real libwrap (tcpdmatch -d).

tcpdmatch -d reads hosts.allow and hosts.deny from its working directory and
prints "access: granted|denied|delegated".  Rule sets are generated from a
fixed seed, well-formed and malformed alike; every verdict must agree, both the reference
evaluator's and the compiled, indexed policy's that tcpwrap_info uses.

A second, grammar-based generator covers the classes of issue 11 section 4: odd blanks around
options, numbers (wrapping prefix lengths, sscanf option values, bare 0x), IPv6 scope ids,
numbers as daemon patterns, user/group, aclexec, and tables that are a directory, a symlink
loop or a path through a file. tcpdmatch switches to the user and group options in its dry
run, which a daemon never does (Debian's libwrap acts on them only when dry_run is set): the
verdicts are compared with Environment.dry_run set, and where a daemon's verdict differs, the
decision must come from such a switch. A corpus of real-world-style tables
(tests/unit/fixtures/tcpwrap_corpus) is checked the same way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import random
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import read_table, scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
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


_POOL = ThreadPoolExecutor(max_workers=4)     # tcpdmatch is a process per query: run a few at once


def _tcpdmatch_all(workdir, queries):
    """tcpdmatch's verdicts for [(daemon, address, user or None)], in order."""
    clients = [(daemon, f'{user}@{address}' if user else address) for daemon, address, user in queries]
    return list(_POOL.map(lambda query: _tcpdmatch(workdir, *query), clients))


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
        queries = []
        for _query in range(QUERIES_PER_SET):
            daemon = rng.choice(QUERY_DAEMONS)
            address = rng.choice(QUERY_ADDRESSES)
            queries.append((daemon, address, 'bob' if rng.random() < 0.3 else None))
        for (daemon, address, user), expected in zip(queries, _tcpdmatch_all(str(workdir), queries)):
            got = _ours(allow, deny, daemon, address, user)
            checked += 1
            if got != expected:
                disagreements.append('set %d: %s %s@%s: tcpdmatch=%s ours=%s\nallow=%.600r\ndeny=%.600r'
                                     % (number, daemon, user, address, expected, got, allow, deny))
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
    # one example of each class of issue 11 section 4
    (b'sshd : ALL : user nobody\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : ALL : linger -1\n', b'', ('sshd', '1.2.3.4')),
    (b'sshd : ALL : \vallow\f\n', b'ALL : ALL\n', ('sshd', '1.2.3.4')),
    (b'sshd : [fe80::1%lo] : deny\n', b'', ('sshd', 'fe80::1')),
    (b'sshd : 10.0.0.0/4294967304 : deny\n', b'', ('sshd', '10.1.2.3')),
    (b'sshd : 10.0x.0.0/255.255.0.0 : deny\n', b'', ('sshd', '10.0.2.3')),
    (b'22 : ALL : deny\n', b'', ('22', '1.2.3.4')),
    (b'sshd : ALL : aclexec /bin/false\n', b'ALL : ALL\n', ('sshd', '1.2.3.4')),
])
def test_known_hazards_agree_with_tcpdmatch(oracle, tmp_path, allow, deny, query):
    (tmp_path / 'hosts.allow').write_bytes(allow)
    (tmp_path / 'hosts.deny').write_bytes(deny)
    assert _compare(tmp_path, [query + (None,)], 'hazard', allow, deny) == (1, [])


# ---------------------------------------------------------------------------
# Issue 11 section 4: a grammar of the classes where tcpwrap_info once differed
# ---------------------------------------------------------------------------

GRAMMAR_SEED = 20261129
GRAMMAR_SETS = 240
GRAMMAR_QUERIES = 16
BLANKS = [' ', ' ', '\t', '\v', '\f', ' \v', '\f\t']
SEPARATORS = [', ', ',', ' ', '\t', ' ,\t']
NUMBERS = ['0', '1', '8', '16', '24', '32', '33', '40', '64', '128', '129', '08', '+8', '-8', '8x', '0x8', '0x',
           '4294967304', '4294967295', '-4294967288', '2147483648', '18446744073709551624', '9223372036854775816',
           '4294967328', '-1', '']
# Lists repeat the words that make a difference most often: they are drawn uniformly.
SCOPES = ['lo', 'lo', 'lo', 'eth0', '1', '1', 'LO', 'nonexistent0', '01', '0', '4294967295', '4294967296', '-1', '',
          '1x', 'lo%x']
V6_NETS = ['fe80::1', 'fe80::1', 'fe80::1', 'fe80::', 'fe80::', 'ff02::1', 'ff01::1', '2001:db8::1', '2001:db8::',
           '::1', '::ffff:10.1.2.3']
V4_NETS = ['10.0.0.0', '10.1.0.0', '192.168.1.5', '0.0.0.0', '10.0x.0.0', '0x0a.0.0.0', '010.0.0.0',  # noqa: S104
           '0x.0.0.0', '127.0.0.1', '172.16.0.0']
MASKS = ['255.0.0.0', '255.255.0.0', '255.0x.0.0', '0xff.0.0.0', '255.255.255.255', '0.0.0.0',  # noqa: S104 masks
         '255.0.255.0']
DAEMON_WORDS = ['sshd', 'in.telnetd', 'vsftpd', 'ALL', 'KNOWN', 's*d', '?shd', 'SSHD', '22', '022', '+22', '0',
                '4294967318', '-22', '65558', '2?', '22x', 'sshd@ALL', '22@ALL', 'sshd@unknown', 'sshd@127.0.0.1']
CLIENT_WORDS = ['ALL', 'LOCAL', 'KNOWN', 'UNKNOWN', 'PARANOID', '10.', '192.168.', '10.1.2.3', '127.0.0.1',
                '.example.com', '10.*', 'bob@ALL', 'b?b@10.', '@trusted', '/nonexistent/file', '2001:db8::1']
OPTION_VALUES = {
    'linger': NUMBERS + ['-1', '-5', '-1', '5', '\v5'], 'nice': NUMBERS, 'rfc931': NUMBERS,
    'umask': ['022', '+022', '-0', '0777', '01000', '08', '040000000000', '0x1', '\v022'],
    'user': ['nobody', 'root', 'daemon', 'nobody.nogroup', 'root.nogroup', 'nobody.', '.nogroup', 'nosuchuser'],
    'group': ['nogroup', 'root', 'daemon', 'nosuchgroup'],
    'severity': ['auth.info', 'local3.err', 'notice', 'bogus', 'auth.bogus'],
    'aclexec': ['/bin/false', '/usr/local/sbin/check %a %d'], 'spawn': ['/bin/echo %c %d'],
    'twist': ['/bin/echo no'], 'setenv': ['A b'], 'banners': ['/nonexistent'],
}
OPTION_NAMES = sorted(OPTION_VALUES) + ['linger', 'linger', 'linger', 'umask', 'user', 'aclexec']
BARE_OPTIONS = ['allow', 'deny', 'keepalive', 'rfc931', 'nice', 'ALLOW', 'bogus', '']
GRAMMAR_DAEMONS = ['sshd', 'in.telnetd', 'vsftpd', 'SSHD', '22', '0']
GRAMMAR_ADDRESSES = ['10.1.2.3', '10.200.0.1', '192.168.1.5', '127.0.0.1', '172.20.1.1', '0.1.2.3', 'fe80::1', 'fe80::1',
                     'fe80::1%lo', 'fe80::2', 'ff02::1', 'ff01::1', '2001:db8::1', '2001:db8:1::5', '::1',
                     '::ffff:10.1.2.3']
TABLE_HAZARDS = ['directory', 'loop', 'through a file']


def _number(rng):
    return rng.choice(NUMBERS)


def _client_word(rng):
    kind = rng.randrange(8)
    if kind == 0:
        return f'{rng.choice(V4_NETS)}/{_number(rng)}'
    if kind == 1:
        return f'{rng.choice(V4_NETS)}/{rng.choice(MASKS)}'
    if kind in (2, 3):
        scope = f'%{rng.choice(SCOPES)}' if rng.random() < 0.7 else ''
        length = f'/{_number(rng)}' if rng.random() < 0.5 else ''
        return f'[{rng.choice(V6_NETS)}{scope}]{length}'
    if kind == 4:
        return rng.choice(V4_NETS)
    return rng.choice(CLIENT_WORDS)


def _word_list(rng, word, depth=0):
    text = rng.choice(SEPARATORS).join(word(rng) for _word in range(rng.randint(1, 3)))
    if depth < 2 and rng.random() < 0.25:
        text += rng.choice([' EXCEPT ', ' except ', '\tEXCEPT\t']) + _word_list(rng, word, depth + 1)
    return text


def _option(rng):
    """An option with blanks libwrap reads its own way: \\v and \\f around it, '=' or blanks inside."""
    if rng.random() < 0.35:
        text = rng.choice(BARE_OPTIONS)
    else:
        name = rng.choice(OPTION_NAMES)
        value = rng.choice(OPTION_VALUES[name])
        text = (name.upper() if rng.random() < 0.1 else name) + rng.choice([' ', '\t', '=', ' = ', '\v', ' \f']) + value
    return rng.choice(BLANKS) + text + rng.choice(BLANKS + [''])


def _daemon_word(rng):
    return rng.choice(DAEMON_WORDS) if rng.random() < 0.6 else rng.choice(['ALL', 'sshd', '22'])


def _grammar_rule(rng):
    line = _word_list(rng, _daemon_word) + rng.choice([' : ', ':', '\t:\t'])
    line += 'ALL' if rng.random() < 0.3 else _word_list(rng, _client_word)
    if rng.random() < 0.7:
        line += ':' + ':'.join(_option(rng) for _option_number in range(rng.randint(1, 3)))
    return line + '\n'


def _grammar_table(rng):
    lines = [_grammar_rule(rng) if rng.random() < 0.85 else rng.choice(['# comment\n', '\n', '\t# tab\n', 'x\n'])
             for _line in range(rng.randint(0, 5))]
    text = ''.join(lines)
    if text and rng.random() < 0.08:
        text = text.rstrip('\n')
    return text.encode('latin-1')


def _place_table(workdir, name, data, hazard):
    """Write one table into tcpdmatch's directory: its bytes, or a path libwrap cannot read as text."""
    path = workdir / name
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        path.rmdir()
    if hazard is None:
        path.write_bytes(data)
    elif hazard == 'directory':
        path.mkdir()
    elif hazard == 'loop':
        path.symlink_to(name)
    else:
        path.symlink_to(os.path.join('plain-file', name))


def _decide_all(workdir, queries):
    """Per query (daemon, address, user): (as tcpdmatch, as a daemon) from both evaluators, which
    must agree, or a message saying how they do not."""
    tables = [(table, str(workdir / f'hosts.{table}'), read_table(str(workdir / f'hosts.{table}')))
              for table in ('allow', 'deny')]
    dry_env = Environment()
    dry_env.dry_run = True
    daemon_env = Environment()
    policies = {id(env): CompiledPolicy(tables, env) for env in (dry_env, daemon_env)}
    answers = []
    for daemon, address, user in queries:
        pair = []
        for env in (dry_env, daemon_env):
            reference = evaluate(tables, daemon, address=address, user=user, env=env)
            compiled = policies[id(env)].decide(daemon, address, user=user)
            if compiled.as_dict() != reference.as_dict():
                pair.append(f'compiled policy: {compiled.as_dict()!r}, reference: {reference.as_dict()!r}')
            else:
                pair.append(reference)
        answers.append(pair + [_classes(tables, pair[0])])
    return answers


SECTION_4_CLASSES = {
    # class: test on the deciding rule's (daemons, clients, options) text
    'blanks in options': lambda daemons, clients, options: '\v' in options or '\f' in options,
    'numeric option': lambda daemons, clients, options: re.search('linger|nice|rfc931|umask', options, re.I),
    'number in a pattern': lambda daemons, clients, options: re.search(r'/[-+]?[0-9]|0x', clients),
    'scope id': lambda daemons, clients, options: '%' in clients,
    'server port': lambda daemons, clients, options: re.search(r'(^|[\s,])[-+]?[0-9]+($|[\s,@])', daemons),
    'user or group': lambda daemons, clients, options: re.search('user|group', options, re.I),
    'aclexec': lambda daemons, clients, options: re.search('aclexec', options, re.I),
}


def _classes(tables, verdict):
    """The section 4 classes of the rule that decided, as names."""
    if isinstance(verdict, str) or verdict.line is None:
        return []
    entries = dict((table, entries) for table, _path, entries in tables)[verdict.table]
    entry = next((e for e in entries if e.last_line == verdict.line and e.kind == 'rule'), None)
    if entry is None:
        return ['unreadable or broken table']
    return [name for name, test in SECTION_4_CLASSES.items()
            if test(entry.daemons, entry.clients, entry.options or '')]


def _shown(verdict):
    if isinstance(verdict, str):
        return verdict
    return 'delegated' if verdict.delegated else verdict.access


def _switches(verdict):
    """Whether tcpdmatch's verdict came from switching user or group, which a daemon does not do."""
    return not isinstance(verdict, str) and any(
        f'{call}(' in (verdict.reason or '') for call in ('setuid', 'setgid', 'setgroups', 'initgroups'))


def _compare(workdir, queries, label, allow, deny, decided=None):
    """(number of queries, disagreements) of one pair of tables against tcpdmatch; decided
    counts the section 4 classes of the rules that decided."""
    disagreements = []
    for (daemon, address, user), expected, (as_tcpdmatch, as_daemon, classes) in zip(
            queries, _tcpdmatch_all(str(workdir), queries), _decide_all(workdir, queries)):
        for name in classes:
            if decided is not None:
                decided[name] = decided.get(name, 0) + 1
        got = _shown(as_tcpdmatch)
        daemon_differs = _shown(as_daemon) != got and not _switches(as_tcpdmatch)
        if got != expected or daemon_differs:
            disagreements.append(f'{label}: {daemon} {user}@{address}: tcpdmatch={expected} ours={got} '
                                 f'as a daemon={_shown(as_daemon)}\nallow={allow!r:.600}\ndeny={deny!r:.600}')
    return len(queries), disagreements


def test_grammar_of_section_4_classes_agrees_with_tcpdmatch(oracle, tmp_path):
    rng = random.Random(GRAMMAR_SEED)
    workdir = tmp_path / 'tables'
    workdir.mkdir()
    (workdir / 'plain-file').write_bytes(b'')
    checked, disagreements, hazards, decided = 0, [], 0, {}
    for number in range(GRAMMAR_SETS):
        allow, deny = _grammar_table(rng), _grammar_table(rng)
        allow_hazard = rng.choice(TABLE_HAZARDS) if rng.random() < 0.05 else None
        deny_hazard = rng.choice(TABLE_HAZARDS) if rng.random() < 0.05 else None
        hazards += (allow_hazard is not None) + (deny_hazard is not None)
        _place_table(workdir, 'hosts.allow', allow, allow_hazard)
        _place_table(workdir, 'hosts.deny', deny, deny_hazard)
        queries = [(rng.choice(GRAMMAR_DAEMONS), rng.choice(GRAMMAR_ADDRESSES), 'bob' if rng.random() < 0.25 else None)
                   for _query in range(GRAMMAR_QUERIES)]
        count, found = _compare(workdir, queries, f'set {number} ({allow_hazard}, {deny_hazard})', allow, deny,
                                decided)
        checked += count
        disagreements += found
    assert (checked, hazards > 0) == (GRAMMAR_SETS * GRAMMAR_QUERIES, True)
    # Every class decides queries of its own, so a regression in any of them shows here.
    assert {name: decided.get(name, 0) >= 20 for name in SECTION_4_CLASSES} == dict.fromkeys(SECTION_4_CLASSES, True), \
        decided
    assert not disagreements, '%d of %d verdicts disagree; first:\n%s' % (
        len(disagreements), checked, '\n\n'.join(disagreements[:5]))


CORPUS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'fixtures', 'tcpwrap_corpus')
CORPUS_DAEMONS = ['sshd', 'in.telnetd', 'vsftpd', 'sendmail', 'rpcbind', 'fingerd', 'ftpd', 'ypserv']
CORPUS_ADDRESSES = ['127.0.0.1', '10.0.0.1', '10.0.0.66', '10.1.2.3', '172.16.5.4', '192.168.1.20', '192.168.2.5',
                    '192.0.2.33', '192.0.2.100', '203.0.113.9', '198.51.100.7', '::1', '2001:db8::1']


CORPUS_PAIRS = sorted(name for name in os.listdir(CORPUS) if os.path.isdir(os.path.join(CORPUS, name)))


@pytest.mark.parametrize('pair', CORPUS_PAIRS)
def test_real_world_style_corpus_agrees_with_tcpdmatch(oracle, tmp_path, pair):
    data = {}
    for table in ('allow', 'deny'):
        with open(os.path.join(CORPUS, pair, f'hosts.{table}'), 'rb') as handle:
            data[table] = handle.read()
        (tmp_path / f'hosts.{table}').write_bytes(data[table])
    queries = [(daemon, address, None) for daemon in CORPUS_DAEMONS for address in CORPUS_ADDRESSES]
    checked, disagreements = _compare(tmp_path, queries, pair, data['allow'], data['deny'])
    assert checked == len(CORPUS_DAEMONS) * len(CORPUS_ADDRESSES)
    assert not disagreements, '\n\n'.join(disagreements[:5])
