# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Do not import it from outside the collection.

"""What a jailed service unit may be granted: capabilities and extra [Service] settings.

Data only, read by _systemd_unit: the capabilities accepted without opt-in, those never
accepted, and the allow-list of extra_properties with the values each may take.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

# Every capability known to Linux 6.x (capability(7)).
CAPABILITIES = frozenset((
    'CAP_AUDIT_CONTROL', 'CAP_AUDIT_READ', 'CAP_AUDIT_WRITE', 'CAP_BLOCK_SUSPEND', 'CAP_BPF',
    'CAP_CHECKPOINT_RESTORE', 'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID',
    'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_KILL', 'CAP_LEASE', 'CAP_LINUX_IMMUTABLE', 'CAP_MAC_ADMIN',
    'CAP_MAC_OVERRIDE', 'CAP_MKNOD', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_RAW',
    'CAP_PERFMON', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYSLOG', 'CAP_SYS_ADMIN',
    'CAP_SYS_BOOT', 'CAP_SYS_CHROOT', 'CAP_SYS_MODULE', 'CAP_SYS_NICE', 'CAP_SYS_PACCT', 'CAP_SYS_PTRACE',
    'CAP_SYS_RAWIO', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_WAKE_ALARM',
))

# Capabilities granted without opt-in: none reaches a file, a process or a user beyond the
# jail. Ports below 1024 (the daemon's usual need), broadcast and multicast on its own sockets,
# locking its own memory (bounded by MemoryMax=) and sending records to the audit log.
SAFE_CAPABILITIES = frozenset(('CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_IPC_LOCK', 'CAP_AUDIT_WRITE'))

# Capabilities that undo the jail, refused even in allow_capabilities, with the reason.
NEVER_CAPABILITIES = {
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

# Settings the module derives from its own parameters; extra_properties names the parameter.
MANAGED_PROPERTIES = {
    'RootDirectory': 'jail', 'User': 'user', 'Group': 'group', 'ExecStart': 'command', 'Type': 'type',
    'Restart': 'restart', 'Environment': 'environment', 'WorkingDirectory': 'working_directory',
    'CapabilityBoundingSet': 'capabilities', 'AmbientCapabilities': 'capabilities', 'BindPaths': 'bind',
    'BindReadOnlyPaths': 'bind_read_only', 'ReadWritePaths': 'read_write', 'NoExecPaths': 'allow_exec_in_read_write',
    'MemoryDenyWriteExecute': 'memory_deny_write_execute', 'RestrictAddressFamilies': 'restrict_address_families',
}

_LIMIT = (r'(infinity|[0-9]+)(:(infinity|[0-9]+))?', 'a number, "infinity", or SOFT:HARD')
_TIME = (r'infinity|[0-9][0-9a-z. ]*', 'a time span such as "30s" or "2min"')
_SIZE = (r'infinity|[0-9]+[KMGT]?|[0-9]+(\.[0-9]+)?%', 'bytes (K, M, G, T suffixes), a percentage or "infinity"')
_ADDRESSES = (r'(any|localhost|link-local|multicast|[0-9A-Fa-f.:]+(/[0-9]+)?)'
              r'( (any|localhost|link-local|multicast|[0-9A-Fa-f.:]+(/[0-9]+)?))*',
              'addresses, prefixes or any, localhost, link-local, multicast')

# The only settings extra_properties accepts, each with the values it may take. None of them
# runs a program, changes the user, groups or capabilities, or reaches a path, a device or a
# namespace: they bound resources, time the service, route its output to the journal or
# tighten confinement further. Values are checked here; systemd-analyze verify then refuses
# any that systemd would ignore.
EXTRA_PROPERTIES = {
    # Resource limits: they only lower what the daemon may consume.
    'LimitNOFILE': _LIMIT,
    'LimitNPROC': _LIMIT,
    'LimitCORE': _LIMIT,
    'MemoryMax': _SIZE,
    'MemoryHigh': _SIZE,
    'TasksMax': (r'infinity|[0-9]+|[0-9]+(\.[0-9]+)?%', 'a number, a percentage or "infinity"'),
    'CPUQuota': (r'[0-9]+(\.[0-9]+)?%', 'a percentage such as "50%"'),
    'CPUWeight': (r'[0-9]{1,5}', 'a weight from 1 to 10000'),
    'IOWeight': (r'[0-9]{1,5}', 'a weight from 1 to 10000'),
    # Lower priority only: a higher one affects every other process on the host.
    'Nice': (r'[0-9]|1[0-9]', 'an integer from 0 to 19'),
    'OOMScoreAdjust': (r'[0-9]{1,3}|1000', 'an integer from 0 to 1000'),
    # Timing of start, stop and restart.
    'TimeoutSec': _TIME,
    'TimeoutStartSec': _TIME,
    'TimeoutStopSec': _TIME,
    'RestartSec': _TIME,
    'WatchdogSec': _TIME,
    'KillSignal': (r'SIG[A-Z0-9+]+', 'a signal name such as SIGTERM'),
    # Output stays in the journal (or nowhere): file: and socket targets are written by root.
    'StandardOutput': (r'journal|null', '"journal" or "null"'),
    'StandardError': (r'journal|null', '"journal" or "null"'),
    'SyslogIdentifier': (r'[A-Za-z0-9_.@-]+', 'letters, digits, "_", ".", "@", "-"'),
    'LogLevelMax': (r'emerg|alert|crit|err|warning|notice|info|debug', 'a syslog level such as "info"'),
    # Mode of the files the daemon creates in the paths it may write: group and others get
    # nothing, as with the default 0077 (value & 0o077 == 0o077).
    'UMask': (r'0?[0-7]77', 'an octal mode that keeps every bit of 0077, such as "0077" or "0277"'),
    # Confinement that can only be tightened.
    'PrivateUsers': (r'yes', '"yes"'),
    'PrivateNetwork': (r'yes', '"yes"'),
    'ProcSubset': (r'pid', '"pid"'),
    'IPAddressDeny': _ADDRESSES,
    'IPAddressAllow': _ADDRESSES,
}

# Settings never accepted, with the reason given to the playbook author.
FORBIDDEN_PROPERTIES = {
    'RootDirectoryStartOnly': 'runs the other Exec commands outside the jail',
    'PermissionsStartOnly': 'runs the other Exec commands as root',
    'SupplementaryGroups': 'gives the daemon further groups',
    'DynamicUser': 'replaces the service user',
    'RootImage': 'replaces the jail',
    'SecureBits': 'changes how capabilities are kept',
    'NoNewPrivileges': 'would let the daemon gain privileges',
}

# A daemon that starts as root in the jail and switches itself to an unprivileged user
# (privilege_drop): its whole bounding set is what the switch and a low port need, plus
# CAP_CHOWN only when asked (a master that hands its directories to the user).
DROP_CAPABILITIES = ('CAP_NET_BIND_SERVICE', 'CAP_SETGID', 'CAP_SETUID')
DROP_CHOWN = 'CAP_CHOWN'
# Never in that bounding set, whatever else changes: each lets uid 0 leave the chroot.
DROP_NEVER = ('CAP_SYS_ADMIN', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE')
# The highest systemd-analyze security exposure accepted for such a unit.
DROP_MAX_EXPOSURE = 2.5
