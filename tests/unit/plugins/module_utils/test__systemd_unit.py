# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Validation and rendering of the jailed unit: golden text, every option, every refusal."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import (
    ServiceError,
    quote_exec_word,
    render_unit,
    sensitive_bind,
    unit_name,
    validate_unit,
)

# The module's defaults, written out here rather than taken from its argument spec.
PARAMS = {
    'name': 'web.service',
    'jail': '/srv/jails/web',
    'command': ['/usr/sbin/lighttpd', '-D', '-f', '/etc/lighttpd/lighttpd.conf'],
    'user': 'web',
    'group': None,
    'description': None,
    'environment': {},
    'working_directory': '/',
    'capabilities': [],
    'allow_capabilities': [],
    'bind_read_only': [],
    'bind': [],
    'allow_sensitive_binds': False,
    'allow_user_writable_sources': False,
    'read_write': [],
    'allow_exec_in_read_write': False,
    'bind_journal': True,
    'type': 'exec',
    'restart': 'on-failure',
    'extra_properties': {},
    'memory_deny_write_execute': True,
    'restrict_address_families': ['AF_UNIX', 'AF_INET', 'AF_INET6'],
}


def render(**overrides):
    spec = validate_unit(dict(PARAMS, **overrides))
    return render_unit(spec._replace(group=spec.group or 'web'))


def refusal(**overrides):
    with pytest.raises(ServiceError) as excinfo:
        validate_unit(dict(PARAMS, **overrides))
    return str(excinfo.value)


def service_lines(unit):
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
PrivateIPC=yes
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
    assert render() == DEFAULT_UNIT


def test_private_users_is_never_set_by_default():
    # PrivateUsers=yes fails with 217/USER in containers.
    assert 'PrivateUsers' not in render()


def test_group_is_left_to_the_caller_unless_given():
    assert validate_unit(PARAMS).group is None
    assert validate_unit(dict(PARAMS, group='www-data')).group == 'www-data'


@pytest.mark.parametrize('overrides, expected', [
    ({'group': 'www-data'}, 'Group=www-data'),
    ({'type': 'simple'}, 'Type=simple'),
    ({'restart': 'always'}, 'Restart=always'),
    ({'working_directory': '/var/www'}, 'WorkingDirectory=/var/www'),
    ({'capabilities': ['CAP_NET_BIND_SERVICE', 'CAP_CHOWN', 'CAP_CHOWN'], 'allow_capabilities': ['CAP_CHOWN']},
     'CapabilityBoundingSet=CAP_CHOWN CAP_NET_BIND_SERVICE'),
    ({'capabilities': ['CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_IPC_LOCK', 'CAP_AUDIT_WRITE']},
     'CapabilityBoundingSet=CAP_AUDIT_WRITE CAP_IPC_LOCK CAP_NET_BIND_SERVICE CAP_NET_BROADCAST'),
    ({'capabilities': ['CAP_KILL'], 'allow_capabilities': ['CAP_KILL', 'CAP_NET_ADMIN']},
     'AmbientCapabilities=CAP_KILL\n'),
    ({'capabilities': ['CAP_NET_BIND_SERVICE']}, 'AmbientCapabilities=CAP_NET_BIND_SERVICE'),
    ({'memory_deny_write_execute': False}, 'MemoryDenyWriteExecute=no'),
    ({'restrict_address_families': ['AF_UNIX', 'AF_NETLINK', 'AF_INET']},
     'RestrictAddressFamilies=AF_UNIX AF_NETLINK AF_INET'),
    ({'restrict_address_families': ['none']}, 'RestrictAddressFamilies=none'),
    ({'bind': ['/var/lib/web:/var/lib/web', '/srv/data']}, 'BindPaths=/var/lib/web:/var/lib/web /srv/data'),
    ({'bind': ['/srv/100%']}, 'BindPaths=/srv/100%%'),
    ({'bind_read_only': ['/etc/ssl/certs', '/dev/log']},
     'BindReadOnlyPaths=/dev/log /run/systemd/journal/socket /run/systemd/journal/stdout /etc/ssl/certs'),
    ({'bind_read_only': ['/etc/ssl/certs'], 'bind_journal': False}, 'BindReadOnlyPaths=/etc/ssl/certs'),
    # Sensitive sources, accepted knowingly.
    ({'bind_read_only': ['/etc'], 'bind_journal': False, 'allow_sensitive_binds': True}, 'BindReadOnlyPaths=/etc'),
    ({'bind': ['/run/docker.sock'], 'allow_sensitive_binds': True}, 'BindPaths=/run/docker.sock'),
    ({'environment': {'LANG': 'C.UTF-8', 'GREETING': 'hello "you" 100%'}},
     'Environment="GREETING=hello \\"you\\" 100%%" "LANG=C.UTF-8"'),
    ({'environment': {'B': '2', 'A': '1'}}, 'Environment="A=1" "B=2"'),
    ({'environment': {'C': 'back\\slash\\', 'N': 3}}, 'Environment="C=back\\\\slash\\\\" "N=3"'),
    ({'environment': {'T': 'a\tb\nc'}}, 'Environment="T=a\\tb\\nc"'),
    ({'description': 'Web at 100%'}, 'Description=Web at 100%%'),
    ({'description': 'back\\slash inside'}, 'Description=back\\slash inside'),
    # systemd looks ReadWritePaths= up on the host, even with RootDirectory=.
    ({'read_write': ['/var/log/web', '/var/lib/web']},
     'ReadWritePaths=/srv/jails/web/var/log/web /srv/jails/web/var/lib/web'),
    ({'jail': '/srv/jails/web/', 'read_write': ['/var/log/web']}, 'ReadWritePaths=/srv/jails/web/var/log/web'),
    ({'jail': '/srv//jails/web/'}, 'RootDirectory=/srv/jails/web\n'),
    ({'bind': ['/srv//data/:/data/']}, 'BindPaths=/srv/data:/data\n'),
    ({'command': ['/bin/prog', 'a b', '%', ';']}, 'ExecStart=/bin/prog "a b" %% \\;'),
    ({'extra_properties': {'LimitNOFILE': 4096}}, 'LimitNOFILE=4096'),
    ({'extra_properties': {'LimitCORE': '0:infinity'}}, 'LimitCORE=0:infinity'),
    ({'extra_properties': {'UMask': '0277'}}, 'UMask=0277'),
    ({'extra_properties': {'UMask': '077'}}, 'UMask=077'),
    ({'extra_properties': {'PrivateUsers': True}}, 'PrivateUsers=yes'),
    ({'extra_properties': {'CPUQuota': '50%'}}, 'CPUQuota=50%'),
    ({'extra_properties': {'MemoryMax': '512M'}}, 'MemoryMax=512M'),
    ({'extra_properties': {'StandardError': 'null'}}, 'StandardError=null'),
    ({'extra_properties': {'TimeoutStopSec': '1min 30s'}}, 'TimeoutStopSec=1min 30s'),
    ({'extra_properties': {'IPAddressAllow': ['192.168.0.0/16', 'localhost']}},
     'IPAddressAllow=192.168.0.0/16\nIPAddressAllow=localhost'),
])
def test_render_options(overrides, expected):
    assert expected in render(**overrides)


def test_extra_property_replaces_a_default_in_place():
    lines = service_lines(render(extra_properties={'UMask': '0177'}))
    assert lines.count('UMask=0177') == 1
    assert 'UMask=0077' not in lines
    assert lines.index('UMask=0177') < lines.index('MemoryDenyWriteExecute=yes')


def test_extra_properties_not_in_defaults_come_last_sorted():
    lines = service_lines(render(extra_properties={'TimeoutSec': 5, 'LimitNOFILE': 64}))
    assert lines[-2:] == ['LimitNOFILE=64', 'TimeoutSec=5']


# What the daemon can write, it cannot execute (issue 10): the read_write part of the unit.
READ_WRITE_LINES = [
    'ReadWritePaths=/srv/jails/web/var/log/web /srv/jails/web/var/lib/100%%',
    'NoExecPaths=/srv/jails/web/var/log/web /srv/jails/web/var/lib/100%%',
    'CapabilityBoundingSet=',
]


def test_read_write_paths_are_not_executable():
    lines = service_lines(render(read_write=['/var/log/web', '/var/lib/100%']))
    start = lines.index(READ_WRITE_LINES[0])
    assert lines[start:start + 3] == READ_WRITE_LINES
    assert lines.count(READ_WRITE_LINES[1]) == 1


def test_exec_in_read_write_on_request():
    lines = service_lines(render(read_write=['/var/log/web', '/var/lib/100%'], allow_exec_in_read_write=True))
    assert READ_WRITE_LINES[0] in lines
    assert not [line for line in lines if line.startswith('NoExecPaths')]


def test_no_exec_paths_without_read_write():
    assert 'NoExecPaths' not in render(bind_read_only=['/srv/static'])


# A writable bind is written to like a read_write path, so it is not executable either.
BIND_LINES = [
    'BindPaths=/srv/spool:/var/spool/web /srv/100%%',
    'ReadWritePaths=/srv/jails/web/var/log/web',
    'NoExecPaths=/srv/jails/web/var/log/web /srv/jails/web/var/spool/web /srv/jails/web/srv/100%%',
    'CapabilityBoundingSet=',
]


def test_writable_binds_are_not_executable():
    lines = service_lines(render(bind=['/srv/spool:/var/spool/web', '/srv/100%'], read_write=['/var/log/web']))
    start = lines.index(BIND_LINES[0])
    assert lines[start:start + 4] == BIND_LINES


def test_writable_bind_alone_is_not_executable():
    lines = service_lines(render(bind=['/srv/spool:/spool']))
    assert 'NoExecPaths=/srv/jails/web/spool' in lines
    assert not [line for line in lines if line.startswith('ReadWritePaths')]


def test_exec_in_writable_binds_on_request():
    unit = render(bind=['/srv/spool:/spool'], allow_exec_in_read_write=True)
    assert 'BindPaths=/srv/spool:/spool\n' in unit
    assert 'NoExecPaths' not in unit


def test_journal_binding_can_be_turned_off():
    assert 'BindReadOnlyPaths' not in render(bind_journal=False)


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
    ('ends\\', '"ends\\\\"'),
    ("it's", '"it\'s"'),
    ('tab\there', '"tab\\there"'),
    ('nl\nx', '"nl\\nx"'),
])
def test_quote_exec_word(word, expected):
    # Verified against systemd 252: each word comes back unchanged in argv.
    assert quote_exec_word(word) == expected


@pytest.mark.parametrize('name, expected', [
    ('web.service', 'web.service'),
    ('web', 'web.service'),
    ('web.v2', 'web.v2.service'),
    ('getty@tty1.service', 'getty@tty1.service'),
    ('getty@tty1', 'getty@tty1.service'),
    ('a-b_c:d.e.service', 'a-b_c:d.e.service'),
    ('x\\x2dy.service', 'x\\x2dy.service'),
    ('.a', '.a.service'),
    ('x' * 247, 'x' * 247 + '.service'),  # 255 characters, systemd's longest
])
def test_unit_name_appends_service_as_systemctl_does(name, expected):
    assert unit_name(name) == expected


NAME_CHARS = '(allowed: letters, digits, ":", "_", ".", "\\", "-" and one "@")'


@pytest.mark.parametrize('name, message', [
    ('', 'name: must not be empty'),
    ('web.socket', "name: 'web.socket' is a socket unit; jailed_service manages .service units"),
    ('web.timer', "name: 'web.timer' is a timer unit; jailed_service manages .service units"),
    ('we b', f"name: 'we b.service' is not a valid unit name {NAME_CHARS}"),
    ('a/b.service', f"name: 'a/b.service' is not a valid unit name {NAME_CHARS}"),
    ('../../etc/cron.d/x', f"name: '../../etc/cron.d/x.service' is not a valid unit name {NAME_CHARS}"),
    ('.service', f"name: '.service' is not a valid unit name {NAME_CHARS}"),
    ('x' * 250, f"name: '{'x' * 250}.service' is longer than 255 characters"),
    ('x' * 248, f"name: '{'x' * 248}.service' is longer than 255 characters"),
    # "systemctl start -Hhost.service" would act on the host "host.service" over SSH
    ('-Hexample.org', 'name: \'-Hexample.org.service\' starts with "-", which systemctl would read as an option'),
    ('-web.service', 'name: \'-web.service\' starts with "-", which systemctl would read as an option'),
])
def test_unit_name_refused(name, message):
    with pytest.raises(ServiceError) as excinfo:
        unit_name(name)
    assert str(excinfo.value) == message


ALLOWED = ('CPUQuota, CPUWeight, IOWeight, IPAddressAllow, IPAddressDeny, KillSignal, LimitCORE, LimitNOFILE, '
           'LimitNPROC, LogLevelMax, MemoryHigh, MemoryMax, Nice, OOMScoreAdjust, PrivateNetwork, PrivateUsers, '
           'ProcSubset, RestartSec, StandardError, StandardOutput, SyslogIdentifier, TasksMax, TimeoutSec, '
           'TimeoutStartSec, TimeoutStopSec, UMask, WatchdogSec')
EXEC = 'is never allowed: it runs a command, which systemd may run outside the jail or as root'

INVALID = [
    ({'jail': 'srv/jail'}, "jail 'srv/jail' is not an absolute path"),
    ({'jail': ''}, 'jail: empty path'),
    ({'jail': '/'}, 'jail: "/" is not a jail'),
    ({'jail': '//'}, 'jail: "/" is not a jail'),
    ({'jail': '/srv/../etc'}, "jail '/srv/../etc' contains a '..' component"),
    ({'jail': '/srv/./jail'}, "jail '/srv/./jail' contains a '.' component"),
    ({'jail': '/srv/jail\x00'}, "jail '/srv/jail\\x00' contains a NUL byte"),
    ({'jail': '/srv/my jail'},
     "jail: '/srv/my jail' must not contain whitespace, quotes, backslashes, colons or semicolons"),
    ({'user': 'root'}, "user: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'user': '0'}, "user: '0' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'group': 'root'}, "group: 'root' is refused: a jailed daemon running as root can break out of its chroot"),
    ({'user': ''}, 'user: must not be empty'),
    ({'user': 'we b'}, "user: 'we b' is not a valid user or group name"),
    ({'command': []}, 'command: must list at least the program path'),
    ({'command': ['lighttpd', '-D']}, "command[0]: 'lighttpd' must be an absolute path inside the jail"),
    # systemd's prefixes: "+" and "!" run the command with full privileges.
    ({'command': ['+/usr/sbin/lighttpd']}, "command[0]: '+/usr/sbin/lighttpd' must be an absolute path inside the jail"),
    ({'command': ['!!/usr/sbin/lighttpd']},
     "command[0]: '!!/usr/sbin/lighttpd' must be an absolute path inside the jail"),
    ({'command': ['/bin/x', 'a\x00b']}, "command[1]: the control character '\\x00' cannot be passed (only tab and newline can)"),
    ({'command': ['/bin/x', 'a\rb']}, "command[1]: the control character '\\r' cannot be passed (only tab and newline can)"),
    ({'command': ['/bin/x\n']}, "command[0]: '/bin/x\\n' contains a control character"),
    ({'command': ['/bin/x\t', '-D']}, "command[0]: '/bin/x\\t' contains a control character"),
    ({'working_directory': 'var/www'}, "working_directory 'var/www' is not an absolute path"),
    ({'capabilities': ['NET_BIND_SERVICE']},
     "capabilities: 'NET_BIND_SERVICE' must be a capability name such as CAP_NET_BIND_SERVICE"),
    ({'capabilities': ['CAP_FLY']}, "capabilities: 'CAP_FLY' is not a Linux capability"),
    ({'restrict_address_families': []},
     'restrict_address_families: must list at least one family (use "none" to deny all)'),
    ({'restrict_address_families': ['inet']},
     "restrict_address_families: 'inet' must be an address family such as AF_INET, or \"none\" alone"),
    ({'restrict_address_families': ['AF_INET', 'none']},
     "restrict_address_families: 'none' must be an address family such as AF_INET, or \"none\" alone"),
    ({'restrict_address_families': ['none', 'AF_INET']},
     "restrict_address_families: 'none' must be an address family such as AF_INET, or \"none\" alone"),
    ({'bind': ['relative']}, "bind 'relative' is not an absolute path"),
    ({'bind': ['/a:/b:/c']}, "bind: '/a:/b:/c' must be SOURCE or SOURCE:DESTINATION"),
    ({'bind_read_only': ['/etc/ssl:certs']}, "bind_read_only 'certs' is not an absolute path"),
    ({'read_write': ['var/log']}, "read_write 'var/log' is not an absolute path"),
    ({'read_write': ['/var/../../etc']}, "read_write '/var/../../etc' contains a '..' component"),
    ({'environment': {'1X': 'a'}},
     "environment: '1X' is not a valid variable name (letters, digits, \"_\"; not starting with a digit)"),
    ({'environment': {'X': None}}, 'environment: X has no value'),
    # The value may be a secret: it is not repeated.
    ({'environment': {'X': 'secret\x1b'}},
     "environment: X: the control character '\\x1b' cannot be passed (only tab and newline can)"),
    # Free text written verbatim: a trailing backslash would swallow "After=network.target".
    ({'description': 'two\nlines'}, "description: 'two\\nlines' contains a newline or another control character"),
    ({'description': 'bell\x07'}, "description: 'bell\\x07' contains a newline or another control character"),
    ({'description': 'web\\'},
     "description: 'web\\\\' ends with a backslash, which systemd reads as a line continuation"),
    # Binds that undo the jail.
    ({'bind': ['/:/host']}, "bind: '/:/host' binds the host's whole file system into the jail"),
    ({'bind': ['//:/host'], 'allow_sensitive_binds': True},
     "bind: '//:/host' binds the host's whole file system into the jail"),
    ({'bind_read_only': ['/'], 'allow_sensitive_binds': True},
     "bind_read_only: '/' binds the host's whole file system into the jail"),
    ({'bind_read_only': ['/etc']},
     "bind_read_only: '/etc' exposes the host's /etc to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/etc/:/data']},
     "bind: '/etc/:/data' exposes the host's /etc to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/root']},
     "bind: '/root' exposes the host's /root to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/home:/srv']},
     "bind: '/home:/srv' exposes the host's /home to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind_read_only': ['/boot']},
     "bind_read_only: '/boot' exposes the host's /boot to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind_read_only': ['/proc']},
     "bind_read_only: '/proc' exposes the host's /proc to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/sys']},
     "bind: '/sys' exposes the host's /sys to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/dev']},
     "bind: '/dev' exposes the host's /dev to the jailed daemon; set allow_sensitive_binds to accept it knowingly"),
    ({'bind': ['/run/docker.sock']},
     "bind: '/run/docker.sock' exposes the host's /run/docker.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    ({'bind': ['/var/run']},
     "bind: '/var/run' exposes the host's /var/run/docker.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    ({'bind': ['/run/containerd']},
     "bind: '/run/containerd' exposes the host's /run/containerd/containerd.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    ({'bind_read_only': ['/run/podman/podman.sock']},
     "bind_read_only: '/run/podman/podman.sock' exposes the host's /run/podman/podman.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    ({'bind': ['/var/run/crio/crio.sock']},
     "bind: '/var/run/crio/crio.sock' exposes the host's /var/run/crio/crio.sock to the jailed daemon; "
     'set allow_sensitive_binds to accept it knowingly'),
    # extra_properties: the allow-list.
    ({'extra_properties': {'User': 'root'}}, 'extra_properties: User is set by the module; use the user parameter instead'),
    ({'extra_properties': {'RootDirectory': '/'}},
     'extra_properties: RootDirectory is set by the module; use the jail parameter instead'),
    ({'extra_properties': {'CapabilityBoundingSet': 'CAP_SYS_ADMIN'}},
     'extra_properties: CapabilityBoundingSet is set by the module; use the capabilities parameter instead'),
    ({'extra_properties': {'BindPaths': '/:/host'}},
     'extra_properties: BindPaths is set by the module; use the bind parameter instead'),
    ({'extra_properties': {'ReadWritePaths': '/'}},
     'extra_properties: ReadWritePaths is set by the module; use the read_write parameter instead'),
    ({'extra_properties': {'NoExecPaths': '/tmp'}},
     'extra_properties: NoExecPaths is set by the module; use the allow_exec_in_read_write parameter instead'),
    ({'extra_properties': {'ExecPaths': '/srv'}}, f'extra_properties: ExecPaths {EXEC}'),
    ({'extra_properties': {'ExecStartPre': '+/bin/sh -c id'}}, f'extra_properties: ExecStartPre {EXEC}'),
    ({'extra_properties': {'ExecStartPost': '!/bin/true'}}, f'extra_properties: ExecStartPost {EXEC}'),
    ({'extra_properties': {'ExecStopPost': '!!/bin/true'}}, f'extra_properties: ExecStopPost {EXEC}'),
    ({'extra_properties': {'ExecReload': '/bin/kill -HUP $MAINPID'}}, f'extra_properties: ExecReload {EXEC}'),
    ({'extra_properties': {'ExecCondition': '/bin/true'}}, f'extra_properties: ExecCondition {EXEC}'),
    ({'extra_properties': {'RootDirectoryStartOnly': True}},
     'extra_properties: RootDirectoryStartOnly is never allowed: it runs the other Exec commands outside the jail'),
    ({'extra_properties': {'PermissionsStartOnly': True}},
     'extra_properties: PermissionsStartOnly is never allowed: it runs the other Exec commands as root'),
    ({'extra_properties': {'SupplementaryGroups': 'root'}},
     'extra_properties: SupplementaryGroups is never allowed: it gives the daemon further groups'),
    ({'extra_properties': {'DynamicUser': True}},
     'extra_properties: DynamicUser is never allowed: it replaces the service user'),
    ({'extra_properties': {'NoNewPrivileges': False}},
     'extra_properties: NoNewPrivileges is never allowed: it would let the daemon gain privileges'),
    ({'extra_properties': {'ProtectSystem': 'false'}},
     f'extra_properties: ProtectSystem is not an allowed setting (allowed: {ALLOWED})'),
    ({'extra_properties': {'SystemCallFilter': '@mount'}},
     f'extra_properties: SystemCallFilter is not an allowed setting (allowed: {ALLOWED})'),
    ({'extra_properties': {'DeviceAllow': '/dev/sda rw'}},
     f'extra_properties: DeviceAllow is not an allowed setting (allowed: {ALLOWED})'),
    # A umask that clears any of 0077's bits would loosen the hardening default.
    ({'extra_properties': {'UMask': '0000'}},
     "extra_properties: UMask='0000' is not accepted (allowed: an octal mode that keeps every bit of 0077, "
     'such as "0077" or "0277")'),
    ({'extra_properties': {'UMask': '0027'}},
     "extra_properties: UMask='0027' is not accepted (allowed: an octal mode that keeps every bit of 0077, "
     'such as "0077" or "0277")'),
    ({'extra_properties': {'UMask': '0076'}},
     "extra_properties: UMask='0076' is not accepted (allowed: an octal mode that keeps every bit of 0077, "
     'such as "0077" or "0277")'),
    ({'extra_properties': {'PrivateUsers': False}},
     "extra_properties: PrivateUsers='no' is not accepted (allowed: \"yes\")"),
    ({'extra_properties': {'StandardOutput': 'file:/etc/passwd'}},
     "extra_properties: StandardOutput='file:/etc/passwd' is not accepted (allowed: \"journal\" or \"null\")"),
    ({'extra_properties': {'Nice': -20}}, "extra_properties: Nice='-20' is not accepted (allowed: an integer from 0 to 19)"),
    ({'extra_properties': {'LimitNOFILE': '1\nUser=root'}},
     "extra_properties: LimitNOFILE='1\\nUser=root' is not accepted (allowed: a number, \"infinity\", or SOFT:HARD)"),
    ({'extra_properties': {'TimeoutSec': ['5', '+/bin/sh']}},
     "extra_properties: TimeoutSec='+/bin/sh' is not accepted (allowed: a time span such as \"30s\" or \"2min\")"),
    ({'extra_properties': {'protect-system': 'yes'}},
     "extra_properties: 'protect-system' is not a systemd [Service] setting name"),
]


@pytest.mark.parametrize('overrides, message', INVALID)
def test_invalid_input_is_refused_with_the_field_named(overrides, message):
    assert refusal(**overrides) == message


# Python's "$" also matches before a trailing newline: every name is matched whole.
def test_command_word_with_a_trailing_newline_cannot_add_a_line():
    unit = render(command=['/bin/app', '--name=x\n', 'ExecStartPre=+/bin/touch', '/pwned'])
    assert [line for line in unit.splitlines() if line.lstrip().startswith('Exec')] == [
        'ExecStart=/bin/app "--name=x\\n" ExecStartPre=+/bin/touch /pwned']


@pytest.mark.parametrize('overrides, message', [
    ({'user': 'web\n'}, "user: 'web\\n' is not a valid user or group name"),
    ({'group': 'web\n'}, "group: 'web\\n' is not a valid user or group name"),
    ({'environment': {'LANG\n': 'C'}},
     "environment: 'LANG\\n' is not a valid variable name (letters, digits, \"_\"; not starting with a digit)"),
    ({'extra_properties': {'LimitNOFILE\n': 64}},
     "extra_properties: 'LimitNOFILE\\n' is not a systemd [Service] setting name"),
    ({'restrict_address_families': ['AF_INET\n', 'AF_UNIX']},
     "restrict_address_families: 'AF_INET\\n' must be an address family such as AF_INET, or \"none\" alone"),
    ({'capabilities': ['CAP_NET_BIND_SERVICE\n']}, "capabilities: 'CAP_NET_BIND_SERVICE\\n' is not a Linux capability"),
])
def test_trailing_newline_is_refused_in_every_name(overrides, message):
    assert refusal(**overrides) == message


def test_unit_name_with_a_trailing_newline_is_refused():
    # Not reachable through "$" today (".service" is appended after the newline); kept whole anyway.
    with pytest.raises(ServiceError) as excinfo:
        unit_name('web.service\n')
    assert str(excinfo.value) == f"name: 'web.service\\n.service' is not a valid unit name {NAME_CHARS}"


# Capabilities that reach beyond the jail or the user: refused unless accepted knowingly.
OPT_IN = ('CAP_NET_ADMIN', 'CAP_CHOWN', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_MKNOD', 'CAP_KILL', 'CAP_SYS_TIME',
          'CAP_PERFMON', 'CAP_SYSLOG', 'CAP_LINUX_IMMUTABLE', 'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ',
          'CAP_SYS_RESOURCE', 'CAP_SYS_NICE', 'CAP_SYS_TTY_CONFIG', 'CAP_LEASE', 'CAP_IPC_OWNER',
          'CAP_CHECKPOINT_RESTORE', 'CAP_NET_RAW', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_SETFCAP',
          'CAP_SYS_PACCT')


@pytest.mark.parametrize('name', OPT_IN)
def test_capability_beyond_the_jail_needs_allow_capabilities(name):
    assert refusal(capabilities=[name]) == (
        f'capabilities: {name} reaches beyond the jail or the service user; list it in allow_capabilities '
        'to accept it knowingly')
    assert f'AmbientCapabilities={name}\n' in render(capabilities=[name], allow_capabilities=[name])


NEVER = {
    'CAP_SYS_ADMIN': 'mounts file systems and more, enough to leave the chroot',
    'CAP_SYS_MODULE': 'loads code into the kernel',
    'CAP_SYS_PTRACE': 'writes into the memory of other processes, PID 1 included',
    'CAP_SYS_RAWIO': 'reads and writes raw devices and I/O ports',
    'CAP_SYS_CHROOT': 'calls chroot() again, the classic way out of a chroot',
    'CAP_DAC_READ_SEARCH': 'opens any host file by its handle (open_by_handle_at), outside the jail',
    'CAP_DAC_OVERRIDE': 'ignores file permissions',
    'CAP_SETUID': 'becomes any user, root included',
    'CAP_SETGID': 'joins any group, root included',
    'CAP_SETPCAP': 'changes capability sets and securebits',
    'CAP_BPF': 'loads BPF programs into the kernel',
    'CAP_MAC_ADMIN': 'changes the mandatory access control policy',
    'CAP_MAC_OVERRIDE': 'overrides the mandatory access control policy',
    'CAP_SYS_BOOT': 'reboots the host or loads a new kernel',
}


@pytest.mark.parametrize('name, reason', sorted(NEVER.items()))
@pytest.mark.parametrize('field', ['capabilities', 'allow_capabilities'])
def test_capability_that_undoes_the_jail_is_never_accepted(name, reason, field):
    overrides = {'capabilities': [], 'allow_capabilities': []}
    overrides[field] = [name]
    assert refusal(**overrides) == f'{field}: {name} is never accepted: it {reason}'


@pytest.mark.parametrize('allowed, message', [
    (['NET_ADMIN'], "allow_capabilities: 'NET_ADMIN' must be a capability name such as CAP_NET_BIND_SERVICE"),
    (['CAP_FLY'], "allow_capabilities: 'CAP_FLY' is not a Linux capability"),
])
def test_allow_capabilities_names_are_checked(allowed, message):
    assert refusal(allow_capabilities=allowed) == message


# A daemon whose master is root in the jail (privilege_drop).
DROP = dict(PARAMS, user=None, privilege_drop={'user': 'web', 'group': None, 'chown': False})
ACCEPT = 'set allow_sensitive_binds to accept it knowingly'
BUS = ("reaches the host's {path}, the system bus, through which root starts any command as root on the host, and "
       "the daemon's master is root in the jail with privilege_drop")
MANAGERS = ("reaches the host's {path}, the users' own service managers, through which root runs any command as any "
            "user, and the daemon's master is root in the jail with privilege_drop")
SYSTEMD_SOCKETS = ("systemd's control sockets, through which root starts any command as root on the host")


@pytest.mark.parametrize('params, field, entry, reason', [
    # Below /proc and /sys, whatever the daemon's user: the kernel's tunables (core_pattern,
    # uevent_helper) make root a host root shell, and ProtectKernelTunables= guards only the jail's.
    (PARAMS, 'bind', '/proc/sys:/tunables', "lies under /proc, the host's kernel and process interfaces"),
    (PARAMS, 'bind_read_only', '/proc/1/root', "lies under /proc, the host's kernel and process interfaces"),
    (DROP, 'bind', '/proc/sys:/tunables', "lies under /proc, the host's kernel and process interfaces"),
    (DROP, 'bind', '/sys/kernel:/k', "lies under /sys, the host's kernel interfaces"),
    (PARAMS, 'bind_read_only', '/sys/kernel', "lies under /sys, the host's kernel interfaces"),
    # PID 1 and the system bus: a read-only bind does not stop connect().
    (DROP, 'bind_read_only', '/run/systemd/private', f'lies under /run/systemd, {SYSTEMD_SOCKETS}'),
    (PARAMS, 'bind_read_only', '/var/run/systemd/private', f'lies under /var/run/systemd, {SYSTEMD_SOCKETS}'),
    (DROP, 'bind_read_only', '/run/systemd', "exposes the host's /run/systemd to the jailed daemon"),
    # Root's connection to the system bus or to a user's own manager (the bus's policy limits
    # an unprivileged daemon); what else root could read or change is judged on the host.
    (DROP, 'bind_read_only', '/run/dbus/system_bus_socket', BUS.format(path='/run/dbus')),
    (DROP, 'bind_read_only', '/var/run/dbus', BUS.format(path='/var/run/dbus')),
    (DROP, 'bind_read_only', '/run/user/0', MANAGERS.format(path='/run/user')),
    (DROP, 'bind', '/var/run/user', MANAGERS.format(path='/var/run/user')),
])
def test_binds_that_reach_the_host_are_refused(params, field, entry, reason):
    with pytest.raises(ServiceError) as excinfo:
        validate_unit(dict(params, **{field: [entry]}))
    assert str(excinfo.value) == f'{field}: {entry!r} {reason}; {ACCEPT}'
    assert validate_unit(dict(params, allow_sensitive_binds=True, **{field: [entry]}))


@pytest.mark.parametrize('field, entry', [
    # An unprivileged daemon may read a file below /etc, as before.
    ('bind_read_only', '/etc/ssl/certs'),
    ('bind_read_only', '/etc/resolv.conf'),
    # What bind_journal binds, given by hand, and where /etc/resolv.conf often leads.
    ('bind_read_only', '/run/systemd/journal/socket'),
    ('bind_read_only', '/run/systemd/journal/dev-log'),
    ('bind_read_only', '/run/systemd/resolve/stub-resolv.conf'),
    ('bind_read_only', '/run/systemd/resolve'),
    # the bus's own policy limits a daemon that is not root
    ('bind_read_only', '/run/dbus/system_bus_socket'),
])
def test_binds_below_etc_and_the_journal_sockets_pass_without_privilege_drop(field, entry):
    assert validate_unit(dict(PARAMS, bind_journal=False, **{field: [entry]}))


@pytest.mark.parametrize('field, entry', [
    # judged on the host (what root could read or change there), not refused by name
    ('bind_read_only', '/etc/ssl/certs'),
    ('bind_read_only', '/etc/resolv.conf'),
    ('bind', '/etc/cron.d'),
    ('bind_read_only', '/run/systemd/resolve'),
])
def test_binds_below_etc_are_judged_on_the_host_with_privilege_drop(field, entry):
    assert validate_unit(dict(DROP, bind_journal=False, **{field: [entry]}))


def test_the_bus_and_the_users_managers_are_sensitive_only_to_a_root_master():
    # tcpwrapped_service's read_write asks without privilege_drop
    for path in ('/run/dbus/system_bus_socket', '/run/user/1000', '/var/run/dbus'):
        assert sensitive_bind(path) is None and sensitive_bind(path, drop=True)
