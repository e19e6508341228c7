# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The one file-I/O layer of the collection.

Descriptor-level primitives (flags, checksums and copies between open files) used by the jail
engine, and the host-path helpers every module writes through. ``copy_fd`` keeps holes: a
sparse source stays sparse in its copy.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import hashlib
import os

O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
COPY_CHUNK = 1 << 20
ZEROS = memoryview(bytes(COPY_CHUNK))


def sha256_fd(fd):
    """SHA-256 of everything an open file holds, read from its start."""
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        chunk = os.read(fd, COPY_CHUNK)
        if not chunk:
            break
        digest.update(chunk)
    return digest.hexdigest()


def read_fd(fd):
    """Everything an open file holds from its current offset."""
    chunks = []
    while True:
        chunk = os.read(fd, COPY_CHUNK)
        if not chunk:
            return b''.join(chunks)
        chunks.append(chunk)


def data_extents(fd, size):
    """``(start, end)`` of the parts of the first ``size`` bytes of ``fd`` that hold data.

    Holes are found with SEEK_DATA/SEEK_HOLE; where the platform or file system cannot tell,
    the whole range is one extent (a plain copy).
    """
    if not size:
        return []
    if not hasattr(os, 'SEEK_DATA'):
        return [(0, size)]
    extents = []
    pos = 0
    while pos < size:
        try:
            start = os.lseek(fd, pos, os.SEEK_DATA)
        except OSError as exc:
            if exc.errno == errno.ENXIO:  # nothing but a hole up to the end
                break
            if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                return [(0, size)]
            raise
        if start >= size:
            break
        end = min(os.lseek(fd, start, os.SEEK_HOLE), size)
        extents.append((start, end))
        pos = end
    return extents


def copy_fd(src_fd, dst_fd, size):
    """Copy the first ``size`` bytes of ``src_fd`` into the empty file ``dst_fd``, holes kept.

    Returns ``(sha256 hex of what was copied, bytes copied)``; fewer than ``size`` bytes means
    the source ended early (it shrank while being read).
    """
    digest = hashlib.sha256()
    done = 0
    for start, end in data_extents(src_fd, size):
        _hash_zeros(digest, start - done)
        done = start
        while done < end:
            chunk = os.pread(src_fd, min(COPY_CHUNK, end - done), done)
            if not chunk:
                return digest.hexdigest(), done
            digest.update(chunk)
            _pwrite_all(dst_fd, chunk, done)
            done += len(chunk)
    _hash_zeros(digest, size - done)
    os.ftruncate(dst_fd, size)
    return digest.hexdigest(), size


def _hash_zeros(digest, count):
    # a hole reads as zeros: the checksum covers them without anything being read or written
    while count > 0:
        digest.update(ZEROS[:min(count, COPY_CHUNK)])
        count -= COPY_CHUNK


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written
