#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""10,000 access decisions: tcpwrap_info against one tcpdmatch run per query.

Run from the repository root (after `make venv`; needs Debian's tcpd for tcpdmatch):

    PYTHONPATH=.build/collections .venv/bin/python bench/tcpwrap_info_vs_tcpdmatch.py [--queries 10000]

The same seeded rule set (a 200-line hosts.allow and a hosts.deny ending in ALL : ALL) and the
same queries go to:
  tcpwrap_info module   one real module process (python3 + AnsibleModule) with every query;
  evaluator in-process  the module's evaluate() called in a loop, no process start-up;
  tcpdmatch -d          one process per query, as a shell loop over tcpdmatch would do.
Every verdict is compared, so the figures are for answers that agree.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

MODULE = 'ansible_collections.serversec.confine.plugins.modules.tcpwrap_info'
DAEMONS = ['sshd', 'in.telnetd', 'vsftpd', 'rsync', 'cupsd']


def policy(rng):
    allow = ['# bench policy']
    for _ in range(200):
        clients = ['10.%d.%d.0/24' % (rng.randrange(256), rng.randrange(256)), '192.168.%d.' % rng.randrange(256)]
        line = '%s : %s' % (rng.choice(DAEMONS), ', '.join(clients))
        if rng.random() < 0.2:
            line += ' EXCEPT 192.168.%d.%d' % (rng.randrange(256), rng.randrange(256))
        allow.append(line)
    deny = ['ALL : ALL : spawn /bin/echo "%c tried to connect to %d and was blocked" >> /dev/null']
    return '\n'.join(allow) + '\n', '\n'.join(deny) + '\n'


def queries(rng, count):
    """Addresses in the policy's ranges often enough that both tables decide."""
    asked = []
    for _ in range(count):
        if rng.random() < 0.5:
            address = '10.%d.%d.%d' % (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        else:
            address = '192.168.%d.%d' % (rng.randrange(256), rng.randrange(256))
        asked.append({'daemon': rng.choice(DAEMONS), 'address': address})
    return asked


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--queries', type=int, default=10000)
    args = parser.parse_args()
    tcpdmatch = shutil.which('tcpdmatch') or '/usr/sbin/tcpdmatch'
    if not os.path.exists(tcpdmatch):
        sys.exit('tcpdmatch (Debian package tcpd) is needed for this benchmark')
    from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap, _tcpwrap_match

    rng = random.Random(7)
    allow, deny = policy(rng)
    asked = queries(rng, args.queries)
    with tempfile.TemporaryDirectory() as workdir:
        for name, text in (('hosts.allow', allow), ('hosts.deny', deny)):
            with open(os.path.join(workdir, name), 'w') as handle:
                handle.write(text)
        args_file = os.path.join(workdir, 'args.json')
        with open(args_file, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': {'allow_path': os.path.join(workdir, 'hosts.allow'),
                                               'deny_path': os.path.join(workdir, 'hosts.deny'),
                                               'queries': asked}}, handle)

        start = time.perf_counter()
        out = subprocess.run([sys.executable, '-m', MODULE, args_file], stdout=subprocess.PIPE, check=True).stdout
        module_seconds = time.perf_counter() - start
        module_verdicts = [v['access'] for v in json.loads(out)['verdicts']]

        start = time.perf_counter()
        tables = [('allow', 'hosts.allow', _tcpwrap.scan_table(allow.encode())),
                  ('deny', 'hosts.deny', _tcpwrap.scan_table(deny.encode()))]
        logic_verdicts = [_tcpwrap_match.evaluate(tables, q['daemon'], address=q['address']).access for q in asked]
        logic_seconds = time.perf_counter() - start

        start = time.perf_counter()
        oracle = []
        for q in asked:
            text = subprocess.run([tcpdmatch, '-d', q['daemon'], q['address']], cwd=workdir, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, check=False).stdout.decode()
            oracle.append([line.split()[1] for line in text.splitlines() if line.startswith('access:')][0])
        tcpdmatch_seconds = time.perf_counter() - start

    agree = module_verdicts == oracle and logic_verdicts == oracle
    granted = oracle.count('granted')
    print('%d queries (%d granted), 201-rule policy, wall clock (s)' % (len(asked), granted))
    print('  tcpwrap_info module, one process   %8.2f' % module_seconds)
    print('  evaluator in-process               %8.2f' % logic_seconds)
    print('  tcpdmatch -d, one run per query    %8.2f' % tcpdmatch_seconds)
    print('  speed-up (module vs tcpdmatch)     %7.1fx' % (tcpdmatch_seconds / module_seconds))
    print('  all verdicts agree: %s' % agree)
    if not agree:
        sys.exit(1)


if __name__ == '__main__':
    main()
