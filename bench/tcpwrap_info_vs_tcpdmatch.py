#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""10,000 access decisions: tcpwrap_info against one tcpdmatch run per query, on two policies.

Run from the repository root (needs Debian's tcpd for tcpdmatch):

    .venv/bin/python bench/tcpwrap_info_vs_tcpdmatch.py [--queries 10000] [--rounds 3]
        [--baseline /path/to/other/checkout/.build/collections]

Policies:
  example     the policy of playbooks/inventory (sshd for all but one address, in.telnetd for
              LOCAL and 192.168., hosts.deny ALL : ALL with a spawn), as the tcp_wrappers
              role writes it;
  1000 rules  a seeded 1,000-line hosts.allow (net/mask and prefix patterns, some EXCEPT) and
              the same hosts.deny.
Queries: 5 daemons x (queries / 5) seeded addresses, in a seeded order. Each is decided by
  module, queries    one tcpwrap_info process with every query in `queries`;
  module, compact    one tcpwrap_info process with `daemons` x `addresses` (access_matrix);
  baseline module    (with --baseline) the same `queries` run on another checkout's module;
  tcpdmatch -d       one process per query, as a shell loop over tcpdmatch would run it.
The ways alternate within each round so they share the machine's load; the table gives median
wall clocks and tcpdmatch's time divided by each. Every verdict is compared with tcpdmatch's.
"""

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from tcpwrap_modrun import run_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = 'ansible_collections.serversec.confine.plugins.modules.tcpwrap_info'
DAEMONS = ['sshd', 'in.telnetd', 'vsftpd', 'rsync', 'cupsd']
DENY = 'ALL : ALL : spawn /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log\n'
EXAMPLE_ALLOW = ('# ssh for everyone but the banned client\n'
                 'sshd : ALL EXCEPT 172.30.77.60\n'
                 '# telnet only from the LAN\n'
                 'in.telnetd : LOCAL, 192.168.\n')


def large_policy(rng, rules):
    allow = ['# bench policy']
    for _rule in range(rules):
        clients = ['10.%d.%d.0/24' % (rng.randrange(256), rng.randrange(256)), '192.168.%d.' % rng.randrange(256)]
        line = '%s : %s' % (rng.choice(DAEMONS), ', '.join(clients))
        if rng.random() < 0.2:
            line += ' EXCEPT 192.168.%d.%d' % (rng.randrange(256), rng.randrange(256))
        allow.append(line)
    return '\n'.join(allow) + '\n'


def addresses(rng, count):
    """Addresses in the policies' ranges often enough that both tables decide."""
    made, seen = [], set()
    while len(made) < count:
        pick = rng.random()
        if pick < 0.45:
            address = '10.%d.%d.%d' % (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        elif pick < 0.9:
            address = '192.168.%d.%d' % (rng.randrange(256), rng.randrange(256))
        else:
            address = '172.30.77.%d' % rng.randrange(50, 70)
        if address not in seen:
            seen.add(address)
            made.append(address)
    return made


def run_tcpdmatch(tcpdmatch, workdir, pairs):
    start = time.perf_counter()
    verdicts = []
    for daemon, address in pairs:
        text = subprocess.run([tcpdmatch, '-d', daemon, address], cwd=workdir, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, check=False).stdout.decode()
        verdicts.append([line.split()[1] for line in text.splitlines() if line.startswith('access:')][0])
    return time.perf_counter() - start, verdicts


def write_args(workdir, name, args):
    path = os.path.join(workdir, name)
    with open(path, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': dict(args, allow_path=os.path.join(workdir, 'hosts.allow'),
                                               deny_path=os.path.join(workdir, 'hosts.deny'))}, handle)
    return path


def bench_policy(label, allow, pairs, daemons, asked, args, tcpdmatch):
    """{way: [seconds per round]} for one policy; exits when a verdict differs from tcpdmatch."""
    times = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name, text in (('hosts.allow', allow), ('hosts.deny', DENY)):
            with open(os.path.join(workdir, name), 'w') as handle:
                handle.write(text)
        queries_args = write_args(workdir, 'queries.json', {'queries': [{'daemon': d, 'address': a} for d, a in pairs]})
        compact_args = write_args(workdir, 'compact.json', {'daemons': daemons, 'addresses': asked})
        ways = [('module, queries', lambda: run_module(MODULE, args.collections, queries_args)[::2]),
                ('module, compact', lambda: run_module(MODULE, args.collections, compact_args)[::2])]
        if args.baseline:
            ways.append(('baseline module', lambda: run_module(MODULE, args.baseline, queries_args)[::2]))
        ways.append(('tcpdmatch -d', lambda: run_tcpdmatch(tcpdmatch, workdir, pairs)))
        for number in range(args.rounds):
            # Rotate the order so no way always runs first (on the coolest machine).
            shift = number % len(ways)
            answers = {}
            for way, call in ways[shift:] + ways[:shift]:
                seconds, answers[way] = call()
                times.setdefault(way, []).append(seconds)
            oracle = answers['tcpdmatch -d']
            got = {'module, queries': [v['access'] for v in answers['module, queries']['verdicts']],
                   'module, compact': [answers['module, compact']['access_matrix'][d][a] for d, a in pairs]}
            if args.baseline:
                got['baseline module'] = [v['access'] for v in answers['baseline module']['verdicts']]
            for way, verdicts in got.items():
                if verdicts != oracle:
                    sys.exit('%s, %s: verdicts differ from tcpdmatch' % (label, way))
    return times, oracle.count('granted')


def in_process(policies, pairs, rounds, sample):
    """Matcher alone, no process: per query, the reference evaluate() (on a sample of the queries)
    against CompiledPolicy (compiled in the timed part), alternating; medians in microseconds."""
    from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
    from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import CompiledPolicy
    from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_match import evaluate

    print('matcher in-process, microseconds per query, median of %d alternating rounds' % rounds)
    for label, allow in policies:
        tables = [('allow', 'hosts.allow', scan_table(allow.encode())), ('deny', 'hosts.deny', scan_table(DENY.encode()))]
        reference, compiled = [], []
        for _round in range(rounds):
            start = time.perf_counter()
            expected = [evaluate(tables, daemon, address).as_dict() for daemon, address in pairs[:sample]]
            reference.append((time.perf_counter() - start) / sample * 1e6)
            start = time.perf_counter()
            policy = CompiledPolicy(tables)
            got = [policy.decide(daemon, address).as_dict() for daemon, address in pairs]
            compiled.append((time.perf_counter() - start) / len(pairs) * 1e6)
            if got[:sample] != expected:
                sys.exit('%s: the compiled policy and evaluate() disagree' % label)
        print('%-12s evaluate() %8.1f   compiled %6.1f   %6.1fx' % (
            label, statistics.median(reference), statistics.median(compiled),
            statistics.median(reference) / statistics.median(compiled)))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--queries', type=int, default=10000)
    parser.add_argument('--rules', type=int, default=1000)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--collections', default=os.path.join(ROOT, '.build', 'collections'))
    parser.add_argument('--baseline', help='collections directory of the checkout to compare with')
    parser.add_argument('--matcher-only', action='store_true', help='only the in-process matcher figures')
    args = parser.parse_args()
    sys.path.insert(0, args.collections)
    tcpdmatch = shutil.which('tcpdmatch') or '/usr/sbin/tcpdmatch'
    if not os.path.exists(tcpdmatch):
        sys.exit('tcpdmatch (Debian package tcpd) is needed for this benchmark')
    rng = random.Random(7)
    large = large_policy(rng, args.rules)
    asked = addresses(rng, args.queries // len(DAEMONS))
    pairs = [(daemon, address) for daemon in DAEMONS for address in asked]
    rng.shuffle(pairs)
    policies = [('example', EXAMPLE_ALLOW), ('%d rules' % args.rules, large)]
    in_process(policies, pairs, args.rounds, min(len(pairs), 1000))
    if args.matcher_only:
        return
    results = [('example', bench_policy('example', EXAMPLE_ALLOW, pairs, DAEMONS, asked, args, tcpdmatch)),
               ('%d rules' % args.rules, bench_policy('%d rules' % args.rules, large, pairs, DAEMONS, asked, args,
                                                       tcpdmatch))]
    print('%d queries (%d daemons x %d addresses), wall clock in s, median of %d alternating rounds'
          % (len(pairs), len(DAEMONS), len(asked), args.rounds))
    print('%-12s %-17s %9s %10s' % ('policy', 'way', 'seconds', 'tcpdmatch/'))
    for label, (times, granted) in results:
        reference = statistics.median(times['tcpdmatch -d'])
        for way, seconds in times.items():
            median = statistics.median(seconds)
            print('%-12s %-17s %9.2f %9.1fx' % (label, way, median, reference / median))
        print('%-12s all verdicts agree with tcpdmatch (%d granted)' % (label, granted))


if __name__ == '__main__':
    main()
