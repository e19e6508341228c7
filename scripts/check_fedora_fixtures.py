#!/usr/bin/env python3
"""Compare the hand-written Fedora fixtures of the unit tests with what a real Fedora prints.

Run inside a Fedora system (the public-CI Fedora job runs it in the Fedora image):
``python3 scripts/check_fedora_fixtures.py [FIXTURES_DIR]``. For each fixture
``tests/unit/fixtures/ldd/fedora40_NAME.txt`` it runs ``ldd`` on the binary NAME stands for and
the loader's ``--list`` on it (what chroot_jail runs), and fails, printing both, when the
libraries named (soname and path, in order; load addresses and the vDSO ignored) differ.
Exit status: 0 all agree, 1 a difference, 2 not a Fedora-like system or a binary missing.
"""
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, '..', 'tests', 'unit', 'fixtures', 'ldd')
BINARIES = {'bash': '/usr/bin/bash', 'ssh': '/usr/bin/ssh', 'ldconfig': '/usr/sbin/ldconfig'}
LOADER = '/lib64/ld-linux-x86-64.so.2'
ADDRESS = re.compile(r'\s*\(0x[0-9a-f]+\)$')


def libraries(text):
    """The lines that name a library, without load addresses and the vDSO."""
    lines = []
    for line in text.splitlines():
        line = ADDRESS.sub('', line.strip())
        if line and not line.startswith('linux-vdso.so'):
            lines.append(line)
    return lines


def capture(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={'LC_ALL': 'C'},
                          check=False)
    return proc.stdout.decode('utf-8', 'replace')


def main(fixtures):
    if not os.path.exists(LOADER) or not os.path.exists('/etc/fedora-release'):
        print(f'not a Fedora x86_64 system (no {LOADER} or /etc/fedora-release)')
        return 2
    status = 0
    for name, binary in sorted(BINARIES.items()):
        if not os.path.exists(binary):
            print(f'{binary} is missing: install it to check fedora40_{name}.txt')
            return 2
        with open(os.path.join(fixtures, f'fedora40_{name}.txt')) as handle:
            wanted = libraries(handle.read())
        for label, argv in (('ldd', ['ldd', binary]), (f'{LOADER} --list', [LOADER, '--list', binary])):
            got = capture(argv)
            if label != 'ldd' and 'statically linked' in wanted:
                continue  # the loader refuses a static binary with its own words; ldd's are the fixture's
            if libraries(got) == wanted:
                print(f'ok: {label} {binary} agrees with fedora40_{name}.txt')
            else:
                status = 1
                print(f'DIFFERS: {label} {binary} against fedora40_{name}.txt\n-- fixture\n'
                      + '\n'.join(wanted) + '\n-- this host\n' + got)
    return status


if __name__ == '__main__':
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else FIXTURES))
