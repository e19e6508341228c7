# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""What the jail must hold, computed from the host and the spec; nothing is written here.

``Planner.run()`` turns a ``JailSpec`` into a ``Plan``: jail path -> entry (dir, file,
symlink, device or generated content), with every symlink met on the way recreated, each
executable's interpreter and libraries, the profiles, the listed directories and devices,
and passwd/group for the listed accounts. Dangerous content is refused here unless the spec
accepts it: sensitive host files (password hashes, SSH host keys, /root), special files
(FIFOs, sockets, device nodes) in ``files``, and block devices.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import posixpath
import re
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host, UnsafeSource, first_user_writable, seen
from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import (
    LD_SO_CACHE,
    LIB_DIRS,
    LoaderDeps,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    PROFILES,
    JailError,
    abs_path,
)
from ansible_collections.serversec.confine.plugins.module_utils._elf import (
    ElfError,
    read_exec_info_fd,
)
from ansible_collections.serversec.confine.plugins.module_utils._paths import naming

PATH_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
# Directories the loader searches without /etc/ld.so.cache (glibc's defaults plus
# Debian's multiarch ones); a library elsewhere needs the cache in the jail.
STANDARD_LIB_DIR_RE = re.compile(r'^/(usr/)?lib(32|64|x32)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?\Z')
# Host files whose copy would hand a jailed process the host's secrets.
PASSWORD_FILES = ('/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-', '/etc/security/opasswd')
SSH_HOST_KEY_RE = re.compile(r'/etc/ssh/ssh_host_[^/]*key')


def sensitive_reason(path):
    """Why copying the host path ``path`` discloses a secret, or None."""
    if path in PASSWORD_FILES:
        return 'holds password hashes'
    if SSH_HOST_KEY_RE.fullmatch(path):
        return 'is an SSH host private key'
    if path == '/root' or path.startswith('/root/'):
        return "lies in root's home directory /root"
    return None


# Character devices that reach the host's memory and I/O ports (mem, kmem, port): whoever can
# open one inside the jail is outside it. No option creates them.
HOST_MEMORY_DEVICES = {(1, 1): 'mem', (1, 2): 'kmem', (1, 4): 'port'}


def device_entry(st, why, path):
    """A device node in the jail with the host node's numbers, root-owned."""
    if stat.S_ISCHR(st.st_mode) and (os.major(st.st_rdev), os.minor(st.st_rdev)) in HOST_MEMORY_DEVICES:
        name = HOST_MEMORY_DEVICES[(os.major(st.st_rdev), os.minor(st.st_rdev))]
        raise JailError(f'{naming(why, path)} is /dev/{name}, raw access to the host\'s memory or I/O ports; '
                        'it is never created in a jail')
    return {'type': 'device', 'kind': 'char' if stat.S_ISCHR(st.st_mode) else 'block',
            'major': os.major(st.st_rdev), 'minor': os.minor(st.st_rdev),
            'uid': 0, 'gid': 0, 'mode': stat.S_IMODE(st.st_mode) & 0o777}


def _implicit_dir():
    return {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': 0o755, 'implicit': True}


class Plan:
    """Desired jail content: jail path -> entry dict."""

    def __init__(self):
        self.entries = {'/': _implicit_dir()}
        self.warnings = []

    def add(self, path, entry, why):
        old = self.entries.get(path)
        if old is None:
            self.entries[path] = entry
            return
        if old['type'] == 'dir' and entry['type'] == 'dir':
            if old.get('implicit') and not entry.get('implicit'):
                self.entries[path] = entry
            elif not old.get('implicit') and not entry.get('implicit') and old != entry:
                raise JailError(f'directory {path} is declared twice with different owner/mode')
            return
        if old['type'] != entry['type'] or old.get('target') != entry.get('target') \
                or old.get('source') != entry.get('source'):
            raise JailError(f"{path}: {why} needs it to be a {entry['type']}, but it is already planned as a {old['type']}")

    def add_parents(self, path):
        # Every planned directory has its parents planned as directories (a planned directory
        # never becomes anything else), so the climb stops at the first one already planned.
        parent = path.rpartition('/')[0] or '/'
        chain = []
        while parent != '/':
            existing = self.entries.get(parent)
            if existing is not None:
                if existing['type'] != 'dir':
                    raise JailError(f"{parent} must be a directory inside the jail, but it is planned as a {existing['type']}")
                break
            chain.append(parent)
            parent = parent.rpartition('/')[0] or '/'
        for directory in chain:
            self.entries[directory] = _implicit_dir()


class Planner:
    """Compute the ``Plan`` of a ``JailSpec`` from the host; reads only."""

    def __init__(self, spec, host=None, deps=None, read_info=None):
        self.spec = spec
        self.host = host or Host()
        self.deps = deps or LoaderDeps(self.host)
        self.read_info = read_info or read_exec_info_fd
        self.plan = Plan()
        self._done_exec = set()
        self._done_real = set()
        self._done_lib = set()
        self._secrets = None

    def run(self):
        spec = self.spec
        for binary in spec.binaries:
            self.add_executable(binary, f'binary {binary}')
        for profile in spec.profiles:
            self.add_profile(profile)
        for path in spec.files:
            self.add_file_tree(path, f'file {path}')
        for directory in spec.directories:
            self.add_directory(directory)
        for device in spec.devices:
            self.add_device(device)
        self.add_accounts()
        self.check_writable_directories()
        return self.plan

    def check_writable_directories(self):
        """A directory the jailed user may write must not hold what the jail runs."""
        for directory in self.spec.directories:
            entry = self.plan.entries[directory['path']]
            if entry['uid'] == 0 and not entry['mode'] & 0o022:
                continue
            prefix = directory['path'] + '/'
            inside = sorted(p for p in self.plan.entries if p.startswith(prefix))
            if inside:
                raise JailError(
                    f"directory {directory['path']} would be writable by others than root, but the jail's "
                    f"own files live in it ({', '.join(inside[:3])}{', ...' if len(inside) > 3 else ''}); "
                    'give the service a directory of its own')

    # -- dangerous content ----------------------------------------------
    def check_sensitive(self, path, why, st=None):
        """Refuse to copy a host secret unless ``allow_sensitive_files`` says so.

        ``st``, the object about to be copied, is also compared with the secrets themselves:
        a hard link or a bind mount of one is the same secret under another name.
        """
        if self.spec.allow_sensitive_files:
            return
        reason = sensitive_reason(path)
        if reason is None and st is not None:
            same = self._secret_ids().get((st.st_dev, st.st_ino))
            if same is not None:
                reason = f'is {same} under another name (a hard link or a bind mount)'
        if reason:
            raise JailError(f'{naming(why, path)} {reason}; set allow_sensitive_files to copy it knowingly')

    def _secret_ids(self):
        """(device, inode) -> path of each secret present on the host."""
        if self._secrets is None:
            self._secrets = {}
            for path in PASSWORD_FILES + tuple(self.host.glob('/etc/ssh/ssh_host_*key')) + ('/root',):
                st = self.host.lstat(path)
                if st is not None and not stat.S_ISLNK(st.st_mode):
                    self._secrets[(st.st_dev, st.st_ino)] = path
        return self._secrets

    # -- copies --------------------------------------------------------
    # Every source is opened once through Host.open_source: its owner, mode, identity and ELF
    # headers come from that descriptor, and the copy checks it is still the same file.
    def open_source(self, path, why):
        return self.host.open_source(path, why, self.spec.allow_user_writable_sources)

    def add_chain(self, src, why):
        """Recreate every symlink met on the way to the open ``src`` and return its real host path.

        Every link met and the real path are judged as secrets: a link must not launder one.
        """
        for step in src.steps:
            if step[0] != 'dir':
                self.check_sensitive(step[1], why)
        for step in src.steps:
            if step[0] == 'symlink':
                self.plan.add_parents(step[1])
                self.plan.add(step[1], {'type': 'symlink', 'target': step[2]}, why)
        self.plan.add_parents(src.real)
        return src.real

    def add_regular(self, real, st, why):
        self.check_sensitive(real, why, st)
        mode = stat.S_IMODE(st.st_mode)
        if mode & (stat.S_ISUID | stat.S_ISGID) and not self.spec.allow_setuid:
            self.plan.warnings.append(f'{real}: setuid/setgid bits stripped in the jail copy (set allow_setuid to keep them)')
            mode &= ~(stat.S_ISUID | stat.S_ISGID)
        entry = {'type': 'file', 'source': real, 'uid': st.st_uid, 'gid': st.st_gid, 'mode': mode}
        entry.update(seen(st))
        self.plan.add(real, entry, why)

    def add_executable(self, path, why):
        if path in self._done_exec:
            return
        self._done_exec.add(path)
        with self.open_source(path, why) as src:
            real = self.add_chain(src, why)
            if not stat.S_ISREG(src.st.st_mode):
                raise JailError(f'{why}: {real} is not a regular file')
            self.add_regular(real, src.st, why)
            if real in self._done_real:
                return
            self._done_real.add(real)
            try:
                info = self.read_info(src.fd)
            except (ElfError, OSError) as exc:
                raise JailError(f'{why}: cannot inspect {real}: {exc}')
            st = src.st
            # only root's own file, in directories only root can change, lends its loader answer
            # to other programs: a user's file could be swapped while the loader reads it
            root_only = st.st_uid == 0 and not st.st_mode & 0o022 and first_user_writable(src.dirs) is None
        if info.kind == 'script':
            interp = info.interp
            if not interp.startswith('/'):
                raise JailError(f'{why}: #! interpreter {interp!r} of {real} is not an absolute path')
            self.add_executable(interp, f'{why} (#! interpreter)')
            if posixpath.basename(interp) == 'env' and info.interp_args and not info.interp_args[0].startswith('-'):
                self.add_executable(self.find_in_path(info.interp_args[0], why), f'{why} (#! via env)')
            return
        if info.static:
            return
        for lib in self.deps.list(real, info, st, shareable=root_only):
            self.add_library(lib, f'{why} (library)')
            if not STANDARD_LIB_DIR_RE.match(posixpath.dirname(lib)) and self.host.lstat(LD_SO_CACHE):
                # found through ld.so.conf: the jail's loader needs the cache to find it too
                self.add_file_tree(LD_SO_CACHE, f'{why} (library {lib} outside the default directories)')
        if info.interp:
            self.add_library(info.interp, f'{why} (ELF interpreter)')

    def add_library(self, path, why):
        # most binaries link the same few libraries: each is walked and judged once per run
        if path in self._done_lib:
            return
        self._done_lib.add(path)
        with self.open_source(path, why) as src:
            real = self.add_chain(src, why)
            if not stat.S_ISREG(src.st.st_mode):
                raise JailError(f'{why}: {real} is not a regular file')
            self.add_regular(real, src.st, why)

    def find_in_path(self, name, why):
        if '/' in name:
            return abs_path(name, why)
        for directory in PATH_DIRS:
            candidate = directory + '/' + name
            if self.host.lstat(candidate) is not None:
                return candidate
        raise JailError(f"{why}: #! interpreter {name!r} not found in {':'.join(PATH_DIRS)}")

    def add_file_tree(self, path, why):
        with self.open_source(path, why) as src:
            real = self.add_chain(src, why)
            if not stat.S_ISDIR(src.st.st_mode):
                self.add_node(real, src.st, why)
                return
            self.add_copied_dir(real, src.st, why)
            for hpath, st, target in self.host.walk_tree(real, src.fd, why, self.spec.allow_user_writable_sources):
                if stat.S_ISDIR(st.st_mode):
                    self.add_copied_dir(hpath, st, why)
                else:
                    self.add_node(hpath, st, why, target)

    def add_copied_dir(self, real, st, why):
        self.check_sensitive(real, why, st)
        # copied directories are root-owned and never group/world writable
        self.plan.add(real, {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': stat.S_IMODE(st.st_mode) & 0o755 | 0o700}, why)

    def add_node(self, real, st, why, target=None):
        """A non-directory of a copied tree; ``target`` is a symlink's, read where it was found."""
        self.plan.add_parents(real)
        if stat.S_ISREG(st.st_mode):
            self.add_regular(real, st, why)
        elif stat.S_ISLNK(st.st_mode):
            self.check_sensitive(real, why)
            self.plan.add(real, {'type': 'symlink', 'target': target}, why)
        elif stat.S_ISBLK(st.st_mode):
            missing = [option for option in ('allow_special_files', 'allow_block_devices')
                       if not getattr(self.spec, option)]
            if missing:
                raise JailError(f"{naming(why, real)} is a block device (a disk); set {' and '.join(missing)} "
                                'to copy it knowingly')
            self.plan.add(real, device_entry(st, why, real), why)
        elif stat.S_ISCHR(st.st_mode):
            if not self.spec.allow_special_files:
                raise JailError(f'{naming(why, real)} is a device node; list it under devices, '
                                'or set allow_special_files to copy it knowingly')
            self.plan.add(real, device_entry(st, why, real), why)
        elif not self.spec.allow_special_files:
            # a copy would not reach the program that serves it on the host: never copied
            kind = 'a FIFO' if stat.S_ISFIFO(st.st_mode) else 'a socket'
            raise JailError(f'{naming(why, real)} is {kind}, which cannot be copied; '
                            'set allow_special_files to leave it out knowingly')

    def add_profile(self, profile):
        why = f'profile {profile}'
        definition = PROFILES[profile]
        seen_real = set()
        for soname in definition['libs']:
            for libdir in LIB_DIRS:
                for candidate in self.host.glob(libdir + '/' + soname):
                    _steps, real = self.host.resolve(candidate, why)
                    if real in seen_real:
                        continue
                    seen_real.add(real)
                    self.add_executable(candidate, f'{why} ({soname})')
        for path in definition['files']:
            if self.host.lstat(path) is None:
                continue
            try:
                self.add_file_tree(path, why)
            except UnsafeSource:
                raise
            except JailError:
                # dangling links on this host layout: the profile entry is optional
                continue

    # -- directories, devices, accounts ---------------------------------
    def add_directory(self, item):
        why = f"directory {item['path']}"
        self.plan.add_parents(item['path'])
        self.plan.add(item['path'], {
            'type': 'dir', 'uid': self.host.uid(item['owner'], why), 'gid': self.host.gid(item['group'], why),
            'mode': item['mode']}, why)

    def add_device(self, name):
        why = f'device {name}'
        host_path = '/dev/' + name
        st = self.host.lstat(host_path)
        if st is None:
            raise JailError(f'{why}: {host_path} does not exist on the host')
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise JailError(f'{why}: {host_path} is not a device node on the host')
        if stat.S_ISBLK(st.st_mode) and not self.spec.allow_block_devices:
            raise JailError(f'{why}: {host_path} is a block device (a disk); '
                            'set allow_block_devices to create it knowingly')
        self.plan.add_parents(host_path)
        self.plan.add(host_path, device_entry(st, why, host_path), why)

    def add_accounts(self):
        spec = self.spec
        if not spec.users and not spec.groups:
            return
        users = []
        for name in ['root'] + [u for u in spec.users if u != 'root']:
            try:
                users.append(self.host.lookup_user(name))
            except KeyError:
                raise JailError(f'user {name!r} does not exist on the host')
        groups = {}
        order = []
        wanted = ['root'] + [g for g in spec.groups if g != 'root']
        for name in wanted:
            try:
                entry = self.host.lookup_group(name)
            except KeyError:
                raise JailError(f'group {name!r} does not exist on the host')
            if entry.gr_gid not in groups:
                groups[entry.gr_gid] = entry
                order.append(entry.gr_gid)
        for user in users:
            if user.pw_gid not in groups:
                try:
                    entry = self.host.lookup_gid(user.pw_gid)
                except KeyError:
                    continue
                groups[entry.gr_gid] = entry
                order.append(entry.gr_gid)
        user_names = {u.pw_name for u in users}
        passwd = ''.join(f'{u.pw_name}:x:{u.pw_uid}:{u.pw_gid}:{u.pw_gecos}:{u.pw_dir}:{u.pw_shell}\n'
                         for u in users)
        group = ''.join(f"{groups[g].gr_name}:x:{g}:{','.join(m for m in groups[g].gr_mem if m in user_names)}\n"
                        for g in order)
        for path, content in (('/etc/passwd', passwd), ('/etc/group', group)):
            self.plan.add_parents(path)
            self.plan.add(path, {'type': 'generated', 'content': content, 'uid': 0, 'gid': 0, 'mode': 0o644},
                          'users/groups')
