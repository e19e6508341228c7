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
import struct

from ansible_collections.serversec.confine.plugins.module_utils._elf import (
    DT_NEEDED,
    DT_NULL,
    ELF_MAGIC,
    MAX_PHNUM,
    PT_DYNAMIC,
    ElfError,
    _read_at,
    read_exec_info,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_NOFOLLOW, FileIOError, read_if_exists

# Where a daemon's binary lives when it is not simply on PATH; sshd moved its
# per-connection work (and the libwrap check) to sshd-session in OpenSSH 9.8.
DAEMON_BINARIES = {
    'sshd': ['/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session',
             '/usr/sbin/sshd', '/usr/local/sbin/sshd'],
}
BINARY_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec']
LIBWRAP_GLOBS = ['/lib/libwrap.so*', '/lib64/libwrap.so*', '/usr/lib/libwrap.so*', '/usr/lib64/libwrap.so*',
                 '/lib/*-linux-gnu*/libwrap.so*', '/usr/lib/*-linux-gnu*/libwrap.so*']

DT_STRTAB = 5
PT_LOAD = 1
MAX_DYNAMIC = 1 << 20
MAX_NAME = 256


def needed_libraries(path):
    """DT_NEEDED names of the ELF file at path, in order; the file is only read, with bounds.

    Adapter until _elf's ExecInfo lists DT_NEEDED itself: read_exec_info() vouches for the
    file (an ELF with a sane header, dynamic or not); this reads the names it does not keep.
    """
    info = read_exec_info(path)
    if info.kind != 'elf':
        raise ElfError(f'{path} is not an ELF file')
    if not info.dynamic:
        return []
    fd = os.open(path, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    try:
        return _needed_names(fd)
    finally:
        os.close(fd)


def _needed_names(fd):
    head = _read_at(fd, 0, 64)
    if head[:4] != ELF_MAGIC:
        raise ElfError('the file changed while it was read')
    is64 = head[4] == 2
    end = '<' if head[5] == 1 else '>'
    # e_phoff, e_phentsize, e_phnum and the fields of a program header, per ELF class
    if is64:
        phoff, = struct.unpack_from(end + 'Q', head, 32)
        phentsize, phnum = struct.unpack_from(end + 'HH', head, 54)
        ph_format, ph_fields, dyn_format = end + 'IIQQQQ', (0, 2, 3, 5), end + 'qQ'
    else:
        phoff, = struct.unpack_from(end + 'I', head, 28)
        phentsize, phnum = struct.unpack_from(end + 'HH', head, 42)
        ph_format, ph_fields, dyn_format = end + 'IIIII', (0, 1, 2, 4), end + 'iI'
    if phnum > MAX_PHNUM or phentsize < struct.calcsize(ph_format):
        raise ElfError('implausible program headers')
    loads, dynamic = [], None
    for index in range(phnum):
        fields = struct.unpack(ph_format, _read_at(fd, phoff + index * phentsize, struct.calcsize(ph_format)))
        p_type, p_offset, p_vaddr, p_filesz = (fields[field] for field in ph_fields)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = os.pread(fd, min(p_filesz, MAX_DYNAMIC), p_offset)
    if dynamic is None:
        return []
    size = struct.calcsize(dyn_format)
    offsets, strtab = [], None
    for tag, value in struct.iter_unpack(dyn_format, dynamic[:len(dynamic) - len(dynamic) % size]):
        if tag == DT_NULL:
            break
        if tag == DT_NEEDED:
            offsets.append(value)
        elif tag == DT_STRTAB:
            strtab = value
    file_offset = next((strtab - vaddr + offset for vaddr, offset, filesz in loads
                        if strtab is not None and vaddr <= strtab < vaddr + filesz), None)
    if file_offset is None:
        raise ElfError('no string table for the dynamic section')
    names = []
    for offset in offsets:
        name = os.pread(fd, MAX_NAME, file_offset + offset).split(b'\0', 1)
        if len(name) < 2:
            raise ElfError('unterminated library name in the string table')
        names.append(name[0].decode('latin-1'))
    return names


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
    """Host-dependent lookups of the matcher and the rule checks; the defaults read this host."""

    def host_file_words(self, path):
        # libwrap matches nothing from a /file pattern it cannot read
        try:
            return (read_if_exists(path) or b'').decode('latin-1').split()
        except (OSError, FileIOError):
            return []

    def innetgr(self, netgroup, hostname):
        # No portable netgroup lookup from Python: libwrap without NIS says no.
        return False

    def user_exists(self, name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def group_exists(self, name):
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False
