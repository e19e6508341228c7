# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Several host files put in place by one module run (``host_files``).

Every entry is checked before anything is written: its path, owner, group and mode, and every
directory from ``/`` to it, walked one component at a time without following a link. A
directory a non-root user owns or can write, or a symbolic link on the way, is refused: such a
user could swap what the path reaches between the check and the write, and make root write or
chown another file; only a log (an entry without content) may sit in a root-owned directory its
group can write. Missing directories are created root-owned. Writes go through the shared
I/O layer (a temporary file in the target's directory, one rename, backup on request).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import grp
import os
import posixpath
import pwd
import stat
import time
from collections import namedtuple

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import user_writable
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import tmp_name
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    copy_fd,
    read_fd,
    read_label,
    replace_at,
    write_fd,
    write_label,
)
from ansible_collections.serversec.confine.plugins.module_utils._known_jails import JAIL_STATE_DIR, known_jails
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathError, check_abs_path
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

DIR_FLAGS = os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
# A regular file is read or held without following a link, blocking on a FIFO or becoming a terminal.
FILE_FLAGS = os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC | os.O_NONBLOCK | getattr(os, 'O_NOCTTY', 0)
MAX_ID = 2 ** 32 - 2
# host_files writes text files; a larger one (which its owner may have grown) is never read.
MAX_TEXT = 64 * 1024 * 1024
# Bits a file written from a playbook never gets here: a setuid/setgid root file, or one any
# user can rewrite while root daemons read it.
REFUSED_MODE_BITS = (stat.S_ISUID, 'setuid'), (stat.S_ISGID, 'setgid'), (stat.S_IWOTH, 'world-writable')
# A directory host_files makes must pass its own walk on the next run.
REFUSED_DIRECTORY_BITS = REFUSED_MODE_BITS + ((stat.S_IWGRP, 'group-writable'),)

# How a directory on the way to a file is judged. Only unit tests replace it (to trust the sticky
# system temp dir above their scratch directories); no module option reaches it.
directory_check = user_writable

# uid and gid are None only in check mode, for an owner or group an earlier task would create.
HostFile = namedtuple('HostFile', 'path content uid gid mode owner group')


class HostFilesError(Exception):
    """An entry that cannot be put in place safely; the message names it and the cause."""


def parse_mode(value, what, refused=REFUSED_MODE_BITS):
    """The numeric mode of an octal string (V(0644)); a number (YAML reads 644 as decimal) and
    symbolic modes are refused."""
    if isinstance(value, str) and value and all(c in '01234567' for c in value):
        mode = int(value, 8)
    else:
        raise HostFilesError(f"{what}: {value!r} is not an octal mode in quotes, such as '0644'")
    if mode > 0o7777:
        raise HostFilesError(f'{what}: {value!r} is out of range')
    for bit, name in refused:
        if mode & bit:
            raise HostFilesError(f'{what}: {mode:04o} is {name}; host_files does not write such files')
    return mode


def resolve_id(name, what, lookup, missing=None):
    """The numeric id of a user or group name (or of a number given as text). A name the host does
    not know is refused, or with ``missing`` (a list: check mode, where an earlier task would have
    created it) reported there and resolved to None."""
    if name.isascii() and name.isdigit():
        number = int(name)
        if number > MAX_ID:
            raise HostFilesError(f'{what}: {name} is out of range')
        return number
    try:
        return lookup(name)
    except (KeyError, ValueError):
        message = f'{what}: {name!r} does not exist on this host'
        if missing is None or '\x00' in name:
            raise HostFilesError(message) from None
        missing.append(f'{message} (yet); in check mode its file is reported as changing')
        return None


def check_entries(entries, missing=None):
    """The entries as ``HostFile`` tuples, or ``HostFilesError`` naming the first bad field; with
    ``missing`` (check mode) an unknown owner or group is reported there instead (``resolve_id``)."""
    checked = []
    seen = set()
    for index, entry in enumerate(entries):
        where = f'files[{index}]'
        if entry.get('src') is not None:
            raise HostFilesError(f'{where}.src is read on the controller by the action plugin of '
                                 'serversec.confine.host_files; give content when calling the module directly')
        try:
            path = check_abs_path(entry['path'], f'{where}.path', HostFilesError)
        except PathError as exc:
            raise HostFilesError(str(exc)) from None
        if path == '/':
            raise HostFilesError(f'{where}.path names the root directory')
        if path in seen:
            raise HostFilesError(f'{where}.path {path} is given twice')
        for other in seen:
            if path.startswith(other + '/') or other.startswith(path + '/'):
                raise HostFilesError(f'{where}.path {path}: {min(path, other, key=len)} is also given as a file')
        seen.add(path)
        content = entry.get('content')
        try:
            data = None if content is None else content.encode('utf-8')
        except UnicodeEncodeError:
            raise HostFilesError(f'{where}.content is not valid UTF-8 text') from None
        checked.append(HostFile(
            path=path,
            content=data,
            uid=resolve_id(entry['owner'], f'{where}.owner', lambda n: pwd.getpwnam(n).pw_uid, missing),
            gid=resolve_id(entry['group'], f'{where}.group', lambda n: grp.getgrnam(n).gr_gid, missing),
            mode=parse_mode(entry['mode'], f'{where}.mode'),
            owner=entry['owner'],
            group=entry['group'],
        ))
    return checked


def refuse_inside_jails(entries, jails):
    """uid 0 in a jail could swap a directory of the path for a link between the check and the write."""
    for index, entry in enumerate(entries):
        for jail in jails:
            if entry.path.startswith(jail + '/'):
                raise HostFilesError(f'files[{index}].path {entry.path} lies inside the jail {jail}, where uid 0 '
                                     'could replace a directory on the way with a link to any host path; '
                                     'chroot_jail puts files into jails')


def walk_directories(path, dir_check, create=None, parent_check=None):
    """``(missing, fd)``: the directories missing on the way to ``path``, and a descriptor of its
    directory (None when it is missing), every directory that exists checked on the way.

    Each directory is entered with openat(O_NOFOLLOW) from the one held before and judged by
    ``dir_check(path, fstat)`` on the descriptor held (``path``'s own directory by
    ``parent_check`` when given). With ``create`` (``(mode, label)``), the
    missing ones are created root-owned with that mode, set on the new directory's descriptor
    whatever the umask or a setgid parent says, and ``label(path, fd)`` gives it its SELinux label;
    without it nothing is created and the missing ones are only reported. The caller closes fd.
    """
    missing = []
    fd = os.open('/', DIR_FLAGS)
    try:
        parent = posixpath.dirname(path)
        refuse_unsafe(path, parent_check if parent == '/' and parent_check else dir_check, '/', fd)
        current = '/'
        for name in [c for c in parent.split('/') if c]:
            candidate = posixpath.join(current, name)
            current = candidate
            if missing and create is None:
                missing.append(candidate)
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except FileNotFoundError:
                missing.append(candidate)
                if create is None:
                    continue
                os.mkdir(name, 0o700, dir_fd=fd)
            else:
                if stat.S_ISLNK(st.st_mode):
                    raise HostFilesError(f'{path}: {candidate} is a symbolic link; give the path it points to')
                if not stat.S_ISDIR(st.st_mode):
                    raise HostFilesError(f'{path}: {candidate} is not a directory')
            child = os.open(name, DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = child
            if missing:
                os.fchown(fd, 0, 0)
                os.fchmod(fd, create[0])
                create[1](candidate, fd)
            refuse_unsafe(path, parent_check if candidate == parent and parent_check else dir_check, candidate, fd)
    except BaseException:
        os.close(fd)
        raise
    if missing and create is None:
        os.close(fd)
        return missing, None
    return missing, fd


def refuse_unsafe(path, dir_check, directory, fd):
    """Refuse ``path`` when a non-root user could change the directory held on ``fd``."""
    reason = dir_check(directory, os.fstat(fd))
    if reason:
        raise HostFilesError(f'{path}: {reason} (a non-root user could swap what it holds); '
                             'host_files writes only where root alone can')


def log_directory_check(path, st):
    """``directory_check``, but a root-owned directory its group may write (Ubuntu's /var/log is
    root:syslog 0775) passes: an entry without content is only ever created there (O_EXCL, under
    its own name) or left as it is (``refuse_change_where_a_group_writes``), and what that group
    plants (a link, a second name of another file, a FIFO) is refused."""
    reason = directory_check(path, st)
    if reason and st.st_uid == 0 and not st.st_mode & stat.S_IWOTH:
        return None
    return reason


def parent_check(entry):
    """How the directory holding ``entry``'s file is judged."""
    return log_directory_check if entry.content is None else directory_check


def target_state(path, dir_fd):
    """The lstat of ``path``'s file in the directory held on ``dir_fd``, None when absent; anything
    but a regular file with one name is refused."""
    try:
        st = os.stat(posixpath.basename(path), dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(st.st_mode):
        raise HostFilesError(f'{path}: exists and is not a regular file, refusing to replace it')
    if st.st_nlink > 1:
        raise HostFilesError(f'{path}: has {st.st_nlink} hard links; its owner and mode would change under '
                             'the other names too')
    return st


def open_same(path, dir_fd, seen):
    """A descriptor of ``path``'s file, which must still be the inode ``seen`` (its lstat)."""
    try:
        fd = os.open(posixpath.basename(path), FILE_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENXIO):
            raise HostFilesError(f'{path}: changed while it was checked; run again') from None
        raise
    st = os.fstat(fd)
    if (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino) or st.st_nlink != 1:
        os.close(fd)
        raise HostFilesError(f'{path}: changed while it was checked; run again')
    return fd


def read_text(path, fd):
    """The content of ``path``'s file open on ``fd``, refused past MAX_TEXT bytes."""
    data = read_fd(fd, MAX_TEXT)
    if data is None:
        raise HostFilesError(f'{path}: holds more than {MAX_TEXT} bytes; host_files writes text files, '
                             'use ansible.builtin.copy for this one')
    return data


def replaced_in_place(st):
    """Whether an attribute change may be made on the file itself: only when root alone could open
    it for writing (otherwise whoever holds it open for writing would keep a root-owned file)."""
    return st.st_uid == 0 and not st.st_mode & 0o022


def refuse_change_where_a_group_writes(entry, current, dir_fd):
    """Where a group may write the file's directory (a log's), an existing file is only ever left as
    it is: that group can rename any file of the directory onto the entry's name (another root log
    included), so setting an owner or mode there could reach a file that is not the entry's."""
    if current is None:
        return
    found = (current.st_uid, current.st_gid, stat.S_IMODE(current.st_mode))
    if found == (entry.uid, entry.gid, entry.mode):
        return
    parent = posixpath.dirname(entry.path)
    if directory_check(parent, os.fstat(dir_fd)):
        wanted = f'{known(entry.uid, entry.owner)}:{known(entry.gid, entry.group)} {entry.mode:04o}'
        raise HostFilesError(f'{entry.path}: is {found[0]}:{found[1]} {found[2]:04o}, not {wanted}, in {parent}, '
                             'which its group can write; host_files changes no file there, since that group could '
                             'have moved another file onto this name: give it that owner, group and mode, or '
                             'remove it, and run again')


def known(number, name):
    """An id as the diff shows it: the number, or the name the host does not know yet (check mode)."""
    return name if number is None else number


Plan = namedtuple('Plan', 'entry missing current before')


class HostFiles:
    """Puts every entry of ``files`` in place, after checking them all."""

    def __init__(self, module):
        self.module = module
        self.result = {'files': [], 'created_directories': []}
        self.diffs = []

    def execute(self):
        params = self.module.params
        missing = [] if self.module.check_mode else None
        entries = check_entries(params['files'], missing)
        for warning in missing or ():
            self.module.warn(warning)
        directory_mode = parse_mode(params['directory_mode'], 'directory_mode', REFUSED_DIRECTORY_BITS)
        try:
            jails = known_jails(JAIL_STATE_DIR)
        except ServiceError as exc:
            raise HostFilesError(str(exc)) from None
        refuse_inside_jails(entries, jails)
        # Every entry is validated before the first write.
        plans = [self.plan(entry) for entry in entries]
        for plan in plans:
            self.put(plan, directory_mode, params['backup'])
        self.result['changed'] = any(f['changed'] for f in self.result['files'])
        if self.module._diff:
            self.result['diff'] = self.diffs
        return self.result

    def plan(self, entry):
        missing, fd = walk_directories(entry.path, directory_check, parent_check=parent_check(entry))
        if fd is None:
            return Plan(entry, missing, None, None)
        try:
            current = target_state(entry.path, fd)
            refuse_change_where_a_group_writes(entry, current, fd)
            before = None
            # A file whose content is left alone (a log) is never read.
            if current is not None and entry.content is not None:
                held = open_same(entry.path, fd, current)
                try:
                    before = read_text(entry.path, held)
                finally:
                    os.close(held)
        finally:
            os.close(fd)
        return Plan(entry, missing, current, before)

    def put(self, plan, directory_mode, backup):
        entry, current = plan.entry, plan.current
        for directory in plan.missing:
            if directory not in self.result['created_directories']:
                self.result['created_directories'].append(directory)
        content_changed = entry.content is not None and plan.before != entry.content
        found = None if current is None else (current.st_uid, current.st_gid, stat.S_IMODE(current.st_mode))
        attributes_changed = found != (entry.uid, entry.gid, entry.mode)
        report = {'path': entry.path, 'created': current is None, 'content_changed': content_changed,
                  'attributes_changed': attributes_changed, 'changed': attributes_changed or content_changed}
        if content_changed or current is None:
            self.diffs.append({'before_header': entry.path, 'after_header': entry.path,
                               'before': (plan.before or b'').decode('utf-8', 'replace'),
                               'after': (entry.content or b'').decode('utf-8', 'replace')})
        if attributes_changed and current is not None:
            self.diffs.append({'before_header': f'{entry.path} (owner, group, mode)',
                               'after_header': f'{entry.path} (owner, group, mode)',
                               'before': f'{found[0]}:{found[1]} {found[2]:04o}\n',
                               'after': f'{known(entry.uid, entry.owner)}:{known(entry.gid, entry.group)} '
                                        f'{entry.mode:04o}\n'})
        if report['changed'] and not self.module.check_mode:
            _missing, fd = walk_directories(entry.path, directory_check, (directory_mode, self.label_directory),
                                            parent_check(entry))
            try:
                backup_file = self.write(entry, current, content_changed, fd, backup)
            finally:
                os.close(fd)
            if backup_file:
                report['backup_file'] = backup_file
        self.result['files'].append(report)

    def write(self, entry, current, content_changed, dir_fd, backup):
        """Bring the file to its entry, in the directory held on ``dir_fd``; the backup's path or None."""
        now = target_state(entry.path, dir_fd)
        if (now is None) != (current is None) or (now and (now.st_dev, now.st_ino) != (current.st_dev, current.st_ino)):
            raise HostFilesError(f'{entry.path}: changed while it was checked; run again')
        if current is None:
            if entry.content is None:
                self.create_empty(entry, dir_fd)
            else:
                self.replace(entry, dir_fd, entry.content, self.default_label(entry.path))
            return None
        held = open_same(entry.path, dir_fd, current)
        try:
            if not content_changed and replaced_in_place(current):
                os.fchown(held, entry.uid, entry.gid)
                os.fchmod(held, entry.mode)
                return None
            label = self.label_of(held) or self.default_label(entry.path)
            if entry.content is None:
                # a log someone else may write: copied as it is, holes kept, never read whole
                self.replace(entry, dir_fd, lambda fd: copy_fd(held, fd, current.st_size), label)
                return None
            old = read_text(entry.path, held)
        finally:
            os.close(held)
        backup_file = self.backup(entry.path, dir_fd, old, current) if backup and content_changed else None
        self.replace(entry, dir_fd, entry.content if content_changed else old, label)
        return backup_file

    @staticmethod
    def finish(entry, fd, label):
        """Give the new file on ``fd`` its owner, mode and label while nobody else can open it."""
        os.fchown(fd, entry.uid, entry.gid)
        os.fchmod(fd, entry.mode)
        if label:
            write_label(fd, label)

    def replace(self, entry, dir_fd, data, label):
        name = posixpath.basename(entry.path)
        try:
            replace_at(dir_fd, name, data, tmp_name(name), lambda fd: self.finish(entry, fd, label))
        except OSError as exc:
            raise HostFilesError(f'{entry.path}: cannot be written: {exc.strerror}') from None

    def create_empty(self, entry, dir_fd):
        """Create the file of an entry without content under its own name, O_EXCL: there is nothing to
        publish in one rename, and a temporary name would give the group of a log directory a name
        to swap (for a link) before the rename."""
        try:
            fd = os.open(posixpath.basename(entry.path), os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                         0o600, dir_fd=dir_fd)
        except FileExistsError:
            raise HostFilesError(f'{entry.path}: changed while it was checked; run again') from None
        try:
            self.finish(entry, fd, self.default_label(entry.path))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.fsync(dir_fd)

    def backup(self, path, dir_fd, data, current):
        """A root-owned copy of the old content next to it, named as AnsibleModule.backup_local names one."""
        name = f"{posixpath.basename(path)}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S')}~"
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=dir_fd)
        try:
            write_fd(fd, data)
            os.fchmod(fd, stat.S_IMODE(current.st_mode) & 0o755)
            os.fsync(fd)
        finally:
            os.close(fd)
        return posixpath.join(posixpath.dirname(path), name)

    def label_of(self, fd):
        try:
            return read_label(fd)
        except OSError:
            return None

    def default_label(self, path):
        """The SELinux context the policy gives ``path`` (None without SELinux)."""
        if not self.module.selinux_enabled():
            return None
        context = self.module.selinux_default_context(path)
        return ':'.join(context) if context and None not in context else None

    def label_directory(self, path, fd):
        label = self.default_label(path)
        if label:
            write_label(fd, label)
