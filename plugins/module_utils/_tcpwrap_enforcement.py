# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Who enforces a daemon's TCP wrappers rules on a host: libwrap, tcpd, a systemd IP filter, or nobody.

- libwrap: a binary of the daemon (the usual places, sshd-session for sshd, the program of an
  unjailed unit that runs it) has libwrap in DT_NEEDED, read by _elf; nothing is ever run.
- tcpd: a socket unit starts a service whose ``ExecStart=@.../tcpd PROGRAM`` wraps the program
  whose file name is the daemon's (what tcpwrapped_service writes).
- ip_filter: a unit sets IPAddressAllow=/IPAddressDeny=, for the daemon the header of the
  serversec-tcpwrap-filter.conf drop-in names (tcpwrap_filter), else for the daemon its command
  runs (jailed_service, tcpwrapped_service). Given the tables, a filter counts only if it grants
  exactly what the policy grants now; one compiled from an older policy is a problem.

tcpwrap_info reports this per daemon (report()); tcpwrap_rule warns about the daemons nobody
enforces (daemon_warnings()). The units come from _systemd_installed, read-only under a root.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import posixpath
import re
import struct

from ansible_collections.serversec.confine.plugins.module_utils._elf import ElfError, read_exec_info_fd
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_PATH, open_held_regular
from ansible_collections.serversec.confine.plugins.module_utils._systemd_installed import InstalledUnits, UnitReadError, open_under
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError, fold
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import AddressSet, compile_policy

HOST_ROOT = '/'
# The drop-in tcpwrap_filter writes, and the header line that names its daemon.
FILTER_DROPIN = 'serversec-tcpwrap-filter.conf'
FILTER_HEADER_RE = re.compile(r'^# The TCP wrappers policy of .* for daemon "(.+)",$')
# Where a daemon's binary lives when it is not simply on PATH; sshd moved its
# per-connection work (and the libwrap check) to sshd-session in OpenSSH 9.8.
DAEMON_BINARIES = {
    'sshd': ['/usr/sbin/sshd', '/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session',
             '/usr/local/sbin/sshd'],
}
BINARY_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec']
# Words systemd accepts in IPAddressAllow=/IPAddressDeny= besides addresses.
ADDRESS_WORDS = {
    'any': ('0.0.0.0/0', '::/0'),
    'localhost': ('127.0.0.0/8', '::1/128'),
    'link-local': ('169.254.0.0/16', 'fe80::/64'),
    'multicast': ('224.0.0.0/4', 'ff00::/8'),
}
# Daemon patterns that name no one daemon: wildcards, ALL, prefixes/suffixes, files, ports.
PATTERN_WORDS = ('all', 'known', 'local', 'unknown', 'paranoid', 'except')


def named_daemons(tables, queried=()):
    """[(daemon, file, line)] of the daemons the rules name (first naming) then the queried ones (file and
    line None), each once whatever its case, as libwrap compares names."""
    found = {}
    for _table, path, entries in tables:
        for entry in entries:
            for token in entry.daemon_tokens if entry.kind == 'rule' else ():
                name = token.split('@', 1)[0]
                if is_daemon_name(name):
                    found.setdefault(fold(name), (name, path, entry.last_line))
    for name in queried:
        if is_daemon_name(name):
            found.setdefault(fold(name), (name, None, None))
    return list(found.values())


def is_daemon_name(name):
    """Whether a daemon pattern names one daemon (not ALL, a wildcard, a prefix, a file or a port)."""
    return bool(name) and fold(name) not in PATTERN_WORDS and not name.isdigit() and not any(
        char in name for char in '*?/\0') and not name.startswith('.') and not name.endswith('.')


def address_set(values):
    """The addresses an IPAddressAllow=/IPAddressDeny= list names; ValueError on a word it cannot read."""
    result = AddressSet()
    for value in values:
        for word in value.split():
            for text in ADDRESS_WORDS.get(word, (word,)):
                result = result.union(AddressSet.network(text))
    return result


def describe(addresses):
    if addresses == AddressSet.everything():
        return 'every address'
    return ' '.join(str(net) for net in addresses.networks()) or 'no address'


class Enforcement:
    """What enforces each daemon's rules on the host under root; units are read once, on first use."""

    def __init__(self, root=None, units=None):
        self.root = root or HOST_ROOT
        self.units = units or InstalledUnits(self.root)
        self._index = None

    # -- the units ---------------------------------------------------------------------------

    def _daemon_of(self, unit):
        """The daemon name a service runs as (the file name of argv[0]; tcpd's wrapped program), or None."""
        command = unit.exec_start()
        return None if command is None else posixpath.basename(command[2])

    def _filter_daemons(self, unit):
        named = [match.group(1) for path, line in unit.comments if posixpath.basename(path) == FILTER_DROPIN
                 for match in [FILTER_HEADER_RE.match(line)] if match]
        if named:
            return named
        service = self.units.get(self.units.service_of(unit)) if unit.kind == 'socket' else unit
        daemon = service and self._daemon_of(service)
        return [daemon] if daemon else []

    def _build_index(self):
        units = self.units.units()
        sockets = {}
        for unit in units.values():
            if unit.kind == 'socket':
                sockets.setdefault(self.units.service_of(unit), []).append(unit.name)
        tcpd, programs, jailed, filters = {}, {}, {}, {}
        for unit in units.values():
            command = unit.exec_start() if unit.kind == 'service' else None
            if command is not None:
                flags, program, argv0, _args = command
                daemon = fold(posixpath.basename(argv0))
                if posixpath.basename(program) == 'tcpd' and '@' in flags:
                    tcpd.setdefault(daemon, []).append((unit, sockets.get(unit.name, [])))
                elif unit.jailed:
                    jailed.setdefault(daemon, []).append(unit.name)
                elif program.startswith('/'):
                    programs.setdefault(daemon, []).append(program)
            if unit.values('IPAddressAllow') or unit.values('IPAddressDeny'):
                for daemon in self._filter_daemons(unit):
                    filters.setdefault(fold(daemon), []).append(unit)
        return {'tcpd': tcpd, 'programs': programs, 'jailed': jailed, 'filters': filters, 'sockets': sockets}

    def index(self):
        if self._index is None:
            self._index = self._build_index()
        return self._index

    # -- one daemon ---------------------------------------------------------------------------

    def _needed(self, path):
        """((device, inode), DT_NEEDED names) of the binary at path, or None when there is none."""
        # Held, not opened, until it is known to be a regular file: a user who can write where a
        # program lives may link it to a device whose open has effects (/dev/watchdog arms it).
        held = open_under(self.root, path, f'binary {path}', O_PATH)
        if held is None:
            return None
        try:
            info, fd = open_held_regular(held)
        finally:
            os.close(held)
        if fd is None:
            raise ElfError('not a regular file')
        try:
            exec_info = read_exec_info_fd(fd)
        finally:
            os.close(fd)
        # A script runs its interpreter, which is not the daemon libwrap would have to be linked into.
        return (info.st_dev, info.st_ino), exec_info.needed if exec_info.kind == 'elf' else []

    def _libwrap(self, daemon, notes):
        """{mechanism: libwrap} entries for the daemon's binaries that link it; notes say what the others are."""
        candidates = list(DAEMON_BINARIES.get(daemon, []))
        candidates += [posixpath.join(directory, daemon) for directory in BINARY_DIRS]
        candidates += self.index()['programs'].get(fold(daemon), [])
        found, seen, present = [], set(), False
        for path in candidates:
            if path in seen:
                continue
            seen.add(path)
            try:
                binary = self._needed(path)
            except (OSError, UnitReadError, ElfError, struct.error) as exc:
                notes.append(f'cannot read {path} ({exc})')
                present = True
                continue
            if binary is None:
                continue
            present = True
            identity, needed = binary
            if identity in seen:
                continue        # the same file by another name (/bin is /usr/bin on merged-/usr hosts)
            seen.add(identity)
            if any(name.startswith('libwrap.so') for name in needed):
                found.append({'mechanism': 'libwrap', 'binary': path})
            else:
                notes.append(f'{path} does not link libwrap')
        if not present:
            notes.append('no binary of it found on this host')
        return found, present

    def _tcpd(self, daemon, notes):
        found = []
        for service, sockets in self.index()['tcpd'].get(fold(daemon), []):
            if not sockets:
                notes.append(f'{service.name} runs it behind tcpd but no socket unit starts it')
            found.extend({'mechanism': 'tcpd', 'unit': socket, 'service': service.name, 'file': service.path}
                         for socket in sockets)
        return found

    def _filters(self, daemon, tables, env, notes, problems):
        found = []
        for unit in self.index()['filters'].get(fold(daemon), []):
            files = unit.files_setting('IPAddressAllow', 'IPAddressDeny')
            entry = {'mechanism': 'ip_filter', 'unit': unit.name, 'file': files[-1] if files else unit.path}
            fault = self._passed_in(unit, entry['file'])
            if fault is None and tables is not None:
                fault = self._stale(daemon, unit, entry['file'], tables, env)
            if fault:
                notes.append(fault)
                problems.append(fault)
                continue
            found.append(entry)
        return found

    def _passed_in(self, unit, path):
        """Why the filter of a template service an Accept=yes socket starts filters nothing, or None.

        systemd applies a service's IP filter to the sockets it opens, not to those a socket
        unit passes in: every connection of such a service comes from its socket.
        """
        sockets = self.index()['sockets'].get(unit.name) if unit.name.endswith('@.service') else None
        if not sockets:
            return None
        return (f'the IP filter of {unit.name} ({path}) does not apply to the connections {", ".join(sockets)} '
                'passes in; set it on the socket unit')

    def _stale(self, daemon, unit, path, tables, env):
        """Why the unit's filter does not grant what the policy grants the daemon now, or None."""
        where = f'the IP filter of {unit.name} ({path})'
        try:
            allow, deny = address_set(unit.values('IPAddressAllow')), address_set(unit.values('IPAddressDeny'))
        except ValueError as exc:
            return f'{where} cannot be read ({exc}), so it is not counted'
        try:
            policy = compile_policy(tables, daemon, env).granted
        except TcpwrapError as exc:
            return f'{where} cannot hold the policy, which no IP filter can express ({exc})'
        granted = allow.union(AddressSet.everything().minus(deny))
        if granted == policy:
            return None
        return (f'{where} grants {describe(granted)} but the policy grants {describe(policy)}, so it does not enforce '
                'the policy (a filter compiled from an earlier policy is rewritten by running the task that wrote it again)')

    def report(self, daemon, tables=None, env=None):
        """{daemon, enforced_by, nobody, installed, notes, problems}; with tables, IP filters are checked
        against them. ``installed``: a binary of the daemon or a unit that runs it is on the host."""
        notes, problems = [], []
        enforced_by, installed = self._libwrap(daemon, notes)
        enforced_by += self._tcpd(daemon, notes)
        enforced_by += self._filters(daemon, tables, env, notes, problems)
        jailed = self.index()['jailed'].get(fold(daemon), [])
        for unit in jailed:
            notes.append(f'{unit} runs it in a jail, whose copy of the binary is not inspected')
        installed = installed or bool(jailed) or any(entry['mechanism'] != 'libwrap' for entry in enforced_by)
        return {'daemon': daemon, 'enforced_by': enforced_by, 'nobody': not enforced_by, 'installed': installed,
                'notes': notes, 'problems': problems}


def nobody_message(report):
    return (f'daemon "{report["daemon"]}": nobody enforces its TCP wrappers rules on this host '
            f'({"; ".join(report["notes"] + ["no tcpd socket unit or systemd IP filter serves it"])})')


def enforcement_report(tables, queried, env, root=None):
    """(per-daemon reports, problems) for the daemons the tables and the queries name."""
    enforcement = Enforcement(root)
    reports, problems = [], []
    for daemon, path, line in named_daemons(tables, queried):
        report = enforcement.report(daemon, tables, env)
        for message in report.pop('problems'):
            problems.append({'file': path, 'line': line, 'severity': 'warning', 'message': f'daemon "{daemon}": {message}'})
        if report['nobody']:
            problems.append({'file': path, 'line': line, 'severity': 'warning', 'message': nobody_message(report)})
        reports.append(report)
    return reports, problems


def daemon_warnings(daemons, root=None):
    """Warnings for the named daemons whose rules nobody enforces on this host."""
    enforcement = Enforcement(root)
    warnings = []
    for daemon in daemons:
        if is_daemon_name(daemon):
            report = enforcement.report(daemon)
            if report['nobody']:
                warnings.append(nobody_message(report))
    return warnings
