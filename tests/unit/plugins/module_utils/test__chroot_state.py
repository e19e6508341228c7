# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_chroot.state and what converge does with it: state outside the jail, legacy manifests,
malformed state, removals kept inside the jail, crashes, and the per-jail lock.

Each attack is played as the attacker would: uid 0 inside the jail editing what it can reach,
a run killed half-way, two runs at once. The fake host comes from test__chroot_engine.
"""

import fcntl
import hashlib
import json
import os
import signal
import stat
import threading
import time

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import state
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine as engine_tests
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import (
    run,
    safe_tmp_lstat,
    snapshot,
    write,
)

fedora = engine_tests.fedora  # the fake Fedora host fixture, shared with the engine tests

LEGACY = '/.serversec-jail.json'
BASH = ['/bin/bash']


def state_files(env):
    """(state file, lock file) of the fake jail, named as documented: STEM.HASH.json/.lock."""
    digest = hashlib.sha256(env['jail'].encode()).hexdigest()[:24]
    names = sorted(n for n in os.listdir(env['state_dir']) if n.split('.')[-2:-1] == [digest])
    assert [n.rsplit('.', 1)[1] for n in names] == ['json', 'lock']
    return [os.path.join(env['state_dir'], n) for n in names]


def load(path):
    with open(path) as handle:
        return json.load(handle)


def put(path, text, mode=0o600):
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


def remove(env, check_mode=False):
    return remove_jail(env['jail'], env['state_dir'], check_mode=check_mode, root_lstat=safe_tmp_lstat)


def host_sig(env, path):
    st = os.stat(env['root'] + path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def legacy_from_state(env, **extra):
    """Turn the jail back into one an earlier version managed: manifest inside, no host state."""
    state_file, lock_file = state_files(env)
    data = load(state_file)
    os.remove(state_file)
    os.remove(lock_file)
    legacy = {'version': 1, 'jail': env['jail'], 'managed': data['managed'], 'deps': data['deps']}
    legacy.update(extra)
    return legacy


def plant_legacy(env, legacy):
    put(env['jail'] + LEGACY, json.dumps(legacy))


@pytest.fixture
def tampered(fedora, tmp_path):
    """A jail of an earlier version whose manifest uid 0 in the jail has edited: a victim
    outside the jail listed as '/../victim', and the host's shadow injected into the cached
    dependency list of bash."""
    write(fedora['root'], '/etc/shadow', b'root:$6$secret:19000:0:99999:7:::\n', 0o600)
    victim = tmp_path / 'srv' / 'victim'
    victim.write_bytes(b'host data the jail must not reach')
    run(fedora, binaries=BASH)
    legacy = legacy_from_state(fedora)
    entry = legacy['deps']['/usr/bin/bash']
    entry['deps'].append('/etc/shadow')
    entry['dep_sigs'].append(host_sig(fedora, '/etc/shadow'))
    fedora['victim'] = str(victim)
    fedora['legacy'] = legacy
    return fedora


# --------------------------------------------------------------------------
# §2: nothing inside the jail decides what happens outside it

# '/../victim' leads out; the others are no file name the kernel takes (a lone surrogate, a
# component over 255 bytes, a path over 4095 bytes): each once made a traceback.
@pytest.mark.parametrize('entry', ['/../victim', '/x\ud800', '/' + 'n' * 256, '/d' * 2048])
def test_tampered_legacy_manifest_is_refused_and_the_victim_survives(tampered, entry):
    tampered['legacy']['managed'][entry] = {'type': 'file'}
    plant_legacy(tampered, tampered['legacy'])
    before = snapshot(tampered['jail'])
    for prune_run in (lambda: run(tampered, binaries=['/usr/bin/busybox']), lambda: remove(tampered)):
        with pytest.raises(JailError) as exc:
            prune_run()
        assert str(exc.value) == (
            f"{tampered['jail']}/.serversec-jail.json: legacy manifest entry {entry!r} is not a normalised "
            'path inside the jail with a known type; it was kept inside the jail, where a jailed process can '
            'edit it, so it is not trusted. Check the jail, then remove this file: the module then starts a '
            'fresh state')
        assert os.path.exists(tampered['victim'])
        assert snapshot(tampered['jail']) == before


def test_legacy_dependency_cache_never_brings_a_host_file_in(tampered):
    plant_legacy(tampered, tampered['legacy'])
    calls = len(tampered['runner'].calls)
    result = run(tampered, binaries=BASH)
    assert not os.path.exists(tampered['jail'] + '/etc/shadow')
    assert len(tampered['runner'].calls) > calls, 'the legacy cache must not be used'
    # migrated: the manifest leaves the jail, the state is on the host without the injected entry
    assert (result.added, result.updated, result.removed) == ([], [], [LEGACY])
    assert not os.path.lexists(tampered['jail'] + LEGACY)
    data = load(state_files(tampered)[0])
    assert '/etc/shadow' not in data['deps']['/usr/bin/bash']['deps']
    assert data['managed']['/usr/lib64/libc.so.6']['type'] == 'file'
    assert not run(tampered, binaries=BASH).changed


def test_legacy_entries_are_migrated_by_type_only_and_pruned(fedora):
    run(fedora, binaries=BASH + ['/usr/bin/busybox'])
    legacy = legacy_from_state(fedora)
    # a checksum, inode and ctime forged to make the module skip reading a trojaned copy
    copy = fedora['jail'] + '/usr/lib64/libc.so.6'
    before = os.stat(copy)
    with open(copy, 'r+b') as handle:
        handle.write(b'TROJAN!')
    os.utime(copy, ns=(before.st_atime_ns, before.st_mtime_ns))
    st = os.stat(copy)
    legacy['managed']['/usr/lib64/libc.so.6'].update(
        sha256=hashlib.sha256(b'forged').hexdigest(), ctime_ns=st.st_ctime_ns, ino=st.st_ino)
    plant_legacy(fedora, legacy)
    result = run(fedora, binaries=BASH)
    assert (result.updated, sorted(result.removed)) == (['/usr/lib64/libc.so.6'], [LEGACY, '/usr/bin/busybox'])
    with open(fedora['jail'] + '/usr/lib64/libc.so.6', 'rb') as handle:
        assert handle.read().startswith(b'FAKEELF')


def test_legacy_manifest_reappearing_is_ignored_and_removed(fedora, tmp_path):
    run(fedora, binaries=BASH)
    victim = tmp_path / 'srv' / 'victim'
    victim.write_bytes(b'keep')
    plant_legacy(fedora, {'version': 1, 'managed': {'/../victim': {'type': 'file'}}})
    result = run(fedora, binaries=['/usr/bin/busybox'])
    assert LEGACY in result.removed and victim.exists()
    assert not os.path.lexists(fedora['jail'] + LEGACY)


def test_state_lives_outside_the_jail_root_only(fedora):
    run(fedora, binaries=BASH)
    assert not os.path.lexists(fedora['jail'] + LEGACY)
    state_file, lock_file = state_files(fedora)
    for path in (fedora['state_dir'], state_file, lock_file):
        st = os.lstat(path)
        assert (st.st_uid, st.st_gid) == (0, 0)
        assert stat.S_IMODE(st.st_mode) == (0o700 if path == fedora['state_dir'] else 0o600)
    data = load(state_file)
    assert (data['version'], data['jail'], data['pending']) == (2, fedora['jail'], {})
    assert data['created'] == [fedora['jail']]


def test_state_name_is_readable_and_unique():
    assert state.state_name('/srv/jails/shell') == 'srv-jails-shell.f83e30e62e37d9aec175dd62'
    assert state.state_name('/srv/my jail') != state.state_name('/srv/my_jail')
    assert state.state_name('/..hidden/' + 'x' * 300).startswith('hidden-' + 'x' * 27 + '.')
    assert len(state.state_name('/' + 'y' * 300)) == 59


@pytest.mark.parametrize('where, message', [
    ('inside', 'state_dir {jail}/state is inside the jail {jail}; a jailed process could edit the state: '
               'choose a directory outside every jail'),
    ('same', 'state_dir {jail} is inside the jail {jail}; a jailed process could edit the state: '
             'choose a directory outside every jail'),
    ('around', 'state_dir {base} contains the jail {jail}; choose a directory outside every jail'),
    ('root', 'state_dir / contains the jail {jail}; choose a directory outside every jail'),
    ('relative', "state_dir 'var/lib/x' is not an absolute path"),
])
def test_state_dir_inside_or_around_the_jail_is_refused(fedora, where, message):
    base = os.path.dirname(fedora['jail'])
    fedora['state_dir'] = {'inside': fedora['jail'] + '/state', 'same': fedora['jail'], 'around': base,
                           'root': '/', 'relative': 'var/lib/x'}[where]
    for attempt in (lambda: run(fedora, binaries=BASH), lambda: remove(fedora)):
        with pytest.raises(JailError) as exc:
            attempt()
        assert str(exc.value) == message.format(jail=fedora['jail'], base=base)
    assert not os.path.exists(fedora['jail'])


def test_state_dir_ancestors_are_checked_and_created_root_only(fedora, tmp_path):
    open_dir = tmp_path / 'open'
    open_dir.mkdir()
    os.chmod(str(open_dir), 0o1777)
    fedora['state_dir'] = str(open_dir / 'state')
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=BASH)
    assert str(exc.value) == f'state_dir component {open_dir} is group- or world-writable (mode 1777)'
    (tmp_path / 'real').mkdir()
    os.symlink('real', str(tmp_path / 'alias'))
    fedora['state_dir'] = str(tmp_path / 'alias' / 'state')
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=BASH)
    assert str(exc.value) == f"state_dir component {tmp_path / 'alias'} is a symlink; use the real path"
    assert not os.path.exists(fedora['jail'])

    fedora['state_dir'] = str(tmp_path / 'var' / 'lib' / 'state')
    run(fedora, check_mode=True, binaries=BASH)
    assert not (tmp_path / 'var').exists(), 'check mode creates nothing'
    run(fedora, binaries=BASH)
    for path in (tmp_path / 'var', tmp_path / 'var' / 'lib', tmp_path / 'var' / 'lib' / 'state'):
        st = os.lstat(str(path))
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o700)


# --------------------------------------------------------------------------
# a malformed state is a clear error, never a traceback

def bad_state(data):
    return json.dumps(data)


GOOD = {'version': 2, 'jail': None, 'managed': {}, 'pending': {}, 'created': [], 'deps': {}}


@pytest.mark.parametrize('text, problem', [
    ('[' * 100000 + ']' * 100000, 'nested too deeply to be a state file'),
    ('{"version": 2,', 'not valid JSON: Expecting property name enclosed in double quotes: line 1 column 15 (char 14)'),
    (b'\xc3(', "not valid JSON: 'utf-8' codec can't decode byte 0xc3 in position 0: invalid continuation byte"),
    ('[]', 'not a JSON object'),
    (dict(GOOD, version=1), 'unknown state format (version 1)'),
    (dict(GOOD, jail='/srv/other'), "records the jail '/srv/other', not {jail}"),
    (dict(GOOD, managed=[]), "'managed' is not an object"),
    (dict(GOOD, managed={'/../victim': {'type': 'file'}}), "entry '/../victim' is not a normalised path inside the jail"),
    (dict(GOOD, pending={'/usr/../../victim': {'type': 'dir'}}),
     "entry '/usr/../../victim' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'/usr//lib': {'type': 'dir'}}), "entry '/usr//lib' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'/usr/./lib': {'type': 'dir'}}), "entry '/usr/./lib' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'usr/lib': {'type': 'dir'}}), "entry 'usr/lib' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'/': {'type': 'dir'}}), "entry '/' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'/usr/\0': {'type': 'dir'}}), "entry '/usr/\\x00' is not a normalised path inside the jail"),
    (dict(GOOD, managed={'/usr': {'type': 'fifo'}}), 'entry /usr has no known type'),
    (dict(GOOD, managed={'/usr': ['dir']}), 'entry /usr has no known type'),
    (dict(GOOD, managed={'/x': {'type': 'file', 'size': '12'}}), "entry /x has a bad field 'size'"),
    (dict(GOOD, managed={'/x': {'type': 'file', 'ino': True}}), "entry /x has a bad field 'ino'"),
    (dict(GOOD, managed={'/x': {'type': 'file', 'owner': 0}}), "entry /x has a bad field 'owner'"),
    (dict(GOOD, managed={'/x': {'type': 'file', 'source': 'etc/shadow'}}), "entry /x has a bad field 'source'"),
    (dict(GOOD, managed={'/x': {'type': 'file', 'sha256': 'abc'}}), "entry /x has a bad field 'sha256'"),
    (dict(GOOD, pending={'/x': {'type': 'file', 'sha256': 'a' * 64}}), "entry /x has a bad field 'sha256'"),
    (dict(GOOD, created='/srv'), "'created' is not a list"),
    (dict(GOOD, created=['/etc']), "created directory '/etc' is neither the jail nor one of its parents"),
    (dict(GOOD, created=['/']), "created directory '/' is neither the jail nor one of its parents"),
    (dict(GOOD, deps=[]), "'deps' is not an object"),
    (dict(GOOD, deps={'/usr/bin/bash': {'sig': [1, 2], 'ldcache': None, 'deps': [], 'dep_sigs': []}}),
     "dependency cache entry '/usr/bin/bash' is malformed"),
    (dict(GOOD, deps={'/usr/bin/bash': {'sig': [1, 2, 3], 'ldcache': None, 'deps': ['lib/libc.so.6'],
                                        'dep_sigs': [[1, 2, 3]]}}),
     "dependency cache entry '/usr/bin/bash' is malformed"),
    (dict(GOOD, deps={'/usr/bin/bash': {'sig': [1, 2, 3], 'ldcache': None, 'deps': ['/lib/x'], 'dep_sigs': []}}),
     "dependency cache entry '/usr/bin/bash' is malformed"),
])
def test_malformed_state_is_a_clear_error(fedora, text, problem):
    run(fedora, binaries=BASH)
    state_file = state_files(fedora)[0]
    if isinstance(text, dict):
        text = bad_state(dict(text, jail=text['jail'] or fedora['jail']))
    with open(state_file, 'wb') as handle:
        handle.write(text if isinstance(text, bytes) else text.encode('utf-8'))
    before = snapshot(fedora['jail'])
    for attempt in (lambda: run(fedora, binaries=BASH), lambda: remove(fedora)):
        with pytest.raises(JailError) as exc:
            attempt()
        assert str(exc.value) == f"{state_file}: {problem.format(jail=fedora['jail'])}"
    assert snapshot(fedora['jail']) == before


def test_oversized_or_loose_state_file_is_refused(fedora, monkeypatch):
    run(fedora, binaries=BASH)
    state_file = state_files(fedora)[0]
    monkeypatch.setattr(state, 'MAX_STATE_BYTES', 100)
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=BASH)
    assert str(exc.value) == f'{state_file}: larger than 100 bytes; not a state file'
    monkeypatch.undo()
    os.chmod(state_file, 0o622)
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=BASH)
    assert str(exc.value) == (f'{state_file}: the state is not a regular file only root can read and write; '
                              'refusing to trust it')


@pytest.mark.parametrize('text, problem', [
    ('{"a":' * 50000 + '1' + '}' * 50000, 'nested too deeply to be a state file'),
    ('[1]', 'not a JSON object'),
    ('{"version": 1, "managed": []}', 'unknown manifest format'),
    ('{"version": 1, "managed": {"/usr": "dir"}}',
     "legacy manifest entry '/usr' is not a normalised path inside the jail with a known type; it was kept "
     'inside the jail, where a jailed process can edit it, so it is not trusted. Check the jail, then remove '
     'this file: the module then starts a fresh state'),
])
def test_malformed_legacy_manifest_is_a_clear_error(fedora, text, problem):
    run(fedora, binaries=BASH)
    legacy_from_state(fedora)
    put(fedora['jail'] + LEGACY, text)
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=BASH)
    assert str(exc.value) == f"{fedora['jail']}{LEGACY}: {problem}"


# --------------------------------------------------------------------------
# every removal stays inside the jail

@pytest.mark.parametrize('path', ['/../victim', '/usr/../../victim', '//victim', '/usr/.', 'victim', '/'])
def test_removal_outside_the_jail_is_impossible(fedora, tmp_path, path):
    run(fedora, binaries=BASH)
    victim = tmp_path / 'srv' / 'victim'
    victim.write_bytes(b'keep')
    jail = Jail(fedora['jail'])
    try:
        for attempt in (lambda: jail.remove(path, {'type': 'file'}), lambda: jail.unlink(path)):
            with pytest.raises(JailError) as exc:
                attempt()
            assert str(exc.value) == f"{fedora['jail']}: {path!r} is not a normalised path inside the jail; refusing to remove it"
    finally:
        jail.close()
    assert victim.read_bytes() == b'keep' and os.path.isdir(fedora['jail'] + '/usr')


def test_prune_never_follows_a_planted_symlink(fedora, tmp_path):
    run(fedora, binaries=BASH + ['/usr/bin/ssh'])
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'ssh').write_bytes(b'host file')
    os.remove(fedora['jail'] + '/usr/bin/ssh')
    os.rename(fedora['jail'] + '/usr/bin', fedora['jail'] + '/usr/bin.moved')
    os.symlink(str(outside), fedora['jail'] + '/usr/bin')
    remove(fedora)
    assert (outside / 'ssh').read_bytes() == b'host file'


# --------------------------------------------------------------------------
# §6: crashes and concurrent runs

class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (no except OSError, no final state write)."""


def kill_at_rename(monkeypatch, count):
    """Let ``count`` jail renames happen, then 'kill' the run at the next one."""
    real_rename = os.rename
    done = []

    def rename(src, dst, **kwargs):
        if '.json.sjtmp' not in src:
            if len(done) == count:
                raise Killed()
            done.append(dst)
        return real_rename(src, dst, **kwargs)
    monkeypatch.setattr(os, 'rename', rename)


def jail_tree(env):
    return sorted('/' + os.path.relpath(p, env['jail']) for p in snapshot(env['jail']))


def test_killed_run_leftovers_are_removed_by_the_next_run(fedora, monkeypatch):
    kill_at_rename(monkeypatch, 3)
    with pytest.raises(Killed):
        run(fedora, binaries=BASH)
    monkeypatch.undo()
    leftovers = [p for p in jail_tree(fedora) if '.sjtmp' in p]
    assert len(leftovers) == 1 and leftovers[0].startswith('/usr/lib64/.')
    checked = run(fedora, check_mode=True, binaries=BASH)
    assert leftovers[0] in checked.removed and [p for p in jail_tree(fedora) if '.sjtmp' in p] == leftovers
    result = run(fedora, binaries=BASH)
    assert leftovers[0] in result.removed
    assert not [p for p in jail_tree(fedora) if '.sjtmp' in p]
    assert not run(fedora, binaries=BASH).changed


def test_killed_run_is_undone_by_absent(fedora, tmp_path, monkeypatch):
    fedora['jail'] = str(tmp_path / 'srv' / 'new' / 'jail')
    kill_at_rename(monkeypatch, 3)
    with pytest.raises(Killed):
        run(fedora, binaries=BASH, directories=[{'path': '/data/app'}])
    monkeypatch.undo()
    assert '/data/app' in jail_tree(fedora) and any('.sjtmp' in p for p in jail_tree(fedora))
    check = remove(fedora, check_mode=True)
    assert '/data/app' in check.removed and '/' in check.removed
    result = remove(fedora)
    assert {'/', '/data/app', str(tmp_path / 'srv' / 'new')} <= set(result.removed)
    assert os.listdir(str(tmp_path / 'srv')) == [], 'jail, its created parent and every leftover are gone'


def test_sigkill_during_populate_is_undone_by_absent(fedora, tmp_path):
    """A real SIGKILL while a file waits to be renamed into place, then state=absent."""
    ready = tmp_path / 'killed-here'
    pid = os.fork()
    if pid == 0:  # the run to kill
        try:
            real_rename = os.rename

            def rename(src, dst, **kwargs):
                if dst == 'libc.so.6':
                    ready.write_bytes(b'')
                    time.sleep(60)
                return real_rename(src, dst, **kwargs)
            os.rename = rename
            run(fedora, binaries=BASH)
        finally:
            os._exit(0)
    deadline = time.monotonic() + 20
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    assert [p for p in jail_tree(fedora) if '.sjtmp' in p] == [
        next(p for p in jail_tree(fedora) if p.startswith('/usr/lib64/.libc.so.6.sjtmp'))]
    result = remove(fedora)
    assert '/' in result.removed and not os.path.exists(fedora['jail'])
    assert os.listdir(fedora['state_dir']) == []


def test_intent_is_recorded_before_anything_is_made(fedora, monkeypatch):
    seen = []
    real_write = Jail.write

    def write_checked(jail, path, entry):
        if len(seen) == 1:
            data = load(state_files(fedora)[0])
            seen.append((sorted(data['pending']), data['created']))
        return real_write(jail, path, entry)
    real_make_root = Jail.make_root

    def make_root_checked(jail, missing):
        seen.append(('root', load(state_files(fedora)[0])['created']))
        return real_make_root(jail, missing)
    monkeypatch.setattr(Jail, 'write', write_checked)
    monkeypatch.setattr(Jail, 'make_root', make_root_checked)
    result = run(fedora, binaries=BASH)
    assert seen[0] == ('root', [fedora['jail']])
    assert seen[1] == ([p for p in sorted(result.added) if p != '/'], [fedora['jail']])
    assert load(state_files(fedora)[0])['pending'] == {}


def test_absent_keeps_a_jail_root_it_did_not_create(fedora):
    os.mkdir(fedora['jail'])
    run(fedora, binaries=BASH)
    assert load(state_files(fedora)[0])['created'] == []
    result = remove(fedora)
    assert '/' not in result.removed and os.listdir(fedora['jail']) == []
    assert os.listdir(fedora['state_dir']) == []


def test_leftover_cleanup_touches_only_its_own_temporaries(fedora, tmp_path):
    run(fedora, binaries=BASH)
    outside = tmp_path / 'outside'
    outside.write_bytes(b'keep')
    lib = fedora['jail'] + '/usr/lib64/'
    os.symlink(str(outside), lib + '.libc.so.6.sjtmp0badc0de')         # a leftover link: unlinked, not followed
    os.mkdir(lib + '.libc.so.6.sjtmp00000000')                          # a directory: never ours
    write(fedora['jail'], '/usr/lib64/.libc.so.6.sjtmpnothex1', b'x')   # not our pattern
    write(fedora['jail'], '/usr/lib64/.other.sjtmp12345678', b'x')      # not a name the state knows
    state_dir = fedora['state_dir']
    name = os.path.basename(state_files(fedora)[0])
    put(f'{state_dir}/.{name}.sjtmpdeadbeef', 'half a state')
    put(f'{state_dir}/.other.json.sjtmpdeadbeef', 'another jail')
    result = run(fedora, binaries=BASH)
    assert result.removed == ['/usr/lib64/.libc.so.6.sjtmp0badc0de']
    assert outside.read_bytes() == b'keep'
    assert sorted(n for n in os.listdir(lib) if '.sjtmp' in n) == [
        '.libc.so.6.sjtmp00000000', '.libc.so.6.sjtmpnothex1', '.other.sjtmp12345678']
    assert sorted(n for n in os.listdir(state_dir) if '.sjtmp' in n) == ['.other.json.sjtmpdeadbeef']


def hold_lock(env, mode=fcntl.LOCK_EX):
    fd = os.open(state_files(env)[1], os.O_RDWR)
    fcntl.flock(fd, mode)
    return fd


def test_a_run_waits_for_the_lock_and_gives_up_naming_it(fedora, monkeypatch):
    run(fedora, binaries=BASH)
    before = snapshot(fedora['jail'])
    monkeypatch.setattr(state, 'LOCK_WAIT_SECONDS', 0.3)
    fd = hold_lock(fedora)
    try:
        for attempt in (lambda: run(fedora, binaries=['/usr/bin/busybox']), lambda: remove(fedora),
                        lambda: run(fedora, check_mode=True, binaries=BASH)):
            with pytest.raises(JailError) as exc:
                attempt()
            assert str(exc.value) == (f"{state_files(fedora)[1]}: another run on the jail {fedora['jail']} "
                                      'still holds the lock after 0.3 s')
        assert snapshot(fedora['jail']) == before
    finally:
        os.close(fd)
    shared = hold_lock(fedora, fcntl.LOCK_SH)
    try:
        assert not run(fedora, check_mode=True, binaries=BASH).changed, 'check mode shares the lock'
    finally:
        os.close(shared)


def test_two_runs_on_one_jail_serialise(fedora):
    run(fedora, binaries=BASH)
    fd = hold_lock(fedora)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(run(fedora, binaries=BASH + ['/usr/bin/busybox'])))
    try:
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() and not os.path.exists(fedora['jail'] + '/usr/bin/busybox')
    finally:
        os.close(fd)
    worker.join(10)
    assert outcome and outcome[0].added == ['/usr/bin/busybox']


def test_the_lock_is_held_while_the_jail_is_planned_and_written(fedora, monkeypatch):
    run(fedora, binaries=BASH)
    lock_file = state_files(fedora)[1]
    probes = []
    real_run = Planner.run

    def probe(planner):
        fd = os.open(lock_file, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            probes.append('free')
        except OSError:
            probes.append('held')
        finally:
            os.close(fd)
        return real_run(planner)
    monkeypatch.setattr(Planner, 'run', probe)
    run(fedora, binaries=BASH)
    remove_checked = remove(fedora)
    assert probes == ['held'] and remove_checked.changed


def test_a_lock_file_removed_by_absent_is_not_shared_with_a_waiter(fedora):
    """absent unlinks the lock file while holding it: a waiter must lock the new file, not the old one."""
    run(fedora, binaries=BASH)
    fd = hold_lock(fedora)
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(run(fedora, binaries=BASH)))
    worker.start()
    time.sleep(0.3)
    state_file, lock_file = state_files(fedora)
    os.remove(lock_file)
    os.close(fd)
    worker.join(10)
    assert outcome and os.path.exists(lock_file)


def test_state_the_module_writes_is_accepted_back():
    """Loader output may name libraries through '..' ($ORIGIN/../lib): the host state keeps them."""
    data = {'version': 2, 'jail': '/srv/jails/app', 'pending': {'/opt/app/lib': {'type': 'dir'}},
            'managed': {'/opt/app/lib/libfoo.so': {'type': 'file', 'source': '/opt/app/lib/libfoo.so', 'size': 3,
                                                   'sha256': 'a' * 64, 'mtime_ns': -5, 'ctime_ns': 7, 'ino': 9}},
            'created': ['/srv/jails', '/srv/jails/app'],
            'deps': {'/opt/app/bin/app': {'sig': [1, 2, 3], 'ldcache': None,
                                          'deps': ['/opt/app/bin/../lib/libfoo.so'], 'dep_sigs': [[4, 5, 6]]}}}
    loaded = state.validate_state(data, 'state.json', '/srv/jails/app')
    assert loaded.managed == {'/opt/app/lib/libfoo.so': data['managed']['/opt/app/lib/libfoo.so'],
                              '/opt/app/lib': {'type': 'dir'}}
    assert (loaded.created, loaded.deps) == (['/srv/jails', '/srv/jails/app'], data['deps'])


def test_a_run_that_changes_nothing_leaves_the_state_file_alone(fedora):
    """The state is compared as data: the same records in another layout are not rewritten."""
    run(fedora, binaries=BASH)
    state_file = state_files(fedora)[0]
    data = load(state_file)
    put(state_file, json.dumps(data, indent=2))  # another layout than the module's compact one
    before = os.stat(state_file)
    assert not run(fedora, binaries=BASH).changed
    after = os.stat(state_file)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert load(state_file) == data


def test_a_state_that_differs_in_data_is_written(fedora):
    """An intent left by a killed run (for an entry found as planned) is cleared by the next run."""
    run(fedora, binaries=BASH)
    state_file = state_files(fedora)[0]
    data = load(state_file)
    bash_record = data['managed']['/usr/bin/bash']
    data['pending'] = {'/usr/bin/bash': {'type': 'file'}}
    put(state_file, json.dumps(data))
    assert not run(fedora, binaries=BASH).changed
    written = load(state_file)
    assert written['pending'] == {}
    assert written['managed']['/usr/bin/bash']['sha256'] == bash_record['sha256']
