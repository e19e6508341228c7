# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Read just enough of an ELF file (or a ``#!`` script) to know how it runs.

Nothing here executes the inspected file: the headers are parsed from bytes read with bounded
``pread`` calls on a descriptor (``read_exec_info_fd``; ``read_exec_info`` opens a path first).
Every offset the file gives is checked against its size, so malformed input is an ``ElfError``.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import struct

ELF_MAGIC = b'\x7fELF'
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
DT_NULL = 0
DT_NEEDED = 1
DT_STRTAB = 5
DT_STRSZ = 10
DT_FLAGS_1 = 0x6ffffffb
DT_VERNEED = 0x6ffffffe
DT_VERNEEDNUM = 0x6fffffff

# e_machine -> name, used to pick the host loader for shared libraries
MACHINES = {
    3: 'i386',
    20: 'ppc',
    21: 'ppc64',
    22: 's390',
    40: 'arm',
    62: 'x86_64',
    183: 'aarch64',
    243: 'riscv',
}

MAX_SHEBANG = 256
MAX_PHNUM = 4096
MAX_DYNAMIC = 1 << 20
MAX_NAME = 256  # longest library name read from DT_STRTAB
MAX_VERSION_NEEDS = 4096  # (library, version) pairs one file may need
MAX_VERSION_CHAIN = 1 << 16  # bytes of DT_VERNEED read
VER_FLG_WEAK = 0x2
PAGE_SIZE = os.sysconf('SC_PAGE_SIZE') if hasattr(os, 'sysconf') else 4096

# Dynamic tags that do not change which libraries the loader finds for a file: symbols, relocations,
# hashes, init/fini code, versions, flags. Any other tag (DT_RPATH, DT_RUNPATH, DT_AUDIT, DT_FILTER,
# DT_AUXILIARY, prelink's, a processor's own, one unknown here) makes the answer the file's own, and
# so do DT_SONAME (a program's own soname satisfies its DT_NEEDED of that name) and DT_RELR (which
# an older loader refuses or cannot apply).
LOOKUP_NEUTRAL_TAGS = frozenset((
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 30,
    32, 33, 34,
    0x6ffffef5,  # DT_GNU_HASH
    0x6ffffff0, 0x6ffffff9, 0x6ffffffa, DT_FLAGS_1, 0x6ffffffc, 0x6ffffffd, DT_VERNEED, DT_VERNEEDNUM,
))
# DT_FLAGS_1 bits that do not change the search either: NOW, GLOBAL, NODELETE, INITFIRST, NOOPEN, ORIGIN
# (only marks $ORIGIN use, and $ORIGIN can only matter through a tag refused above) and PIE.
# DF_1_NODEFLIB, DF_1_CONFALT and DF_1_GLOBAUDIT, among others, do.
LOOKUP_NEUTRAL_FLAGS_1 = 0x1 | 0x2 | 0x8 | 0x20 | 0x40 | 0x80 | 0x8000000


class ElfError(Exception):
    pass


class ExecInfo:
    """What a file needs to run.

    ``kind`` is ``elf`` or ``script``; for ELF files ``interp`` is PT_INTERP
    (or None), ``dynamic`` tells whether the runtime loader must resolve
    DT_NEEDED libraries, named in ``needed`` (in order); for scripts ``interp`` is the ``#!`` interpreter and
    ``interp_args`` the rest of that line.

    ``link_key`` is everything the host loader's search for a dynamic ELF file's libraries depends
    on besides the host's libraries and the loader's own environment: machine, class, type,
    interpreter and DT_NEEDED names in order; two files with the same key load the same libraries.
    ``version_needs`` is the set of (library, version, weak flag) the file needs: the loader checks
    them against what it found (a version the host lacks is an error). ``link_key`` is None when
    the search may depend on more: on where the file is, or on a dynamic tag or flag that steers it
    (see LOOKUP_NEUTRAL_TAGS), or on version needs this reader cannot follow.
    """

    def __init__(self, kind, interp=None, dynamic=False, machine=None,
                 elf_class=None, elf_type=None, interp_args=None, needed=None, link_key=None,
                 version_needs=frozenset()):
        self.kind = kind
        self.interp = interp
        self.dynamic = dynamic
        self.machine = machine
        self.elf_class = elf_class
        self.elf_type = elf_type
        self.interp_args = interp_args or []
        self.needed = needed or []
        self.link_key = link_key
        self.version_needs = version_needs

    @property
    def static(self):
        return self.kind == 'elf' and not self.dynamic

    def __repr__(self):
        return f'ExecInfo(kind={self.kind!r}, interp={self.interp!r}, dynamic={self.dynamic!r}, machine={self.machine!r})'


def _read_at(fd, offset, size, file_size, what):
    # offsets come from the file: bound them by its size before asking the kernel (an offset of
    # 2**63 or more does not even fit an off_t)
    if offset > file_size or size > file_size - offset:
        raise ElfError(f'{what}: {size} bytes at offset {offset} are past the end of the file ({file_size} bytes)')
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise ElfError(f'truncated ELF file (wanted {size} bytes at offset {offset})')
    return data


def parse_shebang(head):
    """Return (interpreter, [args]) for a ``#!`` line, or None."""
    if not head.startswith(b'#!'):
        return None
    # the kernel splits the line on spaces and tabs only
    parts = [part.decode('utf-8', 'surrogateescape')
             for part in head[2:].split(b'\n', 1)[0].replace(b'\t', b' ').split(b' ') if part]
    if not parts:
        raise ElfError('empty #! line')
    return parts[0], parts[1:]


def read_exec_info(path):
    """Inspect ``path`` (opened without following a final symlink); see ``read_exec_info_fd``."""
    fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0))
    try:
        return read_exec_info_fd(fd)
    finally:
        os.close(fd)


def read_exec_info_fd(fd):
    """Inspect the file open on ``fd`` with bounded ``pread`` calls (its offset is left alone)."""
    file_size = os.fstat(fd).st_size
    head = os.pread(fd, MAX_SHEBANG, 0)
    shebang = parse_shebang(head)
    if shebang is not None:
        return ExecInfo('script', interp=shebang[0], interp_args=shebang[1])
    if not head.startswith(ELF_MAGIC):
        raise ElfError('neither an ELF file nor a #! script')
    return _read_elf(fd, head, file_size)


def _read_elf(fd, head, file_size):
    if len(head) < 52:
        raise ElfError('truncated ELF header')
    ei_class = head[4]
    ei_data = head[5]
    if ei_class not in (1, 2) or ei_data not in (1, 2):
        raise ElfError('unknown ELF class/encoding')
    end = '<' if ei_data == 1 else '>'
    is64 = ei_class == 2
    if is64:
        if len(head) < 64:
            raise ElfError('truncated ELF header')
        e_type, e_machine = struct.unpack(end + 'HH', head[16:20])
        e_phoff = struct.unpack(end + 'Q', head[32:40])[0]
        e_phentsize, e_phnum = struct.unpack(end + 'HH', head[54:58])
        ph_fmt = end + 'IIQQQQQQ'
    else:
        e_type, e_machine = struct.unpack(end + 'HH', head[16:20])
        e_phoff = struct.unpack(end + 'I', head[28:32])[0]
        e_phentsize, e_phnum = struct.unpack(end + 'HH', head[42:46])
        ph_fmt = end + 'IIIIIIII'
    if e_phnum > MAX_PHNUM:
        raise ElfError(f'implausible program header count {e_phnum}')
    if e_phnum and e_phentsize != struct.calcsize(ph_fmt):
        # what the kernel and ld.so insist on too
        raise ElfError(f'program header entry size {e_phentsize} is not {struct.calcsize(ph_fmt)}')

    interp = None
    dynamic_seg = None
    loads = []
    places = []  # (file offset, address, size) of PT_INTERP and PT_DYNAMIC: the loader reads the address
    dynamic_headers = 0
    table = _read_at(fd, e_phoff, e_phentsize * e_phnum, file_size, 'program headers') if e_phnum else b''
    for i in range(e_phnum):
        raw = table[i * e_phentsize:i * e_phentsize + struct.calcsize(ph_fmt)]
        fields = struct.unpack(ph_fmt, raw)
        if is64:
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = fields[:6]
        else:
            p_type, p_offset, p_vaddr, _paddr, p_filesz = fields[:5]
        if p_type == PT_INTERP:
            # the kernel runs the first one: a second one is only there to mislead a checker
            if interp is not None:
                raise ElfError('more than one PT_INTERP program header')
            if p_filesz == 0 or p_filesz > 4096:
                raise ElfError(f'bad PT_INTERP size {p_filesz}')
            interp = _read_at(fd, p_offset, p_filesz, file_size, 'PT_INTERP').split(b'\0', 1)[0].decode('utf-8', 'surrogateescape')
            places.append((p_offset, p_vaddr, p_filesz))
        elif p_type == PT_LOAD:
            loads.append((p_vaddr, p_offset, p_filesz))
        elif p_type == PT_DYNAMIC:
            dynamic_seg = (p_offset, p_filesz)
            dynamic_headers += 1
            places.append((p_offset, p_vaddr, p_filesz))

    needed, version_needs = [], None
    if dynamic_seg is not None:
        needed, version_needs = _read_dynamic(fd, dynamic_seg, loads, end, is64, file_size)
    # A program with PT_INTERP is run by that loader; a shared object or
    # static-pie without it is dynamic only if it lists DT_NEEDED libraries.
    dynamic = interp is not None or bool(needed)
    machine = MACHINES.get(e_machine, f'machine-{e_machine}')
    elf_class = 64 if is64 else 32
    link_key = None
    # the key is only what the loader sees too: what was read at a file offset must be what the
    # loader maps at its address, whole (the dynamic section up to its DT_NULL included), through
    # PT_LOAD segments in order that do not overlap, and one dynamic section
    as_mapped = dynamic_headers == 1 and _loads_in_order(loads)
    for offset, address, size in places:
        mapped_at, room = _mapping(address, loads)
        as_mapped = as_mapped and mapped_at == offset and size <= room
    if dynamic and version_needs is not None and as_mapped and not any('/' in name or '$' in name for name in needed):
        # endianness, OS ABI and flags: a file the host's loader would not take can never share
        e_flags = struct.unpack(end + 'I', head[48:52] if is64 else head[36:40])[0]
        link_key = (machine, elf_class, ei_data, head[7], e_flags, e_type, interp, tuple(needed))
    return ExecInfo('elf', interp=interp, dynamic=dynamic, machine=machine, elf_class=elf_class, elf_type=e_type,
                    needed=needed, link_key=link_key, version_needs=version_needs or frozenset())


def _read_dynamic(fd, segment, loads, end, is64, file_size):
    """``(needed, version_needs)`` of the dynamic section: the DT_NEEDED names in order, read from
    DT_STRTAB with bounds, and the set of (file, version, weak) of DT_VERNEED, or None in its
    place when the section holds a tag or flag that steers the library search, or version needs
    this reader cannot follow (then only the loader can tell)."""
    offset, size = segment
    fmt = end + ('qQ' if is64 else 'iI')
    entsize = struct.calcsize(fmt)
    if offset > file_size:
        raise ElfError(f'PT_DYNAMIC: offset {offset} is past the end of the file ({file_size} bytes)')
    data = os.pread(fd, min(size, file_size - offset, MAX_DYNAMIC), offset)
    name_offsets, values, neutral, terminated = [], {}, True, False
    for pos in range(0, len(data) - entsize + 1, entsize):
        tag, value = struct.unpack(fmt, data[pos:pos + entsize])
        if tag == DT_NULL:
            terminated = True
            break
        if tag == DT_NEEDED:
            name_offsets.append(value)
        else:
            # the loader keeps the last of a repeated tag
            values[tag] = value
        if tag not in LOOKUP_NEUTRAL_TAGS:
            neutral = False
    if not name_offsets:
        return [], None
    strtab_offset, strtab_room = _mapping(values.get(DT_STRTAB), loads)
    if strtab_offset is None:
        raise ElfError('no string table for the dynamic section')
    names = []
    for name_offset in name_offsets:
        name = _string_at(fd, strtab_offset + name_offset, file_size)
        if name is None:
            raise ElfError('unterminated library name in the string table')
        names.append(name)
    # past the segment the loader reads what it maps there, not the file: no DT_NULL in the
    # section, or a string table running out of its segment, and only the loader can tell
    strsz = values.get(DT_STRSZ, 0)
    if not neutral or not terminated or values.get(DT_FLAGS_1, 0) & ~LOOKUP_NEUTRAL_FLAGS_1 \
            or not 0 < strsz <= min(MAX_DYNAMIC, strtab_room):
        return names, None
    strings = os.pread(fd, strsz, strtab_offset)

    def string(offset):
        stop = strings.find(b'\0', offset, offset + MAX_NAME)
        return strings[offset:stop].decode('utf-8', 'surrogateescape') if stop >= 0 else None

    if any(string(offset) != name for offset, name in zip(name_offsets, names)):
        return names, None
    return names, _version_needs(fd, values, loads, string, names, end, file_size)


def _loads_in_order(loads):
    """PT_LOAD segments in ascending address order, none sharing a page with the next unless both
    map the same file page there (the loader maps whole pages: a later segment's page replaces
    an earlier one's, whatever was read at the earlier one's file offsets)."""
    page = PAGE_SIZE
    for (vaddr, offset, filesz), (next_vaddr, next_offset, _filesz) in zip(loads, loads[1:]):
        if vaddr + filesz > next_vaddr:
            return False
        if offset - vaddr != next_offset - next_vaddr and -(-(vaddr + filesz) // page) > next_vaddr // page:
            return False
    return True


def _mapping(address, loads):
    """``(file offset, bytes of the file mapped from there on)`` of an address, as the PT_LOAD
    segment mapping it tells; ``(None, 0)`` if none does."""
    return next(((address - vaddr + seg_offset, vaddr + filesz - address) for vaddr, seg_offset, filesz in loads
                 if address is not None and vaddr <= address < vaddr + filesz), (None, 0))


def _elf_hash(name):
    """The System V ELF hash, which each Vernaux carries for its version name."""
    value = 0
    for byte in name.encode('utf-8', 'surrogateescape'):
        value = (value << 4) + byte
        high = value & 0xf0000000
        value ^= high >> 24
        value &= ~high & 0xffffffff
    return value


def _string_at(fd, start, file_size):
    name = os.pread(fd, MAX_NAME, start).split(b'\0', 1) if start < file_size else [b'']
    return name[0].decode('utf-8', 'surrogateescape') if len(name) == 2 else None


def _version_needs(fd, values, loads, string, needed, end, file_size):
    """The set of (file, version, weak) of the Elf_Verneed chain, or None if it cannot be followed.

    The chain is read once, bounded by its segment; anything that points outside it, or that the
    loader would refuse (a record version other than 1, a hash that is not its name's, a library
    that is not a DT_NEEDED of the file), is "cannot be followed", never an error: the loader
    stays the judge of such a file.
    """
    count = values.get(DT_VERNEEDNUM, 0)
    if DT_VERNEED not in values:
        return frozenset() if not count else None
    start, room = _mapping(values[DT_VERNEED], loads)
    if start is None or not count:
        return None
    chain = os.pread(fd, min(MAX_VERSION_CHAIN, room), start) if start < file_size else b''

    def record(offset, fmt):
        # Elf32_Verneed and Elf64_Verneed are the same 16 bytes, as are both Vernaux
        return struct.unpack(end + fmt, chain[offset:offset + 16]) if offset + 16 <= len(chain) else None

    # followed as the loader follows it: by vn_next and vna_next until 0, whatever the counts say
    needs, position, budget = set(), 0, MAX_VERSION_NEEDS
    while True:
        entry = record(position, 'HHIII')
        if entry is None or entry[0] != 1:
            return None
        _version, _count, file_name, aux, following = entry
        library = string(file_name)
        if library not in needed:
            return None
        aux_position = position + aux
        while True:
            need = record(aux_position, 'IHHII')
            budget -= 1
            if need is None or budget < 0:
                return None
            name_hash, flags, _other, name, aux_next = need
            version = string(name)
            if version is None or _elf_hash(version) != name_hash:
                return None
            needs.add((library, version, flags & VER_FLG_WEAK))
            if not aux_next:
                break
            aux_position += aux_next
        if not following:
            break
        position += following
    return frozenset(needs)
