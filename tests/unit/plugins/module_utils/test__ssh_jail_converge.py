# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh_jail end to end on a fake host: order of checks, validation before any write, idempotence,
removal. systemctl and sshd are stood in for by FakeSystem; files are real, under tmp_path."""

import glob
import os
import re
import shutil
import stat
import tempfile

import pytest
from ansible.module_utils import basic

from ansible_collections.serversec.confine.plugins.module_utils import _ssh_jail_converge
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError, SshJailSpec
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_converge import (
    PORTS_QUERY,
    SshJail,
    System,
    probe_connections,
    sshd_ports,
)

TMP_DIRS = {os.path.realpath(tempfile.gettempdir()), '/tmp'}
pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the writable directories are chowned')


def safe_tmp_lstat(path):
    st = os.lstat(path)
    if path in TMP_DIRS:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st


def expanded(path):
    """The text of ``path`` with its Include lines replaced by the files they name, as sshd reads it."""
    lines = []
    for line in open(path).read().splitlines():
        words = line.split()
        if words[:1] == ['Include']:
            lines += [text for pattern in words[1:] for name in sorted(glob.glob(pattern)) for text in expanded(name)]
        else:
            lines.append(line)
    return lines


class FakeSystem:
    """Commands recorded; ``sshd -t`` rejects a config holding BROKEN; ``sshd -T`` prints the ports
    (22, and 2222 with ``two_ports``) and with ``-C user=U,...`` the first value each keyword gets in
    the Match blocks that match (User, Group through ``groups``, Address, LocalAddress, LocalPort,
    all); restart mounts a unit."""

    def __init__(self, groups=None, two_ports=False):
        self.calls = []
        self.two_ports = two_ports
        self.mounted = {}
        self.units = {}
        self.groups = groups or {}  # user: [group names]

    def run(self, argv):
        self.calls.append(argv)
        if argv[1:3] == ['-t', '-f']:
            texts = [open(argv[3]).read()]
            for path in re.findall(r'^Include (\S+)$', texts[0], re.M):
                texts.append(open(path).read())
            return (255, '', f'{argv[3]} line 3: BROKEN directive') if any('BROKEN' in t for t in texts) else (0, '', '')
        if argv[1:3] == ['-T', '-f']:
            ports = 'port 22\nport 2222\n' if self.two_ports else 'port 22\n'
            return 0, ports + self.effective(expanded(argv[3]), dict(c.split('=') for c in argv[5].split(','))), ''
        if argv[:2] == ['systemctl', 'is-active']:
            return (0, 'active\n', '') if argv[2] == 'ssh.service' else (3, 'inactive\n', '')
        if argv[:2] == ['systemctl', 'restart']:
            self.mounted[argv[2]] = True
        if argv[:3] == ['systemctl', 'disable', '--now']:
            self.mounted.pop(argv[3], None)
        return 0, '', ''

    def effective(self, lines, connection):
        user = connection['user']
        values, active = {}, False
        for line in lines:
            words = line.split('#', 1)[0].split(None, 1)
            if not words:
                continue
            if words[0] == 'Match':
                criterion, names = (words[1].split(None, 1) + [''])[:2]
                wanted = {'User': {user}, 'Group': set(self.groups.get(user, ())), 'Address': {connection['addr']},
                          'LocalAddress': {connection['laddr']}, 'LocalPort': {connection['lport']}}.get(criterion, set())
                active = criterion == 'all' or bool(wanted & set(names.split(',')))
            elif active:
                values.setdefault(words[0].lower(), words[1].strip())
        return ''.join(f'{key} {value}\n' for key, value in values.items())

    def systemctl(self, *args):
        return self.run(['systemctl'] + list(args))[1]

    def write(self, path, text, mode=0o644):
        with open(path, 'w') as handle:
            handle.write(text)
        where = re.search(r'^Where=(.*)$', text, re.M)
        if where:
            self.units[os.path.basename(path)] = where.group(1)

    def backup(self, path):
        with open(path) as source, open(path + '.bak', 'w') as copy:
            copy.write(source.read())
        return path + '.bak'

    def unlink(self, path):
        os.unlink(path)

    def mountinfo(self):
        lines = []
        for unit in self.mounted:
            where = self.units[unit]
            lines.append(f'40 22 0:21 {where} {where} rw,nosuid,nodev,noexec - overlay overlay rw')
        return '\n'.join(lines) + '\n'

    def commands(self):
        return [' '.join(c) for c in self.calls if c[0] == 'systemctl' and c[1] != 'is-active']


@pytest.fixture
def host(tmp_path, monkeypatch):
    monkeypatch.setattr(_ssh_jail_converge, 'jail_root_lstat', safe_tmp_lstat)
    monkeypatch.setattr(_ssh_jail_converge, 'connected_users', set)
    monkeypatch.setattr(_ssh_jail_converge, 'ssh_connection', lambda: None)
    etc = tmp_path / 'etc'
    (etc / 'sshd_config.d').mkdir(parents=True)
    (etc / 'sshd_config').write_text(f'Include {etc}/sshd_config.d/*.conf\nSubsystem sftp internal-sftp\n')
    (etc / 'units').mkdir()
    (tmp_path / 'log').write_text('')
    jail = tmp_path / 'jails' / 'ann'
    jail.mkdir(parents=True)
    for path in (tmp_path, tmp_path / 'jails', jail):
        os.chmod(str(path), 0o755)
    return tmp_path


def job(host, system, check_mode=False, allow_lockout=False, backup=False, **kwargs):
    args = dict(name='sftp-ann', jail=str(host / 'jails' / 'ann'), users=['nobody'], writable=['/upload'])
    args.update(kwargs)
    etc = host / 'etc'
    return SshJail(SshJailSpec(**args), system, lambda: '/usr/sbin/sshd', check_mode=check_mode,
                   allow_lockout=allow_lockout, backup=backup, devlog=str(host / 'log'),
                   unit_dir=str(etc / 'units'), main_path=str(etc / 'sshd_config'), dropin_dir=str(etc / 'sshd_config.d'))


def test_present_then_idempotent_then_absent(host):
    system = FakeSystem()
    jail = host / 'jails' / 'ann'
    unit_upload = str(jail / 'upload').strip('/').replace('-', '\\x2d').replace('/', '-') + '.mount'
    unit_log = str(jail / 'dev' / 'log').strip('/').replace('-', '\\x2d').replace('/', '-') + '.mount'
    result = job(host, system).execute()
    dropin = host / 'etc' / 'sshd_config.d' / 'sftp-ann.conf'
    assert result['changed'] and result['dropin'] and result['reloaded'] == 'ssh.service'
    assert result['path'] == str(dropin) and 'Match User nobody' in dropin.read_text()
    assert result['changes'] == ['create /upload', 'chown /upload 65534:65534', 'chmod /upload 0750',
                                 'create /dev', 'create /dev/log', f'write mount {unit_log}', f'write mount {unit_upload}',
                                 f'write {dropin}']
    assert sorted(os.listdir(str(host / 'etc' / 'units'))) == sorted([unit_log, unit_upload])
    assert system.commands() == ['systemctl daemon-reload', f'systemctl enable {unit_log}', f'systemctl restart {unit_log}',
                                 f'systemctl enable {unit_upload}', f'systemctl restart {unit_upload}',
                                 'systemctl reload ssh.service']
    assert os.stat(str(jail / 'upload')).st_uid == 65534

    again = FakeSystem()
    again.mounted, again.units = dict(system.mounted), dict(system.units)
    result = job(host, again).execute()
    assert not result['changed'] and result['changes'] == [] and again.commands() == []
    # the unchanged configuration is still checked: a Match block added since may cancel the jail
    assert [c[1:3] for c in again.calls if c[0] == '/usr/sbin/sshd'] == [['-t', '-f'], ['-T', '-f'], ['-T', '-f']]

    gone = FakeSystem()
    gone.mounted, gone.units = dict(system.mounted), dict(system.units)
    result = job(host, gone, state='absent').execute()
    assert result['changed'] and not dropin.exists() and os.listdir(str(host / 'etc' / 'units')) == []
    assert gone.commands() == ['systemctl reload ssh.service', f'systemctl disable --now {unit_log}',
                               f'systemctl disable --now {unit_upload}', 'systemctl daemon-reload']
    assert (jail / 'upload').is_dir()  # the users' data stays


def test_check_mode_writes_nothing(host):
    system = FakeSystem()
    result = job(host, system, check_mode=True).execute()
    assert result['changed'] and 'create /upload' in result['changes']
    assert os.listdir(str(host / 'jails' / 'ann')) == [] and os.listdir(str(host / 'etc' / 'units')) == []
    assert os.listdir(str(host / 'etc' / 'sshd_config.d')) == [] and system.commands() == []


def test_config_sshd_rejects_leaves_everything_untouched(host, monkeypatch):
    monkeypatch.setattr(_ssh_jail_converge, 'render_block', lambda spec: 'BROKEN\n')
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system).execute()
    assert str(excinfo.value) == (f'sshd -t rejects the configuration with the new {host}/etc/sshd_config.d/sftp-ann.conf, '
                                  f'nothing was changed: {host}/etc/sshd_config line 3: BROKEN directive')
    assert os.listdir(str(host / 'jails' / 'ann')) == [] and os.listdir(str(host / 'etc' / 'units')) == []
    assert os.listdir(str(host / 'etc' / 'sshd_config.d')) == [] and system.commands() == []


def test_group_writable_parent_refused_before_anything(host):
    os.chmod(str(host / 'jails'), 0o775)
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system).execute()
    assert str(excinfo.value) == (f'jail path component {host}/jails is group- or world-writable (mode 0775) '
                                  '(OpenSSH refuses such a ChrootDirectory)')
    assert system.calls == [] and os.listdir(str(host / 'etc' / 'sshd_config.d')) == []


def test_missing_jail_refused(host):
    with pytest.raises(SshJailError) as excinfo:
        job(host, FakeSystem(), jail=str(host / 'jails' / 'bob')).execute()
    assert str(excinfo.value) == f'jail {host}/jails/bob does not exist: build it first (serversec.confine.chroot_jail)'


def test_connected_user_refused(host, monkeypatch):
    monkeypatch.setattr(_ssh_jail_converge, 'connected_users', lambda: {'nobody'})
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system).execute()
    assert str(excinfo.value).startswith('refusing to jail user nobody: Ansible is connected as nobody')
    assert system.calls == []
    assert job(host, system, check_mode=True, allow_lockout=True).execute()['changed']


def test_managed_block_when_sshd_config_has_no_include(host):
    main = host / 'etc' / 'sshd_config'
    main.write_text('Port 22\n')
    system = FakeSystem()
    result = job(host, system, writable=[]).execute()
    assert not result['dropin'] and result['path'] == str(main)
    assert main.read_text().startswith('Port 22\n# BEGIN serversec.confine ssh_jail sftp-ann\n')
    validated = [c for c in system.calls if c[1:3] == ['-t', '-f']]
    assert len(validated) == 1 and validated[0][3] != str(main)
    result = job(host, FakeSystem(), writable=[], state='absent').execute()
    assert main.read_text() == 'Port 22\n'


EARLIER_MATCH = 'Match User nobody\n    ChrootDirectory none\n'


def refusal(host, wanted='ChrootDirectory', value=None, used='none'):
    value = value or str(host / 'jails' / 'ann')
    return (f"user nobody: with the new {host}/etc/sshd_config.d/sftp-ann.conf, sshd would use '{wanted} {used}' for a "
            f"login from 127.0.0.1, not '{wanted} {value}' of this jail: an earlier Match block or drop-in (or a line of "
            f'{host}/etc/sshd_config before the block) sets {wanted} first, and sshd keeps the first value it obtains. '
            'Change or remove that setting; nothing was changed.')


def assert_nothing_written(host, system, dropins=('00-local.conf',)):
    assert os.listdir(str(host / 'jails' / 'ann')) == [] and os.listdir(str(host / 'etc' / 'units')) == []
    assert sorted(os.listdir(str(host / 'etc' / 'sshd_config.d'))) == sorted(dropins) and system.commands() == []


@pytest.mark.parametrize('check_mode', [False, True])
def test_earlier_drop_in_cancelling_the_chroot_is_refused_before_anything(host, check_mode):
    (host / 'etc' / 'sshd_config.d' / '00-local.conf').write_text(EARLIER_MATCH)
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system, check_mode=check_mode).execute()
    assert str(excinfo.value) == refusal(host)
    probe = [c for c in system.calls if '-C' in c and c[5] != PORTS_QUERY]
    assert probe == [['/usr/sbin/sshd', '-T', '-f', probe[0][3], '-C',
                      'user=nobody,host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22']]
    assert not os.path.exists(probe[0][3])  # the private candidate is gone
    assert_nothing_written(host, system)


def test_earlier_match_in_sshd_config_is_refused_before_the_managed_block_is_written(host):
    main = host / 'etc' / 'sshd_config'
    main.write_text(f'Port 22\n{EARLIER_MATCH}')
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system).execute()
    assert str(excinfo.value) == refusal(host).replace('sshd_config.d/sftp-ann.conf', 'sshd_config')
    assert main.read_text() == f'Port 22\n{EARLIER_MATCH}'
    assert_nothing_written(host, system, dropins=())


def test_earlier_group_block_is_judged_for_the_groups_member(host, monkeypatch):
    (host / 'etc' / 'sshd_config.d' / '00-local.conf').write_text('Match Group sftp\n    ForceCommand /bin/sh\n')
    monkeypatch.setattr(_ssh_jail_converge, 'probe_accounts', lambda spec: [('group sftp (tested with its member nobody)', 'nobody')])
    system = FakeSystem(groups={'nobody': ['sftp']})
    with pytest.raises(SshJailError) as excinfo:
        job(host, system, users=[], groups=['sftp'], writable=[]).execute()
    assert str(excinfo.value).startswith("group sftp (tested with its member nobody): with the new ")
    assert "sshd would use 'ForceCommand /bin/sh' for a login from 127.0.0.1, not 'ForceCommand internal-sftp -l INFO -u 0077'" in str(excinfo.value)
    assert_nothing_written(host, system)


def test_unchanged_block_cancelled_by_a_later_drop_in_fails(host):
    job(host, FakeSystem(), writable=[]).execute()
    (host / 'etc' / 'sshd_config.d' / '00-local.conf').write_text('Match all\n    AuthorizedKeysFile .ssh/authorized_keys\n')
    with pytest.raises(SshJailError) as excinfo:
        job(host, FakeSystem(), writable=[]).execute()
    assert str(excinfo.value) == refusal(host, 'AuthorizedKeysFile', '/etc/ssh/authorized_keys/%u', '.ssh/authorized_keys')


def test_later_drop_in_and_other_users_blocks_do_not_count(host):
    (host / 'etc' / 'sshd_config.d' / '00-local.conf').write_text('Match User ann\n    ChrootDirectory none\n')
    (host / 'etc' / 'sshd_config.d' / 'zz-local.conf').write_text(EARLIER_MATCH)
    system = FakeSystem()
    assert job(host, system).execute()['changed']


def test_controller_address_is_judged_too(host, monkeypatch):
    monkeypatch.setattr(_ssh_jail_converge, 'ssh_connection', lambda: ('192.0.2.7', '192.0.2.1'))
    system = FakeSystem()
    job(host, system, check_mode=True).execute()
    assert [c[5] for c in system.calls if '-C' in c and c[5] != PORTS_QUERY] == [
        'user=nobody,host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22',
        'user=nobody,host=192.0.2.7,addr=192.0.2.7,laddr=192.0.2.1,lport=22']


def test_earlier_block_on_one_of_sshds_ports_is_refused(host):
    """sshd -T treats a LocalPort criterion it is not given as no match: every port is asked."""
    (host / 'etc' / 'sshd_config.d' / '00-local.conf').write_text('Match LocalPort 2222\n    ChrootDirectory none\n')
    with pytest.raises(SshJailError) as excinfo:
        job(host, FakeSystem(two_ports=True)).execute()
    assert "sshd would use 'ChrootDirectory none' for a login from 127.0.0.1" in str(excinfo.value)
    assert job(host, FakeSystem()).execute()['changed']  # sshd listens on 22 only: the block never applies


@pytest.mark.parametrize('connection', [('1.2.3.4,user=root', '10.0.0.1'), ('10.0.0.2', 'x,lport=1'), None])
def test_only_addresses_from_ssh_connection_reach_sshd(connection):
    assert probe_connections(['22'], connection or ()) == ['host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22']


def test_sshd_ports_are_read_from_its_dump():
    assert sshd_ports('port 22\nport 2222\naddressfamily any\n') == ['22', '2222']
    assert sshd_ports('addressfamily any\nport x\n') == ['22']


def test_backup_keeps_sshd_config_before_the_block_is_added_and_removed(host):
    main = host / 'etc' / 'sshd_config'
    main.write_text('Port 22\n')
    system = FakeSystem()
    assert 'backup_file' not in job(host, system, check_mode=True, writable=[], backup=True).execute()
    assert not os.path.exists(str(main) + '.bak')
    result = job(host, system, writable=[], backup=True).execute()
    assert result['backup_file'] == str(main) + '.bak'
    assert (host / 'etc' / 'sshd_config.bak').read_text() == 'Port 22\n'
    with_block = main.read_text()
    assert 'backup_file' not in job(host, system, writable=[], backup=True).execute()  # nothing changed
    job(host, system, writable=[], backup=True, state='absent').execute()
    assert (host / 'etc' / 'sshd_config.bak').read_text() == with_block and main.read_text() == 'Port 22\n'


def test_no_backup_of_a_drop_in_that_did_not_exist(host):
    result = job(host, FakeSystem(), writable=[], backup=True).execute()
    assert result['dropin'] and 'backup_file' not in result
    assert os.listdir(str(host / 'etc' / 'sshd_config.d')) == ['sftp-ann.conf']


def test_connected_user_may_remove_a_jail(host, monkeypatch):
    monkeypatch.setattr(_ssh_jail_converge, 'connected_users', lambda: {'nobody'})
    assert not job(host, FakeSystem(), state='absent').execute()['changed']


def test_second_writable_refused_before_the_first_is_made(host):
    jail = host / 'jails' / 'ann'
    (jail / 'home').mkdir()
    os.chown(str(jail / 'home'), 65534, 65534)
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system, writable=['/upload', '/home/up']).execute()
    assert str(excinfo.value).startswith(f'writable /home/up: /home in the jail {jail} must be root-owned')
    assert sorted(os.listdir(str(jail))) == ['home'] and system.calls == []


@pytest.mark.parametrize('writable', [['/upload/sub', '/upload'], ['/upload', '/upload/sub']])
def test_nested_writable_refused_before_anything(host, writable):
    """Either order: /upload would be user-owned and the parent of a mount."""
    with pytest.raises(SshJailError) as excinfo:
        job(host, FakeSystem(), writable=writable, authorized_keys={'nobody': ['ssh-ed25519 AAAA']},
            authorized_keys_file=str(host / 'keys' / '%u'))
    assert str(excinfo.value).startswith('writable /upload/sub is inside writable /upload')
    assert os.listdir(str(host / 'jails' / 'ann')) == [] and not (host / 'keys').exists()


def test_keys_file_reached_through_a_link_into_the_jail_refused_before_anything(host):
    jail = host / 'jails' / 'ann'
    os.symlink(str(jail), str(host / 'keys-link'))
    with pytest.raises(SshJailError) as excinfo:
        job(host, FakeSystem(), authorized_keys={'nobody': ['ssh-ed25519 AAAA']},
            authorized_keys_file=str(host / 'keys-link' / 'upload' / '%u')).execute()
    assert str(excinfo.value) == (f"authorized_keys_file '{host}/keys-link/upload/%u' leads into the jail {jail} "
                                  'through a symbolic link on the host, where a jailed user could change who logs in; '
                                  'keep the keys outside the jail')
    assert os.listdir(str(jail)) == []


@pytest.mark.parametrize('owner', ['sftp-other', None])
def test_mount_unit_of_another_block_is_not_taken_over(host, owner):
    """Taken over, its state=absent would have removed this block's noexec mount."""
    jail = host / 'jails' / 'ann'
    unit = str(jail / 'upload').strip('/').replace('-', '\\x2d').replace('/', '-') + '.mount'
    path = host / 'etc' / 'units' / unit
    text = f'[Unit]\n{"X-ServersecSshJail=" + owner if owner else "Description=by hand"}\n'
    path.write_text(text)
    system = FakeSystem()
    with pytest.raises(SshJailError) as excinfo:
        job(host, system).execute()
    whose = f'ssh_jail {owner}' if owner else 'something else (no X-ServersecSshJail=sftp-ann line)'
    assert str(excinfo.value) == (f'{path} exists and belongs to {whose}: refusing to take it over '
                                  '(two ssh_jail blocks cannot mount the same path)')
    assert path.read_text() == text and os.listdir(str(jail)) == [] and system.calls == []


def test_shell_user_without_shell_in_the_jail_is_warned(host):
    """nobody's shell (/usr/sbin/nologin) is not in the empty jail."""
    work = job(host, FakeSystem(), check_mode=True, mode='shell', writable=[])
    work.execute()
    assert work.warnings == [f'user nobody: login shell /usr/sbin/nologin is not in the jail {host}/jails/ann, '
                             'so the login will fail (add it to the jail with chroot_jail)']
    assert job(host, FakeSystem(), check_mode=True, writable=[]).warnings == []


def test_authorized_keys_written_by_the_same_run(host):
    """The keys files come with the block (the role has no step of its own for them), and only
    what changed is reported again."""
    keys_base = tempfile.mkdtemp(dir='/root')  # the walk from / refuses /tmp, which everyone can write
    try:
        os.chmod(keys_base, 0o755)
        template = f'{keys_base}/keys/%u'
        result = job(host, FakeSystem(), authorized_keys={'nobody': ['ssh-ed25519 AAAA nobody@laptop']},
                     authorized_keys_file=template).execute()
        path = f'{keys_base}/keys/nobody'
        assert result['changes'][:2] == [f'create {keys_base}/keys', f'write {path}']
        with open(path) as handle:
            assert handle.read() == 'ssh-ed25519 AAAA nobody@laptop\n'
        assert f'AuthorizedKeysFile {template}' in (host / 'etc' / 'sshd_config.d' / 'sftp-ann.conf').read_text()
        system = FakeSystem()
        system.mounted = {unit: True for unit in os.listdir(str(host / 'etc' / 'units'))}
        system.units = {unit: re.search(r'^Where=(.*)$', (host / 'etc' / 'units' / unit).read_text(), re.M).group(1)
                        for unit in system.mounted}
        result = job(host, system, authorized_keys={'nobody': ['ssh-ed25519 BBBB nobody@desk']},
                     authorized_keys_file=template).execute()
        assert result['changes'] == [f'write {path}']
    finally:
        shutil.rmtree(keys_base)


class Writes:
    """A module whose main() writes through the real System."""

    def __init__(self, path):
        self.path = path

    def main(self):
        module = basic.AnsibleModule(argument_spec={})
        System(module).write(self.path, 'Match all\n')
        module.exit_json(changed=True)


# kept, but never writable by group or others
@pytest.mark.parametrize('existing, expected', [
    (0o600, 0o600), (0o640, 0o640), (None, 0o644), (0o666, 0o644), (0o620, 0o600),
])
def test_system_write_keeps_the_mode_of_an_existing_file(run_module, tmp_path, existing, expected):
    path = tmp_path / 'sshd_config'
    if existing is not None:
        path.write_text('Port 22\n')
        os.chmod(str(path), existing)
    assert run_module(Writes(str(path)), {})['changed']
    assert path.read_text() == 'Match all\n' and stat.S_IMODE(os.stat(str(path)).st_mode) == expected
