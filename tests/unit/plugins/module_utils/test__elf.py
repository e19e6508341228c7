# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

import os
import shutil
import struct

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._elf import (
    PAGE_SIZE,
    ElfError,
    _elf_hash,
    _loads_in_order,
    parse_shebang,
    read_exec_info,
    read_exec_info_fd,
)


def _host_file(*candidates):
    for path in candidates:
        if os.path.isfile(path):
            return os.path.realpath(path)
    pytest.skip('none of %s on this host' % ', '.join(candidates))


def test_bash_is_dynamic_with_the_standard_interpreter():
    info = read_exec_info(_host_file('/usr/bin/bash', '/bin/bash'))
    assert info.kind == 'elf'
    assert info.dynamic and not info.static
    assert info.interp in ('/lib64/ld-linux-x86-64.so.2', '/lib/ld-linux-aarch64.so.1', '/lib/ld-linux.so.2')


def test_static_pie_ldconfig_is_static():
    # Debian's ldconfig is static-pie: ET_DYN with PT_DYNAMIC but no PT_INTERP and no DT_NEEDED
    info = read_exec_info(_host_file('/usr/sbin/ldconfig', '/sbin/ldconfig'))
    assert info.kind == 'elf'
    assert info.interp is None
    assert info.static


def test_shared_library_without_interp_is_dynamic():
    lib = _host_file('/usr/lib/x86_64-linux-gnu/libnss_dns.so.2', '/usr/lib64/libnss_dns.so.2')
    info = read_exec_info(lib)
    assert info.interp is None
    assert info.dynamic
    assert info.machine == 'x86_64' and info.elf_class == 64


def test_script_names_its_interpreter(tmp_path):
    script = tmp_path / 'run me; $(x)'
    script.write_bytes(b'#!/usr/bin/env  python3 -u\nprint(1)\n')
    info = read_exec_info(str(script))
    assert (info.kind, info.interp, info.interp_args) == ('script', '/usr/bin/env', ['python3', '-u'])


def test_real_script_ldd():
    info = read_exec_info(_host_file('/usr/bin/ldd'))
    assert info.kind == 'script'
    assert info.interp == '/bin/bash'


@pytest.mark.parametrize('content, message', [
    (b'hello world\n', 'neither an ELF file nor a #! script'),
    (b'\x7fELF\x02\x01', 'truncated ELF header'),
    (b'\x7fELF\x05\x01' + b'\0' * 60, 'unknown ELF class/encoding'),
    (b'#!\n', 'empty #! line'),
])
def test_invalid_files(tmp_path, content, message):
    path = tmp_path / 'bad'
    path.write_bytes(content)
    with pytest.raises(ElfError) as exc:
        read_exec_info(str(path))
    assert str(exc.value) == message


def _elf32_be(interp):
    """A minimal big-endian 32-bit ELF with one PT_INTERP program header."""
    ehdr_size, phdr_size = 52, 32
    interp_bytes = interp + b'\0'
    header = b'\x7fELF' + bytes([1, 2, 1]) + b'\0' * 9
    header += struct.pack('>HHIIIIIHHHHHH', 2, 20, 1, 0, ehdr_size, 0, 0, ehdr_size, phdr_size, 1, 0, 0, 0)
    phdr = struct.pack('>IIIIIIII', 3, ehdr_size + phdr_size, 0, 0, len(interp_bytes), len(interp_bytes), 4, 1)
    return header + phdr + interp_bytes


def test_big_endian_32bit_interp(tmp_path):
    path = tmp_path / 'ppc'
    path.write_bytes(_elf32_be(b'/lib/ld.so.1'))
    info = read_exec_info(str(path))
    assert (info.interp, info.machine, info.elf_class, info.dynamic) == ('/lib/ld.so.1', 'ppc', 32, True)


def test_symlink_is_not_followed(tmp_path):
    target = _host_file('/usr/bin/bash', '/bin/bash')
    link = tmp_path / 'bash'
    os.symlink(target, str(link))
    with pytest.raises(OSError):
        read_exec_info(str(link))


def test_copy_of_binary_reads_the_same(tmp_path):
    source = _host_file('/usr/bin/bash', '/bin/bash')
    copy = tmp_path / 'bash'
    shutil.copy(source, str(copy))
    assert read_exec_info(str(copy)).interp == read_exec_info(source).interp


@pytest.mark.parametrize('head, expected', [
    (b'#!/bin/sh\n', ('/bin/sh', [])),
    (b'#! /usr/bin/perl -w\n', ('/usr/bin/perl', ['-w'])),
    (b'\x7fELF', None),
])
def test_parse_shebang(head, expected):
    assert parse_shebang(head) == expected


# --------------------------------------------------------------------------
# crafted 64-bit ELF files: offsets the kernel cannot even take, and two PT_INTERP entries

def elf64(phdrs, e_phoff=64, tail=b''):
    """A little-endian x86_64 ET_EXEC with ``phdrs`` = [(p_type, p_offset, p_filesz)], then ``tail``
    (test_chroot_jail uses it too)."""
    header = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9
    header += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0, e_phoff, 0, 0, 64, 56, len(phdrs), 0, 0, 0)
    table = b''.join(struct.pack('<IIQQQQQQ', p_type, 4, offset, 0, 0, size, size, 1)
                     for p_type, offset, size in phdrs)
    return header + table + tail


TRUSTED = b'/lib64/ld-linux-x86-64.so.2\0'
EVIL = b'/tmp/evil-ld.so\0'


@pytest.mark.parametrize('content, message', [
    (elf64([(3, 120, 28)], e_phoff=2 ** 63, tail=TRUSTED),
     'program headers: 56 bytes at offset 9223372036854775808 are past the end of the file (148 bytes)'),
    (elf64([(3, 120, 28)], e_phoff=2 ** 64 - 1, tail=TRUSTED),
     'program headers: 56 bytes at offset 18446744073709551615 are past the end of the file (148 bytes)'),
    (elf64([(3, 120, 28)], e_phoff=4096, tail=TRUSTED),
     'program headers: 56 bytes at offset 4096 are past the end of the file (148 bytes)'),
    (elf64([(3, 2 ** 63, 28)], tail=TRUSTED),
     'PT_INTERP: 28 bytes at offset 9223372036854775808 are past the end of the file (148 bytes)'),
    (elf64([(2, 2 ** 63, 16)]), 'PT_DYNAMIC: offset 9223372036854775808 is past the end of the file (120 bytes)'),
    # the kernel runs the first PT_INTERP; judging by the last let an untrusted loader through
    (elf64([(3, 176, 16), (3, 192, 28)], tail=EVIL + TRUSTED), 'more than one PT_INTERP program header'),
    (elf64([(3, 176, 28), (3, 204, 16)], tail=TRUSTED + EVIL), 'more than one PT_INTERP program header'),
])
def test_malformed_elf_is_an_elf_error(tmp_path, content, message):
    path = tmp_path / 'odd'
    path.write_bytes(content)
    with pytest.raises(ElfError) as exc:
        read_exec_info(str(path))
    assert str(exc.value) == message


def test_crafted_elf64_reads_its_interpreter(tmp_path):
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(3, 120, 28)], tail=TRUSTED))
    info = read_exec_info(str(path))
    assert (info.kind, info.interp, info.machine, info.elf_class, info.dynamic) == (
        'elf', '/lib64/ld-linux-x86-64.so.2', 'x86_64', 64, True)


def test_fd_reader_reads_the_open_file_not_the_path(tmp_path):
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(3, 120, 28)], tail=TRUSTED))
    fd = os.open(str(path), os.O_RDONLY)
    try:
        os.lseek(fd, 5, os.SEEK_SET)
        os.unlink(str(path))
        path.write_bytes(b'#!/bin/sh\n')
        info = read_exec_info_fd(fd)
        assert os.lseek(fd, 0, os.SEEK_CUR) == 5
    finally:
        os.close(fd)
    assert info.interp == '/lib64/ld-linux-x86-64.so.2'


# --------------------------------------------------------------------------
# the link key: what the loader's list of libraries depends on, or None when only it can tell

LIBC, GLIBC_234 = b'libc.so.6', b'GLIBC_2.34'
DT_RPATH, DT_RUNPATH, DT_FLAGS_1, DT_AUDIT, DT_FILTER = 15, 29, 0x6ffffffb, 0x6ffffefc, 0x7fffffff
DT_VERNEED, DT_VERNEEDNUM = 0x6ffffffe, 0x6fffffff
DF_1_NOW_PIE, DF_1_NODEFLIB = 0x8000001, 0x800


def strings(*names):
    """A string table holding ``names`` and the offset of each."""
    table, offsets = b'\0', {}
    for name in names:
        offsets[name] = len(table)
        table += name + b'\0'
    return table, offsets


def verneed(offsets, needs, following=0, aux_next=16):
    """One Elf64_Verneed for libc.so.6 with a Vernaux per (version, flags) of ``needs``."""
    chain = struct.pack('<HHIII', 1, len(needs), offsets[LIBC], 16, following)
    for i, (version, flags) in enumerate(needs):
        chain += struct.pack('<IHHII', _elf_hash(version.decode()), flags, 0, offsets[version],
                             aux_next if i + 1 < len(needs) else 0)
    return chain


LOAD_ADDRESS = 0x10000


def elf64_dynamic(tags, table, chain=b'', map_chain=True, cut=0, places=None, short_by=0):
    """An x86_64 program: PT_INTERP, the string table, a dynamic section of ``tags`` = [(tag, value)]
    and, last, the version chain; the value 'STRTAB' or 'VERNEED' is the address of that part. Its
    one PT_LOAD maps the file from PT_INTERP on (the chain too if ``map_chain``) at LOAD_ADDRESS,
    so that a file offset is never its address. ``cut`` bytes are cut off the end; ``places``
    overrides the address given for 'INTERP' or 'DYNAMIC' in its program header; the segment
    maps ``short_by`` bytes less."""
    interp_at = 64 + 3 * 56
    strtab_at = interp_at + len(TRUSTED)
    dynamic_at = strtab_at + len(table)
    dynamic_size = 16 * (len(tags) + 1)
    chain_at = dynamic_at + dynamic_size

    def address(offset):
        return LOAD_ADDRESS + offset - interp_at

    where = {'STRTAB': address(strtab_at), 'VERNEED': address(chain_at), 'INTERP': address(interp_at),
             'DYNAMIC': address(dynamic_at)}
    where.update(places or {})
    dynamic = b''.join(struct.pack('<qQ', tag, where.get(value, value)) for tag, value in tags + [(0, 0)])
    mapped = (chain_at + len(chain) if map_chain else chain_at) - interp_at - short_by
    header = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9
    header += struct.pack('<HHIQQQIHHHHHH', 2, 62, 1, 0, 64, 0, 0, 64, 56, 3, 0, 0, 0)
    phdrs = b''.join(struct.pack('<IIQQQQQQ', *fields) for fields in (
        (1, 4, interp_at, LOAD_ADDRESS, 0, mapped, mapped, 1),
        (3, 4, interp_at, where['INTERP'], 0, len(TRUSTED), len(TRUSTED), 1),
        (2, 4, dynamic_at, where['DYNAMIC'], 0, dynamic_size, dynamic_size, 1)))
    content = header + phdrs + TRUSTED + table + dynamic + chain
    return content[:len(content) - cut]


def program(tmp_path, needed=(LIBC,), extra=(), needs=((GLIBC_234, 0),), count=1, following=0, aux_next=16,
            extra_strings=(), flags_1=DF_1_NOW_PIE, **layout):
    table, offsets = strings(LIBC, GLIBC_234, b'GLIBC_2.2.5', *[n for n in needed + tuple(extra_strings) if n != LIBC])
    tags = [(1, offsets[name]) for name in needed] + [(5, 'STRTAB'), (10, len(table))]
    tags += [(DT_FLAGS_1, flags_1)] if flags_1 is not None else []
    chain = verneed(offsets, needs, following, aux_next) if needs else b''
    if needs:
        tags += [(DT_VERNEED, 'VERNEED'), (DT_VERNEEDNUM, count)]
    tags += [(tag, offsets.get(value, value)) for tag, value in extra]
    path = tmp_path / 'prog'
    path.write_bytes(elf64_dynamic(tags, table, chain, **layout))
    return read_exec_info(str(path))


def test_a_plain_program_has_a_link_key_and_its_version_needs(tmp_path):
    info = program(tmp_path, needs=((GLIBC_234, 0), (b'GLIBC_2.2.5', 2)))
    assert info.needed == ['libc.so.6']
    assert info.link_key == ('x86_64', 64, 1, 0, 0, 2, '/lib64/ld-linux-x86-64.so.2', ('libc.so.6',))
    assert info.version_needs == {('libc.so.6', 'GLIBC_2.34', 0), ('libc.so.6', 'GLIBC_2.2.5', 2)}


def test_version_needs_are_read_as_the_loader_reads_them_whatever_the_count_says(tmp_path):
    assert program(tmp_path, needs=((GLIBC_234, 0), (b'GLIBC_2.2.5', 0)), count=7).version_needs == {
        ('libc.so.6', 'GLIBC_2.34', 0), ('libc.so.6', 'GLIBC_2.2.5', 0)}


def test_a_program_without_version_needs_needs_none(tmp_path):
    info = program(tmp_path, needs=())
    assert info.link_key is not None and info.version_needs == frozenset()


@pytest.mark.parametrize('kwargs, why', [
    ({'extra': [(DT_RUNPATH, b'/opt/lib')], 'extra_strings': [b'/opt/lib']}, 'DT_RUNPATH: its own search path'),
    ({'extra': [(DT_RPATH, b'$ORIGIN')], 'extra_strings': [b'$ORIGIN']}, 'DT_RPATH, relative to where it is'),
    ({'extra': [(DT_AUDIT, b'/opt/audit.so')], 'extra_strings': [b'/opt/audit.so']}, 'an audit library'),
    ({'extra': [(DT_FILTER, LIBC)]}, 'a filter'),
    ({'extra': [(0x70000001, 0)]}, 'a processor-specific tag unknown here'),
    ({'extra': [(DT_FLAGS_1, DF_1_NOW_PIE | DF_1_NODEFLIB)]}, 'DF_1_NODEFLIB: no default directories'),
    ({'needed': (b'$ORIGIN/../lib/libx.so', LIBC)}, 'a DT_NEEDED relative to where it is'),
    ({'needed': (b'/opt/lib/libx.so', LIBC)}, 'a DT_NEEDED path'),
    ({'needs': ((GLIBC_234, 0), (b'GLIBC_2.2.5', 0)), 'aux_next': 1 << 20}, 'a version need pointing out of the file'),
    ({'following': 1 << 20}, 'a version chain pointing out of the file'),
    ({'needs': (), 'extra': [(DT_VERNEEDNUM, 1)]}, 'a version count without a chain'),
    ({'extra': [(DT_VERNEED, 1 << 40)]}, 'a version chain at an address nothing maps'),
])
def test_what_only_the_loader_can_tell_has_no_link_key(tmp_path, kwargs, why):
    info = program(tmp_path, **kwargs)
    assert info.dynamic and info.needed
    assert info.link_key is None, why


def test_real_programs_linking_the_same_libraries_share_a_link_key():
    first, second = read_exec_info(_host_file('/usr/bin/cat', '/bin/cat')), read_exec_info(_host_file('/usr/bin/echo', '/bin/echo'))
    if first.needed != second.needed:
        pytest.skip('cat and echo link different libraries here')
    assert first.link_key is not None
    assert first.link_key == second.link_key
    assert any(library.startswith('libc.so') for library, _version, _weak in first.version_needs)


def test_a_program_without_dt_flags_1_has_a_link_key(tmp_path):
    assert program(tmp_path, flags_1=None).link_key is not None


def test_the_weak_flag_is_kept_alone(tmp_path):
    # VER_FLG_BASE (1) beside VER_FLG_WEAK (2) says nothing of the need
    assert program(tmp_path, needs=((GLIBC_234, 3),)).version_needs == {('libc.so.6', 'GLIBC_2.34', 2)}


def test_nothing_after_dt_null_is_read(tmp_path):
    table, offsets = strings(LIBC, b'libevil.so', b'/opt/lib')
    tags = [(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (0, 0), (1, offsets[b'libevil.so']),
            (DT_RUNPATH, offsets[b'/opt/lib'])]
    path = tmp_path / 'prog'
    path.write_bytes(elf64_dynamic(tags, table))
    info = read_exec_info(str(path))
    assert info.needed == ['libc.so.6'] and info.link_key is not None


def test_a_negative_tag_is_neither_the_end_nor_a_library(tmp_path):
    table, offsets = strings(LIBC)
    path = tmp_path / 'prog'
    path.write_bytes(elf64_dynamic([(-5, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (1, offsets[LIBC])], table))
    info = read_exec_info(str(path))
    assert info.needed == ['libc.so.6'] and info.link_key is None


@pytest.mark.parametrize('cut', [0, 1, 15])
def test_a_dynamic_section_without_dt_null_is_read_to_its_last_whole_entry(tmp_path, cut):
    table, offsets = strings(LIBC, b'libm.so.6')
    content = elf64_dynamic([(5, 'STRTAB'), (10, len(table)), (1, offsets[LIBC]), (1, offsets[b'libm.so.6'])], table)
    content = content[:-16]  # no DT_NULL: the section ends with a DT_NEEDED
    path = tmp_path / 'prog'
    path.write_bytes(content[:len(content) - cut] if cut else content)
    info = read_exec_info(str(path))
    assert info.needed == (['libc.so.6', 'libm.so.6'] if not cut else ['libc.so.6'])
    assert info.link_key is None  # where the loader stops reading is not known


def test_version_needs_past_the_mapped_segment_are_not_followed(tmp_path):
    # the loader maps the chain through PT_LOAD: the address just past the segment maps nothing
    assert program(tmp_path, map_chain=False).link_key is None


@pytest.mark.parametrize('cut', [1, 15])
def test_a_version_chain_cut_short_by_the_end_of_the_file_is_not_followed(tmp_path, cut):
    assert program(tmp_path, cut=cut).link_key is None


def test_a_version_name_running_past_the_string_table_is_not_followed(tmp_path):
    table, offsets = strings(LIBC, GLIBC_234)
    table = table[:-1]  # GLIBC_2.34 is the last string: DT_STRSZ now ends before its NUL
    chain = verneed(offsets, ((GLIBC_234, 0),))
    tags = [(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (DT_VERNEED, 'VERNEED'), (DT_VERNEEDNUM, 1)]
    path = tmp_path / 'prog'
    path.write_bytes(elf64_dynamic(tags, table + b'\0', chain))
    assert read_exec_info(str(path)).link_key is None


def test_an_unterminated_library_name_is_an_elf_error(tmp_path):
    # PT_LOAD maps the whole file at 0; the dynamic section, then the string table, end the file
    dynamic_at = 64 + 2 * 56
    table_at = dynamic_at + 32
    dynamic = struct.pack('<qQqQ', 5, table_at, 1, 1)
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(1, 0, table_at + 10), (2, dynamic_at, 32)], tail=dynamic + b'\0libc.so.6'))
    with pytest.raises(ElfError) as exc:
        read_exec_info(str(path))
    assert str(exc.value) == 'unterminated library name in the string table'


def test_version_needs_shared_by_many_entries_are_bounded(tmp_path):
    """Elf_Verneed entries that all point at one chain of needs: 2 x 2,000 needs are followed,
    2,000 x 2,000 (4 million) are refused after 4,096: a file must not keep the module busy."""
    table, offsets = strings(LIBC, GLIBC_234)

    def shared_needs(entries, needs):
        chain = b''.join(struct.pack('<HHIII', 1, needs, offsets[LIBC], 16 * (entries - i), 16 if i + 1 < entries else 0)
                         for i in range(entries))
        chain += b''.join(struct.pack('<IHHII', _elf_hash('GLIBC_2.34'), 0, 0, offsets[GLIBC_234], 16 if i + 1 < needs else 0)
                          for i in range(needs))
        tags = [(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (DT_VERNEED, 'VERNEED'), (DT_VERNEEDNUM, entries)]
        path = tmp_path / 'prog'
        path.write_bytes(elf64_dynamic(tags, table, chain))
        return read_exec_info(str(path))

    assert shared_needs(2, 2000).version_needs == {('libc.so.6', 'GLIBC_2.34', 0)}
    assert shared_needs(2000, 2000).link_key is None


SEARCH_STEERING_TAGS = {
    'DT_RPATH': 15, 'DT_RUNPATH': 29, 'DT_AUDIT': 0x6ffffefc, 'DT_DEPAUDIT': 0x6ffffefb, 'DT_CONFIG': 0x6ffffefa,
    'DT_FILTER': 0x7fffffff, 'DT_AUXILIARY': 0x7ffffffd, 'DT_GNU_PRELINKED': 0x6ffffdf5,
    'DT_GNU_CONFLICT': 0x6ffffef8, 'DT_GNU_LIBLIST': 0x6ffffef9, 'DT_NUM (unknown)': 38,
    # a program's own soname satisfies its DT_NEEDED of that name; DT_RELR is refused by older loaders
    'DT_SONAME': 14, 'DT_RELRSZ': 35, 'DT_RELR': 36, 'DT_RELRENT': 37,
}
SEARCH_STEERING_FLAGS_1 = {'DF_1_GROUP': 0x4, 'DF_1_LOADFLTR': 0x10, 'DF_1_NODEFLIB': 0x800, 'DF_1_CONFALT': 0x2000,
                           'DF_1_ENDFILTEE': 0x4000, 'DF_1_GLOBAUDIT': 0x1000000}


@pytest.mark.parametrize('name', sorted(SEARCH_STEERING_TAGS))
def test_a_tag_that_steers_the_search_takes_the_link_key_away(tmp_path, name):
    table, offsets = strings(LIBC, b'/opt/lib')
    path = tmp_path / 'prog'
    tags = [(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (SEARCH_STEERING_TAGS[name], offsets[b'/opt/lib'])]
    path.write_bytes(elf64_dynamic(tags, table))
    assert read_exec_info(str(path)).link_key is None


@pytest.mark.parametrize('name', sorted(SEARCH_STEERING_FLAGS_1))
def test_a_flag_that_steers_the_search_takes_the_link_key_away(tmp_path, name):
    assert program(tmp_path, flags_1=DF_1_NOW_PIE | SEARCH_STEERING_FLAGS_1[name]).link_key is None


def elf_header(machine=62, phentsize=56, phnum=0, size=64):
    """A little-endian 64-bit ELF header alone (no program headers follow), cut to ``size`` bytes."""
    header = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9
    header += struct.pack('<HHIQQQIHHHHHH', 2, machine, 1, 0, 64, 0, 0, 64, phentsize, phnum, 0, 0, 0)
    return header[:size]


@pytest.mark.parametrize('machine, name', [(3, 'i386'), (20, 'ppc'), (21, 'ppc64'), (22, 's390'), (40, 'arm'),
                                           (62, 'x86_64'), (183, 'aarch64'), (243, 'riscv'), (2, 'machine-2')])
def test_the_machine_is_named_as_the_elf_specification_numbers_it(tmp_path, machine, name):
    path = tmp_path / 'prog'
    path.write_bytes(elf_header(machine))
    assert read_exec_info(str(path)).machine == name


@pytest.mark.parametrize('head, expected', [
    (b'#!\x1c\n', ('\x1c', [])),                        # not whitespace to the kernel
    (b'#! \xe2\x80\x83\n', ('\u2003', [])),
    (b'#!/bin/sh\x1c/x\n', ('/bin/sh\x1c/x', [])),
    (b'#!\t/bin/sh\t-e  -u\n', ('/bin/sh', ['-e', '-u'])),
])
def test_a_shebang_line_is_split_as_the_kernel_splits_it(head, expected):
    assert parse_shebang(head) == expected


@pytest.mark.parametrize('loads, in_order', [
    ([(0, 0, 0x500), (PAGE_SIZE, PAGE_SIZE, 0x100)], True),
    ([(0, 0, 0x500), (0x800, 0x800, 0x100)], True),                  # one page, the same file page
    ([(0, 0, 0x500), (0x800, PAGE_SIZE + 0x800, 0x100)], False),     # one page, another file page
    ([(0, 0, 0x500), (PAGE_SIZE, 2 * PAGE_SIZE, 0x100)], True),      # another file page on its own page
    ([(0, 0, 0x900), (0x800, 0x800, 0x100)], False),                 # overlapping bytes
    ([(PAGE_SIZE, PAGE_SIZE, 0x100), (0, 0, 0x100)], False),         # not in address order
    ([(0, 0, PAGE_SIZE), (PAGE_SIZE, PAGE_SIZE, 0x100)], True),       # adjacent
    ([(0, 0, PAGE_SIZE), (PAGE_SIZE, 2 * PAGE_SIZE, 0x100)], True),   # adjacent at a page boundary
    ([(0, 0, 0x500), (2 * PAGE_SIZE, 3 * PAGE_SIZE, 0x100)], True),   # a page apart
    ([(PAGE_SIZE, PAGE_SIZE, 0x500), (PAGE_SIZE + 0x800, PAGE_SIZE + 0x800, 0x100)], True),
    ([(0, PAGE_SIZE, 0x500), (0x800, 0x800, 0x100)], False),          # one page, the earlier file page
])
def test_segments_sharing_a_page_must_map_the_same_file_page(loads, in_order):
    assert _loads_in_order(loads) is in_order


@pytest.mark.parametrize('content, expected', [
    (elf_header(), 'static'),
    (elf_header(size=63), 'truncated ELF header'),
    (elf_header(phentsize=0), 'static'),  # no program headers: their size is not looked at
    (elf_header(phentsize=55, phnum=1), 'program header entry size 55 is not 56'),
    (elf_header(phentsize=57, phnum=1), 'program header entry size 57 is not 56'),
    (_elf32_be(b'')[:52], 'static'),
    (_elf32_be(b'')[:51], 'truncated ELF header'),
])
def test_header_bounds(tmp_path, content, expected):
    if expected == 'static' and content[4] == 1:
        content = content[:44] + b'\0\0' + content[46:]  # the 32-bit header without its one program header
    path = tmp_path / 'prog'
    path.write_bytes(content)
    if expected == 'static':
        assert read_exec_info(str(path)).static
    else:
        with pytest.raises(ElfError) as exc:
            read_exec_info(str(path))
        assert str(exc.value) == expected


@pytest.mark.parametrize('size, expected', [(4096, '/lib64/ld-linux-x86-64.so.2'), (4097, 'bad PT_INTERP size 4097'),
                                            (0, 'bad PT_INTERP size 0')])
def test_pt_interp_size_bounds(tmp_path, size, expected):
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(3, 120, size)], tail=TRUSTED + b'\0' * 4096))
    if expected.startswith('/'):
        assert read_exec_info(str(path)).interp == expected
    else:
        with pytest.raises(ElfError) as exc:
            read_exec_info(str(path))
        assert str(exc.value) == expected


def test_pt_interp_running_past_the_end_of_the_file_says_so(tmp_path):
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(3, 120, 28)], tail=TRUSTED[:20]))
    with pytest.raises(ElfError) as exc:
        read_exec_info(str(path))
    assert str(exc.value) == 'PT_INTERP: 28 bytes at offset 120 are past the end of the file (140 bytes)'


def test_a_pt_null_header_is_not_the_dynamic_section(tmp_path):
    table, offsets = strings(LIBC)
    content = elf64_dynamic([(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table))], table)
    # the file's PT_INTERP header (the second) becomes a PT_NULL header after PT_DYNAMIC
    phdrs = [content[64 + i * 56:64 + (i + 1) * 56] for i in range(3)]
    path = tmp_path / 'prog'
    path.write_bytes(content[:64] + phdrs[0] + phdrs[2] + b'\0' * 56 + content[64 + 3 * 56:])
    assert read_exec_info(str(path)).needed == ['libc.so.6']


def test_a_dynamic_section_at_the_end_of_the_file_is_empty(tmp_path):
    path = tmp_path / 'prog'
    path.write_bytes(elf64([(2, 120, 16)]))
    assert read_exec_info(str(path)).static


# what the loader reads through its mappings, and the version checks it makes, must be what was read

def test_the_version_hash_is_the_elf_hash_of_the_name():
    # the values every glibc program carries (readelf -V shows them on any x86_64 binary)
    assert (_elf_hash('GLIBC_2.2.5'), _elf_hash('GLIBC_2.34')) == (0x09691a75, 0x069691b4)


@pytest.mark.parametrize('kwargs, why', [
    ({'places': {'DYNAMIC': LOAD_ADDRESS}}, 'the loader reads another dynamic section at its address'),
    ({'places': {'INTERP': LOAD_ADDRESS + 8}}, 'the loader names itself from what its address holds'),
    ({'map_chain': False, 'places': {}}, 'a version chain the segment does not map'),
])
def test_what_the_loader_reads_elsewhere_takes_the_link_key_away(tmp_path, kwargs, why):
    assert program(tmp_path, **kwargs).link_key is None, why


def test_a_dynamic_section_running_past_its_segment_takes_the_link_key_away(tmp_path):
    # the loader reads the section in memory up to DT_NULL, which this segment no longer maps
    assert program(tmp_path, needs=(), short_by=16).link_key is None
    assert program(tmp_path, needs=()).link_key is not None


def test_two_dynamic_sections_take_the_link_key_away(tmp_path):
    table, offsets = strings(LIBC)
    content = elf64_dynamic([(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table))], table)
    dynamic = content[64 + 2 * 56:64 + 3 * 56]
    path = tmp_path / 'prog'
    path.write_bytes(content[:64 + 56] + dynamic + dynamic + content[64 + 3 * 56:])
    info = read_exec_info(str(path))
    assert info.needed == ['libc.so.6'] and info.link_key is None


def test_a_library_name_running_past_dt_strsz_takes_the_link_key_away(tmp_path):
    assert program(tmp_path, needs=(), extra=[(10, 5)]).link_key is None


def test_a_string_table_running_past_its_segment_takes_the_link_key_away(tmp_path):
    assert program(tmp_path, extra=[(10, 1 << 16)]).link_key is None


def test_overlapping_segments_take_the_link_key_away(tmp_path):
    table, offsets = strings(LIBC)
    content = elf64_dynamic([(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table))], table)
    load = content[64:64 + 56]
    # a second PT_LOAD at the same address replaces the PT_INTERP header: the later mapping wins
    path = tmp_path / 'prog'
    path.write_bytes(content[:64] + load + load + content[64 + 2 * 56:])
    info = read_exec_info(str(path))
    assert info.needed == ['libc.so.6'] and info.link_key is None


@pytest.mark.parametrize('field, why', [
    ('version', 'a Verneed record version the loader does not know'),
    ('version 0', 'a Verneed record version the loader does not know'),
    ('hash', 'a hash other than the name\'s: the loader looks the version up by hash'),
    ('hash above', 'a hash other than the name\'s: the loader looks the version up by hash'),
    ('library', 'versions of a library the file does not need'),
    ('long name', 'a version name longer than any read here'),
])
def test_version_needs_the_loader_would_judge_otherwise_take_the_link_key_away(tmp_path, field, why):
    long_name = b'V' * 300
    table, offsets = strings(LIBC, GLIBC_234, b'libm.so.6', long_name)
    version = long_name if field == 'long name' else GLIBC_234
    record_version = {'version': 2, 'version 0': 0}.get(field, 1)
    chain = struct.pack('<HHIII', record_version, 1, offsets[b'libm.so.6' if field == 'library' else LIBC], 16, 0)
    name_hash = {'hash': 1, 'hash above': 0xffffffff}.get(field, _elf_hash(version.decode()))
    chain += struct.pack('<IHHII', name_hash, 0, 0, offsets[version], 0)
    tags = [(1, offsets[LIBC]), (5, 'STRTAB'), (10, len(table)), (DT_VERNEED, 'VERNEED'), (DT_VERNEEDNUM, 1)]
    path = tmp_path / 'prog'
    path.write_bytes(elf64_dynamic(tags, table, chain))
    assert read_exec_info(str(path)).link_key is None, why


def elf32_dynamic(osabi=0, e_flags=0):
    """A little-endian 32-bit i386 program linking libc.so.6: one PT_LOAD maps the whole file at
    LOAD_ADDRESS, then PT_INTERP and PT_DYNAMIC (Elf32 dynamic entries are 8 bytes)."""
    interp = b'/lib/ld-linux.so.2\0'
    table, offsets = strings(LIBC)
    interp_at = 52 + 3 * 32
    strtab_at = interp_at + len(interp)
    dynamic_at = strtab_at + len(table)
    tags = [(1, offsets[LIBC]), (5, LOAD_ADDRESS + strtab_at), (10, len(table)), (0, 0)]
    dynamic = b''.join(struct.pack('<iI', tag, value) for tag, value in tags)
    size = dynamic_at + len(dynamic)
    header = b'\x7fELF' + bytes([1, 1, 1, osabi]) + b'\0' * 8
    header += struct.pack('<HHIIIIIHHHHHH', 2, 3, 1, 0, 52, 0, e_flags, 52, 32, 3, 0, 0, 0)
    phdrs = b''.join(struct.pack('<IIIIIIII', *fields) for fields in (
        (1, 0, LOAD_ADDRESS, 0, size, size, 5, 0x1000),
        (3, interp_at, LOAD_ADDRESS + interp_at, 0, len(interp), len(interp), 4, 1),
        (2, dynamic_at, LOAD_ADDRESS + dynamic_at, 0, len(dynamic), len(dynamic), 6, 4)))
    return header + phdrs + interp + table + dynamic


def test_a_32_bit_program_has_a_link_key_with_its_abi_and_flags(tmp_path):
    path = tmp_path / 'prog'
    keys = []
    for osabi, e_flags in ((0, 0), (3, 0), (0, 0x10)):
        path.write_bytes(elf32_dynamic(osabi, e_flags))
        info = read_exec_info(str(path))
        assert (info.machine, info.elf_class, info.needed) == ('i386', 32, ['libc.so.6'])
        keys.append(info.link_key)
    assert keys[0] == ('i386', 32, 1, 0, 0, 2, '/lib/ld-linux.so.2', ('libc.so.6',))
    assert len(set(keys)) == 3, 'another OS ABI or other flags: another key'
