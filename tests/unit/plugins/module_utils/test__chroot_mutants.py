# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 12: three one-line mutations of the chroot engine that every unit test used to survive.

- the setuid audit (a setuid file in the jail must be reported, not only "none found");
- the state trust check (a state file others can write, or not root's, is refused);
- the ld.so.cache invalidation of the loader cache (a changed cache re-runs the loader).

The fake Fedora host, ``run`` and ``snapshot`` are the ones of test__chroot_engine.py.
"""

import os
import re
import shutil
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import LD_SO_CACHE
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import (
    run,
    snapshot,
    write,
)

fedora = test__chroot_engine.fedora  # the fake Fedora host fixture
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')


# --------------------------------------------------------------------------
# the setuid audit: setuid/setgid files in the jail are reported

def test_audit_reports_a_setuid_file_the_module_kept(fedora):
    result = run(fedora, binaries=['/usr/bin/su', '/bin/bash'], allow_setuid=True)
    assert stat.S_IMODE(os.lstat(fedora['jail'] + '/usr/bin/su').st_mode) == 0o4755
    assert result.audit['setuid'] == ['/usr/bin/su']


def test_audit_reports_setuid_and_setgid_files_it_did_not_make(fedora):
    directories = [{'path': '/var/lib/app', 'mode': '2755'}]
    assert run(fedora, binaries=['/usr/bin/su'], directories=directories).audit['setuid'] == []
    write(fedora['jail'], '/usr/local/bin/planted', b'FAKEELF static - planted', 0o4711)
    write(fedora['jail'], '/var/lib/app/mailer', b'FAKEELF static - mailer', 0o2755)
    result = run(fedora, binaries=['/usr/bin/su'], directories=directories)
    # a setgid directory is ordinary (group inheritance); only files are reported
    assert result.audit['setuid'] == ['/usr/local/bin/planted', '/var/lib/app/mailer']


# --------------------------------------------------------------------------
# the state trust check: only a regular file that only root can read and write is believed

def state_file(env):
    """Where the engine keeps this jail's state: a file in ``state_dir`` (or, before the state
    moved out of the jail, the manifest inside it)."""
    if 'state_dir' in env:
        names = [n for n in os.listdir(env['state_dir']) if n.endswith('.json')]
        assert len(names) == 1, names
        return os.path.join(env['state_dir'], names[0])
    return os.path.join(env['jail'], '.serversec-jail.json')


def _world_writable(path):
    os.chmod(path, 0o666)


def _group_writable(path):
    os.chmod(path, 0o620)


def _readable_by_all(path):
    os.chmod(path, 0o644)


def _owned_by_a_user(path):
    os.chown(path, 1000, 1000)


def _a_directory(path):
    os.remove(path)
    os.mkdir(path, 0o700)


@needs_root
@pytest.mark.parametrize('tamper', [_world_writable, _group_writable, _readable_by_all, _owned_by_a_user, _a_directory])
def test_untrusted_state_is_refused_and_nothing_changes(fedora, tamper):
    run(fedora, binaries=['/bin/bash', '/usr/bin/ssh'])
    path = state_file(fedora)
    tamper(path)
    before = snapshot(fedora['jail'])
    state_before = os.lstat(path)
    with pytest.raises(JailError) as exc:
        # ssh dropped from the list: a trusted state would prune it
        run(fedora, binaries=['/bin/bash'])
    assert re.fullmatch(re.escape(path) + r': .*\broot\b.*', str(exc.value)), str(exc.value)
    assert snapshot(fedora['jail']) == before
    after = os.lstat(path)
    assert (after.st_ino, after.st_mode, after.st_uid) == (state_before.st_ino, state_before.st_mode, state_before.st_uid)


@needs_root
def test_trusted_state_is_used(fedora):
    """The control for the test above: the same run with the state untouched prunes ssh."""
    run(fedora, binaries=['/bin/bash', '/usr/bin/ssh'])
    assert stat.S_IMODE(os.lstat(state_file(fedora)).st_mode) == 0o600
    assert sorted(run(fedora, binaries=['/bin/bash']).removed) == [
        '/usr/bin/ssh', '/usr/lib64/libz.so.1', '/usr/lib64/libz.so.1.3']


# --------------------------------------------------------------------------
# the loader cache is keyed on /etc/ld.so.cache too (tested through converge(), whose cache
# survives between runs in the state)

def _bump_mtime(env):
    st = os.stat(env['root'] + LD_SO_CACHE)
    os.utime(env['root'] + LD_SO_CACHE, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))


def _rewrite(env):
    write(env['root'], LD_SO_CACHE, b'glibc-ld.so.cache1.1 fake, after ldconfig')


def _replace_same_size(env):
    # same size and mtime, a new inode: what ldconfig's rename into place does
    cache = env['root'] + LD_SO_CACHE
    st = os.stat(cache)
    shutil.copy2(cache, cache + '.new')
    os.rename(cache + '.new', cache)
    os.utime(cache, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(cache).st_ino != st.st_ino


def _remove(env):
    os.remove(env['root'] + LD_SO_CACHE)


@pytest.mark.parametrize('change', [_bump_mtime, _rewrite, _replace_same_size, _remove])
def test_changed_ld_so_cache_reruns_the_loader(fedora, change):
    calls = fedora['runner'].calls
    run(fedora, binaries=['/bin/bash'])
    assert [argv[2] for argv in calls] == [fedora['root'] + '/usr/bin/bash']
    assert not run(fedora, binaries=['/bin/bash']).changed
    assert len(calls) == 1, 'nothing changed on the host: the cache answers'
    change(fedora)
    assert not run(fedora, binaries=['/bin/bash']).changed
    assert [argv[2] for argv in calls] == [fedora['root'] + '/usr/bin/bash'] * 2, \
        'ld.so.cache changed: the loader must run again'
    assert not run(fedora, binaries=['/bin/bash']).changed
    assert len(calls) == 2, 'the new ld.so.cache signature is cached in turn'
