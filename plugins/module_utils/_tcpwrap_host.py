# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Facts about the managed host that TCP wrappers depend on.

Which daemons link libwrap (DT_NEEDED, read from the ELF file: the binary is never run),
whether libwrap exists at all, the SSH connection Ansible itself uses, and the Environment of
host lookups (users, groups, netgroups, /file patterns) the matcher and the rule checks ask.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import glob
import grp
import os
import pwd
import socket
import struct

from ansible_collections.serversec.confine.plugins.module_utils._elf import ElfError, read_exec_info
from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError, read_if_exists

# Where a daemon's binary lives when it is not simply on PATH; sshd moved its
# per-connection work (and the libwrap check) to sshd-session in OpenSSH 9.8.
DAEMON_BINARIES = {
    'sshd': ['/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session',
             '/usr/sbin/sshd', '/usr/local/sbin/sshd'],
}
BINARY_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec']
LIBWRAP_GLOBS = ['/lib/libwrap.so*', '/lib64/libwrap.so*', '/usr/lib/libwrap.so*', '/usr/lib64/libwrap.so*',
                 '/lib/*-linux-gnu*/libwrap.so*', '/usr/lib/*-linux-gnu*/libwrap.so*']


def needed_libraries(path):
    """DT_NEEDED names of the ELF file at path, in order; the file is only read, with bounds."""
    info = read_exec_info(path)
    if info.kind != 'elf':
        raise ElfError(f'{path} is not an ELF file')
    return info.needed


def find_daemon_binary(daemon):
    """The file whose libwrap link decides for this daemon name, or None."""
    candidates = list(DAEMON_BINARIES.get(daemon, []))
    candidates += [os.path.join(directory, daemon) for directory in BINARY_DIRS]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    return None


def libwrap_installed():
    """Whether a libwrap shared library is in one of the usual places."""
    return any(glob.glob(pattern) for pattern in LIBWRAP_GLOBS)


def daemon_warnings(daemons):
    """Warnings for named daemons that do not honour TCP wrappers on this host."""
    warnings = []
    if not libwrap_installed():
        warnings.append('libwrap (TCP wrappers) is not installed on this host: no daemon will enforce '
                        'hosts.allow/hosts.deny (distributions such as Fedora dropped it)')
        return warnings
    for daemon in daemons:
        if any(char in daemon for char in '*?@') or daemon.upper() in ('ALL', 'KNOWN', 'LOCAL'):
            continue
        binary = find_daemon_binary(daemon)
        if binary is None:
            warnings.append(f'daemon "{daemon}": no binary found on this host, cannot tell whether it honours '
                            'TCP wrappers')
            continue
        try:
            # The binary may be a symlink; the file it names is what the daemon runs.
            needed = needed_libraries(os.path.realpath(binary))
        except (OSError, ElfError, struct.error) as exc:
            warnings.append(f'daemon "{daemon}": cannot read {binary} ({exc})')
            continue
        if not any(name.startswith('libwrap.so') for name in needed):
            warnings.append(f'daemon "{daemon}": {binary} does not link libwrap, so it ignores TCP wrappers rules')
    return warnings


def ssh_connection(environ=None, proc='/proc'):
    """(client address, server address) of the SSH session Ansible runs in, or None.

    become (sudo) drops SSH_CONNECTION from the environment, so the parent
    processes' environments are searched too.
    """
    value = (environ if environ is not None else os.environ).get('SSH_CONNECTION')
    pid = os.getpid()
    seen = set()
    while not value and pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            for item in (read_if_exists(f'{proc}/{pid}/environ') or b'').split(b'\0'):
                if item.startswith(b'SSH_CONNECTION='):
                    value = item.split(b'=', 1)[1].decode('latin-1')
                    break
            pid = int(read_if_exists(f'{proc}/{pid}/stat').rsplit(b')', 1)[1].split()[1])
        except (OSError, FileIOError, AttributeError, ValueError, IndexError):
            break
    if not value:
        return None
    parts = value.split()
    if len(parts) < 3:
        return None
    return parts[0], parts[2]


class Environment:
    """Host-dependent lookups of the matcher and the rule checks; the defaults read this host.

    dry_run: decide as tcpdmatch does (as root) rather than as a daemon does, where the two
    differ: Debian's libwrap switches user and group only in a dry run.
    """

    dry_run = False

    def host_file_words(self, path):
        # libwrap matches nothing from a /file pattern it cannot read
        try:
            return (read_if_exists(path) or b'').decode('latin-1').split()
        except (OSError, FileIOError):
            return []

    def innetgr(self, netgroup, hostname):
        # No portable netgroup lookup from Python: libwrap without NIS says no.
        return False

    def interface_index(self, name):
        """if_nametoindex(): the index of this host's network interface, or None."""
        try:
            return socket.if_nametoindex(name)
        except (OSError, ValueError):
            return None

    def user_exists(self, name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def user_ids(self, name):
        """(uid, gid) of an existing user."""
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid

    def group_id(self, name):
        return grp.getgrnam(name).gr_gid

    def group_exists(self, name):
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False
