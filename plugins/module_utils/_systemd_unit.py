# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Do not import it from outside the collection.

"""A hardened systemd service unit for a jailed daemon: validation, then rendering.

``validate_unit(params)`` checks the module's parameters once and returns a normalised
``UnitSpec``; ``render_unit(spec)`` turns that spec into unit text and checks nothing more.
Both are pure: nothing here touches the host. The error hierarchy of the systemd area
(``ServiceError``) lives here because every other systemd room imports this one.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import collections
import re

from ansible_collections.serversec.confine.plugins.module_utils._paths import check_abs_path
from ansible_collections.serversec.confine.plugins.module_utils._systemd_policy import (
    CAPABILITIES,
    DROP_CAPABILITIES,
    DROP_CHOWN,
    DROP_NEVER,
    EXTRA_PROPERTIES,
    FORBIDDEN_PROPERTIES,
    MANAGED_PROPERTIES,
    NEVER_CAPABILITIES,
    SAFE_CAPABILITIES,
)


class ServiceError(Exception):
    """A refusal or a failure of the systemd area; the message names the field or command.

    ``details`` are further result keys for fail_json (journal lines, the candidate unit).
    """

    def __init__(self, msg, **details):
        super().__init__(msg)
        self.details = details


class PrerequisiteError(ServiceError):
    """A jail, account or program is missing that an earlier task of the play may create."""


# The sockets journald listens on, bound read-only into the jail so that syslog(3) and
# sd_journal_*() reach the journal (systemd.exec(5), RootDirectory=).
JOURNAL_SOCKETS = ('/dev/log', '/run/systemd/journal/socket', '/run/systemd/journal/stdout')

# Hardening written into every unit, in this order. PrivateUsers= is absent: it fails with
# status 217/USER in containers and on hosts that restrict user namespaces. PrivateIPC= keeps
# the daemon (and a privilege_drop master, which can become any uid) from other users' SysV
# shared memory, semaphores and message queues; checked in the test containers on 252 and 257.
HARDENING = (
    ('NoNewPrivileges', 'yes'), ('PrivateTmp', 'yes'), ('PrivateDevices', 'yes'), ('PrivateMounts', 'yes'),
    ('PrivateIPC', 'yes'),
    ('ProtectSystem', 'strict'), ('ProtectHome', 'yes'), ('ProtectKernelTunables', 'yes'),
    ('ProtectKernelModules', 'yes'), ('ProtectKernelLogs', 'yes'), ('ProtectControlGroups', 'yes'),
    ('ProtectClock', 'yes'), ('ProtectHostname', 'yes'), ('ProtectProc', 'invisible'), ('RestrictNamespaces', 'yes'),
    ('RestrictSUIDSGID', 'yes'), ('RestrictRealtime', 'yes'), ('RemoveIPC', 'yes'), ('LockPersonality', 'yes'),
    ('SystemCallFilter', '@system-service'), ('SystemCallArchitectures', 'native'), ('UMask', '0077'),
)

UNIT_TYPES = ('socket', 'device', 'mount', 'automount', 'swap', 'target', 'path', 'timer',
              'slice', 'scope')
# Every name pattern is used with fullmatch(): "$" also matches before a trailing newline,
# which would end the unit line and start a new setting (an ExecStartPre=+ runs as root).
UNIT_NAME_RE = re.compile(r'[A-Za-z0-9:_.\\-]+(@[A-Za-z0-9:_.\\-]*)?\.service')
UNIT_NAME_MAX = 255
ACCOUNT_RE = re.compile(r'[A-Za-z0-9_][A-Za-z0-9_.-]*\$?')
ENV_NAME_RE = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
PROPERTY_NAME_RE = re.compile(r'[A-Z][A-Za-z0-9]*')
FAMILY_RE = re.compile(r'AF_[A-Z0-9]+')
# Characters that may appear unquoted in an ExecStart= word.
SAFE_WORD_RE = re.compile(r'[A-Za-z0-9_@%+=:,./$-]+')
# Control characters other than tab and newline, which double_quote() escapes.
UNQUOTABLE_RE = re.compile('[\x00-\x08\x0b-\x1f\x7f]')
CONTROL_RE = re.compile('[\x00-\x1f\x7f]')

# Bind sources that expose the host: a bind of any of these, or of a directory above one,
# hands the daemon the host's secrets, its kernel interfaces, its devices, a container
# runtime (which is root on the host), PID 1 or the system bus (whose root clients start
# anything as root: a read-only bind does not stop a connection).
SENSITIVE_BIND_PATHS = (
    '/etc', '/root', '/home', '/boot', '/proc', '/sys', '/dev', '/run/docker.sock', '/var/run/docker.sock',
    '/run/containerd/containerd.sock', '/var/run/containerd/containerd.sock', '/run/podman/podman.sock',
    '/var/run/podman/podman.sock', '/run/crio/crio.sock', '/var/run/crio/crio.sock', '/run/dockershim.sock',
    '/var/run/dockershim.sock', '/run/k3s/containerd/containerd.sock', '/run/systemd', '/var/run/systemd',
)
# Refused whatever lies below them too, with why. ProtectKernelTunables= guards only the
# jail's own /proc/sys: a bind of the host's (or of /sys/kernel) lets root change the kernel's
# core_pattern or uevent_helper, a host root shell.
SENSITIVE_BIND_TREES = {
    '/proc': "the host's kernel and process interfaces",
    '/sys': "the host's kernel interfaces",
    '/run/systemd': "systemd's control sockets, through which root starts any command as root on the host",
    '/var/run/systemd': "systemd's control sockets, through which root starts any command as root on the host",
}
# Below /run/systemd: the journal's sockets (/dev/log leads to dev-log), which only take log
# messages, and the resolver's directory and resolv.conf files, which /etc/resolv.conf often
# leads to (a bind of the directory follows resolved's renames, one of the file pins the old one).
BIND_EXEMPT = JOURNAL_SOCKETS + ('/run/systemd/journal/dev-log', '/run/systemd/resolve',
                                 '/run/systemd/resolve/stub-resolv.conf', '/run/systemd/resolve/resolv.conf')
# Also refused with privilege_drop, whose master is root in the jail, what is them, above them
# or below them: root's connection to the system bus or to a user's manager runs any command as
# root or as that user (the bus's policy limits an unprivileged daemon). What else root could
# read or change through a bind is judged on the host (_jailed_service.check_bind_sources).
DROP_SENSITIVE_TREES = {
    '/run/dbus': 'the system bus, through which root starts any command as root on the host',
    '/var/run/dbus': 'the system bus, through which root starts any command as root on the host',
    '/run/user': "the users' own service managers, through which root runs any command as any user",
    '/var/run/user': "the users' own service managers, through which root runs any command as any user",
}
ALLOW_SENSITIVE = 'set allow_sensitive_binds to accept it knowingly'

# Denied to a privilege_drop unit after its @system-service allow-list (in @ipc there).
DROP_DENIED_SYSCALLS = 'process_vm_readv process_vm_writev'

UnitSpec = collections.namedtuple('UnitSpec', (
    'description', 'jail', 'command', 'user', 'group', 'type', 'restart',
    'working_directory', 'environment', 'capabilities', 'bind', 'bind_read_only',
    'read_write', 'exec_in_read_write', 'extra', 'memory_deny_write_execute', 'address_families', 'drop_to',
))
# privilege_drop: the daemon starts as root in the jail and switches itself to user:group.
DropSpec = collections.namedtuple('DropSpec', ('user', 'group', 'chown'))


def unit_name(name):
    """The .service unit name systemctl would use for `name` (".service" appended if absent)."""
    if not name:
        raise ServiceError('name: must not be empty')
    suffix = name.rsplit('.', 1)[-1] if '.' in name else ''
    if suffix in UNIT_TYPES:
        raise ServiceError(f'name: {name!r} is a {suffix} unit; jailed_service manages .service units')
    if not name.endswith('.service'):
        name += '.service'
    if len(name) > UNIT_NAME_MAX:
        raise ServiceError(f'name: {name!r} is longer than {UNIT_NAME_MAX} characters')
    if not UNIT_NAME_RE.fullmatch(name) or name == '.service':
        raise ServiceError(
            f'name: {name!r} is not a valid unit name (allowed: letters, digits, ":", "_", ".", "\\", "-" '
            'and one "@")')
    if name.startswith('-'):
        # systemctl takes "-H..." or "-M..." for a host or container to act on, not for a unit
        raise ServiceError(f'name: {name!r} starts with "-", which systemctl would read as an option')
    return name


def validate_account(field, name):
    if not name:
        raise ServiceError(f'{field}: must not be empty')
    if name in ('root', '0'):
        raise ServiceError(
            f'{field}: {name!r} is refused: a jailed daemon running as root can break out of its chroot')
    if not ACCOUNT_RE.fullmatch(name):
        raise ServiceError(f'{field}: {name!r} is not a valid user or group name')
    return name


def absolute_path(field, value):
    """`value` normalised (``_paths.check_abs_path``) and usable in a unit file: no control
    character, whitespace, quote, backslash, colon or semicolon."""
    path = check_abs_path(value, field, error=ServiceError)
    if CONTROL_RE.search(value):
        raise ServiceError(f'{field}: {value!r} contains a control character')
    if re.search(r'[\s"\'\\:;]', value):
        raise ServiceError(
            f'{field}: {value!r} must not contain whitespace, quotes, backslashes, colons or semicolons')
    return path


def free_text(field, value):
    """Description text goes into the unit verbatim: no control character, and no trailing
    backslash, which systemd reads as a line continuation that swallows the next line."""
    if CONTROL_RE.search(value):
        raise ServiceError(f'{field}: {value!r} contains a newline or another control character')
    if value.endswith('\\'):
        raise ServiceError(f'{field}: {value!r} ends with a backslash, which systemd reads as a line continuation')
    return value


def quotable(field, value):
    """A word that double_quote() can carry: tab and newline are escaped, other control
    characters are refused. The value is not shown: environment values may be secrets."""
    found = UNQUOTABLE_RE.search(value)
    if found:
        raise ServiceError(f'{field}: the control character {found.group()!r} cannot be passed (only tab and '
                           'newline can)')
    return value


def sensitive_bind(source, drop=False):
    """Why binding the normalised host path `source` exposes the host (to a privilege_drop
    daemon when `drop`), or None."""
    if source in BIND_EXEMPT:
        return None
    for path in SENSITIVE_BIND_PATHS:
        if path == source or path.startswith(source.rstrip('/') + '/'):
            return f"exposes the host's {path} to the jailed daemon"
    for path, what in SENSITIVE_BIND_TREES.items():
        if source.startswith(path + '/'):
            return f'lies under {path}, {what}'
    for path, what in DROP_SENSITIVE_TREES.items() if drop else ():
        if source == path or source.startswith(path + '/') or path.startswith(source.rstrip('/') + '/'):
            return (f"reaches the host's {path}, {what}, and the daemon's master is root in the jail with "
                    'privilege_drop')
    return None


def bind_entry(field, entry, allow_sensitive, drop):
    """(SOURCE, DESTINATION or None) from "SOURCE" or "SOURCE:DESTINATION"."""
    parts = entry.split(':')
    if len(parts) > 2:
        raise ServiceError(f'{field}: {entry!r} must be SOURCE or SOURCE:DESTINATION')
    parts = [absolute_path(field, part) for part in parts]
    source = parts[0]
    if source == '/':
        raise ServiceError(f'{field}: {entry!r} binds the host\'s whole file system into the jail')
    reason = sensitive_bind(source, drop)
    if reason and not allow_sensitive:
        raise ServiceError(f'{field}: {entry!r} {reason}; {ALLOW_SENSITIVE}')
    return source, parts[1] if len(parts) == 2 else None


def capability_names(field, names):
    """`names` checked as Linux capabilities; those that undo the jail are refused by name."""
    for name in names:
        if not name.startswith('CAP_'):
            raise ServiceError(f'{field}: {name!r} must be a capability name such as CAP_NET_BIND_SERVICE')
        if name not in CAPABILITIES:
            raise ServiceError(f'{field}: {name!r} is not a Linux capability')
        if name in NEVER_CAPABILITIES:
            raise ServiceError(f'{field}: {name} is never accepted: it {NEVER_CAPABILITIES[name]}')
    return set(names)


def validate_capabilities(capabilities, allowed):
    """The sorted capabilities; beyond SAFE_CAPABILITIES only those listed in `allowed`."""
    allowed = capability_names('allow_capabilities', allowed)
    for name in capabilities:
        capability_names('capabilities', [name])
        if name not in SAFE_CAPABILITIES and name not in allowed:
            raise ServiceError(f'capabilities: {name} reaches beyond the jail or the service user; list it in '
                               'allow_capabilities to accept it knowingly')
    return sorted(set(capabilities))


def validate_privilege_drop(params):
    """The DropSpec of a daemon that starts as root and switches itself to an unprivileged user
    (its group left to the caller when not given), or None. Such a daemon gets no other
    account option and no capability but the fixed set (drop_capabilities)."""
    drop = params.get('privilege_drop')
    if drop is None:
        return None
    if params['user'] is not None:
        raise ServiceError('user: not used with privilege_drop, where the daemon starts as root and switches itself '
                           'to privilege_drop.user; give one or the other')
    for field in ('group', 'capabilities', 'allow_capabilities'):
        if params[field]:
            raise ServiceError(f'{field}: not used with privilege_drop, whose bounding set is '
                               f"{' '.join(DROP_CAPABILITIES)} (and {DROP_CHOWN} with privilege_drop.chown)")
    if params['type'] == 'oneshot':
        # apply() confirms a start only for a daemon that stays: the check would never run
        raise ServiceError('type: oneshot is not used with privilege_drop: the switch to privilege_drop.user is '
                           'checked on the running processes after the start, and a oneshot daemon has exited by then')
    group = drop.get('group')
    return DropSpec(
        user=validate_account('privilege_drop.user', drop.get('user')),
        group=validate_account('privilege_drop.group', group) if group is not None else None,
        chown=bool(drop.get('chown')),
    )


def drop_capabilities(drop_to):
    """The whole bounding set of a daemon that drops root itself."""
    return sorted(DROP_CAPABILITIES + ((DROP_CHOWN,) if drop_to.chown else ()))


def validate_address_families(families):
    if not families:
        raise ServiceError('restrict_address_families: must list at least one family (use "none" to deny all)')
    if list(families) == ['none']:
        return 'none'
    for family in families:
        if not FAMILY_RE.fullmatch(family):
            raise ServiceError(
                f'restrict_address_families: {family!r} must be an address family such as AF_INET, or "none" alone')
    return ' '.join(families)


def validate_environment(environment):
    """[(NAME, value)] sorted by name."""
    result = []
    for name in sorted(environment):
        if not ENV_NAME_RE.fullmatch(name):
            raise ServiceError(
                f'environment: {name!r} is not a valid variable name (letters, digits, "_"; not starting with a digit)')
        value = environment[name]
        if value is None:
            raise ServiceError(f'environment: {name} has no value')
        result.append((name, quotable(f'environment: {name}', str(value))))
    return result


def validate_command(command):
    if not command:
        raise ServiceError('command: must list at least the program path')
    for index, word in enumerate(command):
        quotable(f'command[{index}]', word)
    # Also refuses systemd's command prefixes (+ ! !! - @ :), which would run it as root.
    if not command[0].startswith('/'):
        raise ServiceError(f'command[0]: {command[0]!r} must be an absolute path inside the jail')
    if CONTROL_RE.search(command[0]):
        raise ServiceError(f'command[0]: {command[0]!r} contains a control character')
    return list(command)


def property_text(name, value):
    """One value of an allow-listed extra property as unit text (booleans as yes/no)."""
    text = ('yes' if value else 'no') if isinstance(value, bool) else str(value)
    pattern, allowed = EXTRA_PROPERTIES[name]
    if not re.fullmatch(pattern, text):
        raise ServiceError(f'extra_properties: {name}={text!r} is not accepted (allowed: {allowed})')
    return text


def validate_extra_properties(extra_properties):
    """[(name, [values])] sorted by name; a list value gives one line per element."""
    result = []
    for name in sorted(extra_properties):
        if not PROPERTY_NAME_RE.fullmatch(name):
            raise ServiceError(f'extra_properties: {name!r} is not a systemd [Service] setting name')
        if name in MANAGED_PROPERTIES:
            raise ServiceError(
                f'extra_properties: {name} is set by the module; use the {MANAGED_PROPERTIES[name]} parameter instead')
        if name.startswith('Exec'):
            raise ServiceError(f'extra_properties: {name} is never allowed: it runs a command, which systemd '
                               'may run outside the jail or as root')
        if name in FORBIDDEN_PROPERTIES:
            raise ServiceError(f'extra_properties: {name} is never allowed: it {FORBIDDEN_PROPERTIES[name]}')
        if name not in EXTRA_PROPERTIES:
            raise ServiceError(f'extra_properties: {name} is not an allowed setting (allowed: '
                               f"{', '.join(sorted(EXTRA_PROPERTIES))})")
        value = extra_properties[name]
        values = value if isinstance(value, list) else [value]
        result.append((name, [property_text(name, item) for item in values]))
    return result


def validate_unit(params):
    """Check the module's parameters once; a UnitSpec with its group left to the caller
    when the parameter `group` is not given (the user's primary group, looked up on the host)."""
    jail = absolute_path('jail', params['jail'])
    if jail == '/':
        raise ServiceError('jail: "/" is not a jail')
    group = params['group']
    drop_to = validate_privilege_drop(params)
    command = validate_command(params['command'])
    allow_sensitive = params['allow_sensitive_binds']
    drop = drop_to is not None
    bind = [bind_entry('bind', entry, allow_sensitive, drop) for entry in params['bind']]
    bind_read_only = [bind_entry('bind_read_only', entry, allow_sensitive, drop) for entry in params['bind_read_only']]
    if params['bind_journal']:
        journal = [(path, None) for path in JOURNAL_SOCKETS]
        bind_read_only = journal + [entry for entry in bind_read_only if entry not in journal]
    # systemd resolves ReadWritePaths= on the host even with RootDirectory= (checked on 252
    # and 257), so paths inside the jail get the jail as prefix.
    read_write = [jail + absolute_path('read_write', path) for path in params['read_write']]
    description = params['description']
    if description is None:
        description = f'{command[0]} jailed in {jail}'
    return UnitSpec(
        description=free_text('description', description),
        jail=jail,
        command=command,
        user=None if drop_to else validate_account('user', params['user']),
        group=validate_account('group', group) if group is not None else None,
        type=params['type'],
        restart=params['restart'],
        working_directory=absolute_path('working_directory', params['working_directory']),
        environment=validate_environment(params['environment']),
        capabilities=(drop_capabilities(drop_to) if drop_to
                      else validate_capabilities(params['capabilities'], params['allow_capabilities'])),
        bind=bind,
        bind_read_only=bind_read_only,
        read_write=read_write,
        exec_in_read_write=params['allow_exec_in_read_write'],
        extra=validate_extra_properties(params['extra_properties']),
        memory_deny_write_execute=params['memory_deny_write_execute'],
        address_families=validate_address_families(params['restrict_address_families']),
        drop_to=drop_to,
    )


def escape_specifiers(value):
    """systemd expands %-specifiers in most settings."""
    return value.replace('%', '%%')


def double_quote(text):
    """A double-quoted systemd word with C escapes for backslash, quote, newline and tab."""
    escaped = text.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n').replace('\t', '\\t')
    return f'"{escaped}"'


def quote_exec_word(word):
    """Quote one argv element for ExecStart= (systemd.service(5), "Command lines").

    systemd expands %-specifiers and $VARIABLES in command lines, so "%" and "$" are doubled;
    a lone ";" separates commands, so it is written as "\\;"; anything else unusual goes in
    double quotes with C escapes.
    """
    if word == ';':
        return '\\;'
    escaped = escape_specifiers(word).replace('$', '$$')
    if SAFE_WORD_RE.fullmatch(word):
        return escaped
    return double_quote(escaped)


def render_exec(command):
    return ' '.join(quote_exec_word(word) for word in command)


def render_environment(environment):
    return ' '.join(double_quote(escape_specifiers(f'{name}={value}')) for name, value in environment)


def render_binds(entries):
    return ' '.join(escape_specifiers(source if dest is None else f'{source}:{dest}') for source, dest in entries)


def render_unit(spec):
    """The unit text of a validated UnitSpec whose group (or drop_to group) is known."""
    capabilities = ' '.join(spec.capabilities)
    # A root daemon with any of these leaves the chroot; checked again here, where the line is written.
    escapes = sorted(set(spec.capabilities) & set(DROP_NEVER))
    if escapes:
        raise ServiceError(f"capabilities: {' '.join(escapes)} would let the daemon leave its chroot")
    lines = [
        '# Managed by Ansible (serversec.confine.jailed_service); local edits are overwritten.',
        '[Unit]',
        f'Description={escape_specifiers(spec.description)}',
        'After=network.target',
        '',
        '[Service]',
        f'Type={spec.type}',
        f'ExecStart={render_exec(spec.command)}',
        f'Restart={spec.restart}',
        f'RootDirectory={escape_specifiers(spec.jail)}',
        f'WorkingDirectory={escape_specifiers(spec.working_directory)}',
    ]
    if spec.drop_to:
        # No User=: systemd starts the daemon as root, inside the jail.
        lines.append(f'# privilege_drop: starts as root in the jail and switches itself to '
                     f'{spec.drop_to.user}:{spec.drop_to.group}')
    else:
        lines.extend([f'User={spec.user}', f'Group={spec.group}'])
    if spec.environment:
        lines.append(f'Environment={render_environment(spec.environment)}')
    if spec.bind_read_only:
        lines.append(f'BindReadOnlyPaths={render_binds(spec.bind_read_only)}')
    if spec.bind:
        lines.append(f'BindPaths={render_binds(spec.bind)}')
    if spec.read_write:
        lines.append(f"ReadWritePaths={' '.join(escape_specifiers(path) for path in spec.read_write)}")
    # What the daemon can write, it cannot execute (issue 10): its read_write paths and the
    # destinations of its writable binds, inside the jail.
    no_exec = spec.read_write + [spec.jail + (dest or source) for source, dest in spec.bind]
    if no_exec and not spec.exec_in_read_write:
        lines.append(f"NoExecPaths={' '.join(escape_specifiers(path) for path in no_exec)}")
    lines.append(f'CapabilityBoundingSet={capabilities}')
    # Root holds its bounding set already; nothing is made ambient for it to pass on.
    lines.append(f"AmbientCapabilities={'' if spec.drop_to else capabilities}")
    extra = dict(spec.extra)
    for name, value in HARDENING:
        lines.extend(f'{name}={text}' for text in extra.pop(name, [value]))
        if name == 'SystemCallFilter' and spec.drop_to:
            # the master can become any uid (CAP_SETUID); @system-service lets it write into the
            # memory of that uid's processes outside the jail where Yama does not stop it
            lines.append(f'SystemCallFilter=~{DROP_DENIED_SYSCALLS}')
    lines.append(f"MemoryDenyWriteExecute={'yes' if spec.memory_deny_write_execute else 'no'}")
    lines.append(f'RestrictAddressFamilies={spec.address_families}')
    for name, values in spec.extra:
        if name in extra:
            lines.extend(f'{name}={text}' for text in values)
    lines.extend(['', '[Install]', 'WantedBy=multi-user.target', ''])
    return '\n'.join(lines)
