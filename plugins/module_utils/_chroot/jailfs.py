# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Descriptor-level I/O inside a jail; nothing else.

``Jail`` reaches every jail path through directory descriptors opened component by
component with O_NOFOLLOW, so nothing is ever read or written through a symlink. Writes
are atomic (a temporary name in the same directory, then rename); removals only take
empty directories and normalised paths inside the jail. Temporary names follow one pattern,
so the temporaries a killed run left are found again (``leftovers``). What to write or
remove is decided elsewhere.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import fcntl
import hashlib
import os
import posixpath
import re
import resource
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, abs_path
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    O_PATH,
    PROC_FDS,
    added_xattrs,
    copy_fd,
    open_held_regular,
    read_fd,
    sha256_fd,
)


# ".NAME.sjtmpXXXXXXXX": the only names the module writes before renaming into place. A run
# killed in between leaves one; the next run recognises it by this pattern and removes it.
TMP_NAME_RE = re.compile(r'\A\.(.{1,64})\.sjtmp[0-9a-f]{8}\Z', re.DOTALL)


def tmp_name(name):
    """A fresh temporary name for ``name`` in the same directory."""
    return f'.{name[:64]}.sjtmp{os.urandom(4).hex()}'


def tmp_leftovers(dir_fd, names):
    """Temporaries of ``names`` left in the directory ``dir_fd`` (never directories, never followed)."""
    stems = {name[:64] for name in names}
    found = []
    for entry in sorted(os.listdir(dir_fd)):
        match = TMP_NAME_RE.match(entry)
        if match and match.group(1) in stems:
            st = os.stat(entry, dir_fd=dir_fd, follow_symlinks=False)
            if not stat.S_ISDIR(st.st_mode):
                found.append(entry)
    return found


def inside_jail(path):
    """True if ``path`` is a normalised absolute path below a jail's root (no ``.``, ``..``, ``//``)
    that the kernel can take (encodable, within the name and path length limits)."""
    try:
        return path != '/' and abs_path(path, 'path') == path
    except JailError:
        return False


def make_root_dirs(missing, mode):
    """Create the host directories ``missing`` (parents first), root-owned with ``mode``.

    Only for paths whose existing ancestors were checked root-owned and not writable by others;
    owner and mode are set through a descriptor, so a symlink found in place is refused, not followed.
    """
    for directory in missing:
        try:
            os.mkdir(directory, mode)
        except OSError as exc:
            if exc.errno != errno.EEXIST:
                raise JailError(f'{directory}: cannot create: {exc}')
        try:
            fd = os.open(directory, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        except OSError as exc:
            raise JailError(f'{directory}: is a symlink or not a directory; refusing to use it: {exc}')
        try:
            os.fchown(fd, 0, 0)
            os.fchmod(fd, mode)
        finally:
            os.close(fd)


def remove_created_dirs(paths):
    """rmdir the host directories ``paths`` deepest first, each through its parent's descriptor.

    Stops at the first one that is not empty; returns those removed. Only for directories
    the state says the module created (the jail root and its missing ancestors).
    """
    removed = []
    for path in sorted(paths, key=lambda p: p.count('/'), reverse=True):
        parent = os.open('/', os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        try:
            for name in [c for c in posixpath.dirname(path).split('/') if c]:
                step = os.open(name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=parent)
                os.close(parent)
                parent = step
            os.rmdir(posixpath.basename(path), dir_fd=parent)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                break
            raise JailError(f'{path}: cannot remove: {exc}')
        finally:
            os.close(parent)
        removed.append(path)
    return removed


# Descriptors a run needs beyond one per jail directory: the host walks, copies, state and lock.
SPARE_DESCRIPTORS = 64


def reserve_descriptors(directories, limits=resource):
    """Make room for one open descriptor per jail directory, or refuse before anything is written.

    ``Jail`` holds every directory it reaches open for the whole run (that is what keeps planted
    symlinks out); raises the soft open-file limit up to the hard one when that is not enough.
    """
    need = directories + SPARE_DESCRIPTORS
    soft, hard = limits.getrlimit(limits.RLIMIT_NOFILE)
    if soft == limits.RLIM_INFINITY or need <= soft:
        return
    if hard != limits.RLIM_INFINITY and need > hard:
        raise JailError(f'the jail holds {directories} directories, and this process may open only {hard} files '
                        '(hard limit); raise the open-file limit (ulimit -n) of the managed host\'s Ansible user')
    limits.setrlimit(limits.RLIMIT_NOFILE, (need, hard))


def device_record(entry):
    """What the state keeps of a planned device node, so an audit can tell it was swapped."""
    return {'kind': entry['kind'], 'rdev': os.makedev(entry['major'], entry['minor'])}


class Jail:
    """All access to the jail goes through directory fds opened O_NOFOLLOW."""

    def __init__(self, root, host=None, labels=None):
        self.root = root
        self.host = host or Host()
        self.labels = labels  # a selinux.JailLabels: what it writes gets its host original's label
        self._fds = {}

    def close(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    # -- reaching and reading -------------------------------------------
    def dir_fd(self, path):
        """fd of jail directory ``path``; None when missing. Symlinks are errors."""
        if path in self._fds:
            return self._fds[path]
        if path == '/':
            try:
                fd = os.open(self.root, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return None
                raise JailError(f'{self.root}: cannot open the jail root: {exc}')
        else:
            parent = self.dir_fd(posixpath.dirname(path))
            if parent is None:
                return None
            try:
                fd = os.open(posixpath.basename(path), os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                             dir_fd=parent)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    return None
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise JailError(f'{self.root}{path}: is a symlink or not a directory inside the jail; refusing to write through it')
                raise JailError(f'{self.root}{path}: {exc}')
        self._fds[path] = fd
        return fd

    def lstat(self, path):
        if path == '/':
            try:
                return os.lstat(self.root)
            except OSError:
                return None
        try:
            parent = self.dir_fd(posixpath.dirname(path))
        except JailError:
            return None
        if parent is None:
            return None
        try:
            return os.stat(posixpath.basename(path), dir_fd=parent, follow_symlinks=False)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def readlink(self, path):
        return os.readlink(posixpath.basename(path), dir_fd=self.dir_fd(posixpath.dirname(path)))

    def open_read(self, path):
        """A blocking read-only fd of the regular file ``path``; the caller closes it.

        Where the kernel has O_PATH and /proc, the entry is first held without being opened
        (O_PATH), and only a regular file is then opened, through that hold: a FIFO or device
        node the jail swapped in is never opened. Elsewhere it is opened non-blocking and checked
        before use, so such a node never holds the run (and its lock). Either open is non-blocking,
        so a lease on the file fails it (EWOULDBLOCK) instead of waiting. A symlink is never
        followed. Anything but a regular file is a JailError; a missing one the OSError of open.
        """
        name, parent = posixpath.basename(path), self.dir_fd(posixpath.dirname(path))
        if O_PATH and os.path.isdir(PROC_FDS):
            held = os.open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC, dir_fd=parent)
            try:
                # non-blocking: a lease uid 0 in the jail put on its own copy fails the open at once
                _st, fd = open_held_regular(held)
            finally:
                os.close(held)
            if fd is None:
                raise JailError(f'{self.root}{path}: not a regular file; refusing to read it')
        else:
            fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | O_NOFOLLOW | O_CLOEXEC, dir_fd=parent)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise JailError(f'{self.root}{path}: not a regular file; refusing to read it')
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return fd

    def read(self, path):
        """What the jail file ``path`` holds; None if it is no longer a regular file (to replace)."""
        return self._with_fd(path, read_fd)

    def sha256(self, path):
        """SHA-256 of the jail file ``path``; None if it is no longer a regular file (to replace)."""
        return self._with_fd(path, sha256_fd)

    def _with_fd(self, path, func):
        try:
            fd = self.open_read(path)
        except OSError as exc:
            # swapped for a link, gone since the lstat, or under a lease the jail holds
            if exc.errno in (errno.ELOOP, errno.ENOENT, errno.EWOULDBLOCK):
                return None
            raise
        except JailError:
            return None
        try:
            return func(fd)
        finally:
            os.close(fd)

    def _forget(self, path):
        for known in [p for p in self._fds if p == path or p.startswith(path.rstrip('/') + '/')]:
            os.close(self._fds.pop(known))

    # -- writing --------------------------------------------------------
    def _clear_for(self, path, st):
        """Make room for a new object at ``path`` (only empty dirs are removed)."""
        parent = self.dir_fd(posixpath.dirname(path))
        name = posixpath.basename(path)
        if st is not None and stat.S_ISDIR(st.st_mode):
            self._forget(path)
            try:
                os.rmdir(name, dir_fd=parent)
            except OSError as exc:
                raise JailError(f'{self.root}{path}: a directory is in the way and cannot be removed: {exc}')

    def make_root(self, missing):
        make_root_dirs(missing, 0o755)

    def write(self, path, entry):
        """Create or replace ``path`` atomically; returns its state record (what the manifest keeps)."""
        kind = entry['type']
        if path == '/':
            fd = self.dir_fd('/')
            os.fchown(fd, entry['uid'], entry['gid'])
            os.fchmod(fd, entry['mode'])
            self._label(fd, path, entry)
            return {'type': 'dir'}
        parent = self.dir_fd(posixpath.dirname(path))
        if parent is None:
            raise JailError(f'{self.root}{posixpath.dirname(path)}: parent directory missing')
        name = posixpath.basename(path)
        st = self.lstat(path)
        if kind == 'dir':
            if st is not None and not stat.S_ISDIR(st.st_mode):
                os.unlink(name, dir_fd=parent)
                st = None
            if st is None:
                os.mkdir(name, 0o700, dir_fd=parent)
            fd = self.dir_fd(path)
            os.fchown(fd, entry['uid'], entry['gid'])
            os.fchmod(fd, entry['mode'])
            self._label(fd, path, entry)
            return {'type': 'dir'}
        self._clear_for(path, st)
        tmp = tmp_name(name)
        record = {'type': kind}
        written = None  # the new file's fstat, for a file or generated content
        try:
            if kind == 'symlink':
                os.symlink(entry['target'], tmp, dir_fd=parent)
                os.chown(tmp, 0, 0, dir_fd=parent, follow_symlinks=False)
                self._label(parent, path, entry, tmp)
                record['target'] = entry['target']
            elif kind == 'device':
                self._mknod(parent, tmp, entry)
                self._label(parent, path, entry, tmp)
                record.update(device_record(entry))
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=parent)
                try:
                    if kind == 'generated':
                        data = entry['content'].encode('utf-8')
                        os.write(fd, data)
                        record['sha256'] = hashlib.sha256(data).hexdigest()
                        record['size'] = len(data)
                    else:
                        record.update(self._copy_into(fd, entry))
                        record['source'] = entry['source']
                    os.fchown(fd, entry['uid'], entry['gid'])
                    os.fchmod(fd, entry['mode'])
                    for attr in added_xattrs(fd):  # an ACL inherited from a default ACL the jail set
                        os.removexattr(fd, attr)
                    self._label(fd, path, entry)
                    if kind == 'file':
                        os.utime(fd, ns=(record['mtime_ns'], record['mtime_ns']))
                    written = os.fstat(fd)
                finally:
                    os.close(fd)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            if kind in ('file', 'generated'):
                # uid 0 in the jail may have renamed a file of its own over the temporary name
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                if (st.st_dev, st.st_ino) != (written.st_dev, written.st_ino):
                    raise JailError(f'{self.root}{path}: changed while it was written; run again')
            if kind == 'file':
                record['ctime_ns'] = st.st_ctime_ns
                record['ino'] = st.st_ino
        except (OSError, JailError) as exc:
            try:
                os.unlink(tmp, dir_fd=parent)
            except OSError:
                pass
            if isinstance(exc, JailError):
                raise
            raise JailError(f'{self.root}{path}: cannot write: {exc}')
        return record

    def _label(self, fd, path, entry, name=None):
        if self.labels is not None:
            self.labels.label_fd(fd, path, entry, name)

    @staticmethod
    def _mknod(parent, tmp, entry):
        """The device node ``tmp`` made with its final mode, then chowned without following a link.

        No chmod by name: uid 0 in the jail can swap the temporary for a symlink to a host
        file at any moment, and chmod would follow it. The umask is lifted for the mknod only.
        """
        ftype = stat.S_IFCHR if entry['kind'] == 'char' else stat.S_IFBLK
        umask = os.umask(0)
        try:
            os.mknod(tmp, ftype | entry['mode'], os.makedev(entry['major'], entry['minor']), dir_fd=parent)
        finally:
            os.umask(umask)
        os.chown(tmp, entry['uid'], entry['gid'], dir_fd=parent, follow_symlinks=False)

    def _copy_into(self, out_fd, entry):
        """Copy the planned source of ``entry`` into ``out_fd`` from a descriptor checked to be
        the file the plan saw; holes stay holes. Returns what the state records of it."""
        with self.host.open_planned(entry) as src:
            sha256, copied = copy_fd(src.fd, out_fd, src.st.st_size)
            after = os.fstat(src.fd)
            if copied != src.st.st_size or after.st_ctime_ns != src.st.st_ctime_ns:
                raise JailError(f"{entry['source']} changed on the host while it was copied; nothing was copied")
            return {'sha256': sha256, 'size': copied, 'mtime_ns': src.st.st_mtime_ns,
                    'source_ctime_ns': src.st.st_ctime_ns}

    def remove(self, path, record):
        """Remove an object the state says we created. Returns True if gone.

        ``path`` must be a normalised path inside the jail; it is reached through directory
        descriptors opened O_NOFOLLOW, so neither ``..`` nor a planted symlink leads out.
        """
        if not inside_jail(path):
            raise JailError(f'{self.root}: {path!r} is not a normalised path inside the jail; refusing to remove it')
        st = self.lstat(path)
        if st is None:
            return True
        parent = self.dir_fd(posixpath.dirname(path))
        name = posixpath.basename(path)
        if stat.S_ISDIR(st.st_mode):
            if record.get('type') != 'dir':
                return False
            self._forget(path)
            try:
                os.rmdir(name, dir_fd=parent)
            except OSError as exc:
                if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                    return False
                raise JailError(f'{self.root}{path}: cannot remove: {exc}')
            return True
        if record.get('type') == 'dir':
            return False
        os.unlink(name, dir_fd=parent)
        return True

    def unlink(self, path):
        """Remove the non-directory ``path`` (a normalised path inside the jail) if it exists."""
        if not inside_jail(path):
            raise JailError(f'{self.root}: {path!r} is not a normalised path inside the jail; refusing to remove it')
        parent = self.dir_fd(posixpath.dirname(path))
        if parent is not None:
            try:
                os.unlink(posixpath.basename(path), dir_fd=parent)
            except OSError as exc:
                if exc.errno not in (errno.ENOENT, errno.EISDIR):
                    raise

    def leftovers(self, paths):
        """Temporaries a killed run left next to ``paths`` (jail paths), as jail paths.

        Only directories reached through O_NOFOLLOW descriptors are searched; a directory
        that is missing or replaced by a symlink is skipped.
        """
        by_dir = {}
        for path in paths:
            by_dir.setdefault(posixpath.dirname(path), set()).add(posixpath.basename(path))
        found = []
        for directory in sorted(by_dir):
            try:
                fd = self.dir_fd(directory)
            except JailError:
                continue
            if fd is not None:
                found.extend(posixpath.join(directory, n) for n in tmp_leftovers(fd, by_dir[directory]))
        return found
