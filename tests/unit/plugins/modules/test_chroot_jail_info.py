# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail_info: each finding on a jail built by chroot_jail and tampered with, read-only."""

import errno
import fcntl
import hashlib
import json
import os
import signal
import stat
import struct

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import audit
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as host_reader
from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.modules import chroot_jail, chroot_jail_info
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import (
    safe_tmp_lstat,
    trust_tmp_source_dir,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to make device nodes and chown')

CLEAN = {'exists': True, 'drift': [], 'setuid': [], 'capabilities': [], 'writable': [], 'devices': [], 'unmanaged': [],
         'findings': [], 'changed': False}
NULL = {'path': '/dev/null', 'kind': 'char', 'major': 1, 'minor': 3}


@pytest.fixture
def lab(run_module, monkeypatch, tmp_path):
    """A jail made by chroot_jail from two host files under the test's temp dir, plus /dev/null."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    monkeypatch.setattr(host_reader, 'source_dir_check', trust_tmp_source_dir)
    src = tmp_path / 'src'
    src.mkdir()
    (src / 'app.conf').write_bytes(b'listen 80\n')
    (src / 'tool').write_bytes(b'\x7fELF not really\n')
    base = tmp_path / 'srv'
    base.mkdir()
    os.chmod(str(base), 0o755)

    class Lab:
        jail = base / 'jail'
        state_dir = tmp_path / 'state'
        conf = src / 'app.conf'
        tool = src / 'tool'
        state_file = None

        def info(self, check=False, **args):
            args = dict({'path': str(self.jail), 'state_dir': str(self.state_dir)}, **args)
            return run_module(chroot_jail_info, args, check=check)

        def expect(self, result, **changes):
            """``result`` is the clean one but for ``changes``; the state's file name is checked too."""
            want = dict(CLEAN, state={'file': self.state_file, 'health': 'ok', 'detail': ''})
            want.update(changes)
            assert result == want

        def at(self, path):
            return self.jail / str(path).lstrip('/')

    made = run_module(chroot_jail, {'path': str(Lab.jail), 'state_dir': str(Lab.state_dir),
                                    'files': [str(Lab.conf), str(Lab.tool)], 'devices': ['null']})
    assert made['changed'] and not made.get('failed'), made
    Lab.state_file = str(Lab.state_dir / os.listdir(str(Lab.state_dir))[0].replace('.lock', '.json'))
    return Lab()


def snapshot(*roots):
    """Every path below ``roots`` with its lstat identity and times: what a read-only run leaves alone."""
    seen = {}
    for root in roots:
        for top, dirs, files in os.walk(str(root)):
            for name in dirs + files + ['.']:
                st = os.lstat(os.path.join(top, name))
                seen[os.path.join(top, name)] = (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    return seen


def test_clean_jail_reports_nothing_and_writes_nothing(lab):
    before = snapshot(lab.jail, lab.state_dir)
    lab.expect(lab.info())
    lab.expect(lab.info(check=True))
    assert snapshot(lab.jail, lab.state_dir) == before


def test_tampered_copy(lab):
    lab.at(lab.conf).write_bytes(b'listen 81\n')
    lab.expect(lab.info(), drift=[{'path': str(lab.conf), 'reason': 'tampered', 'detail': 'content'}],
               findings=['drift'])


def test_tampered_copy_of_another_size(lab):
    lab.at(lab.conf).write_bytes(b'listen 8080\n')
    lab.expect(lab.info(), drift=[{'path': str(lab.conf), 'reason': 'tampered', 'detail': 'size'}],
               findings=['drift'])


def test_stale_host_source(lab):
    lab.tool.write_bytes(b'\x7fELF upgraded\n')
    lab.expect(lab.info(), drift=[{'path': str(lab.tool), 'reason': 'stale',
                                   'detail': f'{lab.tool} changed on the host'}], findings=['drift'])


def test_host_source_gone(lab):
    lab.tool.unlink()
    lab.expect(lab.info(), drift=[{'path': str(lab.tool), 'reason': 'stale',
                                   'detail': f'source {lab.tool} does not exist on the host'}], findings=['drift'])


def test_missing_copy(lab):
    lab.at(lab.conf).unlink()
    lab.expect(lab.info(), drift=[{'path': str(lab.conf), 'reason': 'missing', 'detail': 'not in the jail'}],
               findings=['drift'])


def test_copy_swapped_for_a_symlink_to_a_host_file_is_not_followed(lab):
    # same bytes as the record behind the link: following it would call the copy intact
    copy = lab.at(lab.conf)
    copy.unlink()
    copy.symlink_to(lab.conf)
    lab.expect(lab.info(), drift=[{'path': str(lab.conf), 'reason': 'tampered', 'detail': 'not a regular file'}],
               findings=['drift'])


def test_copy_swapped_for_a_fifo_is_never_opened(lab):
    copy = lab.at(lab.conf)
    copy.unlink()
    os.mkfifo(str(copy), 0o644)
    # a blocking open of the FIFO would hang the test here
    lab.expect(lab.info(), drift=[{'path': str(lab.conf), 'reason': 'tampered', 'detail': 'not a regular file'}],
               findings=['drift'])


def test_setuid_file(lab):
    os.chmod(str(lab.at(lab.tool)), 0o4755)
    lab.expect(lab.info(), setuid=[str(lab.tool)], findings=['setuid'])


def test_file_capability_is_reported_and_fails_on_request(lab):
    """uid 0 in the jail runs `setcap cap_setuid+ep` on a managed copy: no checksum sees it."""
    cap = struct.pack('<IIIII', 0x02000001, 1 << 7, 0, 0, 0)  # VFS_CAP_REVISION_2, effective, CAP_SETUID
    os.setxattr(str(lab.at(lab.tool)), 'security.capability', cap)
    os.setxattr(str(lab.jail / 'dev' / 'null'), 'trusted.note', b'x')  # not a regular file: not judged
    lab.expect(lab.info(), capabilities=[str(lab.tool)],
               drift=[{'path': str(lab.tool), 'reason': 'tampered', 'detail': 'extended attributes'}],
               findings=['drift', 'capabilities'])
    failed = lab.info(fail_on=['capabilities'])
    assert failed['failed'] and failed['msg'] == f'jail {lab.jail}: capabilities: {lab.tool}'


def test_writable_directory_and_jail_root(lab):
    (lab.jail / 'drop').mkdir()
    os.chmod(str(lab.jail / 'drop'), 0o777)
    os.chmod(str(lab.jail), 0o775)
    lab.expect(lab.info(), writable=['/', '/drop'], unmanaged=['/drop'], findings=['writable', 'unmanaged'])


def test_block_device_and_swapped_char_device(lab):
    os.mknod(str(lab.jail / 'dev' / 'sda'), stat.S_IFBLK | 0o600, os.makedev(8, 0))
    null = lab.jail / 'dev' / 'null'
    null.unlink()
    os.mknod(str(null), stat.S_IFCHR | 0o666, os.makedev(1, 1))  # /dev/mem under the name of null
    lab.expect(lab.info(),
               drift=[{'path': '/dev/null', 'reason': 'tampered', 'detail': 'device numbers'}],
               devices=[{'path': '/dev/null', 'kind': 'char', 'major': 1, 'minor': 1},
                        {'path': '/dev/sda', 'kind': 'block', 'major': 8, 'minor': 0}],
               unmanaged=['/dev/sda'], findings=['drift', 'devices', 'unmanaged'])


def test_unmanaged_files_with_names_that_are_not_utf8(lab):
    (lab.jail / 'note').write_bytes(b'x')
    with open(os.path.join(str(lab.jail).encode(), b'bad\xffname'), 'wb') as handle:
        handle.write(b'x')
    lab.expect(lab.info(), unmanaged=['/bad\\xffname', '/note'], findings=['unmanaged'])


def test_legacy_type_only_records_drift_only_when_missing_or_of_another_type(lab):
    data = json.loads(open(lab.state_file).read())
    data['managed'][str(lab.conf)] = {'type': 'file'}
    data['managed'][str(lab.tool)] = {'type': 'dir'}
    with open(lab.state_file, 'w') as handle:
        handle.write(json.dumps(data))
    lab.at(lab.conf).write_bytes(b'anything\n')
    lab.expect(lab.info(), drift=[{'path': str(lab.tool), 'reason': 'tampered', 'detail': 'not a directory'}],
               findings=['drift'])


def test_state_missing(lab):
    lab.state_dir = lab.state_dir.parent / 'elsewhere'
    result = lab.info()
    assert result['state'] == {
        'file': str(lab.state_dir / os.path.basename(lab.state_file)), 'health': 'missing',
        'detail': f'{lab.state_dir / os.path.basename(lab.state_file)} does not exist; drift and unmanaged files '
                  'were not judged'}
    # without the state, the null device the module made is one like any other
    assert (result['findings'], result['unmanaged'], result['drift'], result['devices']) == (
        ['devices', 'state'], [], [], [NULL])
    assert not lab.state_dir.exists()


def test_state_malformed(lab):
    with open(lab.state_file, 'w') as handle:
        handle.write('{"version": 2, "jail": "/elsewhere"}')
    result = lab.info()
    assert result['state']['health'] == 'malformed'
    assert result['state']['detail'] == (f"{lab.state_file}: records the jail '/elsewhere', not {lab.jail}; "
                                         'drift and unmanaged files were not judged')
    assert result['findings'] == ['devices', 'state']


def test_state_readable_by_others_is_unsafe(lab):
    os.chmod(lab.state_file, 0o644)
    result = lab.info()
    assert result['state']['health'] == 'unsafe'
    assert result['state']['detail'] == (f'{lab.state_file}: the state is not a regular file only root can read '
                                         'and write; refusing to trust it')


def test_state_of_an_interrupted_run(lab):
    data = json.loads(open(lab.state_file).read())
    data['pending'] = {'/etc/late.conf': {'type': 'file'}}
    with open(lab.state_file, 'w') as handle:
        handle.write(json.dumps(data))
    lab.expect(lab.info(), drift=[{'path': '/etc/late.conf', 'reason': 'missing', 'detail': 'not in the jail'}],
               state={'file': lab.state_file, 'health': 'incomplete',
                      'detail': 'a run was interrupted before it made 1 entries; the next chroot_jail run completes them'},
               findings=['drift', 'state'])


def test_state_locked_by_a_run_is_waited_for_briefly(lab, monkeypatch):
    monkeypatch.setattr(audit, 'LOCK_WAIT_SECONDS', 0.2)
    lab.at(lab.conf).unlink()
    (lab.jail / 'note').write_bytes(b'x')
    lock = os.open(lab.state_file.replace('.json', '.lock'), os.O_RDWR)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = lab.info()
    finally:
        os.close(lock)
    lock_file = lab.state_file.replace('.json', '.lock')
    lab.expect(result, state={'file': lab.state_file, 'health': 'locked',
                              'detail': f'{lock_file}: another run on the jail {lab.jail} still holds the lock '
                                        'after 0.2 s; drift and unmanaged files were not judged'},
               devices=[NULL], findings=['devices', 'state'])


def test_fail_on_fails_naming_the_findings_and_only_those_asked(lab):
    lab.at(lab.conf).unlink()
    os.chmod(str(lab.at(lab.tool)), 0o2755)
    (lab.jail / 'note').write_bytes(b'x')
    relaxed = lab.info(fail_on=['writable', 'devices', 'state'])
    assert not relaxed.get('failed') and relaxed['findings'] == ['drift', 'setuid', 'unmanaged']
    failed = lab.info(check=True, fail_on=['drift', 'setuid', 'state'])
    assert failed['failed'] and not failed['changed']
    assert failed['msg'] == (f'jail {lab.jail}: drift: {lab.conf} (missing: not in the jail); setuid: {lab.tool}')
    assert failed['unmanaged'] == ['/note']


def test_many_findings_are_counted_beyond_five(lab):
    for number in range(7):
        (lab.jail / f'n{number}').write_bytes(b'x')
    failed = lab.info(fail_on=['unmanaged'])
    assert failed['msg'] == f'jail {lab.jail}: unmanaged: /n0, /n1, /n2, /n3, /n4 and 2 more'


def test_missing_jail_reports_every_managed_path_missing(lab):
    managed = sorted(json.loads(open(lab.state_file).read())['managed'])
    assert {'/dev/null', str(lab.conf), str(lab.tool)} < set(managed)
    os.rename(str(lab.jail), str(lab.jail) + '.moved')
    lab.expect(lab.info(), exists=False, findings=['drift'],
               drift=[{'path': path, 'reason': 'missing', 'detail': 'not in the jail'} for path in managed])


@pytest.mark.parametrize('path, message', [
    ('relative/jail', "jail path 'relative/jail' is not an absolute path"),
    ('/', "refusing to use '/' as a jail"),
])
def test_bad_jail_path_fails(run_module, path, message):
    result = run_module(chroot_jail_info, {'path': path})
    assert result['failed'] and result['msg'] == message


def test_jail_that_is_a_symlink_fails(lab):
    link = lab.jail.parent / 'link'
    link.symlink_to(lab.jail)
    result = lab.info(path=str(link))
    assert result['failed'] and result['msg'] == f'jail path {link} is a symlink or not a directory'


def test_unknown_finding_kind_is_refused(lab):
    result = lab.info(fail_on=['everything'])
    assert result['failed'] and 'everything' in result['msg'] and 'fail_on' in result['msg']


def test_jail_copy_checksum_matches_the_host_one(lab):
    # the record the audit compares with is the host file's SHA-256, as chroot_jail wrote it
    record = json.loads(open(lab.state_file).read())['managed'][str(lab.conf)]
    assert record['sha256'] == hashlib.sha256(b'listen 80\n').hexdigest()
    assert json.loads(open(lab.state_file).read())['managed']['/dev/null'] == {
        'type': 'device', 'kind': 'char', 'rdev': os.makedev(1, 3)}


class Clock:
    """The wall and monotonic clocks, the monotonic one started at the epoch plus ``offset_ns``."""

    def __init__(self, now_ns, offset_ns):
        self.now_ns = now_ns
        self.offset_ns = offset_ns

    def time_ns(self):
        return self.now_ns

    def monotonic_ns(self):
        return self.now_ns - self.offset_ns


@pytest.mark.parametrize('started_s_before_copy, expected', [(-1, True), (1, False)])
def test_process_predates_the_newest_copy(lab, started_s_before_copy, expected):
    newest = max(record['ctime_ns'] for record in json.loads(open(lab.state_file).read())['managed'].values()
                 if 'ctime_ns' in record)
    clock = Clock(newest + 3600 * 10**9, 10**9 * 1000)  # an hour after the copy; boot 1000 s after the epoch
    started_us = (newest + started_s_before_copy * 10**9 - clock.offset_ns) // 1000
    properties = {'MainPID': '42', 'ExecMainStartTimestampMonotonic': str(started_us)}
    assert audit.process_predates_jail(properties, str(lab.jail), str(lab.state_dir), clock) is expected


@pytest.mark.parametrize('properties, state_dir', [
    ({'MainPID': '0', 'ExecMainStartTimestampMonotonic': '0'}, None),
    ({}, None),
    ({'MainPID': '42', 'ExecMainStartTimestampMonotonic': '5'}, 'elsewhere'),
])
def test_process_predates_unknown(lab, properties, state_dir):
    state_dir = str(lab.state_dir.parent / state_dir) if state_dir else str(lab.state_dir)
    assert audit.process_predates_jail(properties, str(lab.jail), state_dir) is None


@pytest.mark.skipif(not jailfs.O_PATH or not os.path.isdir(jailfs.PROC_FDS), reason='needs O_PATH and /proc')
@pytest.mark.parametrize('name', ['/fifo', '/dev/null'])
def test_a_fifo_or_device_node_is_never_opened_to_be_read(lab, monkeypatch, name):
    # what the audit and chroot_jail read in a jail; the jail may swap a node in after any lstat
    os.mkfifo(str(lab.jail / 'fifo'))
    opened = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        if not flags & jailfs.O_PATH:
            opened.append(path)
        return real_open(path, flags, *args, **kwargs)

    jail = jailfs.Jail(str(lab.jail))
    try:
        jail.dir_fd(os.path.dirname(name))
        with monkeypatch.context() as patch, pytest.raises(JailError) as exc:
            patch.setattr(os, 'open', spy)
            jail.open_read(name)
    finally:
        jail.close()
    assert str(exc.value) == f'{lab.jail}{name}: not a regular file; refusing to read it'
    assert opened == []


def test_link_swapped_while_it_is_read_is_tampered(lab, monkeypatch):
    data = json.loads(open(lab.state_file).read())
    data['managed']['/link'] = {'type': 'symlink', 'target': 'dev'}
    with open(lab.state_file, 'w') as handle:
        handle.write(json.dumps(data))
    (lab.jail / 'link').symlink_to('dev')

    def swapped(self, path):
        raise OSError(errno.EINVAL, 'Invalid argument')  # no longer a link

    monkeypatch.setattr(jailfs.Jail, 'readlink', swapped)
    lab.expect(lab.info(), drift=[{'path': '/link', 'reason': 'tampered',
                                   'detail': 'changed while it was read: Invalid argument'}], findings=['drift'])


def test_host_source_unreadable_is_stale(lab, monkeypatch):
    def unreadable(self, path, what, allow_user_writable=False):
        raise OSError(errno.EACCES, 'Permission denied')

    monkeypatch.setattr(host_reader.Host, 'open_source', unreadable)
    lab.expect(lab.info(), drift=[
        {'path': str(lab.conf), 'reason': 'stale', 'detail': f'{lab.conf}: cannot read it on the host: Permission denied'},
        {'path': str(lab.tool), 'reason': 'stale', 'detail': f'{lab.tool}: cannot read it on the host: Permission denied'}],
        findings=['drift'])


def test_a_walk_cut_short_is_said(lab, monkeypatch, module_warnings):
    monkeypatch.setattr(tree, 'AUDIT_MAX_ENTRIES', 2)
    result = lab.info()
    assert not result.get('failed')
    assert module_warnings == ['audit: stopped in /dev after 2 entries; the rest of the jail was not looked into']


def test_a_lease_on_a_jail_copy_never_holds_the_audit(lab):
    # uid 0 in the jail owns the copies, so it may put a write lease on one (no CAP_LEASE
    # needed); a blocking open then waits for the lease-break time (45 s) per file, lock held
    class Held(BaseException):
        pass

    def too_slow(*_args):
        raise Held('the audit waited on a lease held in the jail')

    holder = os.open(str(lab.at(lab.conf)), os.O_RDONLY)
    old_io = signal.signal(signal.SIGIO, signal.SIG_IGN)
    old_alarm = signal.signal(signal.SIGALRM, too_slow)
    try:
        fcntl.fcntl(holder, fcntl.F_SETLEASE, fcntl.F_WRLCK)
        signal.alarm(5)
        result = lab.info()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGIO, old_io)
        os.close(holder)
    lab.expect(result, drift=[{'path': str(lab.conf), 'reason': 'tampered', 'detail': 'content'}],
               findings=['drift'])
