# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_ssh_jail: options, the Match blocks, where they live, the candidate config, the lockout guard."""

import collections

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import (
    SshdConfig,
    SshJailError,
    SshJailSpec,
    block_directives,
    check_accounts,
    check_lockout,
    connected_users,
    effective_conflicts,
    probe_accounts,
    render_block,
)

Pw = collections.namedtuple('Pw', 'pw_name pw_uid pw_gid')
Gr = collections.namedtuple('Gr', 'gr_name gr_gid gr_mem')
USERS = {'deploy': Pw('deploy', 1000, 1000), 'ann': Pw('ann', 1001, 1001), 'toor': Pw('toor', 0, 0)}
GROUPS = [Gr('deploy', 1000, []), Gr('ann', 1001, []), Gr('sftponly', 2000, ['ann']), Gr('admins', 2001, ['deploy']),
          Gr('wheel', 0, [])]


def getpwnam(name):
    return USERS[name]


def getgrgid(gid):
    return next(g for g in GROUPS if g.gr_gid == gid)


def getgrnam(name):
    return next(g for g in GROUPS if g.gr_name == name)


def spec(**kwargs):
    args = dict(name='sftp-ann', jail='/srv/jails/ann', users=['ann'])
    args.update(kwargs)
    return SshJailSpec(**args)


def test_spec_defaults():
    s = spec(writable=['/upload', {'path': '/pub/', 'owner': 'www', 'mode': '0755'}])
    assert (s.mode, s.authorized_keys_file, s.state) == ('sftp', '/etc/ssh/authorized_keys/%u', 'present')
    assert s.writable == [{'path': '/upload', 'owner': 'ann', 'group': None, 'mode': 0o750},
                          {'path': '/pub', 'owner': 'www', 'group': None, 'mode': 0o755}]


INVALID_SPECS = [
    ({'name': '../x'}, 'name \'../x\': use letters, digits, "_", "." and "-" (it names a file)'),
    ({'name': ''}, 'name \'\': use letters, digits, "_", "." and "-" (it names a file)'),
    ({'users': []}, 'give users and/or groups to jail'),
    ({'users': ['a*']}, "users: 'a*' is not a plain user or group name (no patterns, spaces or commas)"),
    ({'users': ['ann,root']}, "users: 'ann,root' is not a plain user or group name (no patterns, spaces or commas)"),
    ({'groups': ['!staff']}, "groups: '!staff' is not a plain user or group name (no patterns, spaces or commas)"),
    # a trailing newline would start a line of sshd_config of the play's choosing
    ({'users': ['ann\n']}, "users: 'ann\\n' is not a plain user or group name (no patterns, spaces or commas)"),
    ({'groups': ['sftp\n']}, "groups: 'sftp\\n' is not a plain user or group name (no patterns, spaces or commas)"),
    ({'name': 'x\n'}, 'name \'x\\n\': use letters, digits, "_", "." and "-" (it names a file)'),
    ({'jail': '/srv/jails/ann\n'},
     'jail \'/srv/jails/ann\\n\': use letters, digits and "_./@+:-" only (no spaces, quotes or "%")'),
    ({'mode': 'scp'}, "mode 'scp': choose 'sftp' or 'shell'"),
    ({'jail': 'srv/jails'}, "jail 'srv/jails' is not an absolute path"),
    ({'jail': '/'}, "refusing to use '/' as a jail"),
    ({'jail': '/srv/my jail'}, 'jail \'/srv/my jail\': use letters, digits and "_./@+:-" only (no spaces, quotes or "%")'),
    ({'jail': '/srv/%u'}, 'jail \'/srv/%u\': use letters, digits and "_./@+:-" only (no spaces, quotes or "%")'),
    ({'authorized_keys_file': '.ssh/authorized_keys'},
     "authorized_keys_file '.ssh/authorized_keys': give one absolute host path (it is read before the chroot), "
     'e.g. /etc/ssh/authorized_keys/%u'),
    ({'writable': ['/']}, 'writable path / is the jail root: OpenSSH requires it to stay root-owned'),
    ({'writable': ['/upload/sub', '/upload']}, 'writable /upload/sub is inside writable /upload: every directory above '
     'a writable one must stay root-owned, so writable directories cannot nest'),
    ({'writable': ['/upload', '/pub', '/upload/sub/']}, 'writable /upload/sub is inside writable /upload: every '
     'directory above a writable one must stay root-owned, so writable directories cannot nest'),
    ({'writable': ['/upload', {'path': '/upload/', 'mode': '0700'}]}, 'writable /upload is given twice'),
    ({'writable': [{'path': '/up', 'owner': '99999999999'}]},
     "writable /up: owner '99999999999' is out of range (ids go up to 4294967294)"),
    ({'writable': [{'path': '/up', 'group': 4294967295}]},
     "writable /up: group '4294967295' is out of range (ids go up to 4294967294)"),
    ({'writable': ['up']}, "writable path 'up' is not an absolute path"),
    ({'users': ['ann', 'bob'], 'writable': ['/up']}, 'writable /up: give an owner (the block jails more than one user)'),
    ({'writable': [{'path': '/up', 'mode': '0777'}]},
     'writable /up: mode 0777 must not be world-writable, setuid, setgid or sticky'),
    ({'writable': [{'path': '/up', 'mode': '2770'}]},
     'writable /up: mode 2770 must not be world-writable, setuid, setgid or sticky'),
    ({'writable': [{'path': '/up', 'mode': 'rwx'}]}, 'writable /up: mode \'rwx\' is not an octal mode like "0750"'),
]


@pytest.mark.parametrize('keys', [
    '/srv/jails/ann/upload/%u',  # the user owns /upload: she could replace her keys
    '/srv/jails/ann/%u',
    '/srv/jails/ann/./etc/keys/%u',
    '//srv/jails/ann/upload/%u',
    '/srv/jails/%u/keys',  # ann's directory is her jail
    '/srv/jails/ann%h/keys',
    '/srv/jails/ann%h',  # %h expands to /home/ann: the file name's tokens count too
    '/srv/jails/an%d',
])
def test_keys_file_inside_the_jail_refused(keys):
    with pytest.raises(SshJailError) as excinfo:
        spec(writable=['/upload'], authorized_keys_file=keys)
    assert str(excinfo.value) == (f'authorized_keys_file {keys!r}: its directory is (or may be) inside the jail '
                                  '/srv/jails/ann, where a jailed user could change who logs in; keep the keys '
                                  'outside the jail, e.g. /etc/ssh/authorized_keys/%u')


@pytest.mark.parametrize('keys', ['/etc/ssh/keys/%u', '/srv/jails/ann.keys/%u', '/srv/jails/%u', '/srv/keys/%u/file'])
def test_keys_file_outside_the_jail_accepted(keys):
    assert spec(authorized_keys_file=keys).authorized_keys_file == keys


@pytest.mark.parametrize('kwargs, message', INVALID_SPECS)
def test_spec_invalid(kwargs, message):
    with pytest.raises(SshJailError) as excinfo:
        spec(**kwargs)
    assert str(excinfo.value) == message


LOCKDOWN = """    DisableForwarding yes
    AllowTcpForwarding no
    AllowAgentForwarding no
    AllowStreamLocalForwarding no
    X11Forwarding no
    PermitTunnel no
    GatewayPorts no
    PermitUserRC no
"""


def test_sftp_block_for_users_and_groups():
    assert render_block(spec(users=['ann', 'bob'], groups=['sftponly'])) == (
        '# Managed by serversec.confine.ssh_jail (sftp-ann); do not edit.\n'
        'Match User ann,bob\n'
        '    ChrootDirectory /srv/jails/ann\n'
        '    AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n'
        '    ForceCommand internal-sftp -l INFO -u 0077\n'
        '    PermitTTY no\n' + LOCKDOWN +
        'Match Group sftponly\n'
        '    ChrootDirectory /srv/jails/ann\n'
        '    AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n'
        '    ForceCommand internal-sftp -l INFO -u 0077\n'
        '    PermitTTY no\n' + LOCKDOWN)


def test_shell_block_has_no_force_command():
    assert render_block(spec(name='s', mode='shell', users=['sam'], jail='/srv/jails/sam')) == (
        '# Managed by serversec.confine.ssh_jail (s); do not edit.\n'
        'Match User sam\n'
        '    ChrootDirectory /srv/jails/sam\n'
        '    AuthorizedKeysFile /etc/ssh/authorized_keys/%u\n' + LOCKDOWN)


DEBIAN_MAIN = """# Debian's sshd_config
Include /etc/ssh/sshd_config.d/*.conf
KbdInteractiveAuthentication no
Subsystem sftp /usr/lib/openssh/sftp-server
"""


@pytest.mark.parametrize('main, dropin', [
    (DEBIAN_MAIN, True),
    ('Include sshd_config.d/*.conf\n', True),
    ('Include /etc/ssh/extra.conf /etc/ssh/sshd_config.d/*\n', True),
    ('Port 22\n', False),
    ('Include /etc/ssh/other.d/*.conf\n', False),
    ('Match User x\n  Include /etc/ssh/sshd_config.d/*.conf\n', False),  # conditional: not for everyone
    ('#Include /etc/ssh/sshd_config.d/*.conf\n', False),
])
def test_where_the_block_lives(main, dropin):
    config = SshdConfig('sftp-ann', main, {})
    assert config.uses_dropin is dropin
    assert config.path == ('/etc/ssh/sshd_config.d/sftp-ann.conf' if dropin else '/etc/ssh/sshd_config')


def test_candidate_main_keeps_order_and_other_dropins():
    config = SshdConfig('m', DEBIAN_MAIN, {'10-a.conf': 'A', 'm.conf': 'old', 'z.conf': 'Z', 'x.disabled': 'X',
                                           '.m.conf.tmp': 'T'})
    assert config.current() == 'old'
    assert config.candidate_main('/tmp/priv/m.conf') == (
        '# Debian\'s sshd_config\n'
        'Include /etc/ssh/sshd_config.d/10-a.conf\n'
        'Include /tmp/priv/m.conf\n'
        'Include /etc/ssh/sshd_config.d/z.conf\n'
        'KbdInteractiveAuthentication no\nSubsystem sftp /usr/lib/openssh/sftp-server\n')
    assert config.candidate_main(None).splitlines()[1:3] == [
        'Include /etc/ssh/sshd_config.d/10-a.conf', 'Include /etc/ssh/sshd_config.d/z.conf']


def test_candidate_main_keeps_other_include_patterns():
    config = SshdConfig('m', 'Include /etc/ssh/extra.conf /etc/ssh/sshd_config.d/*.conf\n', {})
    assert config.candidate_main('/p/m.conf') == 'Include /etc/ssh/extra.conf\nInclude /p/m.conf\n'


def test_managed_block_added_replaced_removed():
    config = SshdConfig('m', 'Port 22', {})
    added = config.desired('Match User a\n')
    assert added == ('Port 22\n# BEGIN serversec.confine ssh_jail m\nMatch User a\nMatch all\n'
                     '# END serversec.confine ssh_jail m\n')
    again = SshdConfig('m', added + 'Match User other\n', {})
    assert again.desired('Match User b\n') == ('Port 22\nMatch User other\n# BEGIN serversec.confine ssh_jail m\n'
                                               'Match User b\nMatch all\n# END serversec.confine ssh_jail m\n')
    assert again.desired(None) == 'Port 22\nMatch User other\n'
    assert SshdConfig('m', 'Port 22\n', {}).desired(None) == 'Port 22\n'


def test_managed_block_without_end_is_refused():
    config = SshdConfig('m', 'Port 22\n# BEGIN serversec.confine ssh_jail m\nMatch User a\n', {})
    with pytest.raises(SshJailError) as excinfo:
        config.desired(None)
    assert str(excinfo.value) == ('/etc/ssh/sshd_config: "# BEGIN serversec.confine ssh_jail m" has no matching '
                                  '"# END serversec.confine ssh_jail m"; fix it by hand')


def over_ssh():
    return ('192.0.2.1', '192.0.2.2')


def test_connected_users(tmp_path):
    loginuid = tmp_path / 'loginuid'
    loginuid.write_text('1000')
    users = connected_users({'SUDO_USER': 'ops', 'USER': 'root'}, str(loginuid), lambda uid: USERS['deploy'], over_ssh)
    assert users == {'ops', 'deploy'}
    loginuid.write_text('4294967295')
    assert connected_users({'USER': 'ann'}, str(loginuid), getpwnam, over_ssh) == {'ann'}
    assert connected_users({'USER': 'ann'}, str(loginuid), getpwnam, lambda: None) == set()


@pytest.mark.parametrize('kwargs, connected, message', [
    ({'users': ['ann']}, {'ann'}, 'refusing to jail user ann: Ansible is connected as ann and would lose its way in; '
                                  'set allow_lockout=true if you really mean it'),
    ({'users': [], 'groups': ['admins']}, {'deploy'},
     'refusing to jail group admins: Ansible is connected as deploy, a member, and would lose its way in; '
     'set allow_lockout=true if you really mean it'),
    ({'users': [], 'groups': ['deploy']}, {'deploy'},
     'refusing to jail group deploy: Ansible is connected as deploy, a member, and would lose its way in; '
     'set allow_lockout=true if you really mean it'),
])
def test_lockout_refused(kwargs, connected, message):
    with pytest.raises(SshJailError) as excinfo:
        check_lockout(spec(**kwargs), connected, getpwnam, lambda: GROUPS, getgrgid)
    assert str(excinfo.value) == message


def test_lockout_allows_others():
    check_lockout(spec(groups=['sftponly']), {'deploy'}, getpwnam, lambda: GROUPS, getgrgid)
    check_lockout(spec(), set(), getpwnam, lambda: GROUPS, getgrgid)


@pytest.mark.parametrize('kwargs, message', [
    ({'users': ['toor']}, 'users: toor has uid 0; root is never jailed (it can leave a chroot)'),
    ({'groups': ['wheel']}, 'groups: wheel has gid 0; the root group is never jailed'),
])
def test_root_is_never_jailed(kwargs, message):
    with pytest.raises(SshJailError) as excinfo:
        check_accounts(spec(**kwargs), getpwnam, getgrnam)
    assert str(excinfo.value) == message


def test_unknown_accounts_pass():
    check_accounts(spec(users=['nobody-yet'], groups=['sftponly']), getpwnam, getgrnam)


# sshd -T -C user=ann,host=localhost,addr=127.0.0.1 of OpenSSH 9.2 (Debian 12), the block of spec() in place
SSHD_T = """port 22
x11forwarding no
permittty no
permituserrc no
gatewayports no
allowtcpforwarding no
allowagentforwarding no
disableforwarding yes
allowstreamlocalforwarding no
forcecommand internal-sftp -l INFO -u 0077
chrootdirectory /srv/jails/ann
authorizedkeysfile /etc/ssh/authorized_keys/%u
permittunnel no
subsystem sftp internal-sftp
"""


def test_effective_settings_of_the_block_have_no_conflict():
    assert effective_conflicts(block_directives(spec(users=['ann'], jail='/srv/jails/ann')), SSHD_T) == []


def test_effective_settings_name_what_sshd_would_use_instead():
    dump = SSHD_T.replace('chrootdirectory /srv/jails/ann', 'chrootdirectory none').replace('permittty no\n', '')
    assert effective_conflicts(block_directives(spec(users=['ann'], jail='/srv/jails/ann')), dump) == [
        ('ChrootDirectory', '/srv/jails/ann', 'none'), ('PermitTTY', 'no', None)]


def test_shell_mode_checks_only_what_its_block_sets():
    dump = SSHD_T.replace('forcecommand internal-sftp -l INFO -u 0077', 'forcecommand none')
    assert effective_conflicts(block_directives(spec(users=['ann'], jail='/srv/jails/ann', mode='shell')), dump) == []


def test_probe_accounts_tests_each_user_and_one_member_of_each_group():
    def getgrnam(name):
        return {g.gr_name: g for g in GROUPS + [Gr('empty', 3000, []), Gr('odd', 3001, ['b,c'])]}[name]
    users = list(USERS.values()) + [Pw('zed', 1002, 2001)]
    probes = probe_accounts(spec(users=['bob'], groups=['sftponly', 'deploy', 'empty', 'odd', 'missing']),
                            getgrnam=getgrnam, getpwall=lambda: users, getpwnam=getpwnam)
    assert probes == [('user bob', 'bob'), ('group sftponly (tested with its member ann)', 'ann'),
                      ('group deploy (tested with its member deploy)', 'deploy')]


def test_a_stale_member_is_not_the_groups_probe():
    """sshd's Match Group looks the account up: a name /etc/group keeps for a deleted account
    matches no block, and judging the group by it refused a sound jail."""
    def getgrnam(name):
        return {'sftponly': Gr('sftponly', 2000, ['aaron', 'ann'])}[name]
    probes = probe_accounts(spec(users=[], groups=['sftponly']), getgrnam=getgrnam, getpwall=lambda: [],
                            getpwnam=getpwnam)
    assert probes == [('group sftponly (tested with its member ann)', 'ann')]
