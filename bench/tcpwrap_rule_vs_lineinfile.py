#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A policy of N rules: one tcpwrap_rule task against ansible.builtin.lineinfile in a loop.

Run from the repository root (after `make venv`):

    .venv/bin/python bench/tcpwrap_rule_vs_lineinfile.py [--rules 1000]

Both write the same N lines to a fresh temporary file (never /etc) through ansible-playbook on
localhost (connection local), then run again on the finished file (the idempotent re-run every
later deployment pays). Wall-clock seconds of the whole ansible-playbook process are reported.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')


def rules(count):
    """Distinct, realistic grants: one daemon per rule, networks spread over 10.0.0.0/8."""
    daemons = ['sshd', 'in.telnetd', 'vsftpd', 'in.fingerd', 'rsync']
    return [{'daemons': [daemons[n % len(daemons)]], 'clients': ['10.%d.%d.0/24' % (n // 256, n % 256)]}
            for n in range(count)]


def write_playbooks(workdir, count):
    target = os.path.join(workdir, 'hosts.allow')
    lines = ['%s : %s' % (r['daemons'][0], r['clients'][0]) for r in rules(count)]
    module_play = [{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'Policy in one task', 'serversec.confine.tcpwrap_rule': {
            'path': target + '.module', 'rules': rules(count)}}],
    }]
    loop_play = [{
        'hosts': 'localhost', 'gather_facts': False,
        'tasks': [{'name': 'Policy line by line', 'ansible.builtin.lineinfile': {
            'path': target + '.lineinfile', 'line': '{{ item }}', 'create': True, 'mode': '0644'},
            'loop': lines}],
    }]
    paths = {}
    for name, play in (('module', module_play), ('lineinfile', loop_play)):
        paths[name] = os.path.join(workdir, name + '.yml')
        with open(paths[name], 'w') as handle:
            json.dump(play, handle)
    return paths, target


def run(playbook):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(ROOT, '.build', 'collections'),
               ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_STDOUT_CALLBACK='default',
               ANSIBLE_LOCALHOST_WARNING='False', ANSIBLE_INVENTORY_UNPARSED_WARNING='False')
    start = time.perf_counter()
    result = subprocess.run([PLAYBOOK, '-i', 'localhost,', '-c', 'local', playbook], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stdout.decode()[-3000:])
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--rules', type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        paths, target = write_playbooks(workdir, args.rules)
        figures = {}
        for name in ('module', 'lineinfile'):
            figures[name] = (run(paths[name]), run(paths[name]))
        with open(target + '.module', 'rb') as one, open(target + '.lineinfile', 'rb') as other:
            same = one.read().replace(b', ', b' ') == other.read()
    print('%d rules, ansible-playbook wall clock (s): first run / idempotent re-run' % args.rules)
    print('  tcpwrap_rule, one task   %8.2f / %8.2f' % figures['module'])
    print('  lineinfile, loop         %8.2f / %8.2f' % figures['lineinfile'])
    print('  speed-up                 %7.1fx / %7.1fx' % (figures['lineinfile'][0] / figures['module'][0],
                                                         figures['lineinfile'][1] / figures['module'][1]))
    print('  same lines written: %s' % same)


if __name__ == '__main__':
    main()
