#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Populate a jail with ~40 common binaries: chroot_jail vs jailkit's jk_cp, side by side.

Run as root from the repository root:

    PYTHONPATH=.build/collections .venv/bin/python bench/chroot_populate.py

Measured, for each tool, on the same binary list in fresh jails under a root-owned scratch dir:
  cold      empty jail -> populated
  re-run    nothing changed on the host (median of --repeat runs)
  drift     one library copy in the jail made stale, then a re-run (must be found and fixed)

"module" is the real module process (python3 + AnsibleModule + the logic, as Ansible runs it on
the host, without the SSH/controller overhead); "logic" is converge() in-process.
jk_cp is jailkit's copier (runs ldd through a shell, copies what is missing; -f overwrites all).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BINARIES = [
    'bash', 'sh', 'ls', 'cat', 'cp', 'mv', 'rm', 'mkdir', 'rmdir', 'ln', 'chmod', 'chown', 'touch',
    'date', 'echo', 'env', 'head', 'tail', 'wc', 'sort', 'uniq', 'cut', 'tr', 'tee', 'grep', 'sed',
    'awk', 'find', 'xargs', 'tar', 'gzip', 'id', 'whoami', 'stat', 'readlink', 'df', 'du', 'ps',
    'python3', 'openssl', 'ssh', 'scp', 'curl', 'less', 'getent',
]
SEARCH = ('/usr/bin', '/bin', '/usr/sbin', '/sbin')
MODULE = 'ansible_collections.serversec.confine.plugins.modules.chroot_jail'


def find_binaries():
    found = []
    for name in BINARIES:
        for directory in SEARCH:
            path = os.path.join(directory, name)
            if os.path.exists(path):
                found.append(path)
                break
    return found


def timed(func):
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def run_module(args_file):
    out = subprocess.run([sys.executable, '-m', MODULE, args_file], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=False).stdout.decode()
    result = json.loads(out[out.index('{'):])
    if result.get('failed'):
        raise SystemExit('module failed: %s' % result['msg'])
    return result


def bench_baseline(base, repeat):
    """The same process with ansible.builtin.ping: interpreter + AnsibleModule start-up."""
    args_file = os.path.join(base, 'ping.json')
    with open(args_file, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': {}}, handle)
    argv = [sys.executable, '-m', 'ansible.modules.ping', args_file]
    runs = [timed(lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True))[0] for _ in range(repeat)]
    return statistics.median(runs)


def jail_library(jail):
    """A regular file (a shared library) inside the jail to make stale."""
    for dirpath, _dirs, files in os.walk(jail):
        for name in sorted(files):
            if name.startswith('libc.so'):
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    return full
    raise SystemExit('no libc copy found in %s' % jail)


def make_stale(path):
    with open(path, 'ab') as handle:
        handle.write(b'stale')


def bench_module(base, binaries, repeat):
    jail = os.path.join(base, 'module')
    args_file = os.path.join(base, 'args.json')
    with open(args_file, 'w') as handle:
        json.dump({'ANSIBLE_MODULE_ARGS': {'path': jail, 'binaries': binaries,
                                           'state_dir': os.path.join(base, 'state')}}, handle)
    cold, result = timed(lambda: run_module(args_file))
    reruns = []
    for _ in range(repeat):
        seconds, again = timed(lambda: run_module(args_file))
        assert not again['changed'], again
        reruns.append(seconds)
    stale = jail_library(jail)
    make_stale(stale)
    drift, fixed = timed(lambda: run_module(args_file))
    assert fixed['updated'] == ['/' + os.path.relpath(stale, jail)], fixed['updated']
    return {'cold': cold, 'rerun': statistics.median(reruns), 'drift': drift,
            'files': result['files'], 'size': result['size']}


def bench_logic(base, binaries, repeat):
    from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge
    from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailSpec
    jail = os.path.join(base, 'logic')
    spec = JailSpec(jail, binaries=binaries)
    state_dir = os.path.join(base, 'state')
    cold, _ = timed(lambda: converge(spec, state_dir))
    reruns = [timed(lambda: converge(spec, state_dir))[0] for _ in range(repeat)]
    make_stale(jail_library(jail))
    drift, fixed = timed(lambda: converge(spec, state_dir))
    assert len(fixed.updated) == 1
    return {'cold': cold, 'rerun': statistics.median(reruns), 'drift': drift}


def jk_cp(jail, binaries, force=False):
    argv = ['jk_cp', '-j', jail] + (['-f'] if force else []) + binaries
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)


def same_as_host(jail_file, jail):
    host_file = '/' + os.path.relpath(jail_file, jail)
    with open(jail_file, 'rb') as a, open(os.path.realpath(host_file), 'rb') as b:
        return a.read() == b.read()


def bench_jkcp(base, binaries, repeat):
    if shutil.which('jk_cp') is None:
        return None
    jail = os.path.join(base, 'jailkit')
    os.mkdir(jail, 0o755)
    cold, _ = timed(lambda: jk_cp(jail, binaries))
    reruns = [timed(lambda: jk_cp(jail, binaries))[0] for _ in range(repeat)]
    forced = [timed(lambda: jk_cp(jail, binaries, force=True))[0] for _ in range(repeat)]
    stale = jail_library(jail)
    make_stale(stale)
    drift, _ = timed(lambda: jk_cp(jail, binaries))
    fixed_plain = same_as_host(stale, jail)
    files = sum(len(f) for _d, _s, f in os.walk(jail))
    return {'cold': cold, 'rerun': statistics.median(reruns), 'rerun_f': statistics.median(forced),
            'drift': drift, 'drift_fixed': fixed_plain, 'files': files}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', default='/root', help='root-owned, non-writable parent for scratch jails')
    parser.add_argument('--repeat', type=int, default=5)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root')
    binaries = find_binaries()
    base = tempfile.mkdtemp(prefix='serversec-bench-', dir=args.base)
    os.chmod(base, 0o755)
    try:
        baseline = bench_baseline(base, args.repeat)
        module = bench_module(base, binaries, args.repeat)
        logic = bench_logic(base, binaries, args.repeat)
        jailkit = bench_jkcp(base, binaries, args.repeat)
    finally:
        shutil.rmtree(base)
    print('%d binaries: %s' % (len(binaries), ' '.join(os.path.basename(b) for b in binaries)))
    print('chroot_jail manages %d files, %.1f MiB' % (module['files'], module['size'] / 1048576.0))
    print('ansible.builtin.ping in the same kind of process (start-up cost of any module): %.3f s' % baseline)
    print('| tool | cold | no-change re-run | re-run after one stale library | stale copy fixed |')
    print('|---|---|---|---|---|')
    print('| chroot_jail module process | %.3f s | %.3f s | %.3f s | yes (reported in `updated`) |' % (
        module['cold'], module['rerun'], module['drift']))
    print('| chroot_jail converge() in-process | %.3f s | %.3f s | %.3f s | yes |' % (
        logic['cold'], logic['rerun'], logic['drift']))
    if jailkit is None:
        print('| jailkit jk_cp | not installed | | | |')
    else:
        print('| jailkit jk_cp (%d entries) | %.3f s | %.3f s (-f: %.3f s) | %.3f s | %s |' % (
            jailkit['files'], jailkit['cold'], jailkit['rerun'], jailkit['rerun_f'], jailkit['drift'],
            'yes' if jailkit['drift_fixed'] else 'no (stale copy kept; only -f rewrites everything)'))


if __name__ == '__main__':
    main()
