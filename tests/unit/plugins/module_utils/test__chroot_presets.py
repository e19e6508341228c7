# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailkit-style presets (issue 14 §4): the data, its expansion, the family from os-release, and
the merge that skips what a host lacks. A fake host tree under tmp_path stands for the host."""

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.plan import Planner, sensitive_reason
from ansible_collections.serversec.confine.plugins.module_utils._chroot.presets import (
    FAMILIES,
    LIST_KEYS,
    PRESET_NAMES,
    PRESETS,
    apply_presets,
    expand,
    parse_os_release,
    preset_family,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    DEVICE_NAME_RE,
    PROFILES,
    JailError,
    JailSpec,
    abs_path,
)

JAILKIT_SECTIONS = ('basicshell', 'editors', 'netutils', 'ssh', 'sftp', 'scp', 'rsync', 'git', 'perl', 'python',
                    'uidbasics', 'netbasics', 'logbasics')


def write(root, path, content=b'', mode=0o644):
    full = str(root) + path
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, 'wb') as handle:
        handle.write(content)
    os.chmod(full, mode)


@pytest.fixture
def fake_host(tmp_path):
    root = tmp_path / 'host'
    root.mkdir(mode=0o755)
    return root


# -- the data ----------------------------------------------------------------

def test_preset_names_are_jailkits_sections():
    assert PRESET_NAMES == JAILKIT_SECTIONS
    assert sorted(PRESETS) == sorted(JAILKIT_SECTIONS)


@pytest.mark.parametrize('name', JAILKIT_SECTIONS)
@pytest.mark.parametrize('family', FAMILIES)
def test_preset_data_is_plain_and_safe(name, family):
    definition = PRESETS[name]
    assert set(definition) <= {'includes'} | set(LIST_KEYS)
    for value in definition.values():
        assert isinstance(value, (tuple, dict))
        if isinstance(value, dict):
            assert set(value) == set(FAMILIES)
    expansion = expand([name], family)
    for path in expansion.binaries + expansion.files:
        assert abs_path(path, 'preset path') == path
        assert sensitive_reason(path) is None, path
        assert not path.startswith('/etc/ssh/ssh_host_'), path
    assert set(expansion.profiles) <= set(PROFILES)
    assert all(DEVICE_NAME_RE.fullmatch(device) for device in expansion.devices)
    assert expansion.users in ([], ['root']) and expansion.groups in ([], ['root'])


# -- expansion ---------------------------------------------------------------

VALID_EXPANSIONS = [
    (['sftp'], 'debian', {'binaries': ['/usr/lib/openssh/sftp-server'], 'files': [], 'devices': ['urandom', 'null'],
                          'profiles': ['dns', 'nss'], 'users': [], 'groups': []}),
    (['sftp'], 'redhat', {'binaries': ['/usr/libexec/openssh/sftp-server'], 'files': [],
                          'devices': ['urandom', 'null'], 'profiles': ['dns', 'nss'], 'users': [], 'groups': []}),
    # included presets come first; what two presets share is listed once
    (['ssh', 'scp'], 'debian', {'binaries': ['/usr/bin/ssh', '/usr/bin/scp'],
                                'files': ['/etc/ssh/ssh_config', '/etc/ssh/ssh_config.d'],
                                'devices': ['urandom', 'tty', 'null'], 'profiles': ['dns', 'nss'],
                                'users': [], 'groups': []}),
    (['logbasics', 'uidbasics'], 'redhat', {'binaries': [], 'files': [], 'devices': [],
                                            'profiles': ['timezone', 'nss'], 'users': [], 'groups': []}),
    ([], 'debian', {key: [] for key in LIST_KEYS}),
]


@pytest.mark.parametrize('names, family, expected', VALID_EXPANSIONS)
def test_expand(names, family, expected):
    expansion = expand(names, family)
    assert {key: getattr(expansion, key) for key in LIST_KEYS} == expected


def test_netutils_brings_ssh_sftp_scp_and_the_ca_bundle():
    debian = expand(['netutils'], 'debian')
    assert debian.binaries[:3] == ['/usr/bin/ssh', '/usr/lib/openssh/sftp-server', '/usr/bin/scp']
    assert '/usr/bin/wget' in debian.binaries and '/etc/ssl/certs/ca-certificates.crt' in debian.files
    assert '/etc/pki/tls/certs/ca-bundle.crt' in expand(['netutils'], 'redhat').files


def test_basicshell_brings_root_the_shell_and_null():
    expansion = expand(['basicshell'], 'debian')
    assert expansion.binaries[:3] == ['/bin/sh', '/usr/bin/bash', '/usr/bin/cat']
    assert '/usr/bin/id' in expansion.binaries
    assert (expansion.devices, expansion.users, expansion.groups, expansion.profiles) == \
        (['null'], ['root'], ['root'], ['nss'])
    assert '/etc/bash.bashrc' in expansion.files and '/etc/bashrc' in expand(['basicshell'], 'redhat').files


INVALID_EXPANSIONS = [
    (['x11'], 'debian', "unknown preset 'x11' (known: " + ', '.join(JAILKIT_SECTIONS) + ')'),
    ([None], 'debian', "unknown preset None (known: " + ', '.join(JAILKIT_SECTIONS) + ')'),
    (['ping'], 'debian', "unknown preset 'ping' (known: " + ', '.join(JAILKIT_SECTIONS) + ')'),
    ('ssh', 'debian', "presets: 'ssh' is not a list"),
    (['ssh'], 'arch', "preset_family 'arch' is not one of debian, redhat"),
    (['ssh'], 'auto', "preset_family 'auto' is not one of debian, redhat"),
]


@pytest.mark.parametrize('names, family, message', INVALID_EXPANSIONS)
def test_expand_refuses(names, family, message):
    with pytest.raises(JailError) as excinfo:
        expand(names, family)
    assert str(excinfo.value) == message


# -- the family --------------------------------------------------------------

VALID_OS_RELEASES = [
    ('ID=debian\nVERSION_ID="12"\n', ['debian'], 'debian'),
    ('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\n', ['ubuntu', 'debian'], 'debian'),
    ('ID=fedora\nVERSION_ID=42\n', ['fedora'], 'redhat'),
    ('ID="rocky"\nID_LIKE="rhel centos fedora"\n', ['rocky', 'rhel', 'centos', 'fedora'], 'redhat'),
    ("# comment\nID='almalinux'\n", ['almalinux'], 'redhat'),
    # an unknown distribution that says what it is like
    ('ID=pop\nID_LIKE="ubuntu debian"\n', ['pop', 'ubuntu', 'debian'], 'debian'),
]


@pytest.mark.parametrize('text, words, family', VALID_OS_RELEASES)
def test_family_from_os_release(fake_host, text, words, family):
    assert parse_os_release(text) == words
    write(fake_host, '/usr/lib/os-release', text.encode())
    os.mkdir(str(fake_host) + '/etc', 0o755)
    os.symlink('../usr/lib/os-release', str(fake_host) + '/etc/os-release')
    assert preset_family('auto', Host(str(fake_host))) == family


def test_family_falls_back_to_usr_lib_os_release(fake_host):
    write(fake_host, '/usr/lib/os-release', b'ID=fedora\n')
    assert preset_family('auto', Host(str(fake_host))) == 'redhat'


@pytest.mark.parametrize('requested', FAMILIES)
def test_family_given_reads_nothing(requested):
    assert preset_family(requested, host=object()) == requested


INVALID_OS_RELEASES = [
    (b'ID=arch\n', "preset_family auto: /etc/os-release names arch, no family the presets know; "
                   "set preset_family to one of debian, redhat"),
    (b'NAME=nothing\n', "preset_family auto: /etc/os-release names nothing known, no family the presets know; "
                        "set preset_family to one of debian, redhat"),
    # what is echoed back is only plain words
    (b'ID="$(reboot)\x1b[2J"\nID_LIKE="solus x"\n',
     "preset_family auto: /etc/os-release names solus x, no family the presets know; set preset_family to one of debian, redhat"),
]


@pytest.mark.parametrize('content, message', INVALID_OS_RELEASES)
def test_unknown_family_is_refused(fake_host, content, message):
    write(fake_host, '/etc/os-release', content)
    with pytest.raises(JailError) as excinfo:
        preset_family('auto', Host(str(fake_host)))
    assert str(excinfo.value) == message


def test_no_os_release_is_refused(fake_host):
    with pytest.raises(JailError) as excinfo:
        preset_family('auto', Host(str(fake_host)))
    assert str(excinfo.value) == ('preset_family auto: no /etc/os-release or /usr/lib/os-release on the host; '
                                  'set preset_family to one of debian, redhat')


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to own the fake tree')
def test_os_release_in_a_user_writable_directory_is_refused(fake_host):
    write(fake_host, '/etc/os-release', b'ID=fedora\n')
    os.chmod(str(fake_host) + '/etc', 0o777)
    with pytest.raises(JailError) as excinfo:
        preset_family('auto', Host(str(fake_host)))
    assert str(excinfo.value) == ('preset_family auto: /etc/os-release: /etc is group- or world-writable (mode 0777) '
                                  '(a non-root user could swap what it holds); '
                                  'set allow_user_writable_sources to accept it')
    # the same rule as for every source: accepted when the playbook says so
    assert preset_family('auto', Host(str(fake_host)), allow_user_writable=True) == 'redhat'


def test_bad_requested_family_is_refused():
    with pytest.raises(JailError) as excinfo:
        preset_family('gentoo')
    assert str(excinfo.value) == "preset_family 'gentoo' is not one of auto, debian, redhat"


# -- the merge ---------------------------------------------------------------

class NoHost:
    """A host that must not be read."""

    def __getattr__(self, name):
        raise AssertionError(f'the host was read ({name}) although no preset was asked for')


def test_no_preset_reads_nothing_and_keeps_the_lists():
    options = {'binaries': ['/x'], 'files': None, 'devices': ['null'], 'presets': []}
    lists, skipped = apply_presets(options, NoHost())
    assert lists == {'binaries': ['/x'], 'files': [], 'devices': ['null'], 'profiles': [], 'users': [], 'groups': []}
    assert skipped == []


def test_merge_keeps_the_playbooks_lists_first_and_skips_what_the_host_lacks(fake_host):
    write(fake_host, '/etc/os-release', b'ID=debian\n')
    write(fake_host, '/usr/bin/ssh', mode=0o755)
    write(fake_host, '/usr/bin/scp', mode=0o755)
    write(fake_host, '/etc/ssh/ssh_config')
    # a dangling link is as missing as no file at all
    os.symlink('/etc/alternatives/ssh_config.d', str(fake_host) + '/etc/ssh/ssh_config.d')
    write(fake_host, '/dev/null')
    write(fake_host, '/dev/urandom')
    options = {'binaries': ['/usr/bin/scp', '/opt/own/missing'], 'files': [], 'devices': ['null'],
               'profiles': ['timezone'], 'users': ['www-data'], 'groups': [], 'presets': ['ssh', 'scp'],
               'preset_family': 'auto'}
    lists, skipped = apply_presets(options, Host(str(fake_host)))
    assert lists == {
        # what the playbook names is kept even where missing: the plan then fails naming it
        'binaries': ['/usr/bin/scp', '/opt/own/missing', '/usr/bin/ssh'],
        'files': ['/etc/ssh/ssh_config'],
        'devices': ['null', 'urandom'],
        'profiles': ['timezone', 'dns', 'nss'],
        'users': ['www-data'],
        'groups': [],
    }
    assert skipped == ['/etc/ssh/ssh_config.d', '/dev/tty']


def test_merge_uses_the_family_given(fake_host):
    write(fake_host, '/usr/libexec/openssh/sftp-server', mode=0o755)
    write(fake_host, '/usr/lib/openssh/sftp-server', mode=0o755)
    lists, skipped = apply_presets({'presets': ['sftp'], 'preset_family': 'redhat'}, Host(str(fake_host)))
    assert lists['binaries'] == ['/usr/libexec/openssh/sftp-server']
    assert skipped == ['/dev/urandom', '/dev/null']


def test_os_release_that_is_not_a_regular_file_is_refused(fake_host):
    os.mkdir(str(fake_host) + '/etc', 0o755)
    os.mkfifo(str(fake_host) + '/etc/os-release')
    with pytest.raises(JailError) as excinfo:
        preset_family('auto', Host(str(fake_host)))
    assert str(excinfo.value) == 'preset_family auto: /etc/os-release is not a regular file'


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give a directory to another user')
def test_a_preset_path_under_a_users_directory_is_still_refused(fake_host, monkeypatch):
    write(fake_host, '/srv/data/u/app.conf', b'swappable\n')
    os.chown(str(fake_host) + '/srv/data/u', 1001, 1001)
    monkeypatch.setitem(PRESETS, 'logbasics', {'files': ('/srv/data/u/app.conf',)})
    host = Host(str(fake_host))
    lists, skipped = apply_presets({'presets': ['logbasics'], 'preset_family': 'debian'}, host)
    assert (lists['files'], skipped) == (['/srv/data/u/app.conf'], [])
    with pytest.raises(JailError) as excinfo:
        Planner(JailSpec('/jail', **lists), host=host).run()
    assert str(excinfo.value) == ('file /srv/data/u/app.conf: /srv/data/u is owned by uid 1001 (a non-root user could '
                                  'swap what it holds); set allow_user_writable_sources to accept it')
