#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Module time of tcpwrap_rule with `rules:` at 1,000 and 10,000 rules, first run and re-run.

Run from the repository root:

    .venv/bin/python bench/tcpwrap_rule_scaling.py [--sizes 1000 10000] [--rounds 3]
        [--collections DIR] [--baseline /path/to/other/checkout/.build/collections]

Each measurement is the wall clock and the CPU time of one module process (python -m
...tcpwrap_rule with the arguments in a file, as AnsiballZ runs it, no ansible-playbook): the first run
writes N rules to a missing file, the re-run finds them all in place (changed=false). With
--baseline, the same runs go to another checkout's collection (e.g. one of main before the
change), alternating with this one in the same process so both see the same machine load;
medians and ratios are printed, and the written files must be byte-identical.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile

from tcpwrap_modrun import run_module

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULE = 'ansible_collections.serversec.confine.plugins.modules.tcpwrap_rule'


def rules(count):
    """Distinct grants, one daemon each, networks spread over 10.0.0.0/8; every 10th commented."""
    daemons = ['sshd', 'in.telnetd', 'vsftpd', 'in.fingerd', 'rsync']
    made = []
    for n in range(count):
        rule = {'daemons': [daemons[n % len(daemons)]], 'clients': ['10.%d.%d.0/24' % (n // 256 % 256, n % 256)]}
        if n >= 65536:
            rule['clients'].append('192.168.%d.' % (n // 65536))
        if n % 10 == 0:
            rule['comment'] = 'grant %d' % n
        made.append(rule)
    return made


def run(collections, args_file):
    """((wall, CPU) seconds, changed) of one module run."""
    elapsed, cpu, result = run_module(MODULE, collections, args_file)
    if result.get('failed'):
        sys.exit('module failed: %s' % result.get('msg'))
    return (elapsed, cpu), result['changed']


def measure(collections, workdir, label, count):
    """((wall, CPU) of the first run, (wall, CPU) of the re-run, bytes written) for one checkout."""
    target = os.path.join(workdir, '%s-%d.allow' % (label, count))
    if os.path.exists(target):
        os.unlink(target)
    args_file = os.path.join(workdir, 'args-%d.json' % count)
    if not os.path.exists(args_file):
        with open(args_file, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': {'path': target, 'rules': rules(count)}}, handle)
    with open(args_file) as handle:
        payload = json.load(handle)
    payload['ANSIBLE_MODULE_ARGS']['path'] = target
    own = os.path.join(workdir, 'args-%s-%d.json' % (label, count))
    with open(own, 'w') as handle:
        json.dump(payload, handle)
    first, changed_first = run(collections, own)
    again, changed_again = run(collections, own)
    if not changed_first or changed_again:
        sys.exit('%s: expected changed then unchanged, got %s then %s' % (label, changed_first, changed_again))
    with open(target, 'rb') as handle:
        return first, again, handle.read()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000])
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--collections', default=os.path.join(ROOT, '.build', 'collections'),
                        help='collections directory of the checkout to measure (default: this one)')
    parser.add_argument('--baseline', help='collections directory of the checkout to compare with')
    args = parser.parse_args()
    checkouts = [('this', os.path.abspath(args.collections))]
    if args.baseline:
        checkouts.append(('baseline', os.path.abspath(args.baseline)))
    times = {}
    identical = True
    with tempfile.TemporaryDirectory() as workdir:
        for count in args.sizes:
            for _round in range(args.rounds):
                written = {}
                # Alternate the order so neither checkout always runs on the warmer cache.
                order = checkouts if _round % 2 == 0 else list(reversed(checkouts))
                for label, collections in order:
                    first, again, data = measure(collections, workdir, label, count)
                    times.setdefault((label, count), []).append((first, again))
                    written[label] = data
                identical = identical and len(set(written.values())) == 1
    print('tcpwrap_rule module process, seconds of wall clock / CPU, median of %d alternating rounds'
          % args.rounds)
    print('%8s  %-9s %15s %15s' % ('rules', 'checkout', 'first run', 're-run'))

    def median(runs, run, kind):
        return statistics.median(r[run][kind] for r in runs)

    for count in args.sizes:
        for label, _collections in checkouts:
            runs = times[(label, count)]
            print('%8d  %-9s %7.2f / %5.2f %7.2f / %5.2f' % (count, label, median(runs, 0, 0), median(runs, 0, 1),
                                                             median(runs, 1, 0), median(runs, 1, 1)))
        if args.baseline:
            base, this = times[('baseline', count)], times[('this', count)]
            print('%8d  %-9s %6.1fx / %4.1fx %6.1fx / %4.1fx' % (
                count, 'speed-up', *[median(base, run, kind) / median(this, run, kind)
                                     for run in (0, 1) for kind in (0, 1)]))
    if args.baseline:
        print('written files byte-identical between checkouts: %s' % identical)
        if not identical:
            sys.exit(1)


if __name__ == '__main__':
    main()
