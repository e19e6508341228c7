# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The one file-I/O layer of the collection.

Descriptor-level primitives (flags, checksums and copies between open files) used by the jail
engine, and the host-path helpers every module writes through.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import hashlib
import os

O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
COPY_CHUNK = 1 << 20


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
