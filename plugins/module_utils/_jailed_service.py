# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Only the jailed_service module uses it.

"""Pure logic for serversec.confine.jailed_service.

Renders a hardened systemd unit that runs a daemon inside a chroot jail as an
unprivileged user, validates the input, and parses the output of
``systemd-analyze verify`` and ``systemd-analyze security``. Nothing here
touches the system, so all of it is unit tested without systemd.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import stat


class JailedServiceError(ValueError):
    """Bad input or a failed check; the message names the field and the cause."""


TYPES = ('simple', 'exec', 'forking', 'oneshot', 'notify', 'dbus', 'idle')
RESTART_POLICIES = ('no', 'always', 'on-success', 'on-failure', 'on-abnormal',
                    'on-abort', 'on-watchdog')
STATES = ('started', 'stopped', 'restarted', 'present', 'absent')

DEFAULT_ADDRESS_FAMILIES = ('AF_UNIX', 'AF_INET', 'AF_INET6')

# The sockets journald listens on. Bound read-only into the jail so that
# syslog(3) (/dev/log) and sd_journal_*() reach the journal; stdout/stderr are
# connected by systemd before the chroot and need no bind. This is the list
# systemd.exec(5) gives for RootDirectory= services.
JOURNAL_SOCKETS = ('/dev/log', '/run/systemd/journal/socket', '/run/systemd/journal/stdout')

# Every capability known to Linux 6.x (capability(7)).
CAPABILITIES = frozenset((
    'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_AUDIT_WRITE', 'CAP_BLOCK_SUSPEND',
    'CAP_BPF', 'CAP_CHECKPOINT_RESTORE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE',
    'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
    'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MAC_ADMIN', 'CAP_MAC_OVERRIDE',
    'CAP_MKNOD', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST',
    'CAP_NET_RAW', 'CAP_PERFMON', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP',
    'CAP_SETUID', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE',
    'CAP_SYS_NICE', 'CAP_SYS_PACCT', 'CAP_SYS_PTRACE', 'CAP_SYS_RAWIO',
    'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_SYSLOG',
    'CAP_WAKE_ALARM',
))

# Settings the module derives from its own parameters; extra_properties may not
# set them, so the jail, the user and the capability set cannot be undone by
# accident.
MANAGED_PROPERTIES = {
    'RootDirectory': 'jail',
    'RootImage': 'jail',
    'User': 'user',
    'Group': 'group',
    'DynamicUser': 'user',
    'ExecStart': 'command',
    'Type': 'type',
    'Restart': 'restart',
    'Environment': 'environment',
    'WorkingDirectory': 'working_directory',
    'CapabilityBoundingSet': 'capabilities',
    'AmbientCapabilities': 'capabilities',
    'BindPaths': 'bind',
    'BindReadOnlyPaths': 'bind_read_only',
    'MemoryDenyWriteExecute': 'memory_deny_write_execute',
    'RestrictAddressFamilies': 'restrict_address_families',
}

# Hardening written into every unit, in this order. extra_properties may
# override any of them by name. PrivateUsers= is deliberately absent: it maps
# the service into a user namespace, which fails with status 217/USER in
# containers (and on hosts that restrict unprivileged user namespaces), and the
# service already runs as a dedicated unprivileged user.
HARDENING = (
    ('NoNewPrivileges', 'yes'),
    ('PrivateTmp', 'yes'),
    ('PrivateDevices', 'yes'),
    ('PrivateMounts', 'yes'),
    ('ProtectSystem', 'strict'),
    ('ProtectHome', 'yes'),
    ('ProtectKernelTunables', 'yes'),
    ('ProtectKernelModules', 'yes'),
    ('ProtectKernelLogs', 'yes'),
    ('ProtectControlGroups', 'yes'),
    ('ProtectClock', 'yes'),
    ('ProtectHostname', 'yes'),
    ('ProtectProc', 'invisible'),
    ('RestrictNamespaces', 'yes'),
    ('RestrictSUIDSGID', 'yes'),
    ('RestrictRealtime', 'yes'),
    ('RemoveIPC', 'yes'),
    ('LockPersonality', 'yes'),
    ('SystemCallFilter', '@system-service'),
    ('SystemCallArchitectures', 'native'),
    ('UMask', '0077'),
)

UNIT_NAME_RE = re.compile(r'^[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.service$')
ENV_NAME_RE = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')
PROPERTY_NAME_RE = re.compile(r'^[A-Z][A-Za-z0-9]*$')
EXPOSURE_RE = re.compile(r'Overall exposure level for (\S+): (\d+(?:\.\d+)?) (\S+)')
NOT_EXECUTABLE_RE = re.compile(r'Command (/\S*) is not executable')
# Characters that may appear unquoted in an ExecStart= word.
SAFE_WORD_RE = re.compile(r'^[A-Za-z0-9_@%+=:,./$-]+$')
UNIT_NAME_MAX = 255


def validate_unit_name(name):
    """Refuse names systemd would not accept as a service unit name."""
    if not name:
        raise JailedServiceError('name: must not be empty')
    if len(name) > UNIT_NAME_MAX:
        raise JailedServiceError(f'name: {name!r} is longer than {UNIT_NAME_MAX} characters')
    if not name.endswith('.service'):
        raise JailedServiceError(f'name: {name!r} must end with ".service"')
    if not UNIT_NAME_RE.match(name) or name == '.service':
        raise JailedServiceError(
            f'name: {name!r} is not a valid unit name (allowed: letters, digits, ":", "_", ".", "\\", "-" '
            'and one "@")')


def _reject_control(field, value):
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise JailedServiceError(f'{field}: {value!r} contains a control character')


def _absolute_path(field, value):
    """A clean absolute path usable in a unit file (no whitespace, quotes, colons)."""
    if not isinstance(value, str) or not value.startswith('/'):
        raise JailedServiceError(f'{field}: {value!r} must be an absolute path')
    _reject_control(field, value)
    if re.search(r'[\s"\'\\:;]', value):
        raise JailedServiceError(
            f'{field}: {value!r} must not contain whitespace, quotes, backslashes, colons or semicolons')
    if '/../' in value + '/' or value.endswith('/..'):
        raise JailedServiceError(f'{field}: {value!r} must not contain ".."')
    return value


def escape_specifiers(value):
    """systemd expands %-specifiers everywhere in a unit file."""
    return value.replace('%', '%%')


def double_quote(text):
    """A double-quoted systemd word with C escapes for backslash, quote, newline and tab."""
    escaped = text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t')
    return '"{}"'.format(escaped)


def quote_exec_word(word):
    """Quote one argv element for ExecStart= (systemd.service(5), "Command lines").

    systemd expands %-specifiers and $VARIABLES in command lines, so "%" and "$"
    are doubled; a lone ";" separates commands, so it is written as "\\;";
    anything else unusual goes in double quotes with C escapes.
    """
    escaped = escape_specifiers(word).replace('$', '$$')
    if word == ';':
        return '\\;'
    if SAFE_WORD_RE.match(word):
        return escaped
    return double_quote(escaped)


def render_exec(command):
    """ExecStart= value for an argv list; the program path must be absolute."""
    if not command:
        raise JailedServiceError('command: must list at least the program path')
    for index, word in enumerate(command):
        if not isinstance(word, str):
            raise JailedServiceError(f'command[{index}]: must be a string')
        if '\x00' in word:
            raise JailedServiceError(f'command[{index}]: {word!r} contains a NUL byte')
    program = command[0]
    if not program.startswith('/'):
        raise JailedServiceError(
            f'command[0]: {program!r} must be an absolute path inside the jail')
    _reject_control('command[0]', program)
    return ' '.join(quote_exec_word(word) for word in command)


def render_environment(environment):
    """Environment= value: one double-quoted NAME=value per variable, sorted."""
    words = []
    for name in sorted(environment):
        value = environment[name]
        if not ENV_NAME_RE.match(name):
            raise JailedServiceError(
                f'environment: {name!r} is not a valid variable name (letters, digits, "_"; '
                'not starting with a digit)')
        if value is None:
            raise JailedServiceError(f'environment: {name} has no value')
        value = str(value)
        if '\x00' in value:
            raise JailedServiceError(f'environment: {name} contains a NUL byte')
        text = escape_specifiers(f'{name}={value}')
        words.append(double_quote(text))
    return ' '.join(words)


def _bind_entry(field, entry):
    """Validate SRC or SRC:DEST (DEST inside the jail)."""
    if not isinstance(entry, str):
        raise JailedServiceError(f'{field}: {entry!r} must be a string')
    parts = entry.split(':')
    if len(parts) > 2:
        raise JailedServiceError(f'{field}: {entry!r} must be SOURCE or SOURCE:DESTINATION')
    for part in parts:
        _absolute_path(field, part)
    return escape_specifiers(entry)


def validate_capabilities(capabilities):
    names = []
    for name in capabilities:
        if not isinstance(name, str) or not name.startswith('CAP_'):
            raise JailedServiceError(f'capabilities: {name!r} must be a capability name such as '
                                     'CAP_NET_BIND_SERVICE')
        if name not in CAPABILITIES:
            raise JailedServiceError(f'capabilities: {name!r} is not a Linux capability')
        if name not in names:
            names.append(name)
    return sorted(names)


def validate_address_families(families):
    if not families:
        raise JailedServiceError(
            'restrict_address_families: must list at least one family (use "none" to deny all)')
    if list(families) == ['none']:
        return 'none'
    for family in families:
        if not isinstance(family, str) or not re.match(r'^AF_[A-Z0-9]+$', family):
            raise JailedServiceError(
                f'restrict_address_families: {family!r} must be an address family such as AF_INET, '
                'or "none" alone')
    return ' '.join(families)


def property_value(name, value):
    """Text of one extra property value (booleans as yes/no)."""
    if isinstance(value, bool):
        return 'yes' if value else 'no'
    if value is None:
        return ''
    text = str(value)
    if '\n' in text or '\r' in text or '\x00' in text:
        raise JailedServiceError(
            f'extra_properties: {name} must be a single line')
    return text


def validate_extra_properties(extra_properties):
    """Return [(name, [values])] sorted by name; list values give repeated lines."""
    result = []
    for name in sorted(extra_properties):
        if not PROPERTY_NAME_RE.match(name):
            raise JailedServiceError(
                f'extra_properties: {name!r} is not a systemd [Service] setting name')
        if name in MANAGED_PROPERTIES:
            raise JailedServiceError(
                f'extra_properties: {name} is set by the module; use the {MANAGED_PROPERTIES[name]} parameter instead')
        value = extra_properties[name]
        values = value if isinstance(value, list) else [value]
        result.append((name, [property_value(name, item) for item in values]))
    return result


def validate_account(field, name):
    if not name or not isinstance(name, str):
        raise JailedServiceError(f'{field}: must not be empty')
    if name in ('root', '0'):
        raise JailedServiceError(
            f'{field}: {name!r} is refused: a jailed daemon running as root can break out of its chroot')
    if not re.match(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$', name):
        raise JailedServiceError(f'{field}: {name!r} is not a valid user or group name')


def render_unit(spec):
    """Render the unit text from module parameters (a dict); raise on bad input.

    spec keys: name, jail, command, user, group, description, environment,
    working_directory, capabilities, bind_read_only, bind, type, restart,
    extra_properties, memory_deny_write_execute, restrict_address_families,
    bind_journal, read_write.
    """
    validate_unit_name(spec['name'])
    jail = _absolute_path('jail', spec['jail'])
    if os.path.normpath(jail) == '/':
        raise JailedServiceError('jail: "/" is not a jail')
    validate_account('user', spec['user'])
    group = spec.get('group') or spec['user']
    validate_account('group', group)
    exec_start = render_exec(spec['command'])
    service_type = spec.get('type') or 'exec'
    if service_type not in TYPES:
        raise JailedServiceError('type: {!r} must be one of {}'.format(service_type, ', '.join(TYPES)))
    restart = spec.get('restart') or 'on-failure'
    if restart not in RESTART_POLICIES:
        raise JailedServiceError(
            'restart: {!r} must be one of {}'.format(restart, ', '.join(RESTART_POLICIES)))
    working_directory = _absolute_path('working_directory', spec.get('working_directory') or '/')
    capabilities = validate_capabilities(spec.get('capabilities') or [])
    families = validate_address_families(
        spec.get('restrict_address_families') or list(DEFAULT_ADDRESS_FAMILIES))
    bind = [_bind_entry('bind', entry) for entry in spec.get('bind') or []]
    bind_read_only = [_bind_entry('bind_read_only', entry)
                      for entry in spec.get('bind_read_only') or []]
    # systemd resolves ReadWritePaths= on the host even with RootDirectory= (checked on 252
    # and 257), so paths inside the jail get the jail as prefix.
    read_write = [escape_specifiers(jail.rstrip('/') + _absolute_path('read_write', path))
                  for path in spec.get('read_write') or []]
    if spec.get('bind_journal', True):
        bind_read_only = list(JOURNAL_SOCKETS) + [
            entry for entry in bind_read_only if entry not in JOURNAL_SOCKETS]
    extra = validate_extra_properties(spec.get('extra_properties') or {})
    mdwe = spec.get('memory_deny_write_execute')
    description = spec.get('description') or '{} jailed in {}'.format(spec['command'][0], jail)
    _reject_control('description', description)

    lines = [
        '# Managed by Ansible (serversec.confine.jailed_service); local edits are overwritten.',
        '[Unit]',
        f'Description={escape_specifiers(description)}',
        'After=network.target',
        '',
        '[Service]',
        f'Type={service_type}',
        f'ExecStart={exec_start}',
        f'Restart={restart}',
        f'RootDirectory={escape_specifiers(jail)}',
        f'WorkingDirectory={escape_specifiers(working_directory)}',
        'User={}'.format(spec['user']),
        f'Group={group}',
    ]
    if spec.get('environment'):
        lines.append('Environment={}'.format(render_environment(spec['environment'])))
    if bind_read_only:
        lines.append('BindReadOnlyPaths={}'.format(' '.join(bind_read_only)))
    if bind:
        lines.append('BindPaths={}'.format(' '.join(bind)))
    if read_write:
        lines.append('ReadWritePaths={}'.format(' '.join(read_write)))
    lines.append('CapabilityBoundingSet={}'.format(' '.join(capabilities)))
    lines.append('AmbientCapabilities={}'.format(' '.join(capabilities)))
    overrides = dict(extra)
    for name, value in HARDENING:
        for text in overrides.pop(name, [value]):
            lines.append(f'{name}={text}')
    lines.append('MemoryDenyWriteExecute=%s' % ('no' if mdwe is False else 'yes'))
    lines.append(f'RestrictAddressFamilies={families}')
    for name, values in extra:
        if name in overrides:
            for text in values:
                lines.append(f'{name}={text}')
    lines.extend(['', '[Install]', 'WantedBy=multi-user.target', ''])
    return '\n'.join(lines)


def parse_exposure(output):
    """(score, rating) from `systemd-analyze security` text output.

    The last line reads e.g. "→ Overall exposure level for x.service: 1.9 OK 🙂".
    """
    matches = EXPOSURE_RE.findall(output)
    if not matches:
        raise JailedServiceError(
            f'systemd-analyze security printed no "Overall exposure level" line: {output[-500:]!r}')
    dummy_unit, score, rating = matches[-1]
    return float(score), rating


def parse_verify(output, rc, unit_path):
    """Split `systemd-analyze verify` output into (errors, warnings).

    verify checks ExecStart= paths on the host, not under RootDirectory=, so its
    "Command /x is not executable" message is false for a jailed unit (the
    module checks the program inside the jail itself) and is dropped.
    verify exits 0 when it merely ignores a line of the unit ("Failed to parse
    ..., ignoring", "Unknown key name ..., ignoring"); such a line about our
    unit file is an error too, since the unit would not do what was asked.
    Anything else is an error when verify failed and a warning otherwise.
    """
    errors = []
    warnings = []
    for line in output.splitlines():
        line = line.strip()
        if not line or NOT_EXECUTABLE_RE.search(line):
            continue
        if rc != 0 or (line.startswith(unit_path + ':') and 'ignoring' in line):
            errors.append(line)
        else:
            warnings.append(line)
    return errors, warnings


def resolve_in_jail(jail, path, max_links=40):
    """Host path of `path` as seen from inside `jail`, following symlinks the way
    the kernel would after chroot(jail): absolute link targets restart at the
    jail root and ".." never climbs above it."""
    parts = [part for part in path.split('/') if part]
    resolved = []
    links = 0
    while parts:
        part = parts.pop(0)
        if part == '.':
            continue
        if part == '..':
            if resolved:
                resolved.pop()
            continue
        candidate = os.path.join(jail, *(resolved + [part]))
        if os.path.islink(candidate):
            links += 1
            if links > max_links:
                raise JailedServiceError(f'too many levels of symbolic links in {path}')
            target = os.readlink(candidate)
            if target.startswith('/'):
                resolved = []
            parts = [item for item in target.split('/') if item] + parts
            continue
        resolved.append(part)
    return os.path.join(jail, *resolved)


def check_program_in_jail(jail, program):
    """Refuse a program that is missing or not executable inside the jail.

    Only stat() is used: the binary is never run.
    """
    host_path = resolve_in_jail(jail, program)
    try:
        info = os.stat(host_path)
    except OSError:
        raise JailedServiceError(
            f'command[0]: {program} does not exist in the jail {jail} (looked for {host_path}); add it with '
            'serversec.confine.chroot_jail binaries') from None
    if not stat.S_ISREG(info.st_mode):
        raise JailedServiceError(
            f'command[0]: {program} in the jail {jail} is not a regular file ({host_path})')
    if not info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        raise JailedServiceError(
            f'command[0]: {program} in the jail {jail} is not executable (mode {stat.S_IMODE(info.st_mode):04o})')
    return host_path
