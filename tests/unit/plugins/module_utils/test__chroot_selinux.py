# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""SELinux labels and the jail's equivalence rule, decided with a fake libselinux binding and a
fake semanage; the labels are real security.selinux extended attributes (root without an LSM
that claims them may set any value)."""

import errno
import json
import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import selinux as room
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge, remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import Jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import validate_state
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine as engine_tests
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import (
    fake_read_info,
    safe_tmp_lstat,
)

BIN = 'system_u:object_r:bin_t:s0'
LIB = 'system_u:object_r:lib_t:s0'
ETC = 'system_u:object_r:etc_t:s0'
ROOT = 'system_u:object_r:root_t:s0'
NULL = 'system_u:object_r:null_device_t:s0'
LINK = 'system_u:object_r:lib_link_t:s0'  # the fake policy gives symlinks under /usr/lib64 their own type


class FakeBinding:
    """libselinux as the module sees it, with a small policy of path prefixes."""

    POLICY = (('/usr/bin', BIN), ('/usr/lib64', LIB), ('/lib64', LIB), ('/etc', ETC), ('/dev', 'x'))

    def __init__(self, enabled=1):
        self.enabled = enabled
        self.asked = []
        self.hosts = ETC
        self.policy = [0, 'targeted']

    def is_selinux_enabled(self):
        return self.enabled

    def matchpathcon(self, path, mode):
        self.asked.append((path, stat.S_IFMT(mode)))
        if path == '/':
            return [0, ROOT]
        if path == '/dev/null' and stat.S_ISCHR(mode):
            return [0, NULL]
        if path == '/etc/hosts':
            return [0, self.hosts]
        if path.startswith('/usr/lib64/') and stat.S_ISLNK(mode):
            return [0, LINK]
        for prefix, context in self.POLICY:
            if path == prefix or path.startswith(prefix + '/'):
                return [0, context]
        raise OSError(errno.ENOENT, 'no context')  # what the bindings do for a path the policy does not name

    def selinux_getpolicytype(self):
        if isinstance(self.policy, OSError):
            raise self.policy  # pylint: disable=raising-bad-type
        return self.policy


class FakeSemanage:
    """`semanage fcontext -a|-d -e / JAIL` on the policy's local substitutions file."""

    def __init__(self, subs, rc=0, err=''):
        self.subs = subs
        self.calls = []
        self.rc = rc
        self.err = err

    def __call__(self, argv):
        self.calls.append(argv)
        if self.rc:
            return self.rc, '', self.err
        _cmd, _fcontext, action, _e, target, path = argv
        lines = read_subs(self.subs)
        lines = lines + [f'{path} {target}'] if action == '-a' else [line for line in lines if line != f'{path} {target}']
        write_subs(self.subs, lines)
        return 0, '', ''


def read_subs(subs):
    return open(subs).read().splitlines() if os.path.exists(subs) else []


def write_subs(subs, lines):
    with open(subs, 'w') as handle:
        handle.write(''.join(line + '\n' for line in lines))


@pytest.fixture
def fedora(tmp_path):
    """The engine tests' fake Fedora host."""
    return engine_tests.fedora.__wrapped__(tmp_path)


@pytest.fixture
def se(tmp_path, fedora):
    """A fake SELinux host (on the fake Fedora host, given a /dev/null): ``labels(jail)`` gives the JailLabels the engine is handed."""
    os.makedirs(fedora['root'] + '/dev')
    os.mknod(fedora['root'] + '/dev/null', stat.S_IFCHR | 0o666, os.makedev(1, 3))
    selinux_dir = tmp_path / 'selinux'
    (selinux_dir / 'targeted' / 'contexts' / 'files').mkdir(parents=True)
    semanage = tmp_path / 'semanage'
    semanage.write_text('')
    semanage.chmod(0o755)
    env = {'binding': FakeBinding(), 'subs': str(selinux_dir / 'targeted/contexts/files/file_contexts.subs'),
           'semanage': str(semanage), 'enforce': str(tmp_path / 'enforce')}
    env['runner'] = FakeSemanage(env['subs'])

    def labels(jail, semanage_paths=None):
        return room.JailLabels(jail, env['binding'], semanage_paths or (env['semanage'],), env['enforce'],
                               str(selinux_dir), env['runner'])
    env['labels'] = labels
    return env


def label(path):
    try:
        return os.getxattr(path, room.XATTR, follow_symlinks=False).rstrip(b'\0').decode()
    except OSError as exc:
        if exc.errno == errno.ENODATA:
            return None
        raise


def run(env, se, check_mode=False, labels=None, **kwargs):
    spec = JailSpec(env['jail'], **kwargs)
    return converge(spec, env['state_dir'], check_mode=check_mode, host=env['host'], runner=env['runner'],
                    read_info=fake_read_info, root_lstat=safe_tmp_lstat, labels=labels or se['labels'](env['jail']))


def state_of(env):
    names = [n for n in os.listdir(env['state_dir']) if n.endswith('.json')]
    return json.load(open(os.path.join(env['state_dir'], names[0])))


JAIL = {'binaries': ['/usr/bin/bash'], 'files': ['/etc/hosts'], 'devices': ['null']}


def test_every_written_entry_gets_its_host_originals_label(fedora, se):
    result = run(fedora, se, **JAIL)
    jail = fedora['jail']
    assert result.selinux == {'enabled': True, 'equivalence': 'added', 'relabelled': []}
    assert result.warnings == []
    assert {p: label(jail + p) for p in ('', '/usr/bin/bash', '/usr/lib64/libc.so.6', '/usr/lib64/libtinfo.so.6.4',
                                         '/usr/lib64/libtinfo.so.6', '/lib64', '/etc/hosts', '/dev/null', '/usr',
                                         '/usr/lib64')} == {
        '': ROOT, '/usr/bin/bash': BIN, '/usr/lib64/libc.so.6': LIB, '/usr/lib64/libtinfo.so.6.4': LIB,
        '/usr/lib64/libtinfo.so.6': LINK, '/lib64': LIB, '/etc/hosts': ETC, '/dev/null': NULL, '/usr': None,
        '/usr/lib64': LIB}
    # the policy is asked about the host path with the entry's file type, never the jail path
    assert ('/usr/lib64/libtinfo.so.6', stat.S_IFLNK) in se['binding'].asked
    assert ('/dev/null', stat.S_IFCHR) in se['binding'].asked
    assert not any(path.startswith(jail) for path, _mode in se['binding'].asked)
    # a symlink is labelled itself, never its target (on the host, or in the jail)
    assert label(fedora['root'] + '/usr/lib64/libtinfo.so.6.4') is None
    assert se['runner'].calls == [[se['semanage'], 'fcontext', '-a', '-e', '/', jail]]
    assert read_subs(se['subs']) == [f'{jail} /']
    assert state_of(fedora)['selinux_rule'] is True

    again = run(fedora, se, **JAIL)
    assert not again.changed and again.selinux == {'enabled': True, 'equivalence': 'present', 'relabelled': []}
    assert len(se['runner'].calls) == 1


def test_a_wrong_label_is_drift_relabelled_and_reported(fedora, se):
    run(fedora, se, **JAIL)
    jail = fedora['jail']
    os.setxattr(jail + '/usr/bin/bash', room.XATTR, b'system_u:object_r:var_t:s0\0')
    held = os.open(jail + '/usr/lib64/libtinfo.so.6', os.O_PATH | os.O_NOFOLLOW)
    os.setxattr(f'/proc/self/fd/{held}', room.XATTR, b'system_u:object_r:var_t:s0\0')
    os.close(held)
    os.removexattr(jail + '/dev/null', room.XATTR, follow_symlinks=False)

    check = run(fedora, se, check_mode=True, **JAIL)
    assert check.changed and check.selinux['relabelled'] == ['/dev/null', '/usr/bin/bash', '/usr/lib64/libtinfo.so.6']
    assert label(jail + '/usr/bin/bash') == 'system_u:object_r:var_t:s0' and label(jail + '/dev/null') is None

    fixed = run(fedora, se, **JAIL)
    assert fixed.changed and fixed.selinux['relabelled'] == ['/dev/null', '/usr/bin/bash', '/usr/lib64/libtinfo.so.6']
    assert fixed.added == fixed.updated == [] and 'relabelled: /usr/bin/bash' in fixed.diff()
    assert (label(jail + '/usr/bin/bash'), label(jail + '/usr/lib64/libtinfo.so.6'), label(jail + '/dev/null')) == (
        BIN, LINK, NULL)
    assert not run(fedora, se, **JAIL).changed


def test_an_entry_swapped_for_another_type_is_not_relabelled_as_the_plan_wanted(fedora, se, tmp_path):
    run(fedora, se, **JAIL)
    jail = fedora['jail']
    labels = se['labels'](jail)
    os.unlink(jail + '/usr/bin/bash')
    os.mkdir(jail + '/usr/bin/bash')
    fs = Jail(jail)
    try:
        assert labels.relabel(fs, {'/usr/bin/bash': {'type': 'file'}}, {}, False) == []
    finally:
        fs.close()
    assert label(jail + '/usr/bin/bash') is None


def relabel_after(monkeypatch, change):
    """Make ``change()`` (what uid 0 in the jail does) between the comparison and the relabel."""
    real = room.JailLabels.relabel

    def changed_then_relabel(self, *args):
        change()
        return real(self, *args)
    monkeypatch.setattr(room.JailLabels, 'relabel', changed_then_relabel)


def test_a_device_swapped_after_the_comparison_is_not_labelled(fedora, se, monkeypatch):
    run(fedora, se, **JAIL)
    null = fedora['jail'] + '/dev/null'

    def mem_for_null():  # /dev/mem, with the default label, where the comparison saw /dev/null
        os.unlink(null)
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 1))
    relabel_after(monkeypatch, mem_for_null)
    result = run(fedora, se, **JAIL)
    assert result.selinux['relabelled'] == [] and label(null) is None and result.warnings == []


class Inode:
    def __init__(self, st, shift):
        self.st_dev, self.st_ino = st.st_dev, st.st_ino + shift


@pytest.mark.parametrize('shift', [-1, 1])
def test_relabel_needs_the_inode_the_comparison_saw(fedora, se, shift):
    """The same file type, numbers and link count, but another inode than the one compared: left alone."""
    run(fedora, se, **JAIL)
    null = fedora['jail'] + '/dev/null'
    os.removexattr(null, room.XATTR)
    entries = {'/dev/null': {'type': 'device', 'kind': 'char', 'major': 1, 'minor': 3}}
    fs = Jail(fedora['jail'])
    try:
        labels = se['labels'](fedora['jail'])
        assert labels.relabel(fs, entries, {'/dev/null': Inode(os.lstat(null), shift)}, False) == []
        assert labels.relabel(fs, entries, {'/dev/null': Inode(os.lstat(null), 0)}, False) == ['/dev/null']
    finally:
        fs.close()
    assert label(null) == NULL


def test_a_hard_linked_file_is_not_relabelled_through_the_link(fedora, se, monkeypatch):
    run(fedora, se, **JAIL)
    bash = fedora['jail'] + '/usr/bin/bash'
    os.setxattr(bash, room.XATTR, b'system_u:object_r:var_t:s0\0')
    relabel_after(monkeypatch, lambda: os.link(bash, fedora['jail'] + '/bash.shared'))
    result = run(fedora, se, **JAIL)
    assert result.selinux['relabelled'] == [] and label(bash) == 'system_u:object_r:var_t:s0'
    assert result.warnings == [f'{fedora["jail"]}/usr/bin/bash has other hard links: its SELinux label is left as '
                               'it is (a label set through it would change every link)']
    # a shared inode that has its label is no news
    monkeypatch.undo()
    os.setxattr(bash, room.XATTR, BIN.encode() + b'\0')
    assert run(fedora, se, **JAIL).warnings == []


@pytest.mark.parametrize('minor', [1, 5])  # /dev/mem, /dev/zero: numbers below and above null's
def test_a_node_renamed_over_the_temporary_is_not_labelled(fedora, se, monkeypatch, minor):
    made = []

    def mknod_then_swapped(parent, tmp, entry):
        made.append(tmp)
        os.mknod(tmp, stat.S_IFCHR | 0o666, os.makedev(1, minor), dir_fd=parent)  # uid 0 in the jail was quicker
    monkeypatch.setattr(Jail, '_mknod', staticmethod(mknod_then_swapped))
    with pytest.raises(JailError) as exc:
        run(fedora, se, **JAIL)
    assert str(exc.value) == (f'{fedora["jail"]}/dev/null: the temporary {made[0]} was replaced while it was '
                              'written; it is not labelled')
    assert not os.path.exists(fedora['jail'] + '/dev/null') and os.listdir(fedora['jail'] + '/dev') == []


@pytest.mark.parametrize('swap', ['a target sorting after', 'a target sorting before', 'a second link'])
def test_a_symlink_renamed_over_the_temporary_is_not_labelled(fedora, se, monkeypatch, swap):
    made = []
    real = os.symlink

    def symlink_then_swapped(target, name, dir_fd=None):
        made.append(name)
        other = {'a target sorting after': target + '/../../../etc/shadow', 'a target sorting before': '/etc/shadow'}
        real(other.get(swap, target), name, dir_fd=dir_fd)
        if swap == 'a second link':
            os.link(name, name + '.kept', src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    monkeypatch.setattr(os, 'symlink', symlink_then_swapped)
    with pytest.raises(JailError) as exc:
        run(fedora, se, binaries=['/usr/bin/bash'])
    path = '/lib64' if made[0].startswith('.lib64') else '/usr/lib64/libtinfo.so.6'
    assert str(exc.value) == (f'{fedora["jail"]}{path}: the temporary {made[0]} was replaced while it was '
                              'written; it is not labelled')


@pytest.mark.parametrize('enabled', [0, -1])
def test_disabled_selinux_does_nothing(fedora, se, enabled):
    se['binding'].enabled = enabled
    result = run(fedora, se, **JAIL)
    assert result.selinux == {'enabled': False, 'equivalence': None, 'relabelled': []} and result.warnings == []
    assert label(fedora['jail'] + '/usr/bin/bash') is None and se['binding'].asked == []
    assert se['runner'].calls == [] and 'selinux_rule' not in state_of(fedora)


@pytest.mark.parametrize('enforcing_kernel, warnings', [
    (False, []),
    (True, ['SELinux is enabled but libselinux cannot be loaded: the jail keeps the default labels of its path, '
            'and a daemon run from it may be refused']),
])
def test_missing_bindings_do_nothing_and_say_so_once_where_selinux_runs(fedora, se, enforcing_kernel, warnings):
    if enforcing_kernel:
        open(se['enforce'], 'w').close()
    labels = room.JailLabels(fedora['jail'], None, (se['semanage'],), se['enforce'], '/nonexistent', se['runner'])
    result = run(fedora, se, labels=labels, **JAIL)
    assert result.selinux == {'enabled': False, 'equivalence': None, 'relabelled': []}
    assert result.warnings == warnings and se['runner'].calls == []
    assert label(fedora['jail'] + '/usr/bin/bash') is None


def test_missing_semanage_labels_the_jail_and_says_so_once(fedora, se, tmp_path):
    labels = se['labels'](fedora['jail'], semanage_paths=(str(tmp_path / 'nowhere'),))
    result = run(fedora, se, labels=labels, **JAIL)
    assert result.selinux == {'enabled': True, 'equivalence': None, 'relabelled': []}
    assert result.warnings == [
        'semanage (policycoreutils-python-utils) is not installed: the jail is labelled, but without the '
        f'equivalence {fedora["jail"]} = / a relabel (restorecon, autorelabel) would undo it']
    assert label(fedora['jail'] + '/usr/bin/bash') == BIN and se['runner'].calls == []
    assert 'selinux_rule' not in state_of(fedora)


def test_a_rule_already_there_is_used_and_never_removed(fedora, se):
    write_subs(se['subs'], ['/srv/other /', f'{fedora["jail"]} /'])
    result = run(fedora, se, **JAIL)
    assert result.selinux['equivalence'] == 'present' and se['runner'].calls == []
    assert 'selinux_rule' not in state_of(fedora)
    gone = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat,
                       labels=se['labels'](fedora['jail']))
    assert gone.selinux['equivalence'] is None and se['runner'].calls == []
    assert read_subs(se['subs']) == ['/srv/other /', f'{fedora["jail"]} /']


def test_absent_removes_only_the_rule_this_module_added(fedora, se):
    run(fedora, se, **JAIL)
    write_subs(se['subs'], read_subs(se['subs']) + ['/srv/other /'])
    check = remove_jail(fedora['jail'], fedora['state_dir'], check_mode=True, root_lstat=safe_tmp_lstat,
                        labels=se['labels'](fedora['jail']))
    assert check.changed and check.selinux['equivalence'] == 'removed' and len(se['runner'].calls) == 1
    gone = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat,
                       labels=se['labels'](fedora['jail']))
    assert gone.selinux == {'enabled': True, 'equivalence': 'removed', 'relabelled': []}
    assert se['runner'].calls[-1] == [se['semanage'], 'fcontext', '-d', '-e', '/', fedora['jail']]
    assert read_subs(se['subs']) == ['/srv/other /'] and not os.path.exists(fedora['jail'])


def test_check_mode_adds_no_rule_and_records_nothing(fedora, se):
    result = run(fedora, se, check_mode=True, **JAIL)
    assert result.selinux['equivalence'] == 'added' and result.changed
    assert se['runner'].calls == [] and not os.path.exists(fedora['jail'])


def existed(jail):
    return (f'the jail {jail} existed before chroot_jail made it: no SELinux file-context equivalence is added '
            '(restorecon would relabel what else lies there); files are labelled one by one, and a relabel '
            '(restorecon, autorelabel) would undo it')


def test_a_jail_directory_that_was_there_gets_no_equivalence(fedora, se):
    os.mkdir(fedora['jail'], 0o755)  # /usr, /var or /home/alice given as the jail by a careless playbook
    result = run(fedora, se, **JAIL)
    assert result.selinux['equivalence'] is None and result.warnings == [existed(fedora['jail'])]
    assert se['runner'].calls == [] and 'selinux_rule' not in state_of(fedora)
    assert label(fedora['jail'] + '/usr/bin/bash') == BIN and label(fedora['jail'] + '/dev/null') == NULL
    again = run(fedora, se, **JAIL)
    assert not again.changed and again.warnings == [existed(fedora['jail'])] and se['runner'].calls == []


@pytest.mark.parametrize('jail', ['/usr', '/var', '/home/alice'])
def test_no_equivalence_for_a_jail_root_the_module_did_not_make(se, jail):
    labels = se['labels'](jail)
    assert labels.rule_status(False) is None and labels.note == existed(jail)
    assert se['labels'](jail).rule_status(True) == 'missing'


@pytest.mark.parametrize('subs, jail_name, warning', [
    (['{jail} /srv/elsewhere'], 'jail', 'the SELinux file-context equivalence {jail} = /srv/elsewhere exists; it '
     'is left alone, so a relabel (restorecon, autorelabel) would undo the labels set on the jail'),
    ([], 'my jail', "the SELinux file-context equivalence cannot name '{jail}' (white space); a relabel "
     '(restorecon, autorelabel) would undo the labels set on the jail'),
])
def test_a_rule_that_cannot_be_added_is_one_note(fedora, se, subs, jail_name, warning):
    fedora['jail'] = os.path.join(os.path.dirname(fedora['jail']), jail_name)
    write_subs(se['subs'], [line.format(jail=fedora['jail']) for line in subs])
    result = run(fedora, se, **JAIL)
    assert result.selinux['equivalence'] is None and se['runner'].calls == []
    assert result.warnings == [warning.format(jail=fedora['jail'])]
    assert label(fedora['jail'] + '/usr/bin/bash') == BIN


@pytest.mark.parametrize('rc', [1, -9])  # -9: killed by a signal
def test_semanage_failure_fails_naming_the_command(fedora, se, rc):
    se['runner'].rc, se['runner'].err = rc, 'ValueError: SELinux policy is not managed\n'
    with pytest.raises(JailError) as exc:
        run(fedora, se, **JAIL)
    assert str(exc.value) == (f'{fedora["jail"]}: {se["semanage"]} fcontext -a -e / {fedora["jail"]} failed '
                              f'(exit {rc}): ValueError: SELinux policy is not managed')
    # the state never claims a rule semanage did not add: state=absent leaves whatever is there
    assert 'selinux_rule' not in state_of(fedora) and state_of(fedora)['managed']
    write_subs(se['subs'], [f'{fedora["jail"]} /'])  # the admin's rule, or semanage's before it failed
    gone = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat,
                       labels=se['labels'](fedora['jail']))
    assert gone.selinux['equivalence'] is None and len(se['runner'].calls) == 1
    assert read_subs(se['subs']) == [f'{fedora["jail"]} /']


@pytest.mark.parametrize('where, path', [
    ('/usr/lib64', '/usr/lib64'),                # a directory, labelled on its descriptor
    ('/usr/bin/bash', '/usr/bin/bash'),          # a file, on the temporary's descriptor
    ('/lib64', '/lib64'),                        # a symlink, held with O_PATH
])
def test_a_label_the_kernel_refuses_fails_naming_the_entry(fedora, se, monkeypatch, where, path):
    refused = 'x' * 70000  # more than an extended attribute can hold: E2BIG, as an invalid context gets EINVAL
    asked = se['binding'].matchpathcon
    monkeypatch.setattr(se['binding'], 'matchpathcon', lambda p, mode: [0, refused] if p == where else asked(p, mode))
    with pytest.raises(JailError) as exc:
        run(fedora, se, **JAIL)
    assert str(exc.value).startswith(f'{fedora["jail"]}{path}: cannot set the SELinux label xxx')
    assert str(exc.value).endswith('Argument list too long')
    assert not [name for name in os.listdir(os.path.dirname(fedora['jail'] + path)) if '.sjtmp' in name]


def test_a_file_system_without_labels_is_one_note_not_a_failure(fedora, se, monkeypatch):
    calls = []

    def no_labels(*args):
        calls.append(args[0])
        raise OSError(errno.ENOTSUP, 'Operation not supported')
    monkeypatch.setattr(room.os, 'setxattr', no_labels)
    result = run(fedora, se, **JAIL)
    assert len(calls) == 1 and result.selinux['relabelled'] == []
    assert result.warnings == [f'the file system of {fedora["jail"]} takes no SELinux labels; the jail keeps '
                               'those its mount gives (a context= mount option)']
    assert os.path.exists(fedora['jail'] + '/usr/bin/bash')


@pytest.mark.parametrize('hosts', ['<<none>>', ''])
def test_a_path_the_policy_does_not_name_keeps_its_label(fedora, se, hosts):
    se['binding'].hosts = hosts
    kwargs = {'binaries': ['/usr/bin/bash'], 'files': ['/opt/vendor/lib/libvendor.so.1', '/etc/hosts']}
    result = run(fedora, se, **kwargs)
    assert result.selinux['relabelled'] == [] and label(fedora['jail'] + '/opt/vendor/lib/libvendor.so.1') is None
    assert label(fedora['jail'] + '/etc/hosts') is None
    # a label someone else gave such a path is left alone, run after run
    os.setxattr(fedora['jail'] + '/opt/vendor/lib/libvendor.so.1', room.XATTR, b'system_u:object_r:var_t:s0\0')
    assert not run(fedora, se, **kwargs).changed
    assert label(fedora['jail'] + '/opt/vendor/lib/libvendor.so.1') == 'system_u:object_r:var_t:s0'


@pytest.mark.parametrize('lines, status', [
    (['/a/other /', '/zzz/other /'], 'missing'),      # other jails' rules, sorting before and after ours
    (['{jail}', '{jail} / extra'], 'missing'),        # malformed lines name no rule
    (['/a/other /', '{jail} /'], 'present'),
    (['{jail} /srv/elsewhere'], None),
])
def test_rule_status_reads_the_policys_substitutions(fedora, se, lines, status):
    write_subs(se['subs'], [line.format(jail=fedora['jail']) for line in lines])
    assert se['labels'](fedora['jail']).rule_status(True) == status


@pytest.mark.parametrize('policy, error', [
    ([0, '../targeted'], "the SELinux policy type '../targeted' names no directory of {selinux}"),
    ([0, ''], "the SELinux policy type '' names no directory of {selinux}"),
    (OSError(errno.ENOENT, 'No such file or directory'), 'the SELinux policy type cannot be read (No such file or directory)'),
    ([0, 'targeted'], '{selinux}/targeted/contexts/files/file_contexts.subs cannot be read (Is a directory)'),
])
def test_a_rule_that_cannot_be_read_is_unknown_never_missing(fedora, se, policy, error, tmp_path):
    # what '../targeted' would reach from selinux_dir holds the rule: it must not be read
    (tmp_path / 'targeted' / 'contexts' / 'files').mkdir(parents=True)
    write_subs(str(tmp_path / 'targeted' / 'contexts' / 'files' / 'file_contexts.subs'), [f'{fedora["jail"]} /'])
    os.mkdir(se['subs'])  # unreadable where the policy type is sound
    se['binding'].policy = policy
    error = error.format(selinux=tmp_path / 'selinux')
    with pytest.raises(JailError) as exc:
        se['labels'](fedora['jail']).rule()
    assert str(exc.value) == error
    result = run(fedora, se, **JAIL)
    assert result.selinux['equivalence'] is None and se['runner'].calls == [] and 'selinux_rule' not in state_of(fedora)
    assert result.warnings == [f'{error}: whether the SELinux file-context equivalence {fedora["jail"]} = / exists '
                               'is unknown, so none is added; a relabel (restorecon, autorelabel) would undo the '
                               'labels set on the jail']
    assert label(fedora['jail'] + '/usr/bin/bash') == BIN


def test_absent_with_an_unreadable_rule_says_how_to_remove_it(fedora, se):
    run(fedora, se, **JAIL)
    os.unlink(se['subs'])
    os.mkdir(se['subs'])
    gone = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat,
                       labels=se['labels'](fedora['jail']))
    assert gone.selinux['equivalence'] is None and len(se['runner'].calls) == 1
    assert gone.warnings == [f'{se["subs"]} cannot be read (Is a directory): the SELinux file-context equivalence '
                             f'{fedora["jail"]} = / this module added may stay; remove it with semanage fcontext -d '
                             f'-e / {fedora["jail"]}']


def test_a_subs_file_refused_for_another_cause_than_missing_is_unknown(fedora, se, monkeypatch):
    def refused(*args):
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))
    monkeypatch.setattr(room, 'open', refused, raising=False)
    with pytest.raises(JailError) as exc:
        se['labels'](fedora['jail']).rule()
    assert str(exc.value) == f'{se["subs"]} cannot be read (Operation not permitted)'


@pytest.mark.parametrize('lines', [[], ['{jail} /x']])
def test_absent_leaves_a_rule_that_is_gone_or_changed(fedora, se, lines):
    run(fedora, se, **JAIL)
    write_subs(se['subs'], [line.format(jail=fedora['jail']) for line in lines])
    gone = remove_jail(fedora['jail'], fedora['state_dir'], root_lstat=safe_tmp_lstat,
                       labels=se['labels'](fedora['jail']))
    assert gone.selinux['equivalence'] is None and len(se['runner'].calls) == 1


@pytest.mark.parametrize('swap', ['file for a directory', 'directory for a file', 'missing', 'parent is a link'])
def test_relabel_leaves_what_is_not_the_planned_entry(fedora, se, swap):
    run(fedora, se, **JAIL)
    jail = fedora['jail']
    entries = {'/usr/bin/bash': {'type': 'file'}, '/usr/lib64': {'type': 'dir'}}
    if swap == 'file for a directory':
        os.unlink(jail + '/usr/bin/bash')
        os.mkdir(jail + '/usr/bin/bash')
    elif swap == 'directory for a file':
        for name in os.listdir(jail + '/usr/lib64'):
            os.unlink(jail + '/usr/lib64/' + name)
        os.rmdir(jail + '/usr/lib64')
        open(jail + '/usr/lib64', 'w').close()
    elif swap == 'missing':
        os.unlink(jail + '/usr/bin/bash')
    else:
        os.rename(jail + '/usr/bin', jail + '/usr/bin.moved')
        os.symlink('bin.moved', jail + '/usr/bin')
    if swap != 'directory for a file':  # a drifted entry after the swapped one is still relabelled
        os.setxattr(jail + '/usr/lib64', room.XATTR, b'system_u:object_r:var_t:s0\0')
    fs = Jail(jail)
    labels = se['labels'](jail)
    try:
        assert labels.relabel(fs, entries, {}, False) == ([] if swap == 'directory for a file' else ['/usr/lib64'])
    finally:
        fs.close()
    assert labels.note is None and label(jail + '/usr/lib64') == (None if swap == 'directory for a file' else LIB)
    if swap == 'file for a directory':
        assert label(jail + '/usr/bin/bash') is None
    elif swap == 'directory for a file':
        assert label(jail + '/usr/lib64') is None


@pytest.mark.parametrize('code', [errno.EIO, errno.EDQUOT])
@pytest.mark.parametrize('call', ['getxattr', 'setxattr'])
def test_a_relabel_the_kernel_refuses_fails_naming_the_entry(fedora, se, monkeypatch, code, call):
    run(fedora, se, **JAIL)
    os.setxattr(fedora['jail'] + '/usr/bin/bash', room.XATTR, b'system_u:object_r:var_t:s0\0')

    def refused(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    monkeypatch.setattr(room.os, call, refused)
    with pytest.raises(JailError) as exc:
        run(fedora, se, **JAIL)
    # getxattr fails on the first entry looked at (the jail root), setxattr on the one to relabel
    path, context = ('/', ROOT) if call == 'getxattr' else ('/usr/bin/bash', BIN)
    assert str(exc.value) == f'{fedora["jail"]}{path}: cannot set the SELinux label {context}: {os.strerror(code)}'


@pytest.mark.parametrize('value', [False, 1, 'yes', None])
def test_state_selinux_rule_must_be_true_when_present(value):
    data = {'version': 2, 'jail': '/srv/j', 'managed': {}, 'selinux_rule': value}
    with pytest.raises(JailError) as exc:
        validate_state(data, '/state.json', '/srv/j')
    assert str(exc.value) == "/state.json: 'selinux_rule' is not true"
