# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Sources are read race-free (issue 9 §1): walked through held directories, refused when a
non-root user could swap them, copied from the checked descriptor, holes kept.

A fake host tree under tmp_path (root-owned 0755 directories: tests run as root) holds a
user's directory /srv/data/u (uid 1001) and a root-only secret /root/reports/x (0600).
"""

import hashlib
import os
import stat
import tempfile

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _fileio
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec
from ansible_collections.serversec.confine.plugins.module_utils._elf import ExecInfo

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')

USER = 1001
SECRET = b'TOP SECRET root-only\n'
REPORT = b'public report\n'
MIB = 1 << 20
TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}
SWAP_HINT = '(a non-root user could swap what it holds); set allow_user_writable_sources to accept it'


def safe_tmp_lstat(path):
    """lstat, but the system temp dir (sticky, world-writable) passes as a jail ancestor."""
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


def fake_read_info(fd):
    """'FAKEELF static|dynamic INTERP' files stand for ELF programs."""
    words = os.pread(fd, 64, 0).split()
    interp = words[2].decode() if len(words) > 2 and words[2] != b'-' else None
    return ExecInfo('elf', interp=interp, dynamic=words[1] == b'dynamic', machine='x86_64', elf_class=64)


def write(root, path, content, mode=0o644, uid=0):
    full = root + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(content)
    os.chown(full, uid, uid)
    os.chmod(full, mode)


class Env:
    def __init__(self, tmp_path):
        self.root = str(tmp_path / 'host')
        os.mkdir(self.root)
        os.chmod(self.root, 0o755)
        write(self.root, '/etc/app.conf', b'conf\n')
        write(self.root, '/srv/data/u/reports/x', REPORT, uid=USER)
        os.chown(self.root + '/srv/data/u', USER, USER)
        os.chown(self.root + '/srv/data/u/reports', USER, USER)
        write(self.root, '/root/reports/x', SECRET, 0o600)
        os.chmod(self.root + '/root', 0o700)
        write(self.root, '/usr/lib64/ld-linux-x86-64.so.2', b'FAKEELF static - ld.so', 0o755)
        os.symlink('usr/lib64', self.root + '/lib64')
        write(self.root, '/usr/bin/tool', b'FAKEELF static - tool', 0o755)
        write(self.root, '/usr/bin/vendor-tool', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 vendor', 0o755)
        write(self.root, '/opt/vendor/lib/libvendor.so.1', b'FAKEELF dynamic - vendor', 0o755)
        base = tmp_path / 'srv'
        base.mkdir()
        os.chmod(str(base), 0o755)
        self.jail = str(base / 'jail')
        self.state_dir = str(tmp_path / 'state')
        self.host = Host(self.root)

    def runner(self, argv):
        assert argv == [self.root + '/usr/lib64/ld-linux-x86-64.so.2', '--list', self.root + '/usr/bin/vendor-tool']
        return 0, ('\tlibvendor.so.1 => /opt/vendor/lib/libvendor.so.1 (0x1)\n'
                   '\t/lib64/ld-linux-x86-64.so.2 (0x2)\n'), ''

    def run(self, **kwargs):
        spec = JailSpec(self.jail, **kwargs)
        return converge(spec, self.state_dir, host=self.host, runner=self.runner, read_info=fake_read_info, root_lstat=safe_tmp_lstat)

    def jail_files(self):
        """jail path -> content of every regular file in the jail (temporary files included)."""
        found = {}
        for dirpath, _dirnames, filenames in os.walk(self.jail):
            for name in filenames:
                full = os.path.join(dirpath, name)
                if stat.S_ISREG(os.lstat(full).st_mode):
                    with open(full, 'rb') as handle:
                        found['/' + os.path.relpath(full, self.jail)] = handle.read()
        return found


@pytest.fixture
def env(tmp_path):
    return Env(tmp_path)


def after_plan(monkeypatch, action):
    """Run ``action`` between the plan and the copy, as a racing local user would."""
    plan_run = Planner.run

    def run_then_act(self):
        plan = plan_run(self)
        action()
        return plan

    monkeypatch.setattr(Planner, 'run', run_then_act)


def swap_reports_for_root_link(env):
    """What the user owning /srv/data/u can do: put a symlink to a root-only directory in its place."""
    user_dir = env.root + '/srv/data/u'
    os.rename(user_dir + '/reports', user_dir + '/reports.old')
    os.symlink('../../../root/reports', user_dir + '/reports')


# --------------------------------------------------------------------------
# the swap race of issue 9 §1, made deterministic

@pytest.mark.parametrize('allow', [False, True])
def test_swapped_directory_never_discloses_a_root_only_file(env, monkeypatch, allow):
    after_plan(monkeypatch, lambda: swap_reports_for_root_link(env))
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/data/u/reports/x'], allow_user_writable_sources=allow)
    if allow:
        # accepted knowingly: the copy opens the source again and meets the user's link
        assert str(exc.value) == (
            f'source /srv/data/u/reports/x: /srv/data/u/reports is a symbolic link and /srv/data/u is owned by '
            f'uid {USER}; a link a non-root user controls is never followed, even with allow_user_writable_sources')
    else:
        assert str(exc.value) == f'file /srv/data/u/reports/x: /srv/data/u is owned by uid {USER} {SWAP_HINT}'
    assert not any(SECRET in content for content in env.jail_files().values())
    assert not [p for p in env.jail_files() if '.sjtmp' in p]


def test_accepted_user_source_is_copied_with_the_descriptors_owner_and_mode(env):
    result = env.run(files=['/srv/data/u/reports/x'], allow_user_writable_sources=True)
    assert '/srv/data/u/reports/x' in result.added
    st = os.lstat(env.jail + '/srv/data/u/reports/x')
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (USER, 0o644)
    assert env.jail_files()['/srv/data/u/reports/x'] == REPORT
    assert not env.run(files=['/srv/data/u/reports/x'], allow_user_writable_sources=True).changed


# --------------------------------------------------------------------------
# sources a non-root user could swap are refused, naming the directory

def _group_writable(env):
    write(env.root, '/opt/shared/app.conf', b'x')
    os.chmod(env.root + '/opt/shared', 0o775)


def _sticky_world_writable(env):
    write(env.root, '/var/tmp/app.conf', b'x')
    os.chmod(env.root + '/var/tmp', 0o1777)


def _link_into_user_dir(env):
    os.symlink('../srv/data/u/reports/x', env.root + '/etc/report.conf')


def _link_in_user_dir(env):
    os.symlink('/etc/app.conf', env.root + '/srv/data/u/app.conf')


def _user_subdir_in_tree(env):
    write(env.root, '/srv/tree/a.conf', b'a')
    write(env.root, '/srv/tree/sub/b.conf', b'b')
    os.chown(env.root + '/srv/tree/sub', USER, USER)


def _user_binary_dir(env):
    write(env.root, '/usr/local/bin/tool', b'FAKEELF static - tool', 0o755)
    os.chown(env.root + '/usr/local/bin', USER, USER)


def _user_library_dir(env):
    os.chown(env.root + '/opt/vendor', USER, USER)


def _user_profile_file(env):
    write(env.root, '/srv/data/u/zone', b'TZif2 fake', uid=USER)
    os.symlink('../srv/data/u/zone', env.root + '/etc/localtime')


def test_link_in_a_user_directory_is_never_followed(env):
    """Accepting the user's files knowingly never lets the user point the module elsewhere."""
    _link_in_user_dir(env)
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/data/u/app.conf'])
    assert str(exc.value) == f'file /srv/data/u/app.conf: /srv/data/u is owned by uid {USER} {SWAP_HINT}'
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/data/u/app.conf'], allow_user_writable_sources=True)
    assert str(exc.value) == (
        f'file /srv/data/u/app.conf: /srv/data/u/app.conf is a symbolic link and /srv/data/u is owned by '
        f'uid {USER}; a link a non-root user controls is never followed, even with allow_user_writable_sources')
    assert not os.path.exists(env.jail)


@pytest.mark.parametrize('setup, kwargs, message', [
    (None, {'files': ['/srv/data/u/reports/x']},
     f'file /srv/data/u/reports/x: /srv/data/u is owned by uid {USER}'),
    (_group_writable, {'files': ['/opt/shared/app.conf']},
     'file /opt/shared/app.conf: /opt/shared is group- or world-writable (mode 0775)'),
    (_sticky_world_writable, {'files': ['/var/tmp/app.conf']},
     'file /var/tmp/app.conf: /var/tmp is group- or world-writable (mode 1777)'),
    (_link_into_user_dir, {'files': ['/etc/report.conf']},
     f'file /etc/report.conf: /srv/data/u is owned by uid {USER}'),
    (None, {'files': ['/srv/data']}, f'file /srv/data: /srv/data/u is owned by uid {USER}'),
    (_user_subdir_in_tree, {'files': ['/srv/tree']}, f'file /srv/tree: /srv/tree/sub is owned by uid {USER}'),
    (_user_binary_dir, {'binaries': ['/usr/local/bin/tool']},
     f'binary /usr/local/bin/tool: /usr/local/bin is owned by uid {USER}'),
    (_user_library_dir, {'binaries': ['/usr/bin/vendor-tool']},
     f'binary /usr/bin/vendor-tool (library): /opt/vendor/lib/libvendor.so.1: /opt/vendor is owned by uid {USER}'),
    (_user_profile_file, {'profiles': ['timezone']}, f'profile timezone: /etc/localtime: /srv/data/u is owned by uid {USER}'),
])
def test_user_writable_source_is_refused_and_accepted_on_request(env, setup, kwargs, message):
    if setup:
        setup(env)
    with pytest.raises(JailError) as exc:
        env.run(**kwargs)
    assert str(exc.value) == f'{message} {SWAP_HINT}'
    assert not os.path.exists(env.jail)
    assert env.run(allow_user_writable_sources=True, **kwargs).changed


def test_default_run_refuses_at_the_user_directory_before_looking_inside(env, monkeypatch):
    # the race the jail_attacks scenario hit: lstat saw a link, readlink met the directory
    # put back in its place. By default nothing in /srv/data/u is even looked at.
    swap_reports_for_root_link(env)
    real_readlink = os.readlink

    def link_becomes_directory(path, *args, **kwargs):
        if path == 'reports':
            os.unlink(env.root + '/srv/data/u/reports')
            os.rename(env.root + '/srv/data/u/reports.old', env.root + '/srv/data/u/reports')
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, 'readlink', link_becomes_directory)
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/data/u/reports'])
    assert str(exc.value) == f'file /srv/data/u/reports: /srv/data/u is owned by uid {USER} {SWAP_HINT}'
    assert os.path.islink(env.root + '/srv/data/u/reports')
    assert not os.path.exists(env.jail)


def test_link_in_a_tree_that_becomes_a_file_while_read_fails_cleanly(env, monkeypatch):
    write(env.root, '/srv/tree/a.conf', b'a')
    os.symlink('a.conf', env.root + '/srv/tree/b.conf')
    real_readlink = os.readlink

    def link_becomes_file(path, *args, **kwargs):
        if path == 'b.conf':
            os.unlink(env.root + '/srv/tree/b.conf')
            write(env.root, '/srv/tree/b.conf', b'b')
        return real_readlink(path, *args, **kwargs)

    monkeypatch.setattr(os, 'readlink', link_becomes_file)
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/tree'])
    assert str(exc.value) == 'file /srv/tree: /srv/tree/b.conf: replaced while it was read; run again'
    assert not os.path.exists(env.jail)


def test_host_file_rewritten_with_its_size_and_mtime_kept_is_copied_again(env):
    # `cp -p` or `touch -r` keep the mtime; the host file's ctime still says it changed
    env.run(files=['/etc/app.conf'])
    source = env.root + '/etc/app.conf'
    before = os.stat(source)
    with open(source, 'wb') as handle:
        handle.write(b'CONF\n')
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(source).st_size == before.st_size
    assert env.run(files=['/etc/app.conf']).changed
    assert env.jail_files()['/etc/app.conf'] == b'CONF\n'
    assert not env.run(files=['/etc/app.conf']).changed


def test_trusted_loader_must_be_root_only_whatever_the_play_accepts(env):
    os.chown(env.root + '/usr/lib64', USER, USER)
    with pytest.raises(JailError) as exc:
        env.run(binaries=['/usr/bin/vendor-tool'], allow_user_writable_sources=True)
    assert str(exc.value) == (
        f'/usr/bin/vendor-tool: loader /usr/lib64/ld-linux-x86-64.so.2 is run as root, but /usr/lib64 is owned by uid {USER}')
    assert not os.path.exists(env.jail)


# --------------------------------------------------------------------------
# a source that changed between plan and copy fails the run, leaving nothing behind

def _replace(env):
    path = env.root + '/etc/app.conf'
    with open(path + '.new', 'wb') as handle:
        handle.write(b'other\n')
    os.rename(path + '.new', path)


def _rewrite_in_place(env):
    with open(env.root + '/etc/app.conf', 'ab') as handle:
        handle.write(b'appended\n')


def test_source_replaced_between_plan_and_copy_fails_without_a_temp_file(env, monkeypatch):
    planned = os.stat(env.root + '/etc/app.conf')
    after_plan(monkeypatch, lambda: _replace(env))
    with pytest.raises(JailError) as exc:
        env.run(files=['/etc/app.conf'], binaries=['/usr/bin/tool'])
    now = os.stat(env.root + '/etc/app.conf')
    assert str(exc.value) == (
        f'/etc/app.conf changed on the host between plan and copy (device/inode {planned.st_dev}:{planned.st_ino} '
        f'became {now.st_dev}:{now.st_ino}); nothing was copied')
    assert sorted(os.listdir(env.jail + '/etc')) == []


def test_source_changed_in_place_between_plan_and_copy_fails(env, monkeypatch):
    after_plan(monkeypatch, lambda: _rewrite_in_place(env))
    with pytest.raises(JailError) as exc:
        env.run(files=['/etc/app.conf'])
    assert str(exc.value) == (
        '/etc/app.conf changed on the host between plan and copy (owner, mode or content); nothing was copied')
    assert sorted(os.listdir(env.jail + '/etc')) == []


def test_source_changed_while_copied_fails_without_a_temp_file(env, monkeypatch):
    from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
    copy_fd = jailfs.copy_fd

    def copy_then_chmod(src_fd, dst_fd, size):
        result = copy_fd(src_fd, dst_fd, size)
        os.chmod(env.root + '/etc/app.conf', 0o600)
        return result

    monkeypatch.setattr(jailfs, 'copy_fd', copy_then_chmod)
    with pytest.raises(JailError) as exc:
        env.run(files=['/etc/app.conf'])
    assert str(exc.value) == '/etc/app.conf changed on the host while it was copied; nothing was copied'
    assert sorted(os.listdir(env.jail + '/etc')) == []


# --------------------------------------------------------------------------
# sparse files stay sparse

def _sparse(path, size, data):
    with open(path, 'wb') as handle:
        handle.truncate(size)
        for offset, chunk in data:
            handle.seek(offset)
            handle.write(chunk)


def _sha256_with_holes(size, data):
    content = bytearray(size)
    for offset, chunk in data:
        content[offset:offset + len(chunk)] = chunk
    return hashlib.sha256(content).hexdigest()


@pytest.mark.parametrize('size, data', [
    (128 * MIB, []),
    (128 * MIB, [(0, b'head'), (100 * MIB, b'middle'), (128 * MIB - 4, b'tail')]),
])
def test_sparse_file_stays_sparse(env, size, data):
    os.makedirs(env.root + '/srv/img')
    _sparse(env.root + '/srv/img/disk.img', size, data)
    result = env.run(files=['/srv/img/disk.img'])
    copy = env.jail + '/srv/img/disk.img'
    st = os.stat(copy)
    assert st.st_size == size
    assert st.st_blocks * 512 <= 64 * 1024, f'{st.st_blocks} blocks allocated'
    with open(copy, 'rb') as handle:
        for offset, chunk in data:
            handle.seek(offset)
            assert handle.read(len(chunk)) == chunk
    assert result.size == size
    jail_sum = hashlib.sha256()
    with open(copy, 'rb') as handle:
        for block in iter(lambda: handle.read(MIB), b''):
            jail_sum.update(block)
    assert jail_sum.hexdigest() == _sha256_with_holes(size, data)
    assert not env.run(files=['/srv/img/disk.img']).changed


@pytest.mark.parametrize('has_seek_data', [True, False])
def test_copy_fd_copies_exactly_with_or_without_hole_support(tmp_path, monkeypatch, has_seek_data):
    if not has_seek_data:
        monkeypatch.delattr(os, 'SEEK_DATA', raising=False)
    data = [(3, b'abc'), (2 * MIB + 5, b'xyz' * 1000)]
    size = 4 * MIB
    _sparse(str(tmp_path / 'src'), size, data)
    src = os.open(str(tmp_path / 'src'), os.O_RDONLY)
    dst = os.open(str(tmp_path / 'dst'), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        assert _fileio.copy_fd(src, dst, size) == (_sha256_with_holes(size, data), size)
    finally:
        os.close(src)
        os.close(dst)
    assert (tmp_path / 'dst').read_bytes() == (tmp_path / 'src').read_bytes()


def test_final_component_swapped_for_a_link_after_the_walk_fails_cleanly(env, monkeypatch):
    """The race the jail_attacks scenario met: the walk saw a file, the next look a symlink."""
    user_dir = env.root + '/srv/data/u/reports'
    real_stat = os.stat
    looks = []

    def stat_after_swap(path, *args, **kwargs):
        if path == 'x' and kwargs.get('dir_fd') is not None:
            looks.append(path)
            if len(looks) == 2:  # the walk looked once; the swap lands before the second look
                os.rename(user_dir + '/x', user_dir + '/x.old')
                os.symlink('/root/reports/x', user_dir + '/x')
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, 'stat', stat_after_swap)
    with pytest.raises(JailError) as exc:
        env.run(files=['/srv/data/u/reports/x'], allow_user_writable_sources=True)
    monkeypatch.undo()
    assert str(exc.value) == 'file /srv/data/u/reports/x: /srv/data/u/reports/x was replaced while it was opened; run again'
    assert not any(SECRET in content for content in env.jail_files().values())
