# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""host_files: several files in one run, each entry checked before the first write, and never a
write through a directory or link a non-root user controls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import tempfile

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _host_files
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as chroot_host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import user_writable
from ansible_collections.serversec.confine.plugins.modules import host_files

# The sticky, world-writable system temp dir holds the tests' scratch directories: trusted here
# only, every directory below it is judged as on a host.
TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), tempfile.gettempdir()}


def trust_tmp(path, st):
    return None if path in TMP_DIRS else user_writable(path, st)


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setattr(_host_files, 'directory_check', trust_tmp)
    monkeypatch.setattr(chroot_host, 'source_dir_check', trust_tmp)
    monkeypatch.setattr(_host_files, 'JAIL_STATE_DIR', str(tmp_path / 'no-state'))
    for directory in [tmp_path, *tmp_path.parents]:
        if str(directory) in TMP_DIRS:
            break
        os.chmod(directory, stat.S_IMODE(os.stat(directory).st_mode) & ~0o022)
    return tmp_path


@pytest.fixture
def run(run_module):
    def run_files(files, check=False, diff=False, **args):
        return run_module(host_files, dict(args, files=files), check=check, diff=diff)
    return run_files


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_files_and_missing_directories_are_made_then_a_rerun_changes_nothing(root, run):
    page, conf = root / 'srv/www/index.html', root / 'etc/app.conf'
    (root / 'etc').mkdir(mode=0o755)
    files = [{'path': str(page), 'content': '<h1>hi</h1>\n'},
             {'path': str(conf), 'content': 'port 80\n', 'mode': '0640'}]
    result = run(files)
    assert result['changed'] is True
    assert result['created_directories'] == [str(root / 'srv'), str(root / 'srv/www')]
    assert page.read_text() == '<h1>hi</h1>\n' and mode_of(page) == 0o644
    assert conf.read_text() == 'port 80\n' and mode_of(conf) == 0o640
    assert mode_of(root / 'srv') == 0o755 and mode_of(root / 'srv/www') == 0o755
    again = run(files)
    assert again['changed'] is False
    assert again['created_directories'] == []
    assert [f['changed'] for f in again['files']] == [False, False]


def test_check_mode_reports_and_writes_nothing(root, run):
    page = root / 'srv/www/site/index.html'
    result = run([{'path': str(page), 'content': 'x\n'}], check=True, diff=True)
    assert result['changed'] is True
    assert result['created_directories'] == [str(root / 'srv'), str(root / 'srv/www'), str(root / 'srv/www/site')]
    assert result['files'] == [{'path': str(page), 'created': True, 'content_changed': True,
                                'attributes_changed': True, 'changed': True}]
    assert result['diff'] == [{'before_header': str(page), 'after_header': str(page), 'before': '', 'after': 'x\n'}]
    assert not (root / 'srv').exists()


def test_in_check_mode_an_owner_an_earlier_task_would_create_is_a_warning(root, run, module_warnings):
    # as when a play's user task, in check mode, did not create the service user
    log, conf = root / 'app.log', root / 'app.conf'
    conf.write_text('x\n')
    os.chmod(conf, 0o644)
    files = [{'path': str(log), 'owner': 'no-such-user', 'group': 'no-such-group', 'mode': '0640'},
             {'path': str(conf), 'content': 'x\n', 'owner': 'no-such-user'}]
    result = run(files, check=True, diff=True)
    assert result['changed'] is True
    assert module_warnings == [
        "files[0].owner: 'no-such-user' does not exist on this host (yet); in check mode its file is reported as changing",
        "files[0].group: 'no-such-group' does not exist on this host (yet); in check mode its file is reported as changing",
        "files[1].owner: 'no-such-user' does not exist on this host (yet); in check mode its file is reported as changing",
    ]
    assert [f['changed'] for f in result['files']] == [True, True]
    assert result['diff'][-1]['after'] == 'no-such-user:0 0644\n'
    assert not log.exists() and os.stat(conf).st_uid == 0
    # Outside check mode it is refused before the first write.
    assert run(files)['msg'] == "files[0].owner: 'no-such-user' does not exist on this host"


def test_diff_shows_content_and_attributes(root, run):
    conf = root / 'app.conf'
    conf.write_text('old\n')
    os.chown(conf, 4242, 0)
    os.chmod(conf, 0o600)
    result = run([{'path': str(conf), 'content': 'new\n', 'group': '4343'}], diff=True)
    assert result['diff'] == [
        {'before_header': str(conf), 'after_header': str(conf), 'before': 'old\n', 'after': 'new\n'},
        {'before_header': f'{conf} (owner, group, mode)', 'after_header': f'{conf} (owner, group, mode)',
         'before': '4242:0 0600\n', 'after': '0:4343 0644\n'},
    ]
    assert conf.read_text() == 'new\n' and mode_of(conf) == 0o644
    assert (os.stat(conf).st_uid, os.stat(conf).st_gid) == (0, 4343)


def test_new_content_alone_is_a_change_and_no_backup_is_left_unasked(root, run):
    conf = root / 'app.conf'
    conf.write_text('old\n')
    os.chmod(conf, 0o644)
    result = run([{'path': str(conf), 'content': 'new\n'}])
    assert result['changed'] is True
    assert result['files'] == [{'path': str(conf), 'created': False, 'content_changed': True,
                                'attributes_changed': False, 'changed': True}]
    assert sorted(p.name for p in root.iterdir()) == ['app.conf']


def test_a_directory_made_under_a_setgid_one_is_root_group_with_the_asked_mode(root, run):
    # Without the explicit chown, a new directory would take the setgid parent's group.
    shared = root / 'shared'
    shared.mkdir()
    os.chown(shared, 0, 4343)
    os.chmod(shared, 0o2755)
    run([{'path': str(shared / 'app/app.conf'), 'content': 'x\n'}], directory_mode='0750')
    made = os.stat(shared / 'app')
    assert (made.st_uid, made.st_gid, stat.S_IMODE(made.st_mode)) == (0, 0, 0o750)


def test_without_content_a_file_is_created_empty_and_never_rewritten(root, run):
    log = root / 'app.log'
    entry = {'path': str(log), 'mode': '0640', 'group': 'adm'}
    assert run([entry])['files'][0]['created'] is True
    assert log.read_bytes() == b'' and mode_of(log) == 0o640
    log.write_text('line\n')
    os.chmod(log, 0o644)
    result = run([entry])
    assert result['files'][0] == {'path': str(log), 'created': False, 'content_changed': False,
                                  'attributes_changed': True, 'changed': True}
    assert log.read_text() == 'line\n' and mode_of(log) == 0o640


def test_backup_keeps_the_old_content(root, run):
    conf = root / 'app.conf'
    conf.write_text('old\n')
    os.chmod(conf, 0o644)
    result = run([{'path': str(conf), 'content': 'new\n'}], backup=True)
    backup = result['files'][0]['backup_file']
    assert open(backup).read() == 'old\n' and conf.read_text() == 'new\n'


@pytest.mark.parametrize('entry, message', [
    ({'path': 'etc/app.conf'}, "files[1].path 'etc/app.conf' is not an absolute path"),
    ({'path': '/etc/../app.conf'}, "files[1].path '/etc/../app.conf' contains a '..' component"),
    ({'path': '/'}, 'files[1].path names the root directory'),
    ({'path': '{root}/first.conf'}, 'files[1].path {root}/first.conf is given twice'),
    ({'path': '{root}/b', 'mode': 'u+rw'}, "files[1].mode: 'u+rw' is not an octal mode in quotes, such as '0644'"),
    ({'path': '{root}/b', 'mode': '4755'}, 'files[1].mode: 4755 is setuid; host_files does not write such files'),
    ({'path': '{root}/b', 'mode': '2755'}, 'files[1].mode: 2755 is setgid; host_files does not write such files'),
    ({'path': '{root}/b', 'mode': '0646'}, 'files[1].mode: 0646 is world-writable; host_files does not write such files'),
    ({'path': '{root}/b', 'mode': '17777'}, "files[1].mode: '17777' is out of range"),
    ({'path': '{root}/b', 'mode': '10000'}, "files[1].mode: '10000' is out of range"),
    ({'path': '{root}/b', 'mode': -1}, "files[1].mode: -1 is not an octal mode in quotes, such as '0644'"),
    ({'path': '{root}/b', 'mode': 644}, "files[1].mode: 644 is not an octal mode in quotes, such as '0644'"),
    ({'path': '{root}/b', 'owner': '\u00b2'}, "files[1].owner: '\u00b2' does not exist on this host"),
    ({'path': '{root}/b', 'owner': 'a\x00b'}, "files[1].owner: 'a\\x00b' does not exist on this host"),
    ({'path': '{root}/b', 'owner': '99999999999'}, 'files[1].owner: 99999999999 is out of range'),
    ({'path': '{root}/first.conf/b'}, 'files[1].path {root}/first.conf/b: {root}/first.conf is also given as a file'),
    ({'path': '{root}/b', 'mode': '7777'}, 'files[1].mode: 7777 is setuid; host_files does not write such files'),
    ({'path': '{root}/b', 'mode': True}, "files[1].mode: True is not an octal mode in quotes, such as '0644'"),
    ({'path': '{root}/b', 'owner': 'no-such-user'}, "files[1].owner: 'no-such-user' does not exist on this host"),
    ({'path': '{root}/b', 'group': 'no-such-group'}, "files[1].group: 'no-such-group' does not exist on this host"),
    ({'path': '{root}/b', 'src': '/x'}, 'files[1].src is read on the controller by the action plugin of '
                                        'serversec.confine.host_files; give content when calling the module directly'),
])
def test_bad_entries_are_refused_before_the_first_write(root, run, entry, message):
    first = root / 'first.conf'
    entry = {key: value.format(root=root) if isinstance(value, str) else value for key, value in entry.items()}
    result = run([{'path': str(first), 'content': 'x\n'}, entry])
    assert result['failed'] is True
    assert result['msg'] == message.format(root=root)
    assert not first.exists()


@pytest.mark.parametrize('mode, expected', [('0000', 0), ('640', 0o640), ('1755', 0o1755)])
def test_any_mode_without_refused_bits_is_set(root, run, mode, expected):
    conf = root / 'app.conf'
    run([{'path': str(conf), 'content': 'x\n', 'mode': mode}])
    assert mode_of(conf) == expected


@pytest.mark.parametrize('mode, message', [
    ('0777', 'directory_mode: 0777 is world-writable; host_files does not write such files'),
    # host_files would refuse its own directory on the next run
    ('0775', 'directory_mode: 0775 is group-writable; host_files does not write such files'),
])
def test_a_bad_directory_mode_is_refused(root, run, mode, message):
    first = root / 'first.conf'
    result = run([{'path': str(first), 'content': 'x\n'}, {'path': str(root / 'a/b'), 'content': 'x\n'}],
                 directory_mode=mode)
    assert result['msg'] == message
    assert not (root / 'a').exists() and not first.exists()


def test_a_symlinked_directory_is_never_written_through(root, run):
    # A link in a root-only directory is still refused: the walk never follows one.
    elsewhere = root / 'elsewhere'
    elsewhere.mkdir(mode=0o755)
    (root / 'etc').symlink_to(elsewhere)
    first = root / 'first.conf'
    result = run([{'path': str(first), 'content': 'x\n'}, {'path': str(root / 'etc/app.conf'), 'content': 'x\n'}])
    assert result['msg'] == f'{root}/etc/app.conf: {root}/etc is a symbolic link; give the path it points to'
    assert list(elsewhere.iterdir()) == [] and not first.exists()


@pytest.mark.parametrize('name, content, owner, mode, reason', [
    ('deep/index.html', 'x\n', 1000, 0o755, 'is owned by uid 1000'),
    ('deep/index.html', 'x\n', 0, 0o775, 'is group- or world-writable (mode 0775)'),
    ('deep/index.html', 'x\n', 0, 0o1777, 'is group- or world-writable (mode 1777)'),
    # a log's own directory may be its group's, but not a user's nor everyone's
    ('app.log', None, 4242, 0o775, 'is owned by uid 4242'),
    ('app.log', None, 0, 0o1777, 'is group- or world-writable (mode 1777)'),
])
def test_a_directory_a_user_controls_is_refused(root, run, name, content, owner, mode, reason):
    users = root / 'www'
    users.mkdir()
    os.chown(users, owner, 0)
    os.chmod(users, mode)
    result = run([{'path': str(users / name), 'content': content}])
    assert result['msg'] == (f'{users}/{name}: {users} {reason} (a non-root user could swap what it '
                             'holds); host_files writes only where root alone can')
    assert list(users.iterdir()) == []


@pytest.mark.parametrize('make, message', [
    (lambda p: p.symlink_to('/etc/shadow'), 'exists and is not a regular file, refusing to replace it'),
    (lambda p: p.mkdir(), 'exists and is not a regular file, refusing to replace it'),
    (os.mkfifo, 'exists and is not a regular file, refusing to replace it'),
    (lambda p: (p.write_text('x\n'), os.link(p, p.parent / 'other')),
     'has 2 hard links; its owner and mode would change under the other names too'),
])
def test_only_a_regular_file_with_one_name_is_replaced(root, run, make, message):
    target = root / 'app.conf'
    make(target)
    before = os.lstat(target)
    result = run([{'path': str(target), 'content': 'y\n'}])
    assert result['msg'] == f'{target}: {message}'
    after = os.lstat(target)
    assert (after.st_ino, after.st_mode) == (before.st_ino, before.st_mode)


@pytest.fixture
def log_dir(root):
    """A root-owned directory group 4242 may write, as Ubuntu's /var/log (root:syslog 0775)."""
    logs = root / 'log'
    logs.mkdir()
    os.chown(logs, 0, 4242)
    os.chmod(logs, 0o775)
    return logs


def test_a_log_is_created_in_a_directory_its_group_can_write(root, run, log_dir):
    log = log_dir / 'tcpwrappers.log'
    entry = {'path': str(log), 'group': '4242', 'mode': '0640'}
    assert run([entry])['changed'] is True
    st = os.stat(log)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), st.st_size) == (0, 4242, 0o640, 0)
    assert run([entry])['changed'] is False
    # Created under its own name: no temporary name the group could swap for a link first.
    assert sorted(os.listdir(log_dir)) == ['tcpwrappers.log']


def test_a_log_is_never_made_through_a_temporary_name(root, run, log_dir, monkeypatch):
    victim = root / 'shadow'
    victim.write_text('secret\n')
    os.chmod(victim, 0o600)

    def group_member(fd, label):
        # what a member of the directory's group could do while the module labels its new file
        for name in os.listdir(log_dir):
            if name != 'app.log':
                os.rename(log_dir / name, log_dir / 'stolen')
                os.symlink(victim, log_dir / name)
    monkeypatch.setattr(_host_files.HostFiles, 'default_label', lambda self, path: 'system_u:object_r:var_log_t:s0')
    monkeypatch.setattr(_host_files, 'write_label', group_member)
    assert run([{'path': str(log_dir / 'app.log'), 'group': '4242', 'mode': '0640'}])['changed'] is True
    log = os.lstat(log_dir / 'app.log')
    assert stat.S_ISREG(log.st_mode) and (log.st_gid, stat.S_IMODE(log.st_mode)) == (4242, 0o640)
    assert sorted(os.listdir(log_dir)) == ['app.log']


def test_a_file_the_group_moved_onto_the_log_name_is_left_alone(root, run, log_dir):
    # Another root file of the directory (as /var/log/boot.log, root 0600), renamed onto the log's
    # name by a member of the group: giving it the log's group and mode would let that group read it.
    other = log_dir / 'private.log'
    other.write_text('root only\n')
    os.chmod(other, 0o600)
    os.rename(other, log_dir / 'app.log')
    first = root / 'first.conf'
    result = run([{'path': str(first), 'content': 'x\n'},
                  {'path': str(log_dir / 'app.log'), 'group': '4242', 'mode': '0640'}])
    assert result['msg'] == (f'{log_dir}/app.log: is 0:0 0600, not 0:4242 0640, in {log_dir}, which its group can '
                             'write; host_files changes no file there, since that group could have moved another '
                             'file onto this name: give it that owner, group and mode, or remove it, and run again')
    st = os.stat(log_dir / 'app.log')
    assert (st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    assert not first.exists()


@pytest.mark.parametrize('where, content, reason', [
    # content there is a file root daemons may trust: only where root alone writes
    ('log/app.conf', 'x\n', '{root}/log is group- or world-writable (mode 0775)'),
    # only the file's own directory may be its group's
    ('log/app/app.log', None, '{root}/log is group- or world-writable (mode 0775)'),
])
def test_elsewhere_a_directory_its_group_can_write_is_still_refused(root, run, log_dir, where, content, reason):
    first = root / 'first.conf'
    result = run([{'path': str(first), 'content': 'x\n'}, {'path': str(root / where), 'content': content}])
    assert result['msg'] == (f'{root}/{where}: {reason.format(root=root)} (a non-root user could swap what it '
                             'holds); host_files writes only where root alone can')
    assert list(log_dir.iterdir()) == [] and not first.exists()


@pytest.mark.parametrize('plant, message', [
    (lambda p, victim: p.symlink_to(victim), 'exists and is not a regular file, refusing to replace it'),
    (lambda p, victim: os.link(victim, p), 'has 2 hard links; its owner and mode would change under the other names too'),
    (lambda p, victim: os.mkfifo(p), 'exists and is not a regular file, refusing to replace it'),
])
def test_what_the_group_plants_in_a_log_directory_is_refused(root, run, log_dir, plant, message):
    victim = root / 'shadow'
    victim.write_text('secret\n')
    os.chmod(victim, 0o600)
    log = log_dir / 'app.log'
    plant(log, victim)
    result = run([{'path': str(log), 'owner': '4242', 'mode': '0644'}])
    assert result['msg'] == f'{log}: {message}'
    st = os.stat(victim)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)


def test_a_user_file_in_a_log_directory_is_left_alone(root, run, log_dir, monkeypatch):
    log = log_dir / 'app.log'
    log.write_text('planted\n')
    os.chown(log, 4242, 4343)
    reads = []
    monkeypatch.setattr(_host_files, 'read_fd', reads.append)
    result = run([{'path': str(log), 'mode': '0640'}])
    assert result['msg'].startswith(f'{log}: is 4242:4343 0644, not 0:0 0640, in {log_dir}, which its group can write')
    assert reads == [] and os.stat(log).st_uid == 4242
    # Already as asked, it is left alone.
    assert run([{'path': str(log), 'owner': '4242', 'group': '4343', 'mode': '0644'}])['changed'] is False


def test_a_log_made_by_someone_else_just_before_it_is_created_is_left_alone(root, run, log_dir, monkeypatch):
    # The group creates the name between the last look and the module's O_EXCL create.
    log = log_dir / 'app.log'
    real_state = _host_files.target_state

    def plant_after_looking(path, dir_fd):
        seen = real_state(path, dir_fd)
        if seen is None and not log.exists():
            log.write_text('planted\n')
            os.chown(log, 4242, 4242)
        return None
    monkeypatch.setattr(_host_files, 'target_state', plant_after_looking)
    result = run([{'path': str(log), 'mode': '0640'}])
    assert result['msg'] == f'{log}: changed while it was checked; run again'
    assert os.stat(log).st_uid == 4242 and log.read_text() == 'planted\n'


def test_text_is_read_up_to_64_mib():
    # the limit the module's documentation gives
    assert _host_files.MAX_TEXT == 64 * 1024 * 1024


def test_a_log_someone_else_could_write_is_copied_never_read_whole(root, run, monkeypatch):
    # Its owner could have made it huge (holes cost them nothing): streamed into the new inode.
    log = root / 'app.log'
    with open(log, 'wb') as handle:
        handle.write(b'first line\n')
        handle.seek(1 << 30)
        handle.write(b'last line\n')
    os.chown(log, 4242, 4242)
    inode = os.stat(log).st_ino
    monkeypatch.setattr(_host_files, 'read_fd', lambda *args: pytest.fail('the log was read whole'))
    assert run([{'path': str(log), 'mode': '0640'}])['changed'] is True
    st = os.stat(log)
    assert (st.st_ino != inode, st.st_uid, stat.S_IMODE(st.st_mode), st.st_size) == (True, 0, 0o640, (1 << 30) + 10)
    assert st.st_blocks * 512 < 1 << 20
    with open(log, 'rb') as handle:
        assert handle.read(11) == b'first line\n'
        handle.seek(1 << 30)
        assert handle.read() == b'last line\n'


def test_a_file_too_large_for_text_is_never_read_whole(root, run, monkeypatch):
    monkeypatch.setattr(_host_files, 'MAX_TEXT', 10)
    conf = root / 'app.conf'
    conf.write_text('0123456789A')
    result = run([{'path': str(conf), 'content': 'x\n'}])
    assert result['msg'] == f'{conf}: holds more than 10 bytes; host_files writes text files, use ansible.builtin.copy for this one'
    assert conf.read_text() == '0123456789A'
    conf.write_text('0123456789')
    assert run([{'path': str(conf), 'content': 'x\n'}])['changed'] is True


def test_a_failed_write_names_the_file(root, run, monkeypatch):
    def full(dir_fd, name, data, tmp, finish):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(_host_files, 'replace_at', full)
    conf = root / 'app.conf'
    result = run([{'path': str(conf), 'content': 'x\n'}])
    assert result['msg'] == f'{conf}: cannot be written: No space left on device'


def test_a_file_under_a_path_that_is_a_file_is_refused(root, run):
    (root / 'etc').write_text('x\n')
    result = run([{'path': str(root / 'etc/app.conf'), 'content': 'x\n'}])
    assert result['msg'] == f'{root}/etc/app.conf: {root}/etc is not a directory'


def test_a_path_inside_a_recorded_jail_is_refused(root, run, monkeypatch):
    jail = root / 'jails/web'
    (jail / 'etc').mkdir(parents=True, mode=0o755)
    state = root / 'state'
    state.mkdir(mode=0o700)
    (state / 'web.json').write_text('{"version": 2, "jail": "%s", "managed": {}}' % jail)
    os.chmod(state / 'web.json', 0o600)
    monkeypatch.setattr(_host_files, 'JAIL_STATE_DIR', str(state))
    result = run([{'path': str(jail / 'etc/app.conf'), 'content': 'x\n'}])
    assert result['msg'] == (f'files[0].path {jail}/etc/app.conf lies inside the jail {jail}, where uid 0 could '
                             'replace a directory on the way with a link to any host path; chroot_jail puts files '
                             'into jails')
    assert list((jail / 'etc').iterdir()) == []
    assert run([{'path': str(root / 'jails/web.conf'), 'content': 'x\n'}])['changed'] is True


def test_nothing_is_written_while_the_recorded_jails_cannot_be_trusted(root, run, monkeypatch):
    # A user who controls the state directory could hide a jail's record.
    state = root / 'state'
    state.mkdir(mode=0o700)
    os.chown(state, 4242, 4242)
    monkeypatch.setattr(_host_files, 'JAIL_STATE_DIR', str(state))
    result = run([{'path': str(root / 'app.conf'), 'content': 'x\n'}])
    assert result['msg'].startswith(f'state_dir {state}: {state} is owned by uid 4242; the jails chroot_jail '
                                    'records there cannot be trusted')
    assert not (root / 'app.conf').exists()


def test_a_file_a_user_owned_becomes_a_new_inode_the_user_cannot_write(root, run):
    # The user may hold the old file open for writing: that descriptor must not reach root's file.
    conf = root / 'app.conf'
    conf.write_text('user\n')
    os.chown(conf, 4242, 4242)
    os.chmod(conf, 0o600)
    held = os.open(conf, os.O_RDWR)
    try:
        result = run([{'path': str(conf), 'content': 'root\n'}])
        os.write(held, b'PWNED')
    finally:
        os.close(held)
    assert result['changed'] is True
    assert conf.read_text() == 'root\n'
    st = os.stat(conf)
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644)


def test_only_attributes_of_a_user_owned_file_still_make_a_new_inode(root, run):
    log = root / 'app.log'
    log.write_text('line\n')
    os.chown(log, 4242, 4242)
    held = os.open(log, os.O_RDWR | os.O_APPEND)
    try:
        run([{'path': str(log), 'mode': '0640'}])
        os.write(held, b'PWNED\n')
    finally:
        os.close(held)
    assert log.read_text() == 'line\n'
    st = os.stat(log)
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o640)


def test_a_root_file_nobody_else_can_write_is_changed_in_place(root, run):
    log = root / 'app.log'
    log.write_text('line\n')
    os.chmod(log, 0o644)
    inode = os.stat(log).st_ino
    run([{'path': str(log), 'mode': '0640'}])
    assert (os.stat(log).st_ino, mode_of(log)) == (inode, 0o640)


@pytest.mark.parametrize('existing', [False, True])
def test_the_file_has_its_final_owner_and_mode_before_it_gets_its_name(root, run, monkeypatch, existing):
    conf = root / 'app.conf'
    if existing:
        conf.write_text('old\n')
        os.chmod(conf, 0o644)
    renamed = []
    real_rename = os.rename

    def spy(src, dst, *args, **kwargs):
        st = os.stat(src, dir_fd=kwargs.get('src_dir_fd'), follow_symlinks=False)
        renamed.append((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)))
        return real_rename(src, dst, *args, **kwargs)
    monkeypatch.setattr(os, 'rename', spy)
    run([{'path': str(conf), 'content': 'secret\n', 'group': '4343', 'mode': '0640'}])
    assert renamed == [(0, 4343, 0o640)]


def test_a_directory_swapped_after_the_walk_does_not_redirect_the_write(root, run, monkeypatch):
    (root / 'etc').mkdir(mode=0o755)
    victim = root / 'victim'
    victim.mkdir(mode=0o755)
    real_walk = _host_files.walk_directories

    def swap_then_walk(path, dir_check, create=None, parent_check=None):
        missing, fd = real_walk(path, dir_check, create, parent_check)
        if create is not None:
            # what uid 0 of a jail could do to a directory bound into it, once the walk holds it
            os.rename(root / 'etc', root / 'etc-held')
            os.symlink(victim, root / 'etc')
        return missing, fd
    monkeypatch.setattr(_host_files, 'walk_directories', swap_then_walk)
    run([{'path': str(root / 'etc/app.conf'), 'content': 'x\n'}])
    assert list(victim.iterdir()) == []
    assert (root / 'etc-held/app.conf').read_text() == 'x\n'


def test_a_file_whose_content_is_left_alone_is_never_read(root, run, monkeypatch):
    log = root / 'app.log'
    log.write_text('a large log\n')
    os.chmod(log, 0o644)
    reads = []
    monkeypatch.setattr(_host_files, 'read_fd', reads.append)
    assert run([{'path': str(log)}])['changed'] is False
    assert reads == []


def test_content_is_kept_out_of_the_logs(root, run, monkeypatch):
    modules = []
    real_init = _host_files.HostFiles.__init__

    def keep(self, module):
        modules.append(module)
        real_init(self, module)
    monkeypatch.setattr(_host_files.HostFiles, '__init__', keep)
    run([{'path': str(root / 'key'), 'content': 'PRIVATE KEY', 'mode': '0600'}])
    assert 'PRIVATE KEY' in modules[0].no_log_values


def test_content_that_is_not_utf8_is_refused():
    # Ansible's own argument decoding refuses it first when it runs; the room does not rely on that.
    entry = {'path': '/etc/a', 'content': 'a\udcffb', 'owner': 'root', 'group': 'root', 'mode': '0644'}
    with pytest.raises(_host_files.HostFilesError) as excinfo:
        _host_files.check_entries([entry])
    assert str(excinfo.value) == 'files[0].content is not valid UTF-8 text'


@pytest.mark.parametrize('owner, message', [
    ('4294967294', None),
    ('4294967295', 'files[0].owner: 4294967295 is out of range'),
])
def test_the_largest_id_is_the_last_one_chown_can_set(root, run, owner, message):
    # 2**32 - 1 is chown's "leave unchanged"
    result = run([{'path': str(root / 'a'), 'content': 'x\n', 'owner': owner}])
    assert result.get('msg') == message
    if message is None:
        assert os.stat(root / 'a').st_uid == 4294967294


def test_a_backup_is_root_owned_and_never_more_than_0755(root, run):
    conf = root / 'app.conf'
    conf.write_text('old\n')
    os.chown(conf, 4242, 4242)
    os.chmod(conf, 0o777)
    backup = run([{'path': str(conf), 'content': 'new\n'}], backup=True)['files'][0]['backup_file']
    st = os.stat(backup)
    assert (st.st_uid, stat.S_IMODE(st.st_mode), open(backup).read()) == (0, 0o755, 'old\n')


@pytest.mark.parametrize('old_mode, in_place', [(0o641, True), (0o646, False), (0o664, False)])
def test_only_a_file_nobody_else_can_write_changes_mode_in_place(root, run, old_mode, in_place):
    log = root / 'app.log'
    log.write_text('line\n')
    os.chmod(log, old_mode)
    inode = os.stat(log).st_ino
    run([{'path': str(log), 'mode': '0640'}])
    assert (os.stat(log).st_ino == inode, mode_of(log), log.read_text()) == (in_place, 0o640, 'line\n')


def test_a_change_of_attributes_alone_shows_no_content_diff(root, run):
    conf = root / 'app.conf'
    conf.write_text('same\n')
    os.chmod(conf, 0o600)
    result = run([{'path': str(conf), 'content': 'same\n'}], check=True, diff=True)
    assert result['diff'] == [{'before_header': f'{conf} (owner, group, mode)',
                               'after_header': f'{conf} (owner, group, mode)',
                               'before': '0:0 0600\n', 'after': '0:0 0644\n'}]


def swap_after_planning(monkeypatch, change):
    """Run ``change()`` once the write phase's walk holds the directory (after every check)."""
    real_walk = _host_files.walk_directories

    def walk(path, dir_check, create=None, parent_check=None):
        missing, fd = real_walk(path, dir_check, create, parent_check)
        if create is not None:
            change()
        return missing, fd
    monkeypatch.setattr(_host_files, 'walk_directories', walk)


CHANGED = 'changed while it was checked; run again'


@pytest.mark.parametrize('existed, change, message', [
    (True, os.unlink, CHANGED),
    (True, lambda p: (os.unlink(p), os.symlink('/etc/shadow', p)), 'exists and is not a regular file, refusing to replace it'),
    (True, lambda p: os.link(p, p.parent / 'other'),
     'has 2 hard links; its owner and mode would change under the other names too'),
    (True, lambda p: (os.rename(p, p.parent / 'moved'), p.write_text('other\n'), os.chmod(p, 0o600)), CHANGED),
    (False, lambda p: p.write_text('planted\n'), CHANGED),
])
def test_a_file_changed_between_check_and_write_is_left_alone(root, run, monkeypatch, existed, change, message):
    conf = root / 'app.conf'
    if existed:
        conf.write_text('old\n')
        os.chmod(conf, 0o600)
    swap_after_planning(monkeypatch, lambda: change(conf))
    result = run([{'path': str(conf), 'content': 'new\n'}])
    assert result['msg'] == f'{conf}: {message}'
    assert not os.path.exists(conf) or os.path.islink(conf) or conf.read_text() != 'new\n'


@pytest.fixture
def selinux(monkeypatch):
    """SELinux on, as AnsibleModule sees it; the labels are real security.selinux attributes."""
    from ansible.module_utils import basic
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_enabled', lambda self: True)
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_default_context',
                        lambda self, path, mode=0: ['system_u', 'object_r', 'etc_t', 's0'])


def label(path):
    try:
        return os.getxattr(path, 'security.selinux', follow_symlinks=False)
    except OSError:
        return None


def test_new_files_and_directories_get_the_default_label(root, run, selinux):
    conf = root / 'etc/app.conf'
    run([{'path': str(conf), 'content': 'x\n'}])
    if label(conf) is None:
        pytest.skip('this file system keeps no security.selinux attribute')
    assert label(conf) == b'system_u:object_r:etc_t:s0\0'
    assert label(root / 'etc') == b'system_u:object_r:etc_t:s0\0'


def test_a_replaced_file_keeps_its_label(root, run, selinux):
    conf = root / 'app.conf'
    conf.write_text('old\n')
    try:
        os.setxattr(conf, 'security.selinux', b'system_u:object_r:httpd_config_t:s0\0')
    except OSError:
        pytest.skip('this file system keeps no security.selinux attribute')
    run([{'path': str(conf), 'content': 'new\n'}])
    assert (conf.read_text(), label(conf)) == ('new\n', b'system_u:object_r:httpd_config_t:s0\0')


def test_without_selinux_no_label_is_set(root, run, monkeypatch):
    from ansible.module_utils import basic
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_enabled', lambda self: False)
    monkeypatch.setattr(basic.AnsibleModule, 'selinux_default_context',
                        lambda self, path, mode=0: ['system_u', 'object_r', 'etc_t', 's0'])
    conf = root / 'app.conf'
    run([{'path': str(conf), 'content': 'x\n'}])
    assert label(conf) is None
