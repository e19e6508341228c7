# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import struct

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _elf as elf
from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_host as host


def build_elf64(needed):
    """A minimal little-endian ELF64 with one PT_LOAD and a PT_DYNAMIC listing `needed`."""
    strtab = b'\0' + b''.join(name.encode() + b'\0' for name in needed)
    header_size, phdr_size = 64, 56
    dynamic_offset = header_size + 2 * phdr_size
    dynamic = b''
    offset = 1
    for name in needed:
        dynamic += struct.pack('<qQ', elf.DT_NEEDED, offset)
        offset += len(name) + 1
    strtab_offset = dynamic_offset + len(dynamic) + 2 * 16
    vaddr_base = 0x400000
    dynamic += struct.pack('<qQ', elf.DT_STRTAB, vaddr_base + strtab_offset) + struct.pack('<qQ', 0, 0)
    total = strtab_offset + len(strtab)
    ident = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9
    elf_header = ident + struct.pack('<HHIQQQIHHHHHH', 3, 62, 1, 0, header_size, 0, 0, header_size, phdr_size,
                                     2, 64, 0, 0)
    load = struct.pack('<IIQQQQQQ', elf.PT_LOAD, 5, 0, vaddr_base, vaddr_base, total, total, 0x1000)
    dyn = struct.pack('<IIQQQQQQ', elf.PT_DYNAMIC, 6, dynamic_offset, vaddr_base + dynamic_offset,
                      vaddr_base + dynamic_offset, len(dynamic), len(dynamic), 8)
    return elf_header + load + dyn + dynamic + strtab


@pytest.mark.parametrize('needed', [['libwrap.so.0', 'libc.so.6'], ['libc.so.6'], []])
def test_needed_libraries_reads_dt_needed(tmp_path, needed):
    path = tmp_path / 'daemon'
    path.write_bytes(build_elf64(needed))
    assert host.needed_libraries(str(path)) == needed


def test_needed_libraries_refuses_a_script(tmp_path):
    path = tmp_path / 'script'
    path.write_bytes(b'#!/bin/sh\necho hi\n')
    with pytest.raises(host.ElfError) as excinfo:
        host.needed_libraries(str(path))
    assert str(excinfo.value) == f'{path} is not an ELF file'


def _corrupt(data, offset, value):
    return data[:offset] + value + data[offset + len(value):]


ELF = build_elf64(['libwrap.so.0'])
# offsets in build_elf64's layout: e_phnum at 56, the PT_DYNAMIC header at 120 (p_offset at 128),
# the DT_NEEDED entry at 176 (its string offset at 184)
MALFORMED = [
    ('truncated-program-headers', ELF[:150], 'program headers: 112 bytes at offset 64 are past the end of the file (150 bytes)'),
    ('truncated-dynamic-section', ELF[:200], 'no string table for the dynamic section'),
    ('too-many-program-headers', _corrupt(ELF, 56, struct.pack('<H', 5000)), 'implausible program header count 5000'),
    ('program-headers-past-the-end', _corrupt(ELF, 32, struct.pack('<Q', 1 << 40)),
     f'program headers: 112 bytes at offset {1 << 40} are past the end of the file (238 bytes)'),
    ('name-past-the-end', _corrupt(ELF, 184, struct.pack('<Q', 1 << 40)), 'unterminated library name in the string table'),
    ('unterminated-name', ELF[:-1] + b'x', 'unterminated library name in the string table'),
]


@pytest.mark.parametrize('data, message', [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_needed_libraries_reads_within_bounds(tmp_path, data, message):
    """A malformed binary is an ElfError naming the fault, never an IndexError or a whole-file read."""
    path = tmp_path / 'daemon'
    path.write_bytes(data)
    with pytest.raises(host.ElfError) as excinfo:
        host.needed_libraries(str(path))
    assert str(excinfo.value) == message


def test_needed_libraries_reads_headers_not_the_whole_binary(tmp_path, monkeypatch):
    path = tmp_path / 'daemon'
    path.write_bytes(build_elf64(['libwrap.so.0']) + b'\0' * (8 << 20))
    real_pread, read = os.pread, []
    monkeypatch.setattr(os, 'pread', lambda fd, size, offset: read.append(size) or real_pread(fd, size, offset))
    monkeypatch.setattr(os, 'read', None)
    assert host.needed_libraries(str(path)) == ['libwrap.so.0']
    assert sum(read) < 4096


@pytest.mark.skipif(not os.path.exists('/bin/ls'), reason='needs a real ELF binary')
def test_needed_libraries_of_a_real_binary():
    assert 'libc.so.6' in host.needed_libraries(os.path.realpath('/bin/ls'))


def test_daemon_warnings(tmp_path, monkeypatch):
    wrapped = tmp_path / 'wrapped'
    wrapped.write_bytes(build_elf64(['libwrap.so.0', 'libc.so.6']))
    plain = tmp_path / 'plain'
    plain.write_bytes(build_elf64(['libc.so.6']))
    monkeypatch.setattr(host, 'libwrap_installed', lambda: True)
    (tmp_path / 'sshd').symlink_to(wrapped)
    monkeypatch.setattr(host, 'DAEMON_BINARIES', {'sshd': [str(tmp_path / 'sshd')], 'nginx': [str(plain)]})
    monkeypatch.setattr(host, 'BINARY_DIRS', [str(tmp_path)])
    assert host.daemon_warnings(['sshd', 'nginx', 'ALL', 's*', 'ghost']) == [
        'daemon "nginx": %s does not link libwrap, so it ignores TCP wrappers rules' % plain,
        'daemon "ghost": no binary found on this host, cannot tell whether it honours TCP wrappers',
    ]
    monkeypatch.setattr(host, 'libwrap_installed', lambda: False)
    assert host.daemon_warnings(['sshd']) == [
        'libwrap (TCP wrappers) is not installed on this host: no daemon will enforce hosts.allow/hosts.deny '
        '(distributions such as Fedora dropped it)']


def test_real_daemon_inspection_never_executes(tmp_path, monkeypatch):
    """The helper reads files only: a script named like a daemon is reported, not run."""
    script = tmp_path / 'in.fingerd'
    script.write_bytes(b'#!/bin/sh\ntouch %s/ran\n' % str(tmp_path).encode())
    script.chmod(0o755)
    monkeypatch.setattr(host, 'libwrap_installed', lambda: True)
    monkeypatch.setattr(host, 'BINARY_DIRS', [str(tmp_path)])
    warnings = host.daemon_warnings(['in.fingerd'])
    assert warnings == [f'daemon "in.fingerd": cannot read {script} ({script} is not an ELF file)']
    assert not (tmp_path / 'ran').exists()


def test_ssh_connection_from_environment():
    assert host.ssh_connection({'SSH_CONNECTION': '192.0.2.7 51000 192.0.2.1 22'}) == ('192.0.2.7', '192.0.2.1')
    assert host.ssh_connection({'SSH_CONNECTION': 'garbage'}, proc='/nonexistent') is None


def test_ssh_connection_found_in_a_parent_process(tmp_path, monkeypatch):
    """sudo drops SSH_CONNECTION: it is found in an ancestor's environment."""
    monkeypatch.setattr(os, 'getpid', lambda: 300)
    for pid, ppid, environ in ((300, 200, b'PATH=/bin\0'), (200, 100, b'SSH_CONNECTION=2001:db8::7 40000 2001:db8::1 22\0')):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / 'environ').write_bytes(environ)
        (tmp_path / str(pid) / 'stat').write_bytes(b'%d (python3 (x)) S %d 1 1' % (pid, ppid))
    assert host.ssh_connection({}, proc=str(tmp_path)) == ('2001:db8::7', '2001:db8::1')


def test_host_file_words_read_a_pattern_file_and_match_nothing_from_what_they_cannot_read(tmp_path):
    """libwrap matches nothing from a /file pattern it cannot open; a FIFO must not hang the read."""
    words = tmp_path / 'trusted'
    words.write_bytes(b'10.0.0.7 .example.org\n192.0.2.1\n')
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    env = host.Environment()
    assert env.host_file_words(str(words)) == ['10.0.0.7', '.example.org', '192.0.2.1']
    assert env.host_file_words(str(tmp_path / 'missing')) == []
    assert env.host_file_words(str(fifo)) == []
