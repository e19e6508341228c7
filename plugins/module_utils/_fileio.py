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
import stat
import tempfile

O_NOFOLLOW = getattr(os, 'O_NOFOLLOW', 0)
O_DIRECTORY = getattr(os, 'O_DIRECTORY', 0)
O_CLOEXEC = getattr(os, 'O_CLOEXEC', 0)
# Holds an entry without opening it (Linux), so that a FIFO or a device node (whose open can
# block, or act: /dev/watchdog arms) is looked at but never opened; reopened through /proc.
O_PATH = getattr(os, 'O_PATH', 0)
PROC_FDS = '/proc/self/fd'
COPY_CHUNK = 1 << 20
ZEROS = memoryview(bytes(COPY_CHUNK))


def sha256_fd(fd, limit=None):
    """SHA-256 of everything an open file holds, read from its start.

    With ``limit``, None once the file holds more than ``limit`` bytes: a file someone else
    keeps growing is never read to its end.
    """
    digest = hashlib.sha256()
    os.lseek(fd, 0, os.SEEK_SET)
    read = 0
    while True:
        chunk = os.read(fd, COPY_CHUNK)
        if not chunk:
            break
        read += len(chunk)
        if limit is not None and read > limit:
            return None
        digest.update(chunk)
    return digest.hexdigest()


# The one extended attribute a copy may carry: the label SELinux gives every file. Any other (a
# file capability, a POSIX ACL) grants what the module never copied.
SELINUX_XATTR = 'security.selinux'
LABEL_XATTRS = (SELINUX_XATTR,)


def read_label(target):
    """The SELinux label of ``target`` (a descriptor, or /proc/self/fd/N of an O_PATH one), None
    when it has none."""
    try:
        raw = os.getxattr(target, SELINUX_XATTR)
    except OSError as exc:
        if exc.errno == errno.ENODATA:
            return None
        raise
    return raw.rstrip(b'\0').decode('utf-8', 'surrogateescape')


def write_label(target, context):
    """Give ``target`` (a descriptor, or /proc/self/fd/N of an O_PATH one) the SELinux label ``context``."""
    os.setxattr(target, SELINUX_XATTR, context.encode('utf-8') + b'\0')


def added_xattrs(target, follow_symlinks=True):
    """Names of the extended attributes of ``target`` (a descriptor or path) other than its SELinux
    label, sorted; none where the file system has no extended attributes."""
    try:
        names = os.listxattr(target, follow_symlinks=follow_symlinks)
    except OSError as exc:
        if exc.errno in (errno.ENOTSUP, errno.EOPNOTSUPP):
            return []
        raise
    return sorted(name for name in names if name not in LABEL_XATTRS)


def open_held_regular(held):
    """``(fstat, fd)`` of what the O_PATH descriptor ``held`` holds: ``fd`` reads it (opened
    non-blocking, so a lease on the file fails the open at once) when it is a regular file, and
    is None otherwise, nothing having been opened. The caller closes ``held`` and ``fd``."""
    st = os.fstat(held)
    if not stat.S_ISREG(st.st_mode):
        return st, None
    return st, os.open(f'{PROC_FDS}/{held}', os.O_RDONLY | os.O_NONBLOCK | O_CLOEXEC)


def read_fd(fd, limit=None):
    """Everything an open file holds from its current offset; with ``limit``, None as soon as it
    holds more than ``limit`` bytes (a file someone else can grow is never read whole)."""
    chunks = []
    total = 0
    while True:
        chunk = os.read(fd, COPY_CHUNK)
        if not chunk:
            return b''.join(chunks)
        total += len(chunk)
        if limit is not None and total > limit:
            return None
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


def write_fd(fd, data):
    """Write all of ``data`` to ``fd`` (os.write may write less than asked)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def replace_at(dir_fd, name, data, tmp, finish=None):
    """Replace ``name`` in the directory open on ``dir_fd`` with ``data`` (mode 0600) in one rename.

    ``data`` is bytes, or a function that fills the temporary file through its descriptor (a copy
    that is never held in memory whole). The temporary ``tmp`` is created there O_EXCL and never
    through a symlink, given to ``finish(fd)`` (its final owner, mode and label, set on the
    descriptor while nobody else can open it), synced before the rename, and removed on any
    failure; the directory is synced after it.
    """
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            if callable(data):
                data(fd)
            else:
                write_fd(fd, data)
            if finish is not None:
                finish(fd)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        os.fsync(dir_fd)
    except OSError:
        try:
            os.unlink(tmp, dir_fd=dir_fd)
        except OSError:
            pass
        raise


def write_new(path, data):
    """Create ``path`` (mode 0600, never through a symlink, never over an existing file) holding
    ``data``: scratch files in a private temporary directory."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
    try:
        write_fd(fd, data)
    finally:
        os.close(fd)


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


# ---------------------------------------------------------------------------
# Host paths: what every module reads and writes through (lineinfile's write path)
# ---------------------------------------------------------------------------

class FileIOError(Exception):
    """A host file could not be read or written; the message names the path and the cause."""


def read_if_exists(path):
    """Bytes of the regular file at path, or None when nothing is there.

    Only ENOENT means absent; any other failure raises. Opened non-blocking so that a FIFO
    put in place of the file is refused instead of hanging the module.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileIOError(f'{path}: not a regular file')
    with os.fdopen(fd, 'rb') as handle:
        return handle.read()


def write_atomic(module, path, data, backup=False, validate=None, follow=False, create_mode=None):
    """Replace the content of path with data in one rename; return the backup's name or None.

    The temporary file is made in the target's directory, written, synced, then given to
    validate(temporary path), which raises to refuse it. module.atomic_move keeps the owner,
    mode and SELinux context of an existing file and gives a new one the default context.
    With follow, a symlink at path is written through to its target (as libwrap and
    lineinfile read it); whatever is replaced must be a regular file. A file this call creates
    gets create_mode when given (atomic_move would derive it from the umask). The temporary
    file never outlives a failure.
    """
    target = os.path.realpath(path) if follow else path
    directory = os.path.dirname(target) or '.'
    if not os.path.isdir(directory):
        raise FileIOError(f'{path}: directory {directory} does not exist')
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise FileIOError(f'{path}: {target} is not a regular file, refusing to replace it')
    fd, tmp = tempfile.mkstemp(prefix=f'.{os.path.basename(target)}.', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if validate is not None:
            validate(tmp)
        backup_file = _module_call(path, module.backup_local, target) if backup else None
        _module_call(path, module.atomic_move, tmp, target,
                     unsafe_writes=module.params.get('unsafe_writes', False))
        if existing is None and create_mode is not None:
            os.chmod(target, create_mode)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return backup_file or None


def _module_call(path, method, *args, **kwargs):
    # AnsibleModule raises a bare Exception when a backup or rename fails.
    try:
        return method(*args, **kwargs)
    except Exception as exc:
        raise FileIOError(f'{path}: {exc}') from exc


def set_attributes(module, path, changed, diff=None):
    """Owner, group, mode, SELinux context and attributes of path as the module's file options ask.

    For modules built with add_file_common_args; works in check mode (nothing is changed,
    the answer says what would be). Returns changed, or True when an attribute differed.
    """
    file_args = module.load_file_common_arguments(module.params, path=path)
    return module.set_fs_attributes_if_different(file_args, changed, diff)
