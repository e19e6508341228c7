# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The chroot engine end to end on a fake host: jail root checks, plan, converge, jailfs, state."""

import collections
import copy
import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.compare import compare
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge, remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import LoaderDeps
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec, check_jail_root
from ansible_collections.serversec.confine.plugins.module_utils._elf import ExecInfo, read_exec_info_fd

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ldd')
TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# --------------------------------------------------------------------------
# the jail path

def test_jail_root_checks(tmp_path):
    lstat = safe_tmp_lstat
    open_dir = tmp_path / 'ww'
    open_dir.mkdir()
    os.chmod(str(open_dir), 0o777)
    with pytest.raises(JailError) as exc:
        check_jail_root(str(open_dir / 'jail'), lstat)
    assert str(exc.value) == 'jail path component %s is group- or world-writable (mode 0777)' % open_dir
    (tmp_path / 'real').mkdir()
    os.symlink('real', str(tmp_path / 'link'))
    with pytest.raises(JailError) as exc:
        check_jail_root(str(tmp_path / 'link' / 'jail'), lstat)
    assert 'is a symlink' in str(exc.value)
    assert check_jail_root(str(tmp_path / 'real' / 'a' / 'b'), lstat) == [
        str(tmp_path / 'real' / 'a'), str(tmp_path / 'real' / 'a' / 'b')]


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown')
def test_jail_root_not_owned_by_root(tmp_path):
    owned = tmp_path / 'user'
    owned.mkdir()
    os.chown(str(owned), 1000, 1000)
    with pytest.raises(JailError) as exc:
        check_jail_root(str(owned / 'jail'), safe_tmp_lstat)
    assert str(exc.value) == 'jail path component %s is not owned by root (uid 1000)' % owned


# --------------------------------------------------------------------------
# a fake Fedora host (/usr/lib64, /lib64 -> usr/lib64) to plan and populate from

def safe_tmp_lstat(path):
    """lstat, but the system temp dir (sticky, world-writable) passes as a jail ancestor."""
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


Pw = collections.namedtuple('Pw', 'pw_name pw_uid pw_gid pw_gecos pw_dir pw_shell')
Gr = collections.namedtuple('Gr', 'gr_name gr_gid gr_mem')
USERS = {'root': Pw('root', 0, 0, 'root', '/root', '/bin/bash'),
         'svc': Pw('svc', 990, 990, 'service', '/nonexistent', '/usr/sbin/nologin')}
GROUPS = {'root': Gr('root', 0, []), 'svc': Gr('svc', 990, ['svc']), 'adm': Gr('adm', 4, ['svc', 'other'])}

LOADER_OUTPUT = {
    'bash': fixture('fedora40_bash.txt'),
    'ssh': fixture('fedora40_ssh.txt').splitlines()[0] + '\n\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n'
    '\tlibz.so.1 => /lib64/libz.so.1 (0x2)\n\t/lib64/ld-linux-x86-64.so.2 (0x3)\n',
    'libnss_dns.so.2': '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',
    'libnss_files.so.2': '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',
    'libresolv.so.2': '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',
    'libc.so.6': '\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',
    'vendor-tool': '\tlibvendor.so.1 => /opt/vendor/lib/libvendor.so.1 (0x1)\n'
    '\tlibc.so.6 => /lib64/libc.so.6 (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n',
}
INTERP = '/lib64/ld-linux-x86-64.so.2'


class FakeRunner:
    def __init__(self, host_root):
        self.host_root = host_root
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        assert argv[0] == self.host_root + '/usr/lib64/ld-linux-x86-64.so.2'
        assert argv[1] == '--list'
        return 0, LOADER_OUTPUT[os.path.basename(argv[2])], ''


def fake_read_info(fd):
    head = os.pread(fd, 64, 0)
    if head.startswith(b'FAKEELF'):
        words = head.split()
        interp = words[2].decode() if len(words) > 2 and words[2] != b'-' else None
        return ExecInfo('elf', interp=interp, dynamic=words[1] == b'dynamic', machine='x86_64', elf_class=64)
    return read_exec_info_fd(fd)


def write(root, path, content, mode=0o644):
    full = root + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(content)
    os.chmod(full, mode)


def link(root, path, target):
    full = root + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    os.symlink(target, full)


@pytest.fixture
def fedora(tmp_path):
    root = str(tmp_path / 'host')
    os.mkdir(root)
    for top in ('bin', 'sbin', 'lib64'):
        link(root, '/' + top, 'usr/' + ('lib64' if top == 'lib64' else 'bin' if top == 'bin' else 'sbin'))
    write(root, '/usr/bin/bash', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 bash', 0o755)
    write(root, '/usr/bin/ssh', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 ssh', 0o755)
    write(root, '/usr/bin/su', b'FAKEELF static - su', 0o4755)
    write(root, '/usr/bin/busybox', b'FAKEELF static - busybox', 0o755)
    write(root, '/usr/bin/evil', b'FAKEELF dynamic /tmp/evil-ld.so evil', 0o755)
    write(root, '/usr/local/bin/tool.sh', b'#!/bin/bash\necho hi\n', 0o755)
    write(root, '/usr/lib64/ld-linux-x86-64.so.2', b'FAKEELF static - ld.so', 0o755)
    write(root, '/usr/lib64/libc.so.6', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc', 0o755)
    write(root, '/usr/lib64/libtinfo.so.6.4', b'FAKEELF dynamic - tinfo', 0o755)
    link(root, '/usr/lib64/libtinfo.so.6', 'libtinfo.so.6.4')
    write(root, '/usr/lib64/libz.so.1.3', b'FAKEELF dynamic - libz', 0o755)
    link(root, '/usr/lib64/libz.so.1', 'libz.so.1.3')
    for lib in ('libnss_dns.so.2', 'libnss_files.so.2', 'libresolv.so.2'):
        write(root, '/usr/lib64/' + lib, b'FAKEELF dynamic - ' + lib.encode(), 0o755)
    write(root, '/usr/bin/vendor-tool', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 vendor', 0o755)
    write(root, '/opt/vendor/lib/libvendor.so.1', b'FAKEELF dynamic - vendor', 0o755)
    write(root, '/etc/ld.so.cache', b'glibc-ld.so.cache1.1 fake')
    write(root, '/etc/nsswitch.conf', b'hosts: files dns\n')
    write(root, '/etc/hosts', b'127.0.0.1 localhost\n192.0.2.7 jailtest.example\n')
    write(root, '/etc/resolv.conf', b'nameserver 192.0.2.53\n')
    write(root, '/usr/share/zoneinfo/Europe/Berlin', b'TZif2 fake')
    link(root, '/etc/localtime', '../usr/share/zoneinfo/Europe/Berlin')
    write(root, '/etc/lighttpd/lighttpd.conf', b'server.port = 80\n')
    write(root, '/etc/lighttpd/conf.d/mime.conf', b'mimetype.assign = ()\n')
    link(root, '/etc/lighttpd/conf.d/current', 'mime.conf')
    jail_base = tmp_path / 'srv'
    jail_base.mkdir()
    os.chmod(str(jail_base), 0o755)
    return {
        'root': root,
        'jail': str(jail_base / 'jail'),
        'state_dir': str(tmp_path / 'state'),
        'host': Host(root, lookup_user=USERS.__getitem__, lookup_group=GROUPS.__getitem__,
                     lookup_uid=lambda uid: {p.pw_uid: p for p in USERS.values()}[uid],
                     lookup_gid=lambda gid: {g.gr_gid: g for g in GROUPS.values()}[gid]),
        'runner': FakeRunner(root),
    }


def run(env, check_mode=False, **kwargs):
    spec = JailSpec(env['jail'], **kwargs)
    return converge(spec, env['state_dir'], check_mode=check_mode, host=env['host'], runner=env['runner'],
                    read_info=fake_read_info, root_lstat=safe_tmp_lstat)


def plan(env, **kwargs):
    spec = JailSpec(env['jail'], **kwargs)
    deps = LoaderDeps(env['host'], runner=env['runner'])
    return Planner(spec, host=env['host'], deps=deps, read_info=fake_read_info).run()


def snapshot(top):
    result = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            st = os.lstat(full)
            content = open(full, 'rb').read() if stat.S_ISREG(st.st_mode) else os.readlink(full) \
                if stat.S_ISLNK(st.st_mode) else None
            result[full] = (st.st_mode, st.st_uid, st.st_mtime_ns, content)
    return result


# --------------------------------------------------------------------------
# planning

def test_plan_recreates_fedora_symlink_chains(fedora):
    entries = plan(fedora, binaries=['/bin/bash']).entries
    assert entries['/bin'] == {'type': 'symlink', 'target': 'usr/bin'}
    assert entries['/lib64'] == {'type': 'symlink', 'target': 'usr/lib64'}
    assert entries['/usr/lib64/libtinfo.so.6'] == {'type': 'symlink', 'target': 'libtinfo.so.6.4'}
    assert entries['/usr/lib64/libtinfo.so.6.4']['type'] == 'file'
    assert entries['/usr/bin/bash']['source'] == '/usr/bin/bash'
    assert entries['/usr/lib64/ld-linux-x86-64.so.2']['mode'] == 0o755
    assert entries['/usr']['type'] == 'dir' and entries['/usr']['uid'] == 0
    files = sorted(p for p, e in entries.items() if e['type'] == 'file')
    assert files == ['/usr/bin/bash', '/usr/lib64/ld-linux-x86-64.so.2', '/usr/lib64/libc.so.6',
                     '/usr/lib64/libtinfo.so.6.4']


def test_plan_copies_ld_so_cache_only_for_libraries_outside_default_dirs(fedora):
    assert '/etc/ld.so.cache' not in plan(fedora, binaries=['/bin/bash']).entries
    entries = plan(fedora, binaries=['/usr/bin/vendor-tool']).entries
    assert entries['/opt/vendor/lib/libvendor.so.1']['type'] == 'file'
    assert entries['/etc/ld.so.cache']['source'] == '/etc/ld.so.cache'


def test_plan_script_brings_its_interpreter(fedora):
    entries = plan(fedora, binaries=['/usr/local/bin/tool.sh']).entries
    assert entries['/usr/local/bin/tool.sh']['type'] == 'file'
    assert '/usr/bin/bash' in entries and '/usr/lib64/libc.so.6' in entries


def test_plan_static_binary_runs_no_loader(fedora):
    entries = plan(fedora, binaries=['/usr/bin/busybox']).entries
    assert fedora['runner'].calls == []
    assert sorted(p for p, e in entries.items() if e['type'] == 'file') == ['/usr/bin/busybox']


def test_plan_refuses_untrusted_interpreter(fedora):
    with pytest.raises(JailError) as exc:
        plan(fedora, binaries=['/usr/bin/evil'])
    assert str(exc.value).startswith('/usr/bin/evil: its ELF interpreter /tmp/evil-ld.so is not a trusted system loader')
    assert fedora['runner'].calls == []


def test_plan_setuid_stripped_with_warning(fedora):
    result = plan(fedora, binaries=['/usr/bin/su'])
    assert result.entries['/usr/bin/su']['mode'] == 0o755
    assert result.warnings == [
        '/usr/bin/su: setuid/setgid bits stripped in the jail copy (set allow_setuid to keep them)']
    kept = plan(fedora, binaries=['/usr/bin/su'], allow_setuid=True)
    assert kept.entries['/usr/bin/su']['mode'] == 0o4755 and kept.warnings == []


def test_plan_dns_profile_and_files(fedora):
    entries = plan(fedora, profiles=['dns', 'timezone'], files=['/etc/lighttpd']).entries
    for path in ('/usr/lib64/libnss_dns.so.2', '/usr/lib64/libresolv.so.2', '/usr/lib64/libnss_files.so.2',
                 '/usr/lib64/libc.so.6', '/etc/hosts', '/etc/resolv.conf', '/etc/nsswitch.conf',
                 '/usr/share/zoneinfo/Europe/Berlin', '/etc/lighttpd/conf.d/mime.conf'):
        assert entries[path]['type'] == 'file', path
    assert entries['/etc/localtime'] == {'type': 'symlink', 'target': '../usr/share/zoneinfo/Europe/Berlin'}
    assert entries['/etc/lighttpd/conf.d/current'] == {'type': 'symlink', 'target': 'mime.conf'}
    assert entries['/etc/lighttpd']['uid'] == 0 and not entries['/etc/lighttpd']['mode'] & 0o022


def test_plan_accounts_without_hashes(fedora):
    entries = plan(fedora, users=['svc'], groups=['adm']).entries
    assert entries['/etc/passwd']['content'] == (
        'root:x:0:0:root:/root:/bin/bash\nsvc:x:990:990:service:/nonexistent:/usr/sbin/nologin\n')
    assert entries['/etc/group']['content'] == 'root:x:0:\nadm:x:4:svc\nsvc:x:990:svc\n'


@pytest.mark.parametrize('kwargs, message', [
    ({'binaries': ['/usr/bin/nope']}, 'binary /usr/bin/nope does not exist on the host'),
    ({'binaries': ['/bin/nope']}, 'binary /bin/nope does not exist on the host (/usr/bin/nope is missing)'),
    ({'files': ['/etc/missing.conf']}, 'file /etc/missing.conf does not exist on the host'),
    ({'users': ['ghost']}, "user 'ghost' does not exist on the host"),
    ({'directories': [{'path': '/var/log/x', 'owner': 'ghost'}]},
     "directory /var/log/x: user 'ghost' does not exist on the host"),
    ({'binaries': ['/bin/bash'], 'directories': [{'path': '/lib64/extra'}]},
     '/lib64 must be a directory inside the jail, but it is planned as a symlink'),
    ({'files': ['/etc/hosts'], 'directories': [{'path': '/etc/hosts/a/b'}]},
     '/etc/hosts must be a directory inside the jail, but it is planned as a file'),
    ({'binaries': ['/bin/bash'], 'directories': [{'path': '/usr/lib64', 'owner': 'svc'}]},
     "directory /usr/lib64 would be writable by others than root, but the jail's own files live in it "
     '(/usr/lib64/ld-linux-x86-64.so.2, /usr/lib64/libc.so.6, /usr/lib64/libtinfo.so.6, ...); '
     'give the service a directory of its own'),
    ({'binaries': ['/bin/bash'], 'directories': [{'path': '/usr', 'mode': '1777'}]},
     "directory /usr would be writable by others than root, but the jail's own files live in it "
     '(/usr/bin, /usr/bin/bash, /usr/lib64, ...); give the service a directory of its own'),
])
def test_plan_errors(fedora, kwargs, message):
    with pytest.raises(JailError) as exc:
        plan(fedora, **kwargs)
    assert str(exc.value) == message


def test_every_planned_entry_has_its_parents_planned_as_directories(fedora):
    """The climb that adds parents stops at the first planned one: the invariant it relies on."""
    entries = plan(fedora, binaries=['/bin/bash'], files=['/etc/hosts', '/etc/lighttpd', '/etc/localtime'],
                   directories=[{'path': '/var/lib/app/data/cache'}], users=['svc']).entries
    assert '/var/lib/app/data' in entries and '/etc/lighttpd/conf.d' in entries
    for path in entries:
        parent = path
        while parent != '/':
            parent = parent.rpartition('/')[0] or '/'
            assert entries[parent]['type'] == 'dir', (path, parent)


# --------------------------------------------------------------------------
# populating, manifest, drift, prune

def test_compare_reports_facts_and_leaves_the_plan_alone(fedora):
    run(fedora, binaries=['/bin/bash'])
    entries = plan(fedora, binaries=['/bin/bash']).entries
    before = copy.deepcopy(entries)
    jail = Jail(fedora['jail'], fedora['host'])
    try:
        found = {path: compare(jail, path, entry, None) for path, entry in entries.items()}
    finally:
        jail.close()
    assert entries == before
    content = b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc'
    st = os.lstat(fedora['jail'] + '/usr/lib64/libc.so.6')
    host_st = os.lstat(fedora['root'] + '/usr/lib64/libc.so.6')
    assert found['/usr/lib64/libc.so.6'] == ('ok', None, {
        'size': len(content), 'mtime_ns': host_st.st_mtime_ns, 'source_ctime_ns': host_st.st_ctime_ns,
        'ctime_ns': st.st_ctime_ns, 'ino': st.st_ino, 'sha256': hashlib.sha256(content).hexdigest()})
    assert found['/lib64'] == ('ok', None, {})
    os.chmod(fedora['jail'] + '/usr/lib64/libc.so.6', 0o700)
    jail = Jail(fedora['jail'], fedora['host'])
    try:
        assert compare(jail, '/usr/lib64/libc.so.6', entries['/usr/lib64/libc.so.6'], None) == ('update', 'owner/mode', {})
    finally:
        jail.close()


def test_converge_idempotent_with_manifest(fedora):
    first = run(fedora, binaries=['/bin/bash'], users=['svc'],
                directories=[{'path': '/var/log/app', 'owner': 'svc', 'group': 'svc', 'mode': '0750'}])
    assert first.changed
    assert '/usr/lib64/libc.so.6' in first.added and '/bin' in first.added
    jail = fedora['jail']
    with open(jail + '/usr/lib64/libc.so.6', 'rb') as handle:
        assert handle.read() == b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc'
    assert os.readlink(jail + '/lib64') == 'usr/lib64'
    st = os.stat(jail + '/var/log/app')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (990, 990, 0o750)
    assert os.stat(jail + '/usr/lib64/libc.so.6').st_mtime_ns == os.stat(fedora['root'] + '/usr/lib64/libc.so.6').st_mtime_ns
    digest = hashlib.sha256(jail.encode()).hexdigest()[:24]
    names = sorted(os.listdir(fedora['state_dir']))
    assert [name.split('.')[-2:] for name in names] == [[digest, 'json'], [digest, 'lock']]
    state_file = os.path.join(fedora['state_dir'], names[0])
    state_st = os.lstat(state_file)
    assert stat.S_IMODE(state_st.st_mode) == 0o600 and state_st.st_uid == 0
    assert stat.S_IMODE(os.lstat(fedora['state_dir']).st_mode) == 0o700
    assert not os.path.exists(jail + '/.serversec-jail.json')
    with open(state_file) as handle:
        manifest = json.load(handle)
    assert manifest['managed']['/usr/lib64/libc.so.6']['sha256'] == hashlib.sha256(
        b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc').hexdigest()
    assert first.audit['writable'] == ['/var/log/app']
    assert first.files == 6  # bash, libtinfo, libc, ld.so, passwd, group

    calls = len(fedora['runner'].calls)
    before = snapshot(jail)
    second = run(fedora, binaries=['/bin/bash'], users=['svc'],
                 directories=[{'path': '/var/log/app', 'owner': 'svc', 'group': 'svc', 'mode': '0750'}])
    assert (second.changed, second.added, second.updated, second.removed) == (False, [], [], [])
    assert len(fedora['runner'].calls) == calls, 'unchanged host: the loader must not run again'
    assert snapshot(jail) == before


def test_host_library_upgrade_is_refreshed(fedora):
    run(fedora, binaries=['/bin/bash'])
    write(fedora['root'], '/usr/lib64/libc.so.6', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 libc-2.40', 0o755)
    result = run(fedora, binaries=['/bin/bash'])
    assert (result.changed, result.added, result.updated) == (True, [], ['/usr/lib64/libc.so.6'])
    with open(fedora['jail'] + '/usr/lib64/libc.so.6', 'rb') as handle:
        assert handle.read().endswith(b'libc-2.40')
    assert not run(fedora, binaries=['/bin/bash']).changed


def test_same_size_change_detected_by_content_and_touch_is_not_a_change(fedora):
    run(fedora, binaries=['/bin/bash'])
    host_lib = fedora['root'] + '/usr/lib64/libtinfo.so.6.4'
    os.utime(host_lib, ns=(1, 1))
    assert not run(fedora, binaries=['/bin/bash']).changed
    write(fedora['root'], '/usr/lib64/libtinfo.so.6.4', b'FAKEELF dynamic - TINFO', 0o755)
    assert run(fedora, binaries=['/bin/bash']).updated == ['/usr/lib64/libtinfo.so.6.4']


def test_tampered_jail_copy_is_repaired(fedora):
    run(fedora, binaries=['/bin/bash'])
    with open(fedora['jail'] + '/usr/bin/bash', 'ab') as handle:
        handle.write(b'trojan')
    os.chmod(fedora['jail'] + '/usr/lib64/libc.so.6', 0o777)
    result = run(fedora, binaries=['/bin/bash'])
    assert result.updated == ['/usr/bin/bash', '/usr/lib64/libc.so.6']
    assert stat.S_IMODE(os.stat(fedora['jail'] + '/usr/lib64/libc.so.6').st_mode) == 0o755


def test_same_size_tampering_with_mtime_restored_is_caught(fedora):
    run(fedora, binaries=['/bin/bash'])
    copy = fedora['jail'] + '/usr/lib64/libc.so.6'
    st = os.stat(copy)
    with open(copy, 'r+b') as handle:
        handle.write(b'EVILELF')
    os.utime(copy, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(copy).st_size == st.st_size and os.stat(copy).st_mtime_ns == st.st_mtime_ns
    result = run(fedora, binaries=['/bin/bash'])
    assert result.updated == ['/usr/lib64/libc.so.6']
    with open(copy, 'rb') as handle:
        assert handle.read().startswith(b'FAKEELF')
    assert not run(fedora, binaries=['/bin/bash']).changed


def test_prune_removes_only_what_we_created(fedora):
    run(fedora, binaries=['/bin/bash', '/usr/bin/ssh'])
    write(fedora['jail'], '/usr/lib64/foreign.so', b'mine')
    kept = run(fedora, binaries=['/bin/bash'], prune=False)
    assert not kept.changed and os.path.exists(fedora['jail'] + '/usr/lib64/libz.so.1.3')
    result = run(fedora, binaries=['/bin/bash'])
    assert sorted(result.removed) == ['/usr/bin/ssh', '/usr/lib64/libz.so.1', '/usr/lib64/libz.so.1.3']
    assert os.path.exists(fedora['jail'] + '/usr/lib64/foreign.so')
    assert os.path.exists(fedora['jail'] + '/usr/lib64/libc.so.6')
    assert not run(fedora, binaries=['/bin/bash']).changed


def test_check_mode_writes_nothing(fedora):
    result = run(fedora, check_mode=True, binaries=['/bin/bash'])
    assert result.changed and '/usr/bin/bash' in result.added
    assert not os.path.exists(fedora['jail'])
    run(fedora, binaries=['/bin/bash', '/usr/bin/ssh'])
    before = snapshot(fedora['jail'])
    write(fedora['root'], '/usr/lib64/libc.so.6', b'FAKEELF dynamic /lib64/ld-linux-x86-64.so.2 new', 0o755)
    result = run(fedora, check_mode=True, binaries=['/bin/bash'])
    assert result.updated == ['/usr/lib64/libc.so.6']
    assert sorted(result.removed) == ['/usr/bin/ssh', '/usr/lib64/libz.so.1', '/usr/lib64/libz.so.1.3']
    assert snapshot(fedora['jail']) == before


def test_bad_input_changes_nothing(fedora):
    run(fedora, binaries=['/bin/bash'])
    before = snapshot(fedora['jail'])
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=['/bin/bash', '/usr/bin/missing'])
    assert str(exc.value) == 'binary /usr/bin/missing does not exist on the host'
    assert snapshot(fedora['jail']) == before


def test_never_writes_through_a_symlink_out_of_the_jail(fedora, tmp_path):
    run(fedora, binaries=['/bin/bash'])
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'libc.so.6').write_bytes(b'outside')
    shutil.rmtree(fedora['jail'] + '/usr/lib64')
    os.symlink(str(outside), fedora['jail'] + '/usr/lib64')
    # low level: walking the jail never follows the planted link
    jail = Jail(fedora['jail'])
    with pytest.raises(JailError) as exc:
        jail.dir_fd('/usr/lib64')
    jail.close()
    assert str(exc.value) == fedora['jail'] + (
        '/usr/lib64: is a symlink or not a directory inside the jail; refusing to write through it')
    # converge replaces the link itself with a real directory and writes there
    result = run(fedora, binaries=['/bin/bash'])
    assert '/usr/lib64' in result.updated
    assert not os.path.islink(fedora['jail'] + '/usr/lib64')
    assert sorted(os.listdir(str(outside))) == ['libc.so.6']
    assert (outside / 'libc.so.6').read_bytes() == b'outside'


def test_jail_root_symlink_is_refused(fedora, tmp_path):
    run(fedora, binaries=['/bin/bash'])
    os.symlink(fedora['jail'], str(tmp_path / 'srv' / 'alias'))
    spec = JailSpec(str(tmp_path / 'srv' / 'alias'), binaries=['/bin/bash'])
    with pytest.raises(JailError) as exc:
        converge(spec, fedora['state_dir'], host=fedora['host'], runner=fedora['runner'], read_info=fake_read_info,
                 root_lstat=safe_tmp_lstat)
    assert str(exc.value) == 'jail path component %s is a symlink; use the real path' % (tmp_path / 'srv' / 'alias')


def test_jail_under_world_writable_dir_is_refused(fedora, tmp_path):
    base = tmp_path / 'open'
    base.mkdir()
    os.chmod(str(base), 0o1777)
    spec = JailSpec(str(base / 'jail'), binaries=['/bin/bash'])
    with pytest.raises(JailError) as exc:
        converge(spec, fedora['state_dir'], host=fedora['host'], runner=fedora['runner'], read_info=fake_read_info,
                 root_lstat=safe_tmp_lstat)
    assert str(exc.value) == 'jail path component %s is group- or world-writable (mode 1777)' % base
    assert not os.path.exists(str(base / 'jail'))


@pytest.mark.skipif(os.geteuid() != 0, reason='mknod needs root')
def test_devices_use_host_numbers(fedora):
    os.makedirs(fedora['root'] + '/dev')
    os.mknod(fedora['root'] + '/dev/null', stat.S_IFCHR | 0o666, os.makedev(1, 3))
    result = run(fedora, devices=['null'])
    st = os.lstat(fedora['jail'] + '/dev/null')
    assert stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
    assert result.audit['devices'] == ['/dev/null']
    assert not run(fedora, devices=['null']).changed


def test_state_absent_removes_only_ours(fedora):
    run(fedora, binaries=['/bin/bash'])
    write(fedora['jail'], '/home/keep.txt', b'user data')
    removed = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat)
    assert removed.changed and '/usr/lib64/libc.so.6' in removed.removed and '/' not in removed.removed
    assert sorted(os.listdir(fedora['jail'])) == ['home']
    os.remove(fedora['jail'] + '/home/keep.txt')
    os.rmdir(fedora['jail'] + '/home')
    # the module made the jail root: once what blocked it is gone, absent removes it too
    again = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat)
    assert (again.changed, again.removed) == (True, ['/'])
    assert not os.path.exists(fedora['jail']) and os.listdir(fedora['state_dir']) == []
    assert not remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat).changed


# --------------------------------------------------------------------------
# the real host (read only) into a temporary jail

@pytest.mark.skipif(not os.path.exists('/lib64/ld-linux-x86-64.so.2'), reason='x86_64 glibc host only')
def test_real_host_bash_jail_runs(tmp_path):
    base = tmp_path / 'srv'
    base.mkdir()
    os.chmod(str(base), 0o755)
    jail = str(base / 'jail')
    spec = JailSpec(jail, binaries=['/bin/bash', '/usr/bin/id'], users=['nobody'])
    result = converge(spec, str(tmp_path / 'state'), root_lstat=safe_tmp_lstat)
    assert result.changed and result.files > 4
    assert not converge(spec, str(tmp_path / 'state'), root_lstat=safe_tmp_lstat).changed
    chroot = shutil.which('chroot')
    if os.geteuid() != 0 or chroot is None:
        pytest.skip('running the jail needs root and chroot(8)')
    out = subprocess.run([chroot, '--userspec=65534:65534', jail, '/bin/bash', '-c', 'id -un; echo $BASH_VERSION'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    assert out.stdout.decode().splitlines()[0] == 'nobody'
