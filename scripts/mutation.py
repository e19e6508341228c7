#!/usr/bin/env python3
"""Mutation testing of the security-critical rooms with cosmic-ray (`make mutation`).

For every file in TARGETS that exists, cosmic-ray makes one-change mutants of it and runs the
unit tests mapped to that file against each; a mutant that no test notices "survives". Mutants
run two at a time, each worker in its own copy of the checkout under .build/mutation/ (cosmic-ray
edits the file in place and restores it), in a fresh interpreter per mutant so that no memoised
result of the unmutated code can hide a change. The summary gives killed/survived/timeout per
file and the overall score; the surviving mutants, with their diffs, go to
.build/mutation/survivors.txt.

The differential test asks Debian's tcpdmatch for thousands of verdicts. Its inputs come from a
fixed seed and never from the code under test, so the verdicts are recorded once, on the
unmutated tree, and replayed for every mutant: loaded with `-p mutation`, this file is also the
pytest plugin that does it.
"""

import hashlib
import json
import math
import multiprocessing
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

# cosmic-ray, pytest and ansible are imported where they are used: as a pytest plugin this file
# is loaded into every test run, which needs none of them from here.

# file to mutate -> the unit tests that exercise it, fastest first (paths that do not exist yet
# are left out with a note; a file none of whose tests exist is skipped).
UT = 'tests/unit/plugins/module_utils/'
JAILFS_TESTS = [UT + 'test__chroot_engine.py', UT + 'test__chroot_sources.py', UT + 'test__chroot_state.py',
                UT + 'test__chroot_descriptors.py', UT + 'test__chroot_jailfs_mutants.py']
STATE_TESTS = [UT + 'test__chroot_state.py', UT + 'test__chroot_mutants.py', UT + 'test__chroot_state_mutants.py']
TCPWRAP_TESTS = [UT + 'test__tcpwrap.py', UT + 'test__tcpwrap_match.py', UT + 'test__tcpwrap_matcher_mutants.py',
                 UT + 'test__tcpwrap_rules.py', UT + 'test__tcpwrap_index.py',
                 'tests/unit/differential/test_tcpwrap_vs_tcpdmatch.py']
TARGETS = {
    'plugins/module_utils/_chroot/jailfs.py': JAILFS_TESTS,
    'plugins/module_utils/_chroot/loader.py': [UT + 'test__chroot_loader.py', UT + 'test__chroot_mutants.py',
                                               UT + 'test__chroot_sources.py', UT + 'test__chroot_engine.py'],
    'plugins/module_utils/_elf.py': [UT + 'test__elf.py', UT + 'test__chroot_loader.py'],
    'plugins/module_utils/_chroot/state.py': STATE_TESTS,
    'plugins/module_utils/_chroot/tree.py': [UT + 'test__chroot_tree.py', UT + 'test__chroot_review.py',
                                             UT + 'test__chroot_engine.py',
                                             'tests/unit/plugins/modules/test_chroot_jail_info.py'],
    'plugins/module_utils/_chroot/selinux.py': [UT + 'test__chroot_selinux.py',
                                                'tests/unit/plugins/modules/test_chroot_jail_selinux.py'],
    'plugins/module_utils/_tcpwrap.py': TCPWRAP_TESTS,
    'plugins/module_utils/_tcpwrap_match.py': TCPWRAP_TESTS,
    'plugins/module_utils/_tcpwrap_options.py': TCPWRAP_TESTS,
    'plugins/module_utils/_host_files.py': ['tests/unit/plugins/modules/test_host_files.py'],
    'plugins/module_utils/_known_jails.py': [UT + 'test__jailed_service.py', 'tests/unit/plugins/modules/test_host_files.py',
                                             'tests/unit/plugins/modules/test_jailed_service_records.py'],
    'plugins/module_utils/_tcpwrap_policy.py': ['tests/unit/plugins/modules/test_tcpwrap_policy.py',
                                                'tests/unit/plugins/modules/test_tcpwrap_rule.py',
                                                'tests/unit/plugins/modules/test_tcpwrap_parity_modules.py'],
    'plugins/module_utils/_systemd_unit.py': [UT + 'test__systemd_unit.py', UT + 'test__privilege_drop.py',
                                              'tests/unit/plugins/modules/test_jailed_service.py'],
}

# Operators left out, each because its mutants are equivalent or redundant:
EXCLUDED_OPERATORS = [
    # `==` <-> `is` on small ints and interned strings behaves the same in CPython.
    r'core/ReplaceComparisonOperator_(Eq|NotEq|Lt|LtE|Gt|GtE)_(Is|IsNot)$',
    r'core/ReplaceComparisonOperator_(Is|IsNot)_(Eq|NotEq)$',
    # A relational operator keeps its negation and the replacements that subsume the rest
    # (Kaminski, Ammann and Offutt, "Better predicate testing", 2011): < becomes <= or !=,
    # <= becomes < or ==, == becomes != or <= or >=, and so on.
    r'core/ReplaceComparisonOperator_(Eq_(Lt|Gt)|NotEq_(LtE|GtE))$',
    r'core/ReplaceComparisonOperator_(Lt_(Eq|Gt|GtE)|LtE_(NotEq|Gt|GtE))$',
    r'core/ReplaceComparisonOperator_(Gt_(Eq|Lt|LtE)|GtE_(NotEq|Lt|LtE))$',
    # A binary operator gets one replacement, mutmut's: + -, - +, * /, / *, // /, % /, ** *,
    # & |, | &, ^ &, << >>, >> <<. The other ten add run time, not gaps.
    r'core/ReplaceBinaryOperator_(?!(Add_Sub|Sub_Add|Mul_Div|Div_Mul|FloorDiv_Div|Mod_Div|Pow_Mul'
    r'|BitAnd_BitOr|BitOr_BitAnd|BitXor_BitAnd|LShift_RShift|RShift_LShift)$)',
    # Our decorators memoise (functools.lru_cache): removing one changes speed only.
    r'core/RemoveDecorator$',
]
WORKERS = 2
MIN_TIMEOUT = 10.0          # seconds per mutant; at least 5x the unmutated run of its tests
COPIED = ('plugins', 'tests', 'meta', 'galaxy.yml')

ORACLE_ENV = 'SERVERSEC_MUTATION_ORACLE'            # JSON file of recorded tcpdmatch verdicts
ORACLE_MODE_ENV = 'SERVERSEC_MUTATION_ORACLE_MODE'  # record | replay


# ---------------------------------------------------------------------------
# pytest plugin: record / replay the tcpdmatch oracle (inactive unless ORACLE_ENV is set)
# ---------------------------------------------------------------------------

_oracle = {}


def _oracle_key(workdir, daemon, client):
    """The verdict depends on the two tables, the query and the hosts file they name; the
    tables name that file by its temporary path, which is replaced by a placeholder."""
    digest = hashlib.sha256()
    tmp_root = os.path.dirname(str(workdir)).encode()
    for table in ('hosts.allow', 'hosts.deny'):
        path = os.path.join(str(workdir), table)
        data = b'<none>'
        if os.path.exists(path):
            with open(path, 'rb') as handle:
                data = handle.read()
        digest.update(data.replace(tmp_root, b'<tmp>') + b'\0')
    digest.update(f'{daemon}\0{client}'.encode())
    return digest.hexdigest()


def _recording(real):
    def tcpdmatch(workdir, daemon, client):
        key = _oracle_key(workdir, daemon, client)
        if key not in _oracle:
            _oracle[key] = real(workdir, daemon, client)
        return _oracle[key]
    tcpdmatch.wrapped = True
    return tcpdmatch


def pytest_configure(config):
    path = os.environ.get(ORACLE_ENV)
    if path and os.environ.get(ORACLE_MODE_ENV) == 'replay' and os.path.exists(path):
        with open(path) as handle:
            _oracle.update(json.load(handle))


def pytest_collection_modifyitems(session, config, items):
    if not os.environ.get(ORACLE_ENV):
        return
    for item in items:
        module = getattr(item, 'module', None)
        real = getattr(module, '_tcpdmatch', None)
        if real is not None and not getattr(real, 'wrapped', False):
            module._tcpdmatch = _recording(real)


def pytest_sessionfinish(session, exitstatus):
    path = os.environ.get(ORACLE_ENV)
    if path and os.environ.get(ORACLE_MODE_ENV) == 'record':
        with open(path, 'w') as handle:
            json.dump(_oracle, handle)


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------

def _present_targets(root):
    """(file, tests) for the targets that exist, with a note for each one skipped."""
    present = []
    for target, tests in TARGETS.items():
        if not (root / target).is_file():
            print(f'-- skipped {target}: the file does not exist yet')
            continue
        existing = [test for test in tests if (root / test).exists()]
        for test in tests:
            if test not in existing:
                print(f'-- {target}: test path {test} does not exist yet, left out')
        if not existing:
            print(f'-- skipped {target}: none of its tests exist yet')
            continue
        present.append((target, existing))
    return present


def _make_worker_tree(root, workdir):
    """A copy of the checkout, importable as ansible_collections.serversec.confine."""
    tree = workdir / 'tree'
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, tree / name, symlinks=True,
                            ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        elif source.exists():
            tree.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, tree / name)
    link = workdir / 'collections' / 'ansible_collections' / 'serversec' / 'confine'
    link.parent.mkdir(parents=True)
    link.symlink_to(tree)
    return tree


def _worker_env(workdir, oracle, mode):
    env = dict(os.environ)
    env.update({
        'PYTHONPATH': f'{workdir / "collections"}{os.pathsep}{os.path.dirname(os.path.abspath(__file__))}',
        'PYTHONDONTWRITEBYTECODE': '1',
        ORACLE_ENV: str(oracle),
        ORACLE_MODE_ENV: mode,
    })
    return env


def _test_command(python, tests):
    # -x: most mutants die in the first tests, so the slower ones run only for the few left.
    return ' '.join([python, '-m', 'pytest', '-x', '-q', '-p', 'no:cacheprovider', '-p', 'mutation',
                     '--basetemp=.pytest-tmp', *tests])


def _baseline(command, tree, env):
    """Run the tests on the unmutated copy; seconds taken, or exit with their output."""
    started = time.monotonic()
    result = subprocess.run(shlex.split(command), cwd=tree, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        sys.exit(f'the tests fail without any mutation:\n{command}\n{result.stdout.decode(errors="replace")}')
    return time.monotonic() - started


def _init_worker(slots):
    """Settle in one worker copy and import what every test run needs, once: each mutant's tests
    then run in a process forked from here, which imports the mutated file afresh."""
    import ansible.module_utils.basic  # noqa: F401
    import cosmic_ray.mutating
    import pytest  # noqa: F401

    workdir, env = slots.get()
    os.chdir(workdir / 'tree')
    os.environ.update(env)
    sys.path[:0] = env['PYTHONPATH'].split(os.pathsep)
    sys.dont_write_bytecode = True
    cosmic_ray.mutating.run_tests = _run_tests_forked


def _run_tests_forked(command, timeout):
    """cosmic-ray's run_tests() without the interpreter start-up: `python -m pytest ARGS` runs as
    pytest.main(ARGS) in a fork of this worker; a run past the timeout is killed."""
    from cosmic_ray.work_item import TestOutcome

    args = shlex.split(command)[3:]
    with tempfile.TemporaryFile() as log:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                os.dup2(log.fileno(), 1)
                os.dup2(log.fileno(), 2)
                import pytest

                code = int(pytest.main(args))
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        deadline = time.monotonic() + timeout
        while True:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return TestOutcome.KILLED, 'timeout'
            time.sleep(0.01)
        log.seek(0)
        output = log.read().decode(errors='replace')
    if os.waitstatus_to_exitcode(status) == 0:
        return TestOutcome.SURVIVED, output
    return TestOutcome.KILLED, output


def _mutate_and_test(job):
    from cosmic_ray.mutating import mutate_and_test

    target, job_id, mutations, command, timeout = job
    return target, job_id, mutate_and_test(mutations=mutations, test_command=command, timeout=timeout)


def _outcome(result):
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome

    if result.worker_outcome == WorkerOutcome.SKIPPED:
        return 'filtered'
    if result.worker_outcome != WorkerOutcome.NORMAL:
        return 'error'
    if result.test_outcome == TestOutcome.SURVIVED:
        return 'survived'
    if result.test_outcome == TestOutcome.KILLED:
        return 'timeout' if result.output == 'timeout' else 'killed'
    return 'error'


def main():
    from cosmic_ray.config import serialize_config
    from cosmic_ray.work_db import WorkDB, use_db

    root = Path(__file__).resolve().parent.parent
    build = root / '.build' / 'mutation'
    started = time.monotonic()
    print(f'==> mutation testing with cosmic-ray {version("cosmic-ray")}')
    targets = _present_targets(root)
    if sys.argv[1:]:  # `make mutation FILES="..."`: only these targets
        targets = [(target, tests) for target, tests in targets if target in sys.argv[1:]]
    if not targets:
        sys.exit('no target file exists')
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    oracle = build / 'tcpdmatch-verdicts.json'
    workdirs = [build / f'worker-{number}' for number in range(1, WORKERS + 1)]
    trees = [_make_worker_tree(root, workdir) for workdir in workdirs]
    bindir = Path(sys.executable).parent

    jobs = []
    sessions = {}
    for target, tests in targets:
        command = _test_command(sys.executable, tests)
        _baseline(command, trees[0], _worker_env(workdirs[0], oracle, 'record'))
        seconds = _baseline(command, trees[0], _worker_env(workdirs[0], oracle, 'replay'))
        timeout = max(MIN_TIMEOUT, math.ceil(5 * seconds))
        name = target.replace('/', '_')
        config, session = build / f'{name}.toml', build / f'{name}.sqlite'
        config.write_text(serialize_config({
            'module-path': target,
            'timeout': timeout,
            'excluded-modules': [],
            'test-command': command,
            'distributor': {'name': 'local'},
            'filters': {'operators-filter': {'exclude-operators': EXCLUDED_OPERATORS}},
        }))
        subprocess.run([str(bindir / 'cosmic-ray'), 'init', str(config), str(session)], cwd=trees[0], check=True)
        subprocess.run([str(bindir / 'cr-filter-operators'), str(session), str(config)], cwd=trees[0], check=True)
        sessions[target] = session
        with use_db(str(session), WorkDB.Mode.open) as db:
            pending = [(target, item.job_id, item.mutations, command, timeout) for item in db.pending_work_items]
        print(f'==> {target}: {len(pending)} mutants, tests {" ".join(tests)}, '
              f'unmutated run {seconds:.1f}s, timeout {timeout:.0f}s per mutant')
        jobs.extend(pending)

    context = multiprocessing.get_context('fork')
    slots = context.Queue()
    for workdir in workdirs:
        slots.put((workdir, _worker_env(workdir, oracle, 'replay')))
    dbs = {target: WorkDB(str(session), WorkDB.Mode.open) for target, session in sessions.items()}
    try:
        with context.Pool(WORKERS, initializer=_init_worker, initargs=(slots,)) as pool:
            for done, (target, job_id, result) in enumerate(pool.imap_unordered(_mutate_and_test, jobs), 1):
                dbs[target].set_result(job_id, result)
                if done % 100 == 0 or done == len(jobs):
                    print(f'    {done}/{len(jobs)} mutants tested ({time.monotonic() - started:.0f}s)', flush=True)
    finally:
        for db in dbs.values():
            db.close()

    return _report(sessions, build / 'survivors.txt', time.monotonic() - started)


def _report(sessions, survivors_file, seconds):
    from cosmic_ray.work_db import WorkDB, use_db

    kinds = ('killed', 'timeout', 'survived', 'error')
    totals = dict.fromkeys(kinds, 0)
    lines = []
    print(f'\n{"file":45} {"mutants":>8} {"killed":>7} {"timeout":>8} {"survived":>9} {"error":>6} {"score":>7}')
    for target, session in sessions.items():
        counts = dict.fromkeys(kinds, 0)
        with use_db(str(session), WorkDB.Mode.open) as db:
            for item, result in db.completed_work_items:
                outcome = _outcome(result)
                if outcome == 'filtered':
                    continue
                counts[outcome] += 1
                if outcome == 'survived':
                    mutation = item.mutations[0]
                    lines.append(f'{target}:{mutation.start_pos[0]} {mutation.operator_name} '
                                 f'#{mutation.occurrence} ({item.job_id})\n{result.diff}\n')
        for kind in kinds:
            totals[kind] += counts[kind]
        print(_row(target, counts))
    print(_row('TOTAL', totals))
    survivors_file.write_text(''.join(lines) or 'no surviving mutants\n')
    print(f'\nsurviving mutants: {survivors_file}  (sessions: cr-report {survivors_file.parent}/<file>.sqlite)')
    print(f'run time: {seconds / 60:.1f} min')
    return 1 if totals['error'] else 0


def _row(name, counts):
    tested = counts['killed'] + counts['timeout'] + counts['survived']
    score = 100.0 * (counts['killed'] + counts['timeout']) / tested if tested else 0.0
    return (f'{name:45} {tested + counts["error"]:>8} {counts["killed"]:>7} {counts["timeout"]:>8} '
            f'{counts["survived"]:>9} {counts["error"]:>6} {score:>6.1f}%')


if __name__ == '__main__':
    raise SystemExit(main())
