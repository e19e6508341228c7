#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Twenty jails of 45 binaries, with and without a shared base (chroot_jail ``base:``), side by side.

Run as root from the repository root:

    PYTHONPATH=.build/collections .venv/bin/python bench/chroot_base.py [--jails 20] [--rounds 3]

The 45 binaries are those of bench/chroot_populate.py. Two fleets are built in fresh directories
under a root-owned scratch dir, in alternating order:
  copies    20 jails, each with its own copies (no base)
  base      one base jail with the same binaries, then 20 jails with ``base:`` (hard links)
Measured, for each fleet, with converge() in-process (the module's logic; each module process
adds Ansible's start-up, about 0.3 s per jail, to both fleets alike):
  cold      empty directories -> every jail populated (the base included)
  re-run    nothing changed on the host, every jail run again: the first re-run, then the median
            of --rounds more (the first re-run of the base fleet re-reads the files whose inode
            change time later links moved, see bench/chroot.md)
  disk      bytes allocated under the fleet's directory, every inode counted once (as du does),
            and the number of distinct file inodes
Cells give CPU time (user + system) with the wall clock in brackets. Stdlib plus the collection.
"""

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chroot_populate import find_binaries, warm_page_cache  # noqa: E402

from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge  # noqa: E402
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailSpec  # noqa: E402


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


class Fleet:
    """``jails`` jails of ``binaries`` under ``top``, on a base jail when ``with_base``."""

    def __init__(self, top, binaries, jails, with_base):
        self.top = top
        self.state_dir = os.path.join(top, 'state')
        self.binaries = binaries
        self.base = os.path.join(top, 'base') if with_base else None
        self.jails = [os.path.join(top, f'jail{number:02d}') for number in range(jails)]

    def run(self):
        """``(CPU s, wall s, jail paths changed)`` of one run over the fleet, base first."""
        start, start_cpu = time.perf_counter(), cpu_seconds()
        changed = 0
        if self.base:
            changed += self._one(self.base, None)
        for jail in self.jails:
            changed += self._one(jail, self.base)
        return cpu_seconds() - start_cpu, time.perf_counter() - start, changed

    def _one(self, path, base):
        result = converge(JailSpec(path, binaries=self.binaries), self.state_dir, base=base)
        return len(result.added) + len(result.updated) + len(result.removed)

    def disk(self):
        """``(bytes allocated, distinct file inodes)`` of the jails and the base, each inode once."""
        seen = set()
        allocated = files = 0
        for path in ([self.base] if self.base else []) + self.jails:
            for dirpath, dirnames, filenames in os.walk(path):
                for name in dirnames + filenames + ['.']:
                    st = os.lstat(os.path.join(dirpath, name))
                    if (st.st_dev, st.st_ino) in seen:
                        continue
                    seen.add((st.st_dev, st.st_ino))
                    allocated += st.st_blocks * 512
                    files += os.path.isfile(os.path.join(dirpath, name)) and not os.path.islink(
                        os.path.join(dirpath, name))
        return allocated, files


def cell(cpu, wall):
    return f'{cpu:.2f} s ({wall:.2f} s)'


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', default='/root', help='root-owned, non-writable parent for the scratch dir')
    parser.add_argument('--jails', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3, help='steady no-change re-runs after the first')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root: the jails are root-owned')
    binaries = find_binaries()
    warm_page_cache(binaries)
    scratch = tempfile.mkdtemp(prefix='serversec-bench-base-', dir=args.base)
    os.chmod(scratch, 0o755)
    load_before = os.getloadavg()[0]
    try:
        fleets = {name: Fleet(os.path.join(scratch, name), binaries, args.jails, name == 'base')
                  for name in ('copies', 'base')}
        for fleet in fleets.values():
            os.mkdir(fleet.top, 0o755)
        rows = {name: {} for name in fleets}
        order = list(fleets)
        for phase in ['cold', 'first'] + [f'steady{n}' for n in range(args.rounds)]:
            for name in order:
                rows[name][phase] = fleets[name].run()
            order.reverse()  # alternate, so that both share the machine's load
        for name, fleet in fleets.items():
            rows[name]['disk'] = fleet.disk()
    finally:
        shutil.rmtree(scratch)
    print(f'{args.jails} jails of {len(binaries)} binaries; load average {load_before:.1f} -> '
          f'{os.getloadavg()[0]:.1f}; CPU time (wall clock)')
    print('| fleet | cold | first re-run | no-change re-run (median) | disk | file inodes |')
    print('| --- | ---: | ---: | ---: | ---: | ---: |')
    for name, row in rows.items():
        steady = [row[f'steady{n}'] for n in range(args.rounds)]
        assert all(changed == 0 for _cpu, _wall, changed in steady + [row['first']]), f'{name}: a re-run changed the jails'
        allocated, files = row['disk']
        label = '20 jails, own copies' if name == 'copies' else 'base + 20 jails, hard links'
        print(f"| {label.replace('20', str(args.jails))} | {cell(*row['cold'][:2])} | {cell(*row['first'][:2])} | "
              f"{cell(statistics.median(s[0] for s in steady), statistics.median(s[1] for s in steady))} | "
              f'{allocated / 1048576:.1f} MiB | {files} |')


if __name__ == '__main__':
    main()
