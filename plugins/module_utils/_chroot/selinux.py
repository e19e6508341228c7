# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""SELinux labels of what the module writes in a jail, and the jail's file-context equivalence.

On an enforcing host a daemon started from a jail copy would get the jail path's default label
(``var_t`` under /srv) and be refused (203/EXEC) or run in the wrong domain. So every entry the
module writes gets the label the policy gives its host original, ``matchpathcon`` of the same
path without the jail prefix, set on a descriptor (the open file, the directory, or a symlink or
device node held with O_PATH and labelled through /proc/self/fd), never through a path the jail
could swap, and only on the very inode the run compared or made (never one with other hard
links); an entry whose label differs is relabelled on the next run. The equivalence
``<jail> = /`` (``semanage fcontext -a -e / <jail>``) makes restorecon and a full relabel give the
same labels; it is added only for a jail root the module created, when the policy is known to
lack it, recorded in the jail's state once semanage added it, and removed with the jail only
when this module added it.

The binding is the one AnsibleModule's SELinux helpers use (ansible.module_utils.compat.selinux,
which loads libselinux; the ``selinux`` Python bindings have the same calls). Where SELinux is
disabled or libselinux cannot be loaded nothing is done; ``note`` then says so once, and only
where it matters (the kernel runs SELinux, or the equivalence cannot be added).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import os
import posixpath
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import _run_argv
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_NOFOLLOW,
    O_PATH,
    PROC_FDS,
    SELINUX_XATTR,
    read_label,
    write_label,
)

try:
    from ansible.module_utils.compat import selinux as BINDING
except ImportError:  # libselinux is not installed
    BINDING = None

XATTR = SELINUX_XATTR
SEMANAGE_PATHS = ('/usr/sbin/semanage', '/sbin/semanage', '/usr/bin/semanage')
# Present when the kernel runs SELinux, whether or not libselinux can be loaded.
ENFORCE_FILE = '/sys/fs/selinux/enforce'
SELINUX_DIR = '/etc/selinux'
KIND_MODES = {'dir': stat.S_IFDIR, 'file': stat.S_IFREG, 'generated': stat.S_IFREG, 'symlink': stat.S_IFLNK,
              'char': stat.S_IFCHR, 'block': stat.S_IFBLK}


def entry_mode(entry):
    """The file type bits matchpathcon takes for a planned entry (file contexts differ per type)."""
    return KIND_MODES[entry['kind'] if entry['type'] == 'device' else entry['type']]


def held_label(held):
    """The label of what the O_PATH descriptor ``held`` holds (None if unlabelled), never opening it."""
    return read_label(f'{PROC_FDS}/{held}')


def set_held_label(held, context):
    """Label what ``held`` holds: through /proc/self/fd the kernel reaches that very inode (a
    symlink itself, never its target), so nothing the jail renames meanwhile is labelled instead."""
    write_label(f'{PROC_FDS}/{held}', context)


def is_planned(held, entry, seen=None):
    """What ``held`` holds is the planned entry: of its file type, for a device its numbers, for a
    symlink its target, with no other hard link (a label is the inode's, so it would change every
    link), and, given ``seen`` (an lstat), that very inode."""
    st = os.fstat(held)
    if stat.S_IFMT(st.st_mode) != entry_mode(entry):
        return False
    if seen is not None and (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
        return False
    if stat.S_ISDIR(st.st_mode):
        return True
    if st.st_nlink != 1:
        return False
    if entry['type'] == 'device':
        return st.st_rdev == os.makedev(entry['major'], entry['minor'])
    if entry['type'] == 'symlink':
        return os.readlink('', dir_fd=held) == entry['target']  # readlinkat(held, ""): the link itself
    return True


def host_labels(jail_path):
    """The ``JailLabels`` of a jail on this host."""
    return JailLabels(jail_path, BINDING, SEMANAGE_PATHS, ENFORCE_FILE, SELINUX_DIR)


class JailLabels:
    """The SELinux side of one jail; ``active`` only where SELinux is enabled and libselinux loads.

    ``binding`` offers ``is_selinux_enabled()``, ``matchpathcon(path, mode)`` and
    ``selinux_getpolicytype()`` (``[rc, value]``, OSError where libselinux fails).
    ``runner(argv)`` returns ``(rc, stdout, stderr)``; semanage is only ever run with an argument list.
    """

    def __init__(self, jail_path, binding, semanage_paths, enforce_file, selinux_dir, runner=None):
        self.jail_path = jail_path
        self.binding = binding
        self.runner = runner or _run_argv
        self.semanage = next((p for p in semanage_paths if os.access(p, os.X_OK)), None)
        self.selinux_dir = selinux_dir
        self.active = binding is not None and binding.is_selinux_enabled() == 1
        self.unlabelled = False  # the jail's file system takes no labels (ENOTSUP)
        self.note = None
        if binding is None and os.path.exists(enforce_file):
            self.note = ('SELinux is enabled but libselinux cannot be loaded: the jail keeps the default '
                         'labels of its path, and a daemon run from it may be refused')

    def _say(self, note):
        self.note = self.note or note  # one clear note per run, never a list of them

    # -- labels ---------------------------------------------------------------
    def wanted(self, path, entry):
        """The label the policy gives the host original of the jail path ``path``; None if none."""
        if not self.active:
            return None
        try:
            # both bindings raise OSError where libselinux fails (rc < 0): rc is 0 here
            _rc, context = self.binding.matchpathcon(path, entry_mode(entry))
        except OSError:
            return None
        return None if context in (None, '', '<<none>>') else context

    def label_fd(self, fd, path, entry, name=None):
        """Label the jail path ``path`` as wanted: on the open ``fd``, or, with ``name``, on that
        entry of the directory open on ``fd`` (a symlink or device node the module just made: held,
        never opened, and labelled only if it still is the planned node, else the write fails)."""
        context = self.wanted(path, entry)
        if context is None or self.unlabelled:
            return
        try:
            if name is None:
                write_label(fd, context)
                return
            held = os.open(name, O_PATH | O_NOFOLLOW | O_CLOEXEC, dir_fd=fd)
            try:
                if not is_planned(held, entry):
                    raise JailError(f'{self.jail_path}{path}: the temporary {name} was replaced while it was '
                                    'written; it is not labelled')
                set_held_label(held, context)
            finally:
                os.close(held)
        except OSError as exc:
            self._failed(path, context, exc)

    def relabel(self, jail, entries, stats, check_mode):
        """Jail paths of ``entries`` ({jail path: planned entry}) whose label differs from the wanted
        one; relabelled unless ``check_mode``.

        Each is held with O_PATH through the jail's directory descriptors (never followed, never
        opened) and labelled only if it is the very inode the comparison saw (``stats``: {jail path:
        lstat}) and still as planned; what is missing or was swapped is left to the next run's
        comparison. An inode with other hard links is never labelled through this one.
        """
        drifted = []
        if not self.active:
            return drifted
        for path in sorted(entries):
            context = self.wanted(path, entries[path])
            held = None if context is None or self.unlabelled else self._hold(jail, path)
            if held is None:
                continue
            try:
                if held_label(held) == context:
                    continue
                if not is_planned(held, entries[path], stats.get(path)):
                    if os.fstat(held).st_nlink > 1 and not stat.S_ISDIR(os.fstat(held).st_mode):
                        self._say(f'{self.jail_path}{path} has other hard links: its SELinux label is left as it '
                                  'is (a label set through it would change every link)')
                    continue
                if not check_mode:
                    set_held_label(held, context)
                drifted.append(path)
            except OSError as exc:
                self._failed(path, context, exc)
            finally:
                os.close(held)
        return drifted

    def outcome(self, rule, jail, entries, stats, check_mode, warnings):
        """The run's ``selinux`` result, after relabelling ``entries`` (those found as planned, see
        ``relabel``); ``rule`` is what ``rule_status`` gave. The run's note joins ``warnings``."""
        relabelled = self.relabel(jail, entries, stats, check_mode)
        warnings.extend([self.note] if self.note else [])
        return {'enabled': self.active, 'equivalence': 'added' if rule == 'missing' else rule, 'relabelled': relabelled}

    def _failed(self, path, context, exc):
        """A label the kernel refused fails the run; a file system that takes none is one note."""
        if exc.errno != errno.ENOTSUP:
            raise JailError(f'{self.jail_path}{path}: cannot set the SELinux label {context}: {exc.strerror}')
        self.unlabelled = True
        self._say(f'the file system of {self.jail_path} takes no SELinux labels; the jail keeps those its '
                  'mount gives (a context= mount option)')

    @staticmethod
    def _hold(jail, path):
        try:
            parent = jail.dir_fd('/' if path == '/' else posixpath.dirname(path))
            if parent is None:
                return None
            return os.open('.' if path == '/' else posixpath.basename(path), O_PATH | O_NOFOLLOW | O_CLOEXEC,
                           dir_fd=parent)
        except (OSError, JailError):  # gone, or a directory on the way swapped for a link
            return None

    # -- the equivalence rule ---------------------------------------------------
    def rule(self):
        """What the policy's local substitutions make the jail equivalent to (``/``), or None when
        they name none; a JailError where that cannot be told (never taken for "no rule", which
        would add a rule the admin may have, and claim it)."""
        if self.binding is None:
            return None
        try:
            _rc, policy = self.binding.selinux_getpolicytype()
        except OSError as exc:
            raise JailError(f'the SELinux policy type cannot be read ({exc.strerror})')
        if not policy or '/' in policy:  # a name, never a way out of selinux_dir
            raise JailError(f'the SELinux policy type {policy!r} names no directory of {self.selinux_dir}')
        subs = f'{self.selinux_dir}/{policy}/contexts/files/file_contexts.subs'
        try:
            with open(subs, 'rb') as handle:
                lines = handle.read().decode('utf-8', 'surrogateescape').splitlines()
        except OSError as exc:
            if exc.errno == errno.ENOENT:  # semanage writes it with the first local substitution
                return None
            raise JailError(f'{subs} cannot be read ({exc.strerror})')
        for line in lines:
            fields = line.split()
            if len(fields) == 2 and fields[0] == self.jail_path:
                return fields[1]
        return None

    def rule_status(self, made_root):
        """``present`` when the policy has ``<jail> = /``, ``missing`` when this module can add it,
        None where it cannot or must not (``note`` says why) or SELinux is not active.

        Only a jail root this module made (``made_root``: the state records it) gets the rule: for a
        directory that was there (/usr, /var, a home) restorecon would relabel the host's own files.
        """
        if not self.active:
            return None
        try:
            target = self.rule()
        except JailError as exc:
            self._say(f'{exc}: whether the SELinux file-context equivalence {self.jail_path} = / exists is unknown, so '
                      'none is added; a relabel (restorecon, autorelabel) would undo the labels set on the jail')
            return None
        if target == '/':
            return 'present'
        if target is not None:
            self._say(f'the SELinux file-context equivalence {self.jail_path} = {target} exists; it is left '
                      'alone, so a relabel (restorecon, autorelabel) would undo the labels set on the jail')
        elif not made_root:
            self._say(f'the jail {self.jail_path} existed before chroot_jail made it: no SELinux file-context '
                      'equivalence is added (restorecon would relabel what else lies there); files are labelled '
                      'one by one, and a relabel (restorecon, autorelabel) would undo it')
        elif self.semanage is None:
            self._say('semanage (policycoreutils-python-utils) is not installed: the jail is labelled, but without '
                      f'the equivalence {self.jail_path} = / a relabel (restorecon, autorelabel) would undo it')
        elif any(char.isspace() for char in self.jail_path):
            self._say(f'the SELinux file-context equivalence cannot name {self.jail_path!r} (white space); a '
                      'relabel (restorecon, autorelabel) would undo the labels set on the jail')
        else:
            return 'missing'
        return None

    def add_rule(self, rule):
        """``semanage fcontext -a -e / <jail>`` where ``rule`` (what ``rule_status()`` gave) is
        ``missing``; True once added (only then may the state claim the rule)."""
        if rule != 'missing':
            return False
        self._semanage('-a')
        return True

    def remove_rule(self, check_mode):
        """``removed`` when ``<jail> = /`` is in the policy and goes (or would); the caller only asks
        for a rule the state says this module added."""
        try:
            if self.rule() != '/':
                return None
        except JailError as exc:
            self._say(f'{exc}: the SELinux file-context equivalence {self.jail_path} = / this module added may '
                      f'stay; remove it with semanage fcontext -d -e / {self.jail_path}')
            return None
        if self.semanage is None:
            self._say(f'semanage is no longer installed: the SELinux file-context equivalence {self.jail_path} = / '
                      f'this module added stays; remove it with semanage fcontext -d -e / {self.jail_path}')
            return None
        if not check_mode:
            self._semanage('-d')
        return 'removed'

    def removal(self, check_mode, warnings):
        """The ``selinux`` result of state=absent for a jail whose state says this module added the
        rule (``remove_rule``); the run's note joins ``warnings``."""
        equivalence = self.remove_rule(check_mode)
        warnings.extend([self.note] if self.note else [])
        return {'enabled': self.active, 'equivalence': equivalence, 'relabelled': []}

    def _semanage(self, action):
        argv = [self.semanage, 'fcontext', action, '-e', '/', self.jail_path]
        rc, _out, err = self.runner(argv)
        if rc != 0:
            raise JailError(f'{self.jail_path}: {" ".join(argv)} failed (exit {rc}): {err.strip()}')
