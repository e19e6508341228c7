# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: not a public API, it may change
# without notice.  Facts about the managed host that TCP wrappers depend on:
# which daemons link libwrap (read from ELF DT_NEEDED, the binary is never
# executed), whether libwrap exists at all, and the SSH connection Ansible
# itself uses.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os
import struct

# Where a daemon's binary lives when it is not simply on PATH; sshd moved its
# per-connection work (and the libwrap check) to sshd-session in OpenSSH 9.8.
DAEMON_BINARIES = {
    'sshd': ['/usr/lib/openssh/sshd-session', '/usr/libexec/openssh/sshd-session',
             '/usr/sbin/sshd', '/usr/local/sbin/sshd'],
}
BINARY_DIRS = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin', '/usr/libexec']
LIBWRAP_GLOBS = ['/lib/libwrap.so*', '/lib64/libwrap.so*', '/usr/lib/libwrap.so*', '/usr/lib64/libwrap.so*',
                 '/lib/*-linux-gnu*/libwrap.so*', '/usr/lib/*-linux-gnu*/libwrap.so*']

DT_NEEDED = 1
DT_STRTAB = 5
PT_LOAD = 1
PT_DYNAMIC = 2


class ElfError(ValueError):
    pass


def elf_needed(path):
    """DT_NEEDED entries of an ELF file, read from its program headers."""
    with open(path, 'rb') as handle:
        data = handle.read()
    if data[:4] != b'\x7fELF':
        raise ElfError('%s is not an ELF file' % path)
    is64 = data[4] == 2
    endian = '<' if data[5] == 1 else '>'
    if is64:
        phoff, = struct.unpack_from(endian + 'Q', data, 0x20)
        phentsize, phnum = struct.unpack_from(endian + 'HH', data, 0x36)
    else:
        phoff, = struct.unpack_from(endian + 'I', data, 0x1C)
        phentsize, phnum = struct.unpack_from(endian + 'HH', data, 0x2A)
    loads = []
    dynamic = None
    for index in range(phnum):
        base = phoff + index * phentsize
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(endian + 'IIQQQQ', data, base)
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(endian + 'IIIII', data, base)
        if p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
    if dynamic is None:
        return []
    entry_format, entry_size = (endian + 'qQ', 16) if is64 else (endian + 'iI', 8)
    needed_offsets = []
    strtab = None
    offset, size = dynamic
    for position in range(offset, offset + size, entry_size):
        tag, value = struct.unpack_from(entry_format, data, position)
        if tag == 0:
            break
        if tag == DT_NEEDED:
            needed_offsets.append(value)
        elif tag == DT_STRTAB:
            strtab = value
    if strtab is None:
        raise ElfError('%s has no string table for its dynamic section' % path)
    for vaddr, file_offset, filesz in loads:
        if vaddr <= strtab < vaddr + filesz:
            strtab = strtab - vaddr + file_offset
            break
    names = []
    for name_offset in needed_offsets:
        start = strtab + name_offset
        names.append(data[start:data.index(b'\0', start)].decode('latin-1'))
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
            warnings.append('daemon "%s": no binary found on this host, cannot tell whether it honours TCP wrappers'
                            % daemon)
            continue
        try:
            needed = elf_needed(binary)
        except (IOError, OSError, ElfError, struct.error, ValueError) as exc:
            warnings.append('daemon "%s": cannot read %s (%s)' % (daemon, binary, exc))
            continue
        if not any(name.startswith('libwrap.so') for name in needed):
            warnings.append('daemon "%s": %s does not link libwrap, so it ignores TCP wrappers rules'
                            % (daemon, binary))
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
            with open('%s/%d/environ' % (proc, pid), 'rb') as handle:
                for item in handle.read().split(b'\0'):
                    if item.startswith(b'SSH_CONNECTION='):
                        value = item.split(b'=', 1)[1].decode('latin-1')
                        break
            with open('%s/%d/stat' % (proc, pid), 'rb') as handle:
                pid = int(handle.read().rsplit(b')', 1)[1].split()[1])
        except (IOError, OSError, ValueError, IndexError):
            break
    if not value:
        return None
    parts = value.split()
    if len(parts) < 3:
        return None
    return parts[0], parts[2]
