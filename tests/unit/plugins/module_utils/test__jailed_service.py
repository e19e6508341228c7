# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action table, the account checks and the jail checks of jailed_service."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import grp
import os
import pwd
import socket
import stat

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _jailed_service
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as chroot_host
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import (
    check_bind_sources,
    check_program_in_jail,
    missing_in_jail,
    plan_actions,
    stat_in_jail,
    walk_failure,
)
from ansible_collections.serversec.confine.plugins.module_utils._known_jails import known_jails
from ansible_collections.serversec.confine.plugins.module_utils._service_accounts import resolve_accounts
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import (
    DropSpec,
    PrerequisiteError,
    ServiceError,
    UnitSpec,
)
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import (
    safe_tmp_lstat,
    trust_tmp_source_dir,
)

# A non-root user on the host, who owns directories on paths systemd resolves.
USER = 1001
SWAP_HINT = '(a non-root user could swap what it holds); set allow_user_writable_sources to accept it'


@pytest.mark.parametrize('state, enabled, active, unit_changed, is_enabled, steps', [
    # A new unit: written, enabled, started.
    ('started', True, 'inactive', True, False, ['install', 'enable', 'start']),
    ('started', True, 'active', False, True, []),
    ('started', True, 'active', True, True, ['install', 'restart']),
    ('started', True, 'activating', True, True, ['install', 'restart']),
    ('started', True, 'failed', False, True, ['start']),
    ('started', False, 'active', False, True, ['disable']),
    ('stopped', True, 'active', False, True, ['stop']),
    ('stopped', True, 'active', True, True, ['install', 'stop']),
    ('stopped', True, 'inactive', False, True, []),
    ('restarted', True, 'active', False, True, ['restart']),
    ('restarted', True, 'inactive', False, True, ['restart']),
    ('present', True, 'active', False, True, []),
    ('present', True, 'active', True, True, ['install', 'restart']),
    ('present', True, 'inactive', True, True, ['install']),
    ('present', False, 'inactive', False, True, ['disable']),
    ('absent', True, 'active', True, True, ['stop', 'disable', 'remove']),
    ('absent', True, 'reloading', True, False, ['stop', 'remove']),
    ('absent', True, 'inactive', False, False, []),
    ('absent', True, 'inactive', False, True, ['disable']),
])
def test_plan_actions(state, enabled, active, unit_changed, is_enabled, steps):
    assert plan_actions(state, enabled, active, unit_changed, is_enabled) == steps


# A host account database: web (990) is in its own group only; ops (991) is also in disk
# and shadow; wheel0 (992) is in a group with gid 0; toor has uid 0; zero has gid 0.
PASSWD = {
    'web': (990, 990), 'ops': (991, 991), 'wheel0': (992, 992), 'toor': (0, 0), 'zero': (993, 0),
    'orphan': (994, 4242),
}
GROUPS = {990: 'web', 991: 'ops', 992: 'wheel0', 993: 'zero', 6: 'disk', 42: 'shadow', 0: 'root', 27: 'sudo',
          1000: 'www'}
MEMBERS = {'web': [], 'ops': [6, 42], 'wheel0': [0, 27], 'toor': [], 'zero': [], 'orphan': []}


@pytest.fixture
def accounts(monkeypatch):
    def getpwnam(name):
        uid, gid = PASSWD[name]
        return pwd.struct_passwd((name, 'x', uid, gid, '', '/', '/usr/sbin/nologin'))

    def getgrgid(gid):
        return grp.struct_group((GROUPS[gid], 'x', gid, []))

    def getgrnam(name):
        for gid, group in GROUPS.items():
            if group == name:
                return grp.struct_group((name, 'x', gid, []))
        raise KeyError(name)

    monkeypatch.setattr(pwd, 'getpwnam', getpwnam)
    monkeypatch.setattr(grp, 'getgrgid', getgrgid)
    monkeypatch.setattr(grp, 'getgrnam', getgrnam)
    # initgroups() semantics: the given group plus every group listing the user.
    monkeypatch.setattr(os, 'getgrouplist', lambda user, gid: [gid] + MEMBERS[user])


@pytest.mark.parametrize('user, group, allowed, expected', [
    ('web', None, [], 'web'),
    ('web', 'www', [], 'www'),
    ('ops', None, ['disk', 'shadow'], 'ops'),
    ('ops', None, ['shadow', 'disk', 'video'], 'ops'),
    # The daemon's own group is never a supplementary one.
    ('ops', 'disk', ['shadow'], 'disk'),
])
def test_resolve_accounts(accounts, user, group, allowed, expected):
    assert resolve_accounts(user, group, allowed) == expected


@pytest.mark.parametrize('user, group, allowed, message', [
    ('toor', None, [], 'user: toor has uid 0; a jailed daemon running as root can break out of its chroot'),
    ('zero', None, [], 'group: root has gid 0; a jailed daemon must not run with the root group'),
    ('web', 'root', [], 'group: root has gid 0; a jailed daemon must not run with the root group'),
    ('orphan', None, [], 'user: the primary group 4242 of orphan does not exist'),
    # systemd would run the daemon with Groups: 991 6 42 (issue 9 section 3).
    ('ops', None, [],
     'user: ops is a member of the groups disk, shadow, which systemd would give the daemon (initgroups); '
     'remove the memberships or list them in allow_supplementary_groups'),
    ('ops', None, ['disk'],
     'user: ops is a member of the groups shadow, which systemd would give the daemon (initgroups); '
     'remove the memberships or list them in allow_supplementary_groups'),
    ('wheel0', None, ['root', 'sudo'],
     'user: wheel0 is a member of the group root (gid 0), which systemd would give the daemon; '
     'the root group is refused even in allow_supplementary_groups'),
])
def test_resolve_accounts_refused(accounts, user, group, allowed, message):
    with pytest.raises(ServiceError) as excinfo:
        resolve_accounts(user, group, allowed)
    assert not isinstance(excinfo.value, PrerequisiteError)
    assert str(excinfo.value) == message


@pytest.mark.parametrize('user, group, message', [
    ('nobody-here', None,
     'user: nobody-here does not exist on this host; create it first (a system user without login shell or home)'),
    ('web', 'missing', 'group: missing does not exist on this host'),
])
def test_missing_accounts_are_prerequisites(accounts, user, group, message):
    with pytest.raises(PrerequisiteError) as excinfo:
        resolve_accounts(user, group, [])
    assert str(excinfo.value) == message


@pytest.fixture(autouse=True)
def trust_tmp_jail_root(monkeypatch):
    """The jail check rightly distrusts the sticky system temp dir above the test jails."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)


def jail_spec(jail, **overrides):
    fields = dict.fromkeys(UnitSpec._fields)
    fields.update(jail=jail, command=['/usr/sbin/daemon'], working_directory='/', read_write=[], bind=[],
                  bind_read_only=[])
    fields.update(overrides)
    return UnitSpec(**fields)


@pytest.fixture
def jail(tmp_path):
    root = tmp_path / 'jail'
    (root / 'usr' / 'bin').mkdir(parents=True)
    (root / 'usr' / 'sbin').mkdir(parents=True)
    os.symlink('usr/bin', str(root / 'bin'))
    daemon = root / 'usr' / 'sbin' / 'daemon'
    daemon.write_text('not run')
    daemon.chmod(0o755)
    data = root / 'usr' / 'bin' / 'data'
    data.write_text('x')
    data.chmod(0o644)
    # An absolute link must resolve inside the jail, never on the host.
    os.symlink('/usr/sbin/daemon', str(root / 'usr' / 'bin' / 'alias'))
    os.symlink('../../../../../usr/sbin/daemon', str(root / 'usr' / 'bin' / 'climb'))
    os.symlink('/etc/passwd', str(root / 'usr' / 'bin' / 'hostlink'))
    os.symlink('loop2', str(root / 'usr' / 'bin' / 'loop1'))
    os.symlink('loop1', str(root / 'usr' / 'bin' / 'loop2'))
    return str(root)


@pytest.mark.parametrize('path, expected', [
    ('/usr/sbin/daemon', '/usr/sbin/daemon'),
    ('/bin/alias', '/usr/sbin/daemon'),
    ('/usr/bin/climb', '/usr/sbin/daemon'),
    ('/usr/bin', '/usr/bin'),
])
def test_stat_in_jail_stays_in_the_jail(jail, path, expected):
    st, steps, dirs = stat_in_jail(jail, path, 'file')
    assert steps[-1] == ('file', expected)
    assert (st.st_dev, st.st_ino) == (os.lstat(jail + expected).st_dev, os.lstat(jail + expected).st_ino)
    # The directories held are named as host paths, the jail root first.
    assert dirs[0][0] == jail and all(path.startswith(jail + '/') for path, _st in dirs[1:])


@pytest.mark.parametrize('path, message, prerequisite', [
    # An absolute link is followed inside the jail, where /etc does not exist.
    ('/usr/bin/hostlink', 'file: /usr/bin/hostlink does not exist in the jail {jail} (/etc is missing)', True),
    ('/usr/sbin/missing', 'file: /usr/sbin/missing does not exist in the jail {jail}', True),
    ('/usr/bin/loop1', 'file: /usr/bin/loop1: too many levels of symbolic links', False),
    ('/usr/bin/data/x', 'file: /usr/bin/data/x: /usr/bin/data is not a directory', False),
])
def test_stat_in_jail_refuses(jail, path, message, prerequisite):
    with pytest.raises(ServiceError) as excinfo:
        stat_in_jail(jail, path, 'file')
    assert str(excinfo.value) == message.format(jail=jail)
    assert isinstance(excinfo.value, PrerequisiteError) is prerequisite


def test_walk_failure_only_missing_is_a_prerequisite():
    assert isinstance(walk_failure('bind: /srv/x does not exist on the host'), PrerequisiteError)
    refused = walk_failure('bind: /srv/x names the root directory')
    assert isinstance(refused, ServiceError) and not isinstance(refused, PrerequisiteError)


def test_program_in_jail_found_through_links(jail):
    assert check_program_in_jail(jail, '/bin/alias') == os.path.join(jail, 'usr/sbin/daemon')


@pytest.mark.parametrize('program, message', [
    ('/usr/sbin/missing',
     'command[0]: /usr/sbin/missing does not exist in the jail {jail}; add it with serversec.confine.chroot_jail '
     'binaries'),
    ('/usr/bin/hostlink',
     'command[0]: /usr/bin/hostlink does not exist in the jail {jail} (/etc is missing); add it with '
     'serversec.confine.chroot_jail binaries'),
    ('/usr/bin/data', 'command[0]: /usr/bin/data in the jail {jail} is not executable (mode 0644)'),
    ('/usr/sbin',
     'command[0]: /usr/sbin in the jail {jail} is not a regular file ({jail}/usr/sbin)'),
])
def test_program_in_jail_refused(jail, program, message):
    with pytest.raises(PrerequisiteError) as excinfo:
        check_program_in_jail(jail, program)
    assert str(excinfo.value) == message.format(jail=jail)


def test_missing_in_jail_lists_every_prerequisite(jail):
    spec = jail_spec(jail, command=['/usr/sbin/missing'], working_directory='/var/www',
                     read_write=[jail + '/var/log/web', jail + '/usr/bin/data'])
    assert missing_in_jail(spec) == [
        f'command[0]: /usr/sbin/missing does not exist in the jail {jail}; '
        'add it with serversec.confine.chroot_jail binaries',
        f'working_directory: /var/www does not exist in the jail {jail} (/var is missing)',
        f'read_write: /var/log/web does not exist in the jail {jail} (/var is missing); create it with '
        'serversec.confine.chroot_jail directories',
        f'read_write: /usr/bin/data is not a directory in the jail {jail}',
    ]


def test_working_directory_must_be_a_directory(jail):
    assert missing_in_jail(jail_spec(jail, working_directory='/usr/bin/data')) == [
        f'working_directory: /usr/bin/data is not a directory in the jail {jail}']


def test_missing_jail(tmp_path):
    jail = str(tmp_path / 'nowhere')
    assert missing_in_jail(jail_spec(jail)) == [
        f'jail: {jail} does not exist or is not a directory; build it first with serversec.confine.chroot_jail']


def test_jail_that_is_a_link_is_refused(jail, tmp_path):
    os.symlink(jail, str(tmp_path / 'jail-link'))
    with pytest.raises(ServiceError) as excinfo:
        missing_in_jail(jail_spec(str(tmp_path / 'jail-link')))
    assert str(excinfo.value) == (f"jail: {tmp_path / 'jail-link'}: jail path component {tmp_path / 'jail-link'} is a "
                                  f'symlink; use the real path; {JAIL_SWAP}')


JAIL_SWAP = ('systemd follows the jail path at every start, so a user who can change it could swap the jail for a tree '
             'of their own')


@pytest.mark.parametrize('mode', [0o777, 0o775, 0o1777])
def test_jail_under_a_writable_directory_is_refused(tmp_path, mode):
    shared = tmp_path / 'shared'
    (shared / 'web').mkdir(parents=True)
    shared.chmod(mode)
    with pytest.raises(ServiceError) as excinfo:
        missing_in_jail(jail_spec(str(shared / 'web')))
    assert not isinstance(excinfo.value, PrerequisiteError)
    assert str(excinfo.value) == (f"jail: {shared / 'web'}: jail path component {shared} is group- or world-writable "
                                  f'(mode {mode:04o}); {JAIL_SWAP}')


def test_jail_not_owned_by_root_is_refused(tmp_path):
    (tmp_path / 'owned' / 'web').mkdir(parents=True)
    os.chown(str(tmp_path / 'owned'), 4242, -1)
    with pytest.raises(ServiceError, match=r'is not owned by root \(uid 4242\)'):
        missing_in_jail(jail_spec(str(tmp_path / 'owned' / 'web')))


def test_jail_named_through_a_linked_parent_is_refused(jail, tmp_path):
    """The bind source check compares paths: a jail named through a link would let a source
    inside the real jail pass, so the link in the jail path is refused."""
    os.symlink(str(tmp_path), str(tmp_path / 'srv-link'))
    linked = str(tmp_path / 'srv-link' / 'jail')
    with pytest.raises(ServiceError, match=f'jail path component {tmp_path}/srv-link is a symlink'):
        missing_in_jail(jail_spec(linked))


def test_missing_jail_is_a_prerequisite(tmp_path):
    assert missing_in_jail(jail_spec(str(tmp_path / 'new' / 'web'))) == [
        f"jail: {tmp_path / 'new' / 'web'} does not exist or is not a directory; build it first with "
        'serversec.confine.chroot_jail']


def test_complete_jail_lacks_nothing(jail):
    os.makedirs(os.path.join(jail, 'var', 'log', 'web'))
    assert missing_in_jail(jail_spec(jail, read_write=[jail + '/var/log/web', jail + '/'])) == []


def test_read_write_through_a_link_is_refused(jail):
    os.symlink('/var/log', os.path.join(jail, 'logs'))
    with pytest.raises(ServiceError) as excinfo:
        missing_in_jail(jail_spec(jail, read_write=[jail + '/logs']))
    assert str(excinfo.value) == f'read_write: /logs goes through a symbolic link in the jail {jail}'


@pytest.fixture
def inbox(jail):
    """/srv/inbox in the jail, owned by the daemon's user; /srv/drop/in below a directory it owns."""
    for path in ('srv/inbox', 'srv/drop/in'):
        os.makedirs(os.path.join(jail, path))
    os.chown(os.path.join(jail, 'srv/inbox'), USER, USER)
    os.chown(os.path.join(jail, 'srv/drop'), USER, USER)
    return jail


def test_read_write_owned_by_the_daemon_user_passes(inbox):
    # The writable directory itself may be the daemon's: what it holds is bound, not looked up.
    assert missing_in_jail(jail_spec(inbox, read_write=[inbox + '/srv/inbox'])) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')
def test_read_write_below_a_user_owned_directory_is_refused(inbox):
    # The user could replace /srv/drop/in with a link that systemd follows on the host.
    spec = jail_spec(inbox, read_write=[inbox + '/srv/drop/in'])
    with pytest.raises(ServiceError) as excinfo:
        missing_in_jail(spec)
    assert str(excinfo.value) == f'read_write: /srv/drop/in: {inbox}/srv/drop is owned by uid {USER} {SWAP_HINT}'
    assert missing_in_jail(spec, allow_user_writable=True) == []


@pytest.fixture
def links(tmp_path, monkeypatch):
    """Bind sources under the test's temp dir; the sticky system temp dir is trusted here."""
    monkeypatch.setattr(chroot_host, 'source_dir_check', trust_tmp_source_dir)
    os.symlink('/etc', str(tmp_path / 'etc-link'))
    os.symlink('/', str(tmp_path / 'root-link'))
    (tmp_path / 'data').mkdir()
    os.symlink(str(tmp_path / 'data'), str(tmp_path / 'data-link'))
    return tmp_path


@pytest.mark.parametrize('field, name, allow', [
    ('bind', 'etc-link', False),
    ('bind_read_only', 'etc-link', False),
])
def test_bind_source_leading_to_the_host_is_refused(links, field, name, allow):
    source = str(links / name)
    spec = jail_spec('/srv/jail', **{field: [(source, '/data')]})
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, allow, False)
    assert str(excinfo.value) == (f"{field}: {source} leads to /etc on this host, which exposes the host's "
                                  '/etc to the jailed daemon; set allow_sensitive_binds to accept it knowingly')


DROP_TO = DropSpec(user='web', group='web', chown=False)
ACCEPT = 'set allow_sensitive_binds to accept it knowingly'
MASTER = "the daemon's master, root in the jail with privilege_drop,"


@pytest.mark.parametrize('drop_to', [None, DROP_TO])
def test_bind_source_under_proc_is_refused_on_the_host(drop_to):
    spec = jail_spec('/srv/jails/web', bind=[('/proc/sys', '/tunables'), ('/etc/cron.d', None)], drop_to=drop_to)
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, False, state_dir='/nonexistent')
    assert str(excinfo.value) == ("bind: /proc/sys leads to /proc/sys on this host, which lies under /proc, the "
                                  f"host's kernel and process interfaces; {ACCEPT}")


@pytest.mark.parametrize('field, source, why', [
    # root-owned: the master changes it as root
    ('bind', '/etc/cron.d', f"is owned by root, not by privilege_drop's user, so {MASTER} could change it"),
    # root's secret: the master reads it as root
    ('bind_read_only', '/etc/shadow', 'may be read only by its owner or group (mode {mode}, uid 0), and '
     f'{MASTER} could read it'),
])
def test_what_root_could_abuse_below_etc_is_refused_with_privilege_drop(field, source, why):
    spec = jail_spec('/srv/jails/web', **{field: [(source, None)]}, drop_to=DROP_TO)
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, False, state_dir='/nonexistent')
    mode = f'{os.stat(source).st_mode & 0o7777:04o}'
    assert str(excinfo.value) == f"{field}: {source} leads to {source} on this host, which {why.format(mode=mode)}; {ACCEPT}"
    assert check_bind_sources(spec._replace(drop_to=None), False, False, state_dir='/nonexistent') == []


@pytest.mark.parametrize('source', ['/etc/resolv.conf', '/etc/ssl/certs', '/usr/share/zoneinfo'])
def test_what_everyone_may_read_passes_read_only_with_privilege_drop(source):
    if not os.path.exists(source):
        pytest.skip(f'{source} is not on this host')
    spec = jail_spec('/srv/jails/web', bind_read_only=[(source, None)], drop_to=DROP_TO)
    assert check_bind_sources(spec, False, False, state_dir='/nonexistent') == []


@pytest.fixture
def sources(tmp_path):
    """A root-owned directory, one of the service user, and a listening socket."""
    (tmp_path / 'root-owned').mkdir()
    (tmp_path / 'web-owned').mkdir()
    os.chown(str(tmp_path / 'web-owned'), 990, 990)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(tmp_path / 'app.sock'))
    yield tmp_path
    listener.close()


@pytest.mark.parametrize('field, name, why', [
    ('bind', 'root-owned', f"is owned by root, not by privilege_drop's user, so {MASTER} could change it"),
    ('bind', 'app.sock', f'is a socket, which {MASTER} could connect to as root'),
    ('bind_read_only', 'app.sock', f'is a socket, which {MASTER} could connect to as root'),
])
def test_bind_source_root_could_abuse_is_refused_with_privilege_drop(sources, field, name, why):
    spec = jail_spec('/srv/jails/web', **{field: [(str(sources / name), '/data')]}, drop_to=DROP_TO)
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, True, state_dir='/nonexistent')
    assert str(excinfo.value) == f'{field}: {sources / name} leads to {sources / name} on this host, which {why}; {ACCEPT}'
    assert check_bind_sources(spec, True, True, state_dir='/nonexistent') == []
    assert check_bind_sources(spec._replace(drop_to=None), False, True, state_dir='/nonexistent') == []


@pytest.mark.parametrize('field, name', [('bind', 'web-owned'), ('bind_read_only', 'root-owned')])
def test_bind_source_of_the_user_or_read_only_passes_with_privilege_drop(sources, field, name):
    spec = jail_spec('/srv/jails/web', **{field: [(str(sources / name), '/data')]}, drop_to=DROP_TO)
    assert check_bind_sources(spec, False, True, state_dir='/nonexistent') == []


def test_read_write_source_of_another_user_is_refused_with_privilege_drop(sources):
    """The master can become any user: a source of another account than privilege_drop's is theirs to take."""
    nobody = DropSpec(user='nobody', group='nogroup', chown=False)
    spec = jail_spec('/srv/jails/web', bind=[(str(sources / 'web-owned'), '/data')], drop_to=nobody)
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, True, state_dir='/nonexistent')
    assert str(excinfo.value) == (f'bind: {sources}/web-owned leads to {sources}/web-owned on this host, which is owned '
                                  f"by uid 990, not by privilege_drop's user, so {MASTER} could change it; {ACCEPT}")
    os.chown(str(sources / 'web-owned'), pwd.getpwnam('nobody').pw_uid, -1)
    assert check_bind_sources(spec, False, True, state_dir='/nonexistent') == []


@pytest.fixture
def shelf(tmp_path):
    """A root-owned directory everyone may read, to bind read-only."""
    (tmp_path / 'shelf' / 'open').mkdir(parents=True)
    (tmp_path / 'shelf' / 'open' / 'notes').write_text('everyone may read this\n')
    return tmp_path / 'shelf'


def refusal_of(shelf, drop_to=DROP_TO):
    spec = jail_spec('/srv/jails/web', bind_read_only=[(str(shelf), '/shelf')], drop_to=drop_to)
    try:
        check_bind_sources(spec, False, True, state_dir='/nonexistent')
    except ServiceError as exc:
        return str(exc)
    return None


def test_read_only_source_holding_what_only_root_may_read_is_refused_with_privilege_drop(shelf):
    """As /run/user/0 (root's own service manager) or /var/lib/private below a directory everyone may read."""
    assert refusal_of(shelf) is None
    (shelf / 'open' / 'private').mkdir(mode=0o700)
    assert refusal_of(shelf) == (f'bind_read_only: {shelf} leads to {shelf} on this host, which holds {shelf}/open/private, '
                                 f'which may be read only by its owner or group (mode 0700, uid 0), and {MASTER} could '
                                 f'read it; {ACCEPT}')
    assert refusal_of(shelf, drop_to=None) is None
    # privilege_drop's own user may read what it owns: root gains nothing there
    os.chown(str(shelf / 'open' / 'private'), pwd.getpwnam('nobody').pw_uid, -1)
    assert refusal_of(shelf, drop_to=DropSpec(user='nobody', group='nogroup', chown=False)) is None


def test_read_only_source_holding_a_secret_file_socket_or_device_is_refused_with_privilege_drop(shelf):
    secret = shelf / 'open' / 'key'
    secret.write_text('only root\n')
    os.chmod(str(secret), 0o640)
    assert 'which holds ' + str(secret) + ', which may be read only by its owner or group (mode 0640' in refusal_of(shelf)
    secret.unlink()
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(shelf / 'open' / 'bus'))
    try:
        assert f'which holds the socket {shelf}/open/bus, which {MASTER} could connect to as root' in refusal_of(shelf)
    finally:
        listener.close()
    (shelf / 'open' / 'bus').unlink()
    os.mknod(str(shelf / 'null'), 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    assert f'which holds the device node {shelf}/null, which {MASTER} could open' in refusal_of(shelf)


def test_read_only_source_too_large_to_look_through_is_refused_with_privilege_drop(shelf, monkeypatch):
    monkeypatch.setattr(_jailed_service, 'DROP_READ_MAX_ENTRIES', 2)
    assert refusal_of(shelf) is None  # open, open/notes
    (shelf / 'more').write_text('')
    assert refusal_of(shelf) == (f'bind_read_only: {shelf} leads to {shelf} on this host, which holds more than 2 entries, '
                                 f'too many to check what {MASTER} could read there; {ACCEPT}')


def test_journal_socket_reached_by_its_real_path_passes_with_privilege_drop(sources, monkeypatch):
    monkeypatch.setattr(_jailed_service, 'BIND_EXEMPT', (str(sources / 'app.sock'),))
    spec = jail_spec('/srv/jails/web', bind_read_only=[(str(sources / 'app.sock'), '/dev/log')], drop_to=DROP_TO)
    assert check_bind_sources(spec, False, True, state_dir='/nonexistent') == []


@pytest.mark.parametrize('drop_to', [None, DROP_TO])
def test_bind_source_through_proc_is_refused(sources, drop_to):
    """/proc/PID/root leads into that process's view of the file system, not where its text points."""
    link = sources / 'elsewhere'
    os.symlink(f'/proc/self/root{sources}/web-owned', str(link))
    spec = jail_spec('/srv/jails/web', bind_read_only=[(str(link), '/data')], drop_to=drop_to)
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, True, state_dir='/nonexistent')
    assert str(excinfo.value) == (f"bind_read_only: {link} passes through /proc, where the kernel's links lead into "
                                  f"other processes' views of the host; {ACCEPT}")


@pytest.mark.parametrize('allow', [False, True])
def test_bind_source_leading_to_the_host_root_is_refused(links, allow):
    source = str(links / 'root-link')
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(jail_spec('/srv/jail', bind=[(source, '/data')]), allow, True)
    assert not isinstance(excinfo.value, PrerequisiteError)
    assert str(excinfo.value) == f'bind: {source} names the root directory'


def test_harmless_bind_sources_pass(links):
    spec = jail_spec('/srv/jail', bind=[(str(links / 'data-link'), None)],
                     bind_read_only=[('/dev/log', None), (str(links / 'etc-link'), '/etc')])
    assert check_bind_sources(spec, True, False) == []


def test_missing_bind_source_is_a_prerequisite(links):
    spec = jail_spec('/srv/jail', bind=[(str(links / 'absent'), None)])
    assert check_bind_sources(spec, False, False) == [f"bind: {links / 'absent'} does not exist on the host"]


@pytest.fixture
def user_dir(links):
    """/…/srv/u owned by a non-root user, holding the bind source data and a link to it."""
    (links / 'srv' / 'u' / 'data').mkdir(parents=True)
    os.symlink(str(links / 'srv' / 'u' / 'data'), str(links / 'via-user'))
    os.chown(str(links / 'srv' / 'u'), USER, USER)
    return links


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')
@pytest.mark.parametrize('field, name', [
    ('bind', 'srv/u/data'),
    ('bind_read_only', 'srv/u/data'),
    # A link into the user's directory is judged where it leads.
    ('bind', 'via-user'),
])
def test_bind_source_through_a_user_owned_directory_is_refused(user_dir, field, name):
    source = str(user_dir / name)
    spec = jail_spec('/srv/jail', **{field: [(source, '/data')]})
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, False, False)
    assert str(excinfo.value) == f"{field}: {source}: {user_dir / 'srv' / 'u'} is owned by uid {USER} {SWAP_HINT}"
    assert check_bind_sources(spec, False, True) == []


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')
def test_link_in_a_user_owned_directory_is_never_followed(user_dir):
    # Accepting the user's directory accepts the user's files, not a pointer to any host path.
    os.symlink(str(user_dir / 'data'), str(user_dir / 'srv' / 'u' / 'elsewhere'))
    source = str(user_dir / 'srv' / 'u' / 'elsewhere')
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(jail_spec('/srv/jail', bind=[(source, '/data')]), False, True)
    assert str(excinfo.value) == (
        f"bind: {source}: {source} is a symbolic link and {user_dir / 'srv' / 'u'} is owned by uid {USER}; "
        'a link a non-root user controls is never followed, even with allow_user_writable_sources')


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown to another user')
def test_bind_source_below_a_group_writable_directory_is_refused(links):
    (links / 'shared' / 'data').mkdir(parents=True)
    os.chmod(str(links / 'shared'), 0o775)
    source = str(links / 'shared' / 'data')
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(jail_spec('/srv/jail', bind_read_only=[(source, None)]), False, False)
    assert str(excinfo.value) == (f"bind_read_only: {source}: {links / 'shared'} is group- or world-writable "
                                  f'(mode 0775) {SWAP_HINT}')


@pytest.fixture
def no_entering(monkeypatch):
    """os.open refuses every directory below the walk's root, as for an unreadable one."""
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if kwargs.get('dir_fd') is not None:
            raise PermissionError(13, 'Permission denied')
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', refuse)


def test_bind_source_that_cannot_be_walked_is_a_clear_error(links, no_entering, monkeypatch):
    monkeypatch.setattr(_jailed_service, 'known_jails', lambda state_dir: [])
    source = str(links / 'data')
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(jail_spec('/srv/jail', bind=[(source, None)]), False, False)
    assert str(excinfo.value) == f'bind: {source} cannot be followed on this host: Permission denied'


def test_jail_path_that_cannot_be_walked_is_a_clear_error(jail, no_entering):
    with pytest.raises(ServiceError) as excinfo:
        stat_in_jail(jail, '/usr/sbin/daemon', 'command[0]')
    assert str(excinfo.value) == f'command[0]: /usr/sbin/daemon cannot be followed in the jail {jail}: Permission denied'


# uid 0 in a jail can replace any path inside it with a link to /etc, /root or /, and systemd
# follows bind sources anew at each start: a source inside a jail is never trusted.
INSIDE_JAIL = ('{what} lies inside the jail {jail}, where uid 0 in that jail could replace it with a symbolic '
               'link to any host path, which systemd would follow when the unit starts; bind a path outside '
               'every jail')


def write_state(state_dir, name, text, mode=0o600):
    path = os.path.join(str(state_dir), name)
    with open(path, 'w') as handle:
        handle.write(text)
    os.chmod(path, mode)


@pytest.fixture
def jails(links):
    """Jails A (this unit's) and B (another the chroot engine recorded in a root-only state dir)."""
    for path in ('A/share', 'B/share', 'outside'):
        (links / path).mkdir(parents=True)
    state_dir = links / 'state'
    state_dir.mkdir(mode=0o700)
    write_state(state_dir, 'B.0123.json', '{"version": 2, "jail": "%s", "managed": {}}' % (links / 'B'))
    # Unknown, unreadable or malformed records are skipped.
    write_state(state_dir, 'bad.json', '{not json')
    write_state(state_dir, 'list.json', '[1]')
    write_state(state_dir, 'relative.json', '{"jail": "srv/x"}')
    write_state(state_dir, 'dotted.json', '{"jail": "/srv/a/./b"}')
    write_state(state_dir, 'dotdot.json', '{"jail": "/srv/b/../a"}')
    write_state(state_dir, 'root.json', '{"jail": "/"}')
    write_state(state_dir, 'loose.json', '{"jail": "%s"}' % (links / 'outside'), mode=0o644)
    write_state(state_dir, 'B.0123.lock', '')
    return links


@pytest.mark.parametrize('field, source, jail', [
    ('bind', 'A/share', 'A'),
    ('bind_read_only', 'A/share', 'A'),
    ('bind', 'A/share/missing', 'A'),
    ('bind', 'B/share', 'B'),
    ('bind_read_only', 'B/share', 'B'),
])
def test_bind_source_inside_a_jail_is_refused(jails, field, source, jail):
    spec = jail_spec(str(jails / 'A'), **{field: [(str(jails / source), '/share')]})
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, True, True, str(jails / 'state'))
    assert not isinstance(excinfo.value, PrerequisiteError)
    assert str(excinfo.value) == INSIDE_JAIL.format(what=f'{field}: {jails / source}', jail=jails / jail)


def test_bind_source_linking_into_a_jail_is_refused(jails):
    os.symlink(str(jails / 'B' / 'share'), str(jails / 'to-b'))
    spec = jail_spec(str(jails / 'A'), bind=[(str(jails / 'to-b'), None)])
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, True, True, str(jails / 'state'))
    assert str(excinfo.value) == INSIDE_JAIL.format(
        what=f"bind: {jails / 'to-b'} leads to {jails / 'B' / 'share'}, which", jail=jails / 'B')


@pytest.mark.parametrize('field, source, jail', [
    ('bind_read_only', 'A', 'A'),
    ('bind', 'B', 'B'),
    ('bind', '', 'A'),
])
def test_bind_source_that_is_or_holds_a_jail_is_refused(jails, field, source, jail):
    """Through the bind the daemon would reach the programs of that jail, its own included."""
    path = str(jails / source) if source else str(jails)
    spec = jail_spec(str(jails / 'A'), **{field: [(path, '/share')]})
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, True, True, str(jails / 'state'))
    assert str(excinfo.value) == (f'{field}: {path} is or holds the jail {jails / jail}, whose programs and libraries '
                                  'the daemon could then reach through the bind; bind a path outside every jail')


def test_bind_source_inside_the_jail_through_a_linked_parent_is_refused(jails):
    os.symlink(str(jails), str(jails / 'srv-link'))
    source = jails / 'srv-link' / 'A' / 'share'
    spec = jail_spec(str(jails / 'A'), bind=[(str(source), None)])
    with pytest.raises(ServiceError) as excinfo:
        check_bind_sources(spec, True, True, str(jails / 'state'))
    assert str(excinfo.value) == INSIDE_JAIL.format(
        what=f"bind: {source} leads to {jails / 'A' / 'share'}, which", jail=jails / 'A')


def test_known_jails_skips_records_it_cannot_read(jails):
    assert known_jails(str(jails / 'state')) == [str(jails / 'B')]
    assert known_jails(str(jails / 'missing')) == []
    assert known_jails(str(jails / 'outside/missing/state')) == []
    # Readable by others is still root's alone.
    os.chmod(str(jails / 'state'), 0o755)
    assert known_jails(str(jails / 'state')) == [str(jails / 'B')]


def test_known_jails_reads_every_record_whatever_comes_first(jails, monkeypatch):
    real_listdir = os.listdir
    monkeypatch.setattr(os, 'listdir', lambda fd: sorted(real_listdir(fd), key=lambda name: name.endswith('.json')))
    assert known_jails(str(jails / 'state')) == [str(jails / 'B')]


def test_a_state_dir_that_is_a_file_records_no_jail(jails):
    write_state(jails, 'a-file', '{}', mode=0o644)
    assert known_jails(str(jails / 'a-file')) == []


@pytest.mark.parametrize('error, reason', [
    # a link put there after the walk looked at it
    (40, '{j}/state is a symbolic link'),
    (13, 'cannot open it: Permission denied'),
])
def test_known_jails_fails_closed_when_the_state_dir_cannot_be_opened(jails, monkeypatch, error, reason):
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if path == 'state' and kwargs.get('dir_fd') is not None:
            raise OSError(error, os.strerror(error))
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, 'open', refuse)
    with pytest.raises(ServiceError) as excinfo:
        known_jails(str(jails / 'state'))
    assert str(excinfo.value) == UNTRUSTED_STATE.format(state=jails / 'state', reason=reason.format(j=jails))


UNTRUSTED_STATE = ('state_dir {state}: {reason}; the jails chroot_jail records there cannot be trusted, so no path '
                   'can be shown to lie outside them: make it and every directory above it root-owned and not '
                   'group- or world-writable, with no symbolic link on the way')


@pytest.mark.parametrize('spoil, state, reason', [
    (lambda j: os.chmod(str(j / 'state'), 0o770), 'state', '{j}/state is group- or world-writable (mode 0770)'),
    (lambda j: os.chown(str(j / 'state'), 1000, 0), 'state', '{j}/state is owned by uid 1000'),
    (lambda j: os.symlink(str(j / 'state'), str(j / 'state-link')), 'state-link', '{j}/state-link is a symbolic link'),
    (lambda j: (os.makedirs(str(j / 'users/x')), os.rename(str(j / 'state'), str(j / 'users/x/state')),
                os.chmod(str(j / 'users'), 0o777)),
     'users/x/state', '{j}/users is group- or world-writable (mode 0777)'),
])
def test_known_jails_refuses_to_answer_from_a_state_dir_others_control(jails, spoil, state, reason):
    # Whoever controls it could hide B's record, and a bind source inside B would pass as a host path.
    spoil(jails)
    with pytest.raises(ServiceError) as excinfo:
        known_jails(str(jails / state))
    assert str(excinfo.value) == UNTRUSTED_STATE.format(state=jails / state, reason=reason.format(j=jails))


def test_bind_source_outside_every_jail_passes(jails):
    spec = jail_spec(str(jails / 'A'), bind=[(str(jails / 'outside'), None)],
                     bind_read_only=[(str(jails / 'Bx'), None)])
    (jails / 'Bx').mkdir()
    assert check_bind_sources(spec, True, True, str(jails / 'state')) == []
