#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Populate jails of growing size: chroot_jail vs jailkit's jk_cp, side by side, on the same list.

Run as root from the repository root (jailkit's jk_cp is installed with apt-get if missing):

    PYTHONPATH=.build/collections .venv/bin/python bench/chroot_populate.py [--sizes 45,500,1500,3000]

Jail sizes (the same path list goes to both tools; `files:` trees are whole host directories):
  45       45 common binaries (bash, coreutils, python3, openssl, ssh, curl, ...)
  500      + /usr/lib/python3.11/encodings and /usr/share/zoneinfo/America
  1500     + /usr/share/zoneinfo
  3000     + /usr/share/zoneinfo and the Python standard library /usr/lib/python3.11

Measured, for each size, in fresh jails under a root-owned scratch dir:
  cold      empty jail -> populated (median of --cold runs in fresh jails, the tools in rotated order)
  re-run    nothing changed on the host: --repeat rounds, each round runs every tool once in a
            rotated order (the machine may be loaded by other jobs), medians reported
  drift     one library copy in the jail made stale, then a re-run (must be found and fixed)

"module" is the real module process (python3 + AnsibleModule + the logic, on the host, without
the SSH/controller overhead nor AnsiballZ's packaging: bytecode cached, a lower bound); "ping" is ansible.builtin.ping run the same way,
the start-up every module process pays, measured in the same rounds; "logic" is converge()
in-process. jk_cp is jailkit's copier (runs ldd through a shell, copies what is missing, checks
nothing that exists; -f overwrites everything). Stdlib only, plus the repository.

As users run them: --playbook-rounds rounds of four one-task plays run with ansible-playbook
(local connection, this repository's ansible.cfg, no facts), in a rotated order: the
chroot_jail task, an ansible.builtin.command task running jk_cp on the same list (how a jail
is kept current with jailkit from Ansible), an ansible.builtin.ping task (what any one-task
play costs) and a serversec.confine.tcpwrap_info task (what a play costs that loads this
collection for one small module). Each is the whole ansible-playbook run, controller included.
"""

import argparse
import json
import os
import resource
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
# size label -> the `files:` trees added to the binaries
TREES = {
    '45': [],
    '500': ['/usr/lib/python3.11/encodings', '/usr/share/zoneinfo/America'],
    '1500': ['/usr/share/zoneinfo'],
    '3000': ['/usr/share/zoneinfo', '/usr/lib/python3.11'],
}
MODULE = 'ansible_collections.serversec.confine.plugins.modules.chroot_jail'
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# ansible-playbook next to this Python (the venv's), on localhost with the local connection; the
# managed side runs modules with this Python, as the other rows do
PLAYBOOK = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', '-c', 'local',
            '-e', 'ansible_python_interpreter=' + sys.executable]
PLAYBOOK_ENV = {'ANSIBLE_CONFIG': os.path.join(ROOT, 'ansible.cfg')}
REPEATED = 5  # tasks in the plays that measure one more task


def find_binaries():
    found = []
    for name in BINARIES:
        for directory in SEARCH:
            path = os.path.join(directory, name)
            if os.path.exists(path):
                found.append(path)
                break
    return found


def cpu_seconds():
    """CPU time (user + system) of this process and of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(func):
    """``((wall seconds, CPU seconds), value)`` of ``func()``; CPU includes the processes it ran."""
    start, start_cpu = time.perf_counter(), cpu_seconds()
    value = func()
    return (time.perf_counter() - start, cpu_seconds() - start_cpu), value


# Every process the bench runs (module, ping, jk_cp: all Python) caches its bytecode in one
# scratch directory, as after the first run on a host, whatever PYTHONDONTWRITEBYTECODE says.
ENV = {k: v for k, v in os.environ.items() if k != 'PYTHONDONTWRITEBYTECODE'}


def run_module(args_file):
    out = subprocess.run([sys.executable, '-m', MODULE, args_file], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, check=False, env=ENV).stdout.decode()
    result = json.loads(out[out.index('{'):])
    if result.get('failed'):
        raise SystemExit('module failed: %s' % result['msg'])
    return result


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


def warm_page_cache(paths):
    """Read every host file of the list once, so that no tool pays the disk for the others."""
    for top in paths:
        for dirpath, _dirs, files in os.walk(top) if os.path.isdir(top) else [('', [], [top])]:
            for name in files:
                full = os.path.join(dirpath, name)
                if os.path.isfile(full):
                    with open(full, 'rb') as handle:
                        while handle.read(1 << 20):
                            pass


def count_entries(jail):
    """Everything in the jail but directories: files, symlinks, devices."""
    entries = 0
    for dirpath, dirnames, files in os.walk(jail):
        entries += len(files) + sum(1 for d in dirnames if os.path.islink(os.path.join(dirpath, d)))
    return entries


def jk_cp(jail, paths, force=False):
    argv = ['jk_cp', '-j', jail] + (['-f'] if force else []) + paths
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, env=ENV)


def same_as_host(jail_file, jail):
    host_file = '/' + os.path.relpath(jail_file, jail)
    with open(jail_file, 'rb') as a, open(os.path.realpath(host_file), 'rb') as b:
        return a.read() == b.read()


class Tools:
    """The three ways to populate one jail of one size, plus the ping baseline."""

    def __init__(self, base, binaries, trees):
        from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailSpec
        self.base = base
        self.paths = binaries + trees
        self.module_jail = os.path.join(base, 'module')
        self.args_file = os.path.join(base, 'args.json')
        with open(self.args_file, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': {'path': self.module_jail, 'binaries': binaries, 'files': trees,
                                               'state_dir': os.path.join(base, 'state')}}, handle)
        self.spec = JailSpec(os.path.join(base, 'logic'), binaries=binaries, files=trees)
        self.logic_state = os.path.join(base, 'logic-state')
        self.jk_jail = os.path.join(base, 'jailkit')
        os.mkdir(self.jk_jail, 0o755)
        self.ping_file = os.path.join(base, 'ping.json')
        with open(self.ping_file, 'w') as handle:
            json.dump({'ANSIBLE_MODULE_ARGS': {}}, handle)
        # one-task plays on the same jails (JSON is YAML)
        tasks = {
            'module': {'serversec.confine.chroot_jail': {'path': self.module_jail, 'binaries': binaries, 'files': trees,
                                                         'state_dir': os.path.join(base, 'state')}},
            'jk': {'ansible.builtin.command': {'argv': ['jk_cp', '-j', self.jk_jail] + self.paths}},
            'ping': {'ansible.builtin.ping': {}},
            'collection': {'serversec.confine.tcpwrap_info': {}},
        }
        # the same task REPEATED times: what one more re-run costs in a play that has already
        # loaded the collection and packed the module (both are paid once per playbook run)
        plays = {name: [task] for name, task in tasks.items()}
        plays.update({name + '_more': [tasks[name]] * REPEATED for name in ('module', 'jk')})
        self.plays = {}
        for name, play_tasks in plays.items():
            self.plays[name] = os.path.join(base, f'play-{name}.yml')
            with open(self.plays[name], 'w') as handle:
                json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': play_tasks}], handle)

    def empty(self):
        """Back to empty jails and no state, for another cold run."""
        for path in (self.module_jail, os.path.join(self.base, 'state'), self.spec.path, self.logic_state, self.jk_jail):
            shutil.rmtree(path, ignore_errors=True)
        os.mkdir(self.jk_jail, 0o755)

    def module(self):
        return run_module(self.args_file)

    def logic(self):
        from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge
        return converge(self.spec, self.logic_state)

    def jkcp(self, force=False):
        jk_cp(self.jk_jail, self.paths, force)

    def ping(self):
        subprocess.run([sys.executable, '-m', 'ansible.modules.ping', self.ping_file],
                       stdout=subprocess.DEVNULL, check=True, env=ENV)

    def playbook(self, name):
        """Run the one-task play ``name`` with ansible-playbook; its recap must say ok."""
        out = subprocess.run(PLAYBOOK + [self.plays[name]], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             check=False, env=dict(ENV, **PLAYBOOK_ENV)).stdout.decode()
        tasks = REPEATED if name.endswith('_more') else 1
        if f'ok={tasks} ' not in out or 'failed=0' not in out:
            raise SystemExit(f'{name} play failed:\n{out}')
        if name.startswith('module') and 'changed=0' not in out:
            raise SystemExit(f'the chroot_jail play changed the jail on a re-run:\n{out}')


def bench_size(base, binaries, trees, repeat, runs, force_runs, play_rounds):
    tools = Tools(base, binaries, trees)
    warm_page_cache(tools.paths)
    row = {}
    colds = {'module': [], 'logic': [], 'jk': []}
    for i in range(runs):
        if i:
            tools.empty()
        order = [('module', tools.module), ('logic', tools.logic), ('jk', tools.jkcp)]
        for name, func in order[i % 3:] + order[:i % 3]:
            seconds, value = timed(func)
            colds[name].append(seconds)
            if name == 'module':
                row['files'], row['size'] = value['files'], value['size']
    for name, values in colds.items():
        row[name + '_cold'] = medians(values)
    row['entries'] = count_entries(tools.module_jail)
    row['jk_entries'] = count_entries(tools.jk_jail)

    def module_rerun():
        again = tools.module()
        assert not again['changed'], {k: again[k] for k in ('added', 'updated', 'removed')}

    def logic_rerun():
        again = tools.logic()
        assert not again.changed, (again.added, again.updated, again.removed)

    rounds = [('module', module_rerun), ('logic', logic_rerun), ('jk', tools.jkcp), ('ping', tools.ping)]
    times = {name: [] for name, _func in rounds}
    for i in range(repeat):
        for name, func in rounds[i % len(rounds):] + rounds[:i % len(rounds)]:
            times[name].append(timed(func)[0])
    for name, values in times.items():
        row[name + '_rerun'] = medians(values)
    plays = ['module', 'jk', 'ping', 'collection', 'module_more', 'jk_more']
    play_times = {name: [] for name in plays}
    for name in plays if play_rounds else ():
        tools.playbook(name)  # once untimed: the controller's bytecode gets cached like the rest
    for i in range(play_rounds):
        for name in plays[i % len(plays):] + plays[:i % len(plays)]:
            play_times[name].append(timed(lambda name=name: tools.playbook(name))[0])
    for name, values in play_times.items():
        row[name + '_play'] = medians(values) if values else None
    # paired in each round, so that a load change between rounds cancels out
    row['play_gap'] = statistics.median(m[1] - j[1] for m, j in zip(play_times['module'], play_times['jk'])) \
        if play_rounds else None
    for name in ('module', 'jk'):
        # per round, (REPEATED tasks - 1 task) / (REPEATED - 1): the cost of one more task
        row[name + '_more'] = statistics.median(
            (more[1] - one[1]) / (REPEATED - 1) for more, one in zip(play_times[name + '_more'], play_times[name])) \
            if play_rounds else None
    # -f rewrites everything (and runs ldd again): as slow as cold, so few runs
    row['jk_force'] = medians([timed(lambda: tools.jkcp(force=True))[0] for _ in range(force_runs)])

    stale = jail_library(tools.module_jail)
    make_stale(stale)
    row['module_drift'], fixed = timed(tools.module)
    assert fixed['updated'] == ['/' + os.path.relpath(stale, tools.module_jail)], fixed['updated']
    make_stale(jail_library(tools.spec.path))
    row['logic_drift'], fixed = timed(tools.logic)
    assert len(fixed.updated) == 1, fixed.updated
    stale = jail_library(tools.jk_jail)
    make_stale(stale)
    row['jk_drift'], _ = timed(tools.jkcp)
    row['jk_fixed'] = same_as_host(stale, tools.jk_jail)
    return row


def medians(pairs):
    """(median wall, median CPU) of ``(wall, CPU)`` pairs."""
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def cell(pair):
    """CPU seconds, wall clock in brackets."""
    return '%.3f s (%.2f)' % (pair[1], pair[0])


def print_table(title, columns, lines):
    print(title)
    print()
    print('| %s |' % ' | '.join(columns))
    print('|---|%s' % ('---:|' * (len(columns) - 1)))
    for line in lines:
        print('| %s |' % ' | '.join(line))
    print()


def print_report(binaries, sizes, rows, loads):
    print('%d binaries: %s' % (len(binaries), ' '.join(os.path.basename(b) for b in binaries)))
    for label in sizes:
        print('size %s: the binaries%s' % (label, ''.join(' + ' + tree for tree in TREES[label])))
    print('load average (1 min) before/after: %.1f / %.1f' % loads)
    print('Cells: CPU time (user + system, the tool and the processes it runs), wall clock in brackets.')
    print()
    print_table(
        'No-change re-run (medians of the alternating rounds; ping = the start-up of any module process):',
        ['size', 'files managed (MiB)', 'jail entries, chroot_jail / jk_cp', 'module process',
         'converge() in-process', 'jk_cp', 'ansible.builtin.ping', 'jk_cp -f'],
        [[label, '%d (%.1f)' % (row['files'], row['size'] / 1048576.0), '%d / %d' % (row['entries'], row['jk_entries'])]
         + [cell(row[key]) for key in ('module_rerun', 'logic_rerun', 'jk_rerun', 'ping_rerun', 'jk_force')]
         for label, row in ((label, rows[label]) for label in sizes)])
    print_table(
        'Cold populate, and the re-run after one library copy in the jail was made stale:',
        ['size', 'module cold', 'converge() cold', 'jk_cp cold', 'jk_cp / module (CPU, wall)', 'module, stale lib',
         'converge(), stale lib', 'jk_cp, stale lib', 'jk_cp fixed it'],
        [[label] + [cell(row[key]) for key in ('module_cold', 'logic_cold', 'jk_cold')]
         + ['%.1f×, %.1f×' % (row['jk_cold'][1] / row['module_cold'][1], row['jk_cold'][0] / row['module_cold'][0])]
         + [cell(row[key]) for key in ('module_drift', 'logic_drift', 'jk_drift')]
         + ['yes' if row['jk_fixed'] else 'no']
         for label, row in ((label, rows[label]) for label in sizes)])
    print_play_table(sizes, rows)


def print_play_table(sizes, rows):
    if rows[sizes[0]]['module_play'] is None:
        return
    print_table(
        'No-change re-run as users run it: one-task plays with ansible-playbook (local connection), whole run:',
        ['size', 'chroot_jail task', 'command: jk_cp task', 'ping task', 'tcpwrap_info task',
         'chroot_jail - jk_cp, same round (CPU)'],
        [[label] + [cell(row[key]) for key in ('module_play', 'jk_play', 'ping_play', 'collection_play')]
         + ['%+.3f s' % row['play_gap']]
         for label, row in ((label, rows[label]) for label in sizes)])
    print_table(
        f'One more re-run task in a play that has already run one (the collection loaded, the module packed): '
        f'(play of {REPEATED} tasks - play of 1) / {REPEATED - 1}, per round, CPU:',
        ['size', 'chroot_jail task', 'command: jk_cp task', 'chroot_jail - jk_cp'],
        [[label, '%.3f s' % row['module_more'], '%.3f s' % row['jk_more'], '%+.3f s' % (row['module_more'] - row['jk_more'])]
         for label, row in ((label, rows[label]) for label in sizes)])


def ensure_jailkit():
    """jk_cp from Debian's jailkit package, installed with apt-get when missing."""
    if shutil.which('jk_cp') is None:
        if shutil.which('apt-get') is None:
            raise SystemExit('jk_cp not found and no apt-get: install jailkit')
        print('==> installing jailkit (apt-get)', file=sys.stderr)
        env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
        subprocess.run(['apt-get', 'update', '-qq'], check=True, env=env)
        subprocess.run(['apt-get', 'install', '-y', '-qq', 'jailkit'], check=True, env=env, stdout=subprocess.DEVNULL)
    version = subprocess.run(['dpkg-query', '-W', '-f', '${Version}', 'jailkit'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, check=False).stdout.decode() or 'unknown version'
    print('jailkit %s' % version)


def find_collection():
    """Make the collection importable here and in the processes run, as `make bench` does not set PYTHONPATH."""
    try:
        __import__(MODULE)
    except ImportError:
        collections = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '.build', 'collections')
        sys.path.insert(0, collections)
        ENV['PYTHONPATH'] = os.pathsep.join(p for p in (collections, ENV.get('PYTHONPATH')) if p)
        __import__(MODULE)
    # ansible-playbook finds the collection where this process imported it from
    module_file = sys.modules[MODULE].__file__
    PLAYBOOK_ENV['ANSIBLE_COLLECTIONS_PATH'] = module_file[:module_file.rindex('/ansible_collections/')]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', default='/root', help='root-owned, non-writable parent for scratch jails')
    parser.add_argument('--repeat', type=int, default=9, help='alternating re-run rounds per size')
    parser.add_argument('--cold', type=int, default=3, help='cold runs per size (fresh jails each time)')
    parser.add_argument('--sizes', default=','.join(TREES), help='comma-separated, from %s' % ', '.join(TREES))
    parser.add_argument('--playbook-rounds', type=int, default=5,
                        help='alternating rounds of the one-task plays per size (0: none)')
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit('run as root')
    find_collection()
    ensure_jailkit()
    sizes = args.sizes.split(',')
    unknown = [s for s in sizes if s not in TREES]
    if unknown:
        raise SystemExit('unknown sizes: %s' % ', '.join(unknown))
    binaries = find_binaries()
    rows = {}
    pycache = tempfile.mkdtemp(prefix='serversec-bench-pycache-')
    ENV['PYTHONPYCACHEPREFIX'] = pycache
    subprocess.run([sys.executable, '-c', 'import %s, ansible.modules.ping' % MODULE], check=True, env=ENV)
    load_before = os.getloadavg()[0]
    for label in sizes:
        base = tempfile.mkdtemp(prefix='serversec-bench-', dir=args.base)
        os.chmod(base, 0o755)
        try:
            rows[label] = bench_size(base, binaries, TREES[label], args.repeat, args.cold, 3 if label == '45' else 1,
                                     args.playbook_rounds)
        finally:
            shutil.rmtree(base)
    shutil.rmtree(pycache)
    print_report(binaries, sizes, rows, (load_before, os.getloadavg()[0]))


if __name__ == '__main__':
    main()
