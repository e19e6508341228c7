# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_ssh_jail_mounts: unit names, unit text, mountinfo, writable directories made through descriptors."""

import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_mounts import (
    ensure_devlog_placeholder,
    ensure_directory,
    escape_path,
    installed_units,
    mount_options,
    render_unit,
    resolve_owner,
    unit_owner,
)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='chown needs root')


@pytest.mark.parametrize('path, escaped', [  # values printed by systemd-escape --path
    ('/srv/jails/ann/upload', 'srv-jails-ann-upload'),
    ('/srv/my-jail/.x', 'srv-my\\x2djail-.x'),
    ('/.hidden/a b', '\\x2ehidden-a\\x20b'),
    ('/srv/jails/ann/dev/log/', 'srv-jails-ann-dev-log'),
    ('/', '-'),
    ('/srv/caf\u00e9', 'srv-caf\\xc3\\xa9'),
])
def test_escape_path(path, escaped):
    assert escape_path(path) == escaped


def test_unit_text_and_owner():
    text = render_unit('sftp-ann', '/run/systemd/journal/dev-log', '/srv/j/dev/log', 'bind,noexec,nosuid,nodev',
                       after='systemd-journald-dev-log.socket')
    assert text == (
        '# Managed by serversec.confine.ssh_jail (sftp-ann); do not edit.\n[Unit]\n'
        'Description=ssh_jail sftp-ann: /srv/j/dev/log\nX-ServersecSshJail=sftp-ann\n'
        'After=systemd-journald-dev-log.socket\nRequires=systemd-journald-dev-log.socket\n\n[Mount]\n'
        'What=/run/systemd/journal/dev-log\nWhere=/srv/j/dev/log\nType=none\nOptions=bind,noexec,nosuid,nodev\n\n'
        '[Install]\nWantedBy=local-fs.target\n')
    assert unit_owner(text) == 'sftp-ann'
    assert unit_owner('[Mount]\nWhat=/x\n') is None


def test_installed_units_are_only_ours(tmp_path):
    (tmp_path / 'a.mount').write_text(render_unit('n', '/a', '/a', 'bind'))
    (tmp_path / 'b.mount').write_text(render_unit('other', '/b', '/b', 'bind'))
    (tmp_path / 'c.service').write_text(render_unit('n', '/c', '/c', 'bind'))
    os.symlink(str(tmp_path / 'a.mount'), str(tmp_path / 'd.mount'))
    assert list(installed_units('n', str(tmp_path))) == ['a.mount']


MOUNTINFO = """\
22 1 0:21 / / rw,relatime - overlay overlay rw
30 22 0:21 /srv/j/up /srv/j/up rw,nosuid,nodev,noexec,relatime shared:1 - overlay overlay rw
31 22 0:21 /srv/j\\040x /srv/j\\040x rw - overlay overlay rw
32 30 0:21 /srv/j/up /srv/j/up ro,relatime - overlay overlay rw
"""


def test_mount_options_reads_the_topmost_mount():
    assert mount_options('/srv/j/up', MOUNTINFO) == {'ro', 'relatime'}
    assert mount_options('/srv/j/up', MOUNTINFO.rsplit('32 ', 1)[0]) == {'rw', 'nosuid', 'nodev', 'noexec', 'relatime'}
    assert mount_options('/srv/j x', MOUNTINFO) == {'rw'}
    assert mount_options('/srv/j', MOUNTINFO) is None


@pytest.fixture
def jail(tmp_path):
    root = tmp_path / 'jail'
    (root / 'home').mkdir(parents=True)
    os.chmod(str(root), 0o755)
    os.chmod(str(root / 'home'), 0o755)
    return root


@needs_root
def test_writable_directory_is_created_and_fixed(jail):
    assert ensure_directory(str(jail), '/srv/up', 1001, 1002, 0o750, check_mode=True) == ['create /srv', 'create /srv/up']
    assert not (jail / 'srv').exists()
    made = ensure_directory(str(jail), '/srv/up', 1001, 1002, 0o750, False)
    assert made == ['create /srv', 'create /srv/up', 'chown /srv/up 1001:1002', 'chmod /srv/up 0750']
    st = os.stat(str(jail / 'srv' / 'up'))
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (1001, 1002, 0o750)
    assert stat.S_IMODE(os.stat(str(jail / 'srv')).st_mode) == 0o755 and os.stat(str(jail / 'srv')).st_uid == 0
    assert ensure_directory(str(jail), '/srv/up', 1001, 1002, 0o750, False) == []
    os.chmod(str(jail / 'srv' / 'up'), 0o777)
    assert ensure_directory(str(jail), '/srv/up', 1001, 1002, 0o750, False) == ['chmod /srv/up 0750']


@needs_root
def test_parent_a_user_controls_is_refused(jail):
    os.chown(str(jail / 'home'), 1001, 1001)
    with pytest.raises(SshJailError) as excinfo:
        ensure_directory(str(jail), '/home/up', 1001, 1001, 0o750, False)
    assert str(excinfo.value) == (f'writable /home/up: /home in the jail {jail} must be root-owned and not group- or '
                                  'world-writable (a user could swap what the mount covers)')
    assert not (jail / 'home' / 'up').exists()


@pytest.mark.parametrize('make, message', [
    (lambda j: os.symlink('/etc', str(j / 'home' / 'up')), 'writable /home/up: /home/up in the jail {jail} is a symlink'),
    (lambda j: os.symlink('/', str(j / 'srv')), 'writable /srv/up: /srv in the jail {jail} is a symlink'),
    (lambda j: (j / 'home' / 'up').write_text(''), 'writable /home/up: /home/up in the jail {jail} is not a directory'),
])
def test_symlinks_and_files_are_refused(jail, make, message):
    make(jail)
    path = '/srv/up' if 'srv' in message else '/home/up'
    with pytest.raises(SshJailError) as excinfo:
        ensure_directory(str(jail), path, 1001, 1001, 0o750, False)
    assert str(excinfo.value) == message.format(jail=jail)
    assert stat.S_IMODE(os.stat('/etc').st_mode) != 0o750


def test_devlog_placeholder(jail):
    assert ensure_devlog_placeholder(str(jail), True) == ['create /dev', 'create /dev/log']
    assert not (jail / 'dev').exists()
    assert ensure_devlog_placeholder(str(jail), False) == ['create /dev', 'create /dev/log']
    assert stat.S_ISREG(os.lstat(str(jail / 'dev' / 'log')).st_mode)
    assert ensure_devlog_placeholder(str(jail), False) == []
    os.unlink(str(jail / 'dev' / 'log'))
    os.symlink('/etc/shadow', str(jail / 'dev' / 'log'))
    with pytest.raises(SshJailError) as excinfo:
        ensure_devlog_placeholder(str(jail), False)
    assert str(excinfo.value) == f'/dev/log in the jail {jail} is neither a file nor a socket; remove it'


@pytest.mark.parametrize('owner, group, message', [
    ('²', None, "writable: owner '²' does not exist on the host"),
    ('nobody', '²', "writable: group '²' does not exist on the host"),
    ('nobody', 'no\0group', "writable: group 'no\\x00group' does not exist on the host"),
    ('nobody', '99999999999', "writable: group '99999999999' is out of range (ids go up to 4294967294)"),
    ('nobody', '4294967295', "writable: group '4294967295' is out of range (ids go up to 4294967294)"),
    ('4294967295', None, "writable: owner '4294967295' is out of range (ids go up to 4294967294)"),
])
def test_resolve_owner_refuses_odd_ids(owner, group, message):
    with pytest.raises(SshJailError) as excinfo:
        resolve_owner(owner, group)
    assert str(excinfo.value) == message


def test_resolve_owner_numeric():
    assert resolve_owner('65534', '4242') == (65534, 4242)
