# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_chroot.loader: reading the trusted loader's output."""

import os
import shutil

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import LoaderDeps, _run_argv, parse_ldd
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec
from ansible_collections.serversec.confine.plugins.module_utils._elf import ExecInfo, read_exec_info
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import INTERP

fedora = test__chroot_engine.fedora  # the fake Fedora host fixture

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ldd')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# --------------------------------------------------------------------------
# ldd parsing (real Debian 12 captures; Fedora files hand-written, see README)

@pytest.mark.parametrize('name, expected', [
    ('debian12_bash.txt', ['/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libc.so.6',
                           '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_loader_list_bash.txt', ['/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libc.so.6',
                                       '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_libnss_dns.so.2.txt', ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']),
    ('fedora40_bash.txt', ['/lib64/libtinfo.so.6', '/lib64/libc.so.6', '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_ldconfig.txt', []),
    ('fedora40_ldconfig.txt', []),
    ('debian12_static_nonpie.txt', []),
    ('debian12_script_ldd.txt', []),
])
def test_parse_ldd_exact(name, expected):
    assert parse_ldd(fixture(name), '/x') == expected


@pytest.mark.parametrize('name, count, must_have', [
    ('debian12_ssh.txt', 13, '/lib/x86_64-linux-gnu/libkrb5support.so.0'),
    ('fedora40_ssh.txt', 13, '/lib64/libkrb5support.so.0'),
    ('debian12_python3.txt', None, '/lib/x86_64-linux-gnu/libexpat.so.1'),
    ('debian12_openssl.txt', None, '/lib/x86_64-linux-gnu/libssl.so.3'),
    ('debian12_ls.txt', None, '/lib/x86_64-linux-gnu/libselinux.so.1'),
    ('debian12_getent.txt', None, '/lib/x86_64-linux-gnu/libc.so.6'),
])
def test_parse_ldd_real_outputs(name, count, must_have):
    paths = parse_ldd(fixture(name), '/x')
    assert must_have in paths
    assert all(p.startswith('/') for p in paths)
    assert not any('vdso' in p for p in paths)
    assert len(paths) == len(set(paths))
    if count is not None:
        assert len(paths) == count


@pytest.mark.parametrize('name', [
    'debian12_missing_lib.txt', 'debian12_loader_trace_missing_lib.txt', 'debian12_loader_list_missing_lib.txt'])
def test_parse_ldd_missing_library_names_it(name):
    with pytest.raises(JailError) as exc:
        parse_ldd(fixture(name), '/usr/local/bin/prog')
    assert str(exc.value) == '/usr/local/bin/prog: shared library not found on the host: libjailmissing.so.1'


def test_parse_ldd_refuses_garbage():
    with pytest.raises(JailError) as exc:
        parse_ldd('\tsomething odd\n', '/bin/x')
    assert str(exc.value) == "/bin/x: cannot understand loader output line 'something odd'"


# --------------------------------------------------------------------------
# one loader run serves every file of the run with the same link key

LIBC_ONLY = '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n'
GLIBC_234 = ('libc.so.6', 'GLIBC_2.34', 0)
GLIBC_238 = ('libc.so.6', 'GLIBC_2.38', 0)


class ListingRunner:
    """The loader of the fake host: ``outputs`` maps a file's name to (rc, stdout, stderr)."""

    def __init__(self, outputs=None):
        self.outputs = outputs or {}
        self.listed = []

    def __call__(self, argv):
        name = os.path.basename(argv[2])
        self.listed.append(name)
        return self.outputs.get(name, (0, LIBC_ONLY, ''))


def elf(needed=('libc.so.6',), needs=(GLIBC_234,), keyed=True):
    return ExecInfo('elf', interp=INTERP, dynamic=True, machine='x86_64', elf_class=64, elf_type=3,
                    needed=list(needed), version_needs=frozenset(needs),
                    link_key=('x86_64', 64, 3, INTERP, tuple(needed)) if keyed else None)


def listing(env, runner, *files, shareable=True):
    """Each of ``files`` = (host path, ExecInfo) listed by one LoaderDeps, in order."""
    deps = LoaderDeps(env['host'], runner=runner)
    return deps, [deps.list(path, info, os.stat(env['root'] + path), shareable) for path, info in files]


def test_a_second_file_with_the_same_link_key_runs_no_loader(fedora):
    runner = ListingRunner()
    deps, answers = listing(fedora, runner, ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf()))
    assert runner.listed == ['bash']
    assert answers == [['/lib64/libc.so.6', '/lib64/ld-linux-x86-64.so.2']] * 2
    # each file keeps its own signature in the state: a re-run checks it as if listed itself
    own = os.stat(fedora['root'] + '/usr/bin/ssh')
    assert deps.used['/usr/bin/ssh']['sig'] == [own.st_size, own.st_mtime_ns, own.st_ino]
    assert deps.used['/usr/bin/ssh']['deps'] == deps.used['/usr/bin/bash']['deps']


@pytest.mark.parametrize('first, second, why', [
    (elf(), elf(keyed=False), 'no link key (a search path of its own, a DT_AUDIT...): only the loader can tell'),
    (elf(), elf(needed=('libtinfo.so.6', 'libc.so.6')), 'other DT_NEEDED names'),
    (elf(needed=('libc.so.6', 'libtinfo.so.6')), elf(needed=('libtinfo.so.6', 'libc.so.6')), 'the same names in another order'),
    (elf(keyed=False), elf(), 'the first answer is not known to be shareable'),
    (elf(needs=()), elf(needs=(GLIBC_234,)), 'a version the loader did not see met for this key'),
])
def test_the_loader_runs_again_when_the_answer_may_differ(fedora, first, second, why):
    runner = ListingRunner()
    listing(fedora, runner, ('/usr/bin/bash', first), ('/usr/bin/ssh', second))
    assert runner.listed == ['bash', 'ssh'], why


def test_versions_met_for_a_key_add_up(fedora):
    for name in ('prog1', 'prog2', 'prog3'):
        test__chroot_engine.write(fedora['root'], '/usr/bin/' + name, b'FAKEELF dynamic', 0o755)
    runner = ListingRunner()
    listing(fedora, runner, ('/usr/bin/prog1', elf(needs=(GLIBC_234,))), ('/usr/bin/prog2', elf(needs=(GLIBC_238,))),
            ('/usr/bin/prog3', elf(needs=(GLIBC_234, GLIBC_238))), ('/usr/bin/bash', elf(needs=(GLIBC_238,))))
    assert runner.listed == ['prog1', 'prog2']


def test_a_version_the_host_lacks_is_still_refused_after_a_shared_answer(fedora):
    missing = ('libc.so.6', 'GLIBC_2.99', 0)
    runner = ListingRunner({'ssh': (0, LIBC_ONLY, "/usr/bin/ssh: /lib64/libc.so.6: version `GLIBC_2.99' not found "
                                                  '(required by /usr/bin/ssh)\n')})
    with pytest.raises(JailError) as exc:
        listing(fedora, runner, ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf(needs=(GLIBC_234, missing))))
    assert runner.listed == ['bash', 'ssh']
    assert "cannot understand loader output line" in str(exc.value) and 'GLIBC_2.99' in str(exc.value)


def test_a_listing_the_loader_ended_with_an_error_is_not_shared(fedora):
    runner = ListingRunner({'bash': (1, LIBC_ONLY, '')})
    listing(fedora, runner, ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf()))
    assert runner.listed == ['bash', 'ssh']


HOST_PROGRAMS = ('bash', 'ls', 'cat', 'cp', 'grep', 'sed', 'tar', 'gzip', 'id', 'stat', 'sort', 'ps', 'python3',
                 'ssh', 'curl', 'less', 'openssl', 'find')


@pytest.mark.skipif(not os.path.exists('/lib64/ld-linux-x86-64.so.2'), reason='x86_64 glibc host only')
def test_shared_answers_are_the_loaders_own_on_the_real_host():
    """The referee: each host program's list, shared or not, is what the loader says for it alone."""
    found = (shutil.which(name, path='/usr/bin:/bin') for name in HOST_PROGRAMS)
    programs = [os.path.realpath(path) for path in found if path]
    host = Host('/')
    calls = []

    def counted(argv):
        calls.append(argv)
        return _run_argv(argv)

    shared = LoaderDeps(host, runner=counted)
    for path in programs:
        info = read_exec_info(path)
        alone = LoaderDeps(host).list(path, info, os.stat(path), shareable=False)
        assert shared.list(path, info, os.stat(path), shareable=True) == alone, path
    assert len(calls) < len(programs), 'programs linking the same libraries share one loader run'


def test_a_shared_answer_keeps_the_library_signatures(fedora):
    deps, _answers = listing(fedora, ListingRunner(), ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf()))
    assert deps.used['/usr/bin/ssh']['dep_sigs'] == deps.used['/usr/bin/bash']['dep_sigs']
    assert len(deps.used['/usr/bin/ssh']['dep_sigs']) == 2


@pytest.mark.parametrize('rc', [1, -9])
def test_a_listing_that_did_not_end_well_is_not_shared(fedora, rc):
    runner = ListingRunner({'bash': (rc, LIBC_ONLY, '')})
    listing(fedora, runner, ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf()))
    assert runner.listed == ['bash', 'ssh']


@pytest.mark.parametrize('other', [
    '\ta.so.1 => /lib64/libz.so.1 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',     # sorts after LIBC_ONLY's list
    '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n',                                      # sorts before it
    '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/libz.so.1 (0x2)\n',              # sorts after it too
])
def test_versions_met_are_forgotten_when_the_loader_answers_otherwise(fedora, other):
    """The host changed during the run: versions met with the old libraries prove nothing now."""
    test__chroot_engine.write(fedora['root'], '/usr/bin/prog', b'FAKEELF dynamic', 0o755)
    runner = ListingRunner({'ssh': (0, other, '')})
    listing(fedora, runner, ('/usr/bin/bash', elf(needs=(GLIBC_234,))), ('/usr/bin/ssh', elf(needs=(GLIBC_238,))),
            ('/usr/bin/prog', elf(needs=(GLIBC_234,))))
    assert runner.listed == ['bash', 'ssh', 'prog']


def cached_listing(env, runner, path='/usr/bin/bash'):
    """List ``path`` once, then with a new LoaderDeps fed the first one's state, as a re-run does."""
    first = LoaderDeps(env['host'], runner=runner)
    first.list(path, elf(), os.stat(env['root'] + path), shareable=True)

    def again():
        return LoaderDeps(env['host'], cache=first.used, runner=runner).list(
            path, elf(), os.stat(env['root'] + path), shareable=True)
    return again


@pytest.mark.parametrize('changed', ['/usr/bin/bash', '/usr/lib64/libc.so.6'])
@pytest.mark.parametrize('content', [b'x', b'FAKEELF dynamic, rebuilt and grown' * 10])
def test_a_changed_file_or_library_is_listed_again(fedora, changed, content):
    runner = ListingRunner()
    again = cached_listing(fedora, runner)
    assert again() and runner.listed == ['bash'], 'nothing changed: the state answers'
    with open(fedora['root'] + changed, 'wb') as handle:
        handle.write(content)
    again()
    assert runner.listed == ['bash', 'bash']


def test_a_library_gone_from_the_host_is_listed_again_and_refused_if_the_loader_still_names_it(fedora):
    runner = ListingRunner()
    again = cached_listing(fedora, runner)
    os.remove(fedora['root'] + '/usr/lib64/libc.so.6')
    with pytest.raises(JailError) as exc:
        again()
    assert runner.listed == ['bash', 'bash']
    assert str(exc.value) == '/usr/bin/bash: library /lib64/libc.so.6 reported by the loader does not exist'


@pytest.mark.parametrize('rc, out, err, message', [
    (1, '\tstatically linked\n', '\tnot a dynamic executable\n',
     'could not list its libraries (rc=1): not a dynamic executable'),
    (1, '\tnot a dynamic executable\n', '', 'could not list its libraries (rc=1): not a dynamic executable'),
    (1, 'odd output\n', '', None),
    (-11, '', '', 'could not list its libraries (rc=-11): '),
])
def test_a_loader_that_fails_without_a_list_fails_the_file(fedora, rc, out, err, message):
    runner = ListingRunner({'bash': (rc, out, err)})
    with pytest.raises(JailError) as exc:
        listing(fedora, runner, ('/usr/bin/bash', elf()))
    expected = message or "cannot understand loader output line 'odd output'"
    assert str(exc.value).endswith(expected), str(exc.value)


def test_a_static_file_the_loader_lists_as_such_needs_nothing(fedora):
    _deps, answers = listing(fedora, ListingRunner({'bash': (0, '\tstatically linked\n', '')}), ('/usr/bin/bash', elf()))
    assert answers == [[]]


def test_loader_paths_under_the_host_root_are_host_paths(fedora):
    vendor = f"\tlibvendor.so.1 => {fedora['root']}/opt/vendor/lib/libvendor.so.1 (0x1)\n"
    _deps, answers = listing(fedora, ListingRunner({'bash': (0, vendor, '')}), ('/usr/bin/bash', elf()))
    assert answers == [['/opt/vendor/lib/libvendor.so.1']]


@pytest.mark.parametrize('line, expected', [
    ('\t/lib/ld-linux.so.2 =>  (0x1)\n', ['/lib/ld-linux.so.2']),  # an absolute name with an empty target
    ('\tlibfoo.so.1 =>  (0x1)\n', []),                              # old glibc's vdso
    ('\t/lib/odd.so => odd (0x1)\n', []),
])
def test_parse_ldd_arrow_lines_without_a_path(line, expected):
    assert parse_ldd(line, '/bin/x') == expected


def test_parse_ldd_skips_blank_lines_and_names_every_missing_library():
    assert parse_ldd('\n\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n', '/bin/x') == ['/lib64/libc.so.6']
    with pytest.raises(JailError) as exc:
        parse_ldd('\tliba.so.1 => not found\n\tlibb.so.2 => not found\n', '/bin/x')
    assert str(exc.value) == '/bin/x: shared libraries not found on the host: liba.so.1, libb.so.2'


# the loader runs as root: only a root-owned, non-writable regular file at a trusted path is run

@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
@pytest.mark.parametrize('owner, mode', [(1000, 0o755), (0, 0o775), (0, 0o757)])
def test_a_loader_others_could_write_is_never_run(fedora, owner, mode):
    loader = fedora['root'] + '/usr/lib64/ld-linux-x86-64.so.2'
    os.chown(loader, owner, owner)
    os.chmod(loader, mode)
    runner = ListingRunner()
    with pytest.raises(JailError) as exc:
        listing(fedora, runner, ('/usr/bin/bash', elf()))
    assert str(exc.value) == '/usr/bin/bash: loader /usr/lib64/ld-linux-x86-64.so.2 is not a root-owned, non-writable file'
    assert runner.listed == []


def test_a_loader_that_is_not_a_regular_file_is_never_run(fedora):
    loader = fedora['root'] + '/usr/lib64/ld-linux-x86-64.so.2'
    os.remove(loader)
    os.mkdir(loader, 0o755)
    with pytest.raises(JailError) as exc:
        listing(fedora, ListingRunner(), ('/usr/bin/bash', elf()))
    assert str(exc.value) == '/usr/bin/bash: loader /usr/lib64/ld-linux-x86-64.so.2 is not a root-owned, non-writable file'


def test_a_library_without_an_interpreter_is_listed_by_the_next_trusted_loader(fedora):
    os.remove(fedora['root'] + '/usr/lib64/ld-linux-x86-64.so.2')
    test__chroot_engine.write(fedora['root'], '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', b'FAKEELF static', 0o755)
    seen = []

    def runner(argv):
        seen.append(argv[0])
        return 0, LIBC_ONLY.replace('/lib64/ld-linux', '/lib/x86_64-linux-gnu/ld-linux'), ''

    library = ExecInfo('elf', dynamic=True, machine='x86_64', elf_class=64, needed=['libc.so.6'])
    test__chroot_engine.write(fedora['root'], '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', b'FAKEELF static', 0o755)
    LoaderDeps(fedora['host'], runner=runner).list('/usr/lib64/libc.so.6', library, os.stat(fedora['root'] + '/usr/lib64/libc.so.6'),
                                                   shareable=False)
    assert seen == [fedora['root'] + '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2']


def test_only_a_shareable_file_lends_its_answer(fedora):
    """A user's file could be swapped for another between its headers and the loader's run."""
    runner = ListingRunner()
    listing(fedora, runner, ('/usr/bin/bash', elf()), ('/usr/bin/ssh', elf()), shareable=False)
    assert runner.listed == ['bash', 'ssh']


@pytest.mark.parametrize('cache', [b'glibc-ld.so.cache1.1 fake, after ldconfig', b'short'])
def test_an_answer_given_before_ld_so_cache_changed_is_not_lent(fedora, cache):
    deps = LoaderDeps(fedora['host'], runner=ListingRunner())
    deps.list('/usr/bin/bash', elf(), os.stat(fedora['root'] + '/usr/bin/bash'), shareable=True)
    test__chroot_engine.write(fedora['root'], '/etc/ld.so.cache', cache)
    deps.runner = runner = ListingRunner()
    deps.list('/usr/bin/ssh', elf(), os.stat(fedora['root'] + '/usr/bin/ssh'), shareable=True)
    assert runner.listed == ['ssh']


def keyed_read_info(fd):
    """The fake host's ELF files, all with the link key of a libc-only program."""
    info = test__chroot_engine.fake_read_info(fd)
    if info.kind == 'elf' and info.dynamic and info.interp:
        info.link_key, info.needed = ('x86_64', 64, 3, info.interp, ('libc.so.6',)), ['libc.so.6']
    return info


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
@pytest.mark.parametrize('first, owner, mode, runs', [
    ('/usr/bin/bash', 0, 0o755, 1),
    ('/usr/bin/bash', 1000, 0o755, 2),   # a user's program
    ('/usr/bin/bash', 0, 0o775, 2),      # a program its group can rewrite
    ('/usr/local/bin/app', 0, 0o755, 2),  # root's program in a user's directory
])
def test_the_plan_lends_only_roots_own_programs_answers(fedora, first, owner, mode, runs):
    root = fedora['root']
    if first == '/usr/local/bin/app':
        test__chroot_engine.write(root, first, b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 app', 0o755)
        os.chown(root + '/usr/local/bin', 1000, 1000)
    os.chown(root + first, owner, owner)
    os.chmod(root + first, mode)
    runner = ListingRunner()
    spec = JailSpec(fedora['jail'], binaries=[first, '/usr/bin/ssh'], allow_user_writable_sources=True)
    deps = LoaderDeps(fedora['host'], runner=runner)
    Planner(spec, host=fedora['host'], deps=deps, read_info=keyed_read_info).run()
    assert len(runner.listed) == runs
