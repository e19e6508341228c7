# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import (
    HARDENING,
    JailedServiceError,
    check_program_in_jail,
    parse_exposure,
    parse_verify,
    quote_exec_word,
    render_environment,
    render_exec,
    render_unit,
    resolve_in_jail,
    validate_unit_name,
)


def spec(**overrides):
    base = {
        'name': 'web.service',
        'jail': '/srv/jails/web',
        'command': ['/usr/sbin/lighttpd', '-D', '-f', '/etc/lighttpd/lighttpd.conf'],
        'user': 'web',
        'group': None,
    }
    base.update(overrides)
    return base


def service_lines(unit):
    """The [Service] section as a list of lines."""
    section = unit.split('[Service]\n', 1)[1].split('\n[Install]', 1)[0]
    return [line for line in section.splitlines() if line]


DEFAULT_UNIT = """\
# Managed by Ansible (serversec.confine.jailed_service); local edits are overwritten.
[Unit]
Description=/usr/sbin/lighttpd jailed in /srv/jails/web
After=network.target

[Service]
Type=exec
ExecStart=/usr/sbin/lighttpd -D -f /etc/lighttpd/lighttpd.conf
Restart=on-failure
RootDirectory=/srv/jails/web
WorkingDirectory=/
User=web
Group=web
BindReadOnlyPaths=/dev/log /run/systemd/journal/socket /run/systemd/journal/stdout
CapabilityBoundingSet=
AmbientCapabilities=
NoNewPrivileges=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateMounts=yes
ProtectSystem=strict
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictNamespaces=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
RemoveIPC=yes
LockPersonality=yes
SystemCallFilter=@system-service
SystemCallArchitectures=native
UMask=0077
MemoryDenyWriteExecute=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6

[Install]
WantedBy=multi-user.target
"""


def test_default_unit_is_fully_hardened():
    assert render_unit(spec()) == DEFAULT_UNIT


def test_private_users_is_never_set_by_default():
    # PrivateUsers=yes fails with 217/USER in containers; see HARDENING.
    assert 'PrivateUsers' not in dict(HARDENING)
    assert 'PrivateUsers' not in render_unit(spec())


@pytest.mark.parametrize('overrides, expected', [
    ({'group': 'www-data'}, 'Group=www-data'),
    ({'type': 'simple'}, 'Type=simple'),
    ({'restart': 'always'}, 'Restart=always'),
    ({'working_directory': '/var/www'}, 'WorkingDirectory=/var/www'),
    ({'capabilities': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_CHOWN']},
     'CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE'),
    ({'capabilities': ['CAP_NET_BIND_SERVICE']}, 'AmbientCapabilities=CAP_NET_BIND_SERVICE'),
    ({'memory_deny_write_execute': False}, 'MemoryDenyWriteExecute=no'),
    ({'restrict_address_families': ['AF_UNIX', 'AF_NETLINK', 'AF_INET']},
     'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET'),
    ({'restrict_address_families': ['none']}, 'RestrictAddressFamilies=none'),
    ({'bind': ['/var/lib/web:/var/lib/web', '/srv/data']},
     'BindPaths=/var/lib/web:/var/lib/web /srv/data'),
    ({'bind_read_only': ['/etc/ssl/certs', '/dev/log']},
     ('BindReadOnlyPaths=/dev/log /run/systemd/journal/socket /run/systemd/journal/stdout'
     ' /etc/ssl/certs')),
    ({'bind_read_only': ['/etc/ssl/certs'], 'bind_journal': False},
     'BindReadOnlyPaths=/etc/ssl/certs'),
    ({'environment': {'LANG': 'C.UTF-8', 'GREETING': 'hello "you" 100%'}},
     'Environment="GREETING=hello \\"you\\" 100%%" "LANG=C.UTF-8"'),
    ({'description': 'Web at 100%'}, 'Description=Web at 100%%'),
    # systemd looks ReadWritePaths= up on the host, even with RootDirectory=.
    ({'read_write': ['/var/log/web', '/var/lib/web']},
     'ReadWritePaths=/srv/jails/web/var/log/web /srv/jails/web/var/lib/web'),
    ({'jail': '/srv/jails/web/', 'read_write': ['/var/log/web']}, 'ReadWritePaths=/srv/jails/web/var/log/web'),
    ({'extra_properties': {'ProtectSystem': 'full'}}, 'ProtectSystem=full'),
    ({'extra_properties': {'LimitNOFILE': 4096}}, 'LimitNOFILE=4096'),
    ({'extra_properties': {'ProtectHome': False}}, 'ProtectHome=no'),
    ({'extra_properties': {'ReadWritePaths': ['/var/log/web', '/var/cache/web']}},
     'ReadWritePaths=/var/log/web\nReadWritePaths=/var/cache/web'),
])
def test_render_options(overrides, expected):
    assert expected in render_unit(spec(**overrides))


def test_extra_property_overrides_default_in_place():
    lines = service_lines(render_unit(spec(extra_properties={'ProtectProc': 'default'})))
    assert lines.count('ProtectProc=default') == 1
    assert 'ProtectProc=invisible' not in lines
    assert lines.index('ProtectProc=default') < lines.index('RestrictNamespaces=yes')


def test_extra_properties_not_in_defaults_come_last_sorted():
    lines = service_lines(render_unit(spec(extra_properties={'TimeoutSec': 5, 'LimitNOFILE': 64})))
    assert lines[-2:] == ['LimitNOFILE=64', 'TimeoutSec=5']


def test_journal_binding_can_be_turned_off():
    assert 'BindReadOnlyPaths' not in render_unit(spec(bind_journal=False))


@pytest.mark.parametrize('word, expected', [
    ('-D', '-D'),
    ('/etc/lighttpd/lighttpd.conf', '/etc/lighttpd/lighttpd.conf'),
    ('--port=8873', '--port=8873'),
    ('a b', '"a b"'),
    ('', '""'),
    ('50%', '50%%'),
    ('$HOME', '$$HOME'),
    ('${X}', '"$${X}"'),
    (';', '\\;'),
    ('x"y\\z', '"x\\"y\\\\z"'),
    ("it's", '"it\'s"'),
    ('tab\there', '"tab\\there"'),
    ('nl\nx', '"nl\\nx"'),
])
def test_quote_exec_word(word, expected):
    # Verified against systemd 252: each word comes back unchanged in argv.
    assert quote_exec_word(word) == expected


def test_render_exec_joins_words():
    assert render_exec(['/bin/prog', 'a b', '%']) == '/bin/prog "a b" %%'


@pytest.mark.parametrize('environment, expected', [
    ({'B': '2', 'A': '1'}, '"A=1" "B=2"'),
    ({'PATH': '/bin:/usr/bin'}, '"PATH=/bin:/usr/bin"'),
    ({'C': 'back\\slash'}, '"C=back\\\\slash"'),
    ({'N': 3}, '"N=3"'),
])
def test_render_environment(environment, expected):
    assert render_environment(environment) == expected


INVALID = [
    ({'name': 'web'}, "name: 'web' must end with \".service\""),
    ({'name': 'web.socket'}, "name: 'web.socket' must end with \".service\""),
    ({'name': ''}, 'name: must not be empty'),
    ({'name': 'we b.service'},
     ("name: 'we b.service' is not a valid unit name (allowed: letters, digits, \":\", \"_\", "
     "\".\", \"\\\", \"-\" and one \"@\")")),
    ({'name': 'a/b.service'},
     ("name: 'a/b.service' is not a valid unit name (allowed: letters, digits, \":\", \"_\", "
     "\".\", \"\\\", \"-\" and one \"@\")")),
    ({'name': 'x' * 250 + '.service'},
     "name: '%s.service' is longer than 255 characters" % ('x' * 250)),
    ({'jail': 'srv/jail'}, "jail: 'srv/jail' must be an absolute path"),
    ({'jail': '/'}, 'jail: "/" is not a jail'),
    ({'jail': '/srv/../etc'}, "jail: '/srv/../etc' must not contain \"..\""),
    ({'jail': '/srv/my jail'},
     ("jail: '/srv/my jail' must not contain whitespace, quotes, backslashes, colons or "
     "semicolons")),
    ({'user': 'root'},
     "user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'user': '0'},
     "user: '0' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'group': 'root'},
     "group: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'user': ''}, 'user: must not be empty'),
    ({'user': 'we b'}, "user: 'we b' is not a valid user or group name"),
    ({'command': []}, 'command: must list at least the program path'),
    ({'command': ['lighttpd', '-D']},
     "command[0]: 'lighttpd' must be an absolute path inside the jail"),
    ({'command': ['/bin/x', 'a\x00b']}, "command[1]: 'a\\x00b' contains a NUL byte"),
    ({'command': ['/bin/x\n']}, "command[0]: '/bin/x\\n' contains a control character"),
    ({'type': 'bogus'},
     "type: 'bogus' must be one of simple, exec, forking, oneshot, notify, dbus, idle"),
    ({'restart': 'sometimes'},
     ("restart: 'sometimes' must be one of no, always, on-success, on-failure, on-abnormal, "
     "on-abort, on-watchdog")),
    ({'working_directory': 'var/www'},
     "working_directory: 'var/www' must be an absolute path"),
    ({'capabilities': ['NET_BIND_SERVICE']},
     "capabilities: 'NET_BIND_SERVICE' must be a capability name such as CAP_NET_BIND_SERVICE"),
    ({'capabilities': ['CAP_FLY']}, "capabilities: 'CAP_FLY' is not a Linux capability"),
    ({'restrict_address_families': ['inet']},
     ("restrict_address_families: 'inet' must be an address family such as AF_INET, or "
     "\"none\" alone")),
    ({'restrict_address_families': ['AF_INET', 'none']},
     ("restrict_address_families: 'none' must be an address family such as AF_INET, or "
     "\"none\" alone")),
    ({'bind': ['relative']}, "bind: 'relative' must be an absolute path"),
    ({'bind': ['/a:/b:/c']}, "bind: '/a:/b:/c' must be SOURCE or SOURCE:DESTINATION"),
    ({'bind_read_only': ['/etc/ssl:certs']}, "bind_read_only: 'certs' must be an absolute path"),
    ({'read_write': ['var/log']}, "read_write: 'var/log' must be an absolute path"),
    ({'read_write': ['/var/../../etc']}, "read_write: '/var/../../etc' must not contain \"..\""),
    ({'environment': {'1X': 'a'}},
     ("environment: '1X' is not a valid variable name (letters, digits, \"_\"; not starting "
     "with a digit)")),
    ({'environment': {'X': None}}, 'environment: X has no value'),
    ({'extra_properties': {'User': 'root'}},
     'extra_properties: User is set by the module; use the user parameter instead'),
    ({'extra_properties': {'RootDirectory': '/'}},
     'extra_properties: RootDirectory is set by the module; use the jail parameter instead'),
    ({'extra_properties': {'CapabilityBoundingSet': 'CAP_SYS_ADMIN'}},
     ('extra_properties: CapabilityBoundingSet is set by the module; use the capabilities '
     'parameter instead')),
    ({'extra_properties': {'protect-system': 'yes'}},
     "extra_properties: 'protect-system' is not a systemd [Service] setting name"),
    ({'extra_properties': {'ExecStartPre': '/bin/true\nUser=root'}},
     'extra_properties: ExecStartPre must be a single line'),
    ({'description': 'two\nlines'}, "description: 'two\\nlines' contains a control character"),
]


@pytest.mark.parametrize('overrides, message', INVALID)
def test_invalid_input_is_refused_with_the_field_named(overrides, message):
    with pytest.raises(JailedServiceError) as excinfo:
        render_unit(spec(**overrides))
    assert str(excinfo.value) == message


@pytest.mark.parametrize('name', ['web.service', 'getty@tty1.service', 'a-b_c:d.e.service',
                                  'x\\x2dy.service'])
def test_valid_unit_names(name):
    validate_unit_name(name)


def security_row(mark, name, description, exposure=''):
    """One row in the column layout of systemd 252's table."""
    return f'{mark} {name:<59} {description:<99} {exposure}'.rstrip() + '\n'


# Captured from `systemd-analyze security --no-pager` (systemd 252, Debian 12) in a
# container without a UTF-8 locale, and with one (the arrow and emoji variant).
SECURITY_252_C = (
    '  ' + 'NAME'.ljust(60) + 'DESCRIPTION'.ljust(100) + 'EXPOSURE\n'
    + security_row('\u2717', 'PrivateNetwork=', "Service has access to the host's network", '0.5')
    + security_row('\u2717', 'IPAddressDeny=', 'Service does not define an IP address allow list', '0.2')
    + security_row('\u2713', 'UMask=', "Files created by service are accessible only by service's own user by default")
    + '\n\u2192 Overall exposure level for rs.service: 1.4 OK :-)\n')
SECURITY_252_UTF8 = (
    "\u2713 UMask=   Files created by service are accessible only by service's own user\n\n"
    "\u2192 Overall exposure level for t1.service: 2.1 OK \U0001f642\n")
SECURITY_UNSAFE = "\u2192 Overall exposure level for lighttpd.service: 9.6 UNSAFE \U0001f628\n"
SECURITY_EXPOSED = "-> Overall exposure level for x@1.service: 10.0 EXPOSED :-(\n"


@pytest.mark.parametrize('output, expected', [
    (SECURITY_252_C, (1.4, 'OK')),
    (SECURITY_252_UTF8, (2.1, 'OK')),
    (SECURITY_UNSAFE, (9.6, 'UNSAFE')),
    (SECURITY_EXPOSED, (10.0, 'EXPOSED')),
])
def test_parse_exposure(output, expected):
    assert parse_exposure(output) == expected


def test_parse_exposure_without_score_line():
    with pytest.raises(JailedServiceError) as excinfo:
        parse_exposure('Failed to open /x.service: No such file or directory\n')
    assert str(excinfo.value) == (
        'systemd-analyze security printed no "Overall exposure level" line: '
        "'Failed to open /x.service: No such file or directory\\n'")


UNIT = '/tmp/candidate/web.service'


@pytest.mark.parametrize('output, rc, expected', [
    # systemd 252: the program only exists inside the jail.
    ('web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n',
     1, ([], [])),
    ('', 0, ([], [])),
    ('/tmp/candidate/web.service:7: Failed to parse service type, ignoring: bogus\n', 0,
     (['/tmp/candidate/web.service:7: Failed to parse service type, ignoring: bogus'], [])),
    ("/tmp/candidate/web.service:30: Unknown key name 'Bogus' in section 'Service', ignoring.\n",
     0, ([("/tmp/candidate/web.service:30: Unknown key name 'Bogus' in section 'Service', "
          "ignoring.")], [])),
    ('/tmp/candidate/web.service:6: Special user nobody configured, this is not safe!\n', 0,
     ([], ['/tmp/candidate/web.service:6: Special user nobody configured, this is not safe!'])),
    ('/lib/systemd/system/other.service:3: Unknown key name, ignoring.\n', 0,
     ([], ['/lib/systemd/system/other.service:3: Unknown key name, ignoring.'])),
    ('web.service: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.\n'
     'Unit web.service has a bad unit file setting.\n'
     'web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n',
     1, (['web.service: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.',
          'Unit web.service has a bad unit file setting.'], [])),
])
def test_parse_verify(output, rc, expected):
    assert parse_verify(output, rc, UNIT) == expected


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
    ('/usr/sbin/daemon', 'usr/sbin/daemon'),
    ('/bin/alias', 'usr/sbin/daemon'),
    ('/usr/bin/climb', 'usr/sbin/daemon'),
    ('/usr/bin/hostlink', 'etc/passwd'),
    ('/usr/../usr/./sbin/daemon', 'usr/sbin/daemon'),
])
def test_resolve_in_jail(jail, path, expected):
    assert resolve_in_jail(jail, path) == os.path.join(jail, expected)


def test_resolve_in_jail_symlink_loop(jail):
    with pytest.raises(JailedServiceError) as excinfo:
        resolve_in_jail(jail, '/usr/bin/loop1')
    assert str(excinfo.value) == 'too many levels of symbolic links in /usr/bin/loop1'


def test_program_in_jail_found_through_links(jail):
    assert check_program_in_jail(jail, '/bin/alias') == os.path.join(jail, 'usr/sbin/daemon')


@pytest.mark.parametrize('program, message', [
    ('/usr/sbin/missing',
     'command[0]: /usr/sbin/missing does not exist in the jail {jail} (looked for '
     '{jail}/usr/sbin/missing); add it with serversec.confine.chroot_jail binaries'),
    ('/usr/bin/hostlink',
     'command[0]: /usr/bin/hostlink does not exist in the jail {jail} (looked for '
     '{jail}/etc/passwd); add it with serversec.confine.chroot_jail binaries'),
    ('/usr/bin/data', 'command[0]: /usr/bin/data in the jail {jail} is not executable (mode 0644)'),
    ('/usr/sbin',
     'command[0]: /usr/sbin in the jail {jail} is not a regular file ({jail}/usr/sbin)'),
])
def test_program_in_jail_refused(jail, program, message):
    with pytest.raises(JailedServiceError) as excinfo:
        check_program_in_jail(jail, program)
    assert str(excinfo.value) == message.format(jail=jail)
