# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Plan, populate, check and prune chroot jails.

Flow: ``JailSpec`` (validated input) -> ``Planner.plan()`` (everything the
jail must hold, computed from the host without writing) -> ``Jail.compare()``
(what differs from the jail on disk) -> ``Jail.apply()`` (writes, through
directory file descriptors opened with O_NOFOLLOW, so nothing is ever written
through a symlink) -> manifest ``/.serversec-jail.json`` inside the jail
(mode 0600, root) listing what the module created, with checksums.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import glob
import grp
import hashlib
import json
import os
import posixpath
import pwd
import re
import stat
import subprocess

from ansible_collections.serversec.confine.plugins.module_utils._elf import (
    ElfError,
    read_exec_info,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    COPY_CHUNK,
    O_CLOEXEC,
    O_DIRECTORY,
    O_NOFOLLOW,
    sha256_fd,
)

MANIFEST_NAME = '.serversec-jail.json'
MANIFEST_VERSION = 1
MAX_SYMLINK_HOPS = 40

# The dynamic loaders glibc installs at their ABI-mandated paths. Only these
# are ever run (with --list, which maps but never runs the inspected file).
TRUSTED_LOADERS = {
    ('x86_64', 64): ('/lib64/ld-linux-x86-64.so.2', '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'),
    ('i386', 32): ('/lib/ld-linux.so.2',),
    ('aarch64', 64): ('/lib/ld-linux-aarch64.so.1', '/lib64/ld-linux-aarch64.so.1'),
    ('arm', 32): ('/lib/ld-linux-armhf.so.3', '/lib/ld-linux.so.3'),
    ('ppc64', 64): ('/lib64/ld64.so.2', '/lib64/ld64.so.1'),
    ('s390', 64): ('/lib/ld64.so.1',),
    ('riscv', 64): ('/lib/ld-linux-riscv64-lp64d.so.1',),
}

LIB_DIRS = ('/lib/*-linux-gnu*', '/usr/lib/*-linux-gnu*', '/lib64', '/usr/lib64', '/lib', '/usr/lib')
PATH_DIRS = ('/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin')
TERMINFO_DIRS = ('/etc/terminfo', '/lib/terminfo', '/usr/share/terminfo')
TERMINFO_NAMES = ('ansi', 'dumb', 'linux', 'screen', 'screen-256color', 'tmux', 'tmux-256color',
                  'vt100', 'vt102', 'vt220', 'xterm', 'xterm-256color', 'xterm-color')

# What ldd cannot see: libraries loaded with dlopen() and their data files.
# "libs" get their dependency closure; "files" are copied as they are.
# Entries missing on a host are skipped (layouts differ between distros).
PROFILES = {
    'nss': {
        'libs': ('libnss_files.so.2', 'libnss_compat.so.2'),
        'files': ('/etc/nsswitch.conf',),
    },
    'dns': {
        'libs': ('libnss_files.so.2', 'libnss_dns.so.2', 'libresolv.so.2'),
        'files': ('/etc/nsswitch.conf', '/etc/resolv.conf', '/etc/hosts', '/etc/host.conf',
                  '/etc/gai.conf', '/etc/services', '/etc/protocols'),
    },
    'terminfo': {
        'libs': (),
        'files': tuple(f'{d}/{n[0]}/{n}' for d in TERMINFO_DIRS for n in TERMINFO_NAMES),
    },
    'timezone': {
        'libs': (),
        'files': ('/etc/localtime', '/etc/timezone', '/usr/share/zoneinfo/UTC',
                  '/usr/share/zoneinfo/Etc/UTC'),
    },
    'locale': {
        'libs': (),
        'files': ('/usr/lib/locale/C.utf8', '/usr/lib/locale/C.UTF-8', '/usr/lib/locale/locale-archive',
                  '/etc/default/locale', '/etc/locale.conf', '/usr/share/locale/locale.alias'),
    },
}

# Directories the loader searches without /etc/ld.so.cache (glibc's defaults plus
# Debian's multiarch ones); a library elsewhere needs the cache in the jail.
STANDARD_LIB_DIR_RE = re.compile(r'^/(usr/)?lib(32|64|x32)?(/[a-z0-9_]+-linux-gnu[a-z0-9_]*)?$')
LD_SO_CACHE = '/etc/ld.so.cache'
DEVICE_NAME_RE = re.compile(r'^[a-z][a-z0-9]*$')
LDD_ARROW_RE = re.compile(r'^(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?$')
LDD_PATH_RE = re.compile(r'^(/\S*)(?: \(0x[0-9a-f]+\))?$')
LDD_VDSO_RE = re.compile(r'^(linux-vdso|linux-gate|linux-vdso32|linux-vdso64)\.so\.\d+(?: \(0x[0-9a-f]+\))?$')
LOADER_ERROR_RE = re.compile(r'error while loading shared libraries: (.+?): cannot open shared object file')


class JailError(Exception):
    """Bad input or an unsafe situation; the message names the path."""


# --------------------------------------------------------------------------
# input validation

def check_abs_path(path, what):
    """Return ``path`` if it is absolute and normal, else raise naming it."""
    if not isinstance(path, str) or not path:
        raise JailError(f'{what}: empty path')
    if not path.startswith('/'):
        raise JailError(f'{what} {path!r} is not an absolute path')
    if '\0' in path:
        raise JailError(f'{what} {path!r} contains a NUL byte')
    parts = path.split('/')
    if '..' in parts:
        raise JailError(f"{what} {path!r} contains a '..' component")
    if '.' in parts[1:]:
        raise JailError(f"{what} {path!r} contains a '.' component")
    normal = posixpath.normpath(path)
    if normal.startswith('//'):
        normal = normal[1:]
    return normal


def parse_mode(mode, what):
    if isinstance(mode, int):
        value = mode
    else:
        text = str(mode)
        if not re.match(r'^0?[0-7]{3,4}$', text):
            raise JailError(f'{what}: mode {mode!r} is not an octal mode like "0750"')
        value = int(text, 8)
    if value & ~0o7777:
        raise JailError(f'{what}: mode {mode!r} is out of range')
    return value


# --------------------------------------------------------------------------
# ldd output

def parse_ldd(text, subject):
    """Return the library paths in ldd / ``ld.so --list`` output, in order.

    ``linux-vdso`` is skipped; statically linked files give ``[]``; a missing
    library raises JailError naming it and ``subject``.
    """
    paths = []
    missing = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line in ('statically linked', 'not a dynamic executable'):
            continue
        if LDD_VDSO_RE.match(line):
            continue
        err = LOADER_ERROR_RE.search(line)
        if err:
            missing.append(err.group(1))
            continue
        arrow = LDD_ARROW_RE.match(line)
        if arrow:
            name, target = arrow.group(1), arrow.group(2).strip()
            if target == 'not found':
                missing.append(name)
            elif target.startswith('/'):
                paths.append(target)
            elif target == '' and name.startswith('/'):
                paths.append(name)
            else:
                # "libfoo.so => (0x...)" was the vdso on old glibc.
                continue
            continue
        plain = LDD_PATH_RE.match(line)
        if plain:
            paths.append(plain.group(1))
            continue
        raise JailError(f'{subject}: cannot understand loader output line {line!r}')
    if missing:
        raise JailError('{}: shared librar{} not found on the host: {}'.format(
            subject, 'y' if len(missing) == 1 else 'ies', ', '.join(missing)))
    seen = set()
    ordered = []
    for path in paths:
        if path not in seen:
            seen.add(path)
            ordered.append(path)
    return ordered


# --------------------------------------------------------------------------
# the host filesystem, optionally rooted elsewhere for tests

class Host:
    """Read-only view of the host. ``root`` lets tests use a fake tree."""

    def __init__(self, root='/', lookup_user=None, lookup_group=None, lookup_uid=None, lookup_gid=None):
        self.root = root.rstrip('/') or '/'
        self.lookup_user = lookup_user or pwd.getpwnam
        self.lookup_group = lookup_group or grp.getgrnam
        self.lookup_uid = lookup_uid or pwd.getpwuid
        self.lookup_gid = lookup_gid or grp.getgrgid

    def fs(self, path):
        return path if self.root == '/' else self.root + path

    def lstat(self, path):
        try:
            return os.lstat(self.fs(path))
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                return None
            raise

    def readlink(self, path):
        return os.readlink(self.fs(path))

    def glob(self, pattern):
        found = sorted(glob.glob(self.fs(pattern)))
        if self.root == '/':
            return found
        return [p[len(self.root):] for p in found]

    def resolve(self, path, what):
        """Walk ``path`` like the kernel would, without following anything blindly.

        Returns ``(steps, real)``: steps are ``('dir', p)`` for real directories
        passed, ``('symlink', p, target)`` for each link met and
        ``('file', p)`` for the last component (whatever non-link it is).
        """
        steps = []
        todo = [c for c in path.split('/') if c]
        current = '/'
        hops = 0
        while todo:
            name = todo.pop(0)
            if name == '.':
                continue
            if name == '..':
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            st = self.lstat(candidate)
            if st is None:
                detail = '' if candidate == path else f' ({candidate} is missing)'
                raise JailError(f'{_naming(what, path)} does not exist on the host{detail}')
            if stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise JailError(f'{_naming(what, path)}: too many levels of symbolic links')
                target = self.readlink(candidate)
                steps.append(('symlink', candidate, target))
                if target.startswith('/'):
                    current = '/'
                todo = [c for c in target.split('/') if c] + todo
                continue
            if todo:
                if not stat.S_ISDIR(st.st_mode):
                    raise JailError(f'{_naming(what, path)}: {candidate} is not a directory')
                steps.append(('dir', candidate))
            else:
                steps.append(('file', candidate))
            current = candidate
        if not steps or steps[-1][0] != 'file':
            raise JailError(f'{_naming(what, path)} names the root directory')
        return steps, steps[-1][1]


def _naming(what, path):
    """'binary /bin/x' stays as it is; 'profile dns' becomes 'profile dns: /etc/hosts'."""
    return what if what == path or what.endswith(' ' + path) else f'{what}: {path}'


def _stat_sig(st):
    return [st.st_size, st.st_mtime_ns, st.st_ino]


class LoaderDeps:
    """List a file's shared libraries with the host's own trusted loader.

    The loader (never the inspected file, never a loader the file names) is
    run with an argument list and a clean environment. Results are cached by
    the file's and each library's size/mtime/inode plus /etc/ld.so.cache, so
    a re-run with nothing changed on the host runs nothing.
    """

    def __init__(self, host, cache=None, runner=None):
        self.host = host
        self.cache = dict(cache or {})
        self.used = {}
        self.runner = runner or _run_argv

    def trusted_loader(self, info, subject):
        candidates = TRUSTED_LOADERS.get((info.machine, info.elf_class))
        if not candidates:
            raise JailError(f'{subject}: no trusted dynamic loader known for {info.machine} {info.elf_class}-bit')
        if info.interp is not None and info.interp not in candidates:
            raise JailError('{}: its ELF interpreter {} is not a trusted system loader ({})'.format(
                subject, info.interp, ', '.join(candidates)))
        for candidate in ((info.interp,) if info.interp else candidates):
            try:
                _steps, real = self.host.resolve(candidate, 'loader')
            except JailError:
                continue
            st = self.host.lstat(real)
            if st.st_uid != 0 or st.st_mode & 0o022 or not stat.S_ISREG(st.st_mode):
                raise JailError(f'{subject}: loader {real} is not a root-owned, non-writable file')
            return real
        raise JailError('{}: none of the loaders {} exists on the host'.format(subject, ', '.join(candidates)))

    def _ldcache_sig(self):
        st = self.host.lstat(LD_SO_CACHE)
        return _stat_sig(st) if st else None

    def _cached(self, path, sig):
        entry = self.cache.get(path)
        if not entry or entry.get('sig') != sig or entry.get('ldcache') != self._ldcache_sig():
            return None
        for dep, dep_sig in zip(entry['deps'], entry['dep_sigs']):
            try:
                st = os.stat(self.host.fs(dep))
            except OSError:
                return None
            if _stat_sig(st) != dep_sig:
                return None
        return entry

    def list(self, path, info):
        """``path`` is the host path of a dynamic ELF file (symlinks resolved)."""
        sig = _stat_sig(self.host.lstat(path))
        entry = self._cached(path, sig)
        if entry is None:
            loader = self.trusted_loader(info, path)
            rc, out, err = self.runner([self.host.fs(loader), '--list', self.host.fs(path)])
            deps = parse_ldd(out + '\n' + err, path)
            if rc != 0 and not deps:
                detail = (err or out).strip()
                raise JailError(f'{path}: the host loader {loader} could not list its libraries (rc={rc}): {detail}')
            if self.host.root != '/':
                deps = [d[len(self.host.root):] if d.startswith(self.host.root + '/') else d for d in deps]
            dep_sigs = []
            for dep in deps:
                try:
                    dep_sigs.append(_stat_sig(os.stat(self.host.fs(dep))))
                except OSError:
                    raise JailError(f'{path}: library {dep} reported by the loader does not exist')
            entry = {'sig': sig, 'ldcache': self._ldcache_sig(), 'deps': deps, 'dep_sigs': dep_sigs}
        self.used[path] = entry
        return list(entry['deps'])


def _run_argv(argv):
    env = {'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'surrogateescape'), err.decode('utf-8', 'surrogateescape')


# --------------------------------------------------------------------------
# planning

class JailSpec:
    """Validated module options."""

    def __init__(self, path, binaries=None, files=None, directories=None, devices=None,
                 users=None, groups=None, profiles=None, allow_setuid=False, prune=True):
        self.path = check_abs_path(path, 'jail path')
        if self.path == '/':
            raise JailError("refusing to use '/' as a jail")
        self.binaries = [check_abs_path(b, 'binary') for b in (binaries or [])]
        self.files = [check_abs_path(f, 'file') for f in (files or [])]
        self.directories = []
        for item in directories or []:
            if isinstance(item, str):
                item = {'path': item}
            dpath = check_abs_path(item.get('path'), 'directory')
            if dpath == '/':
                raise JailError("directory '/' is the jail root; it stays root-owned")
            self.directories.append({
                'path': dpath,
                'owner': item.get('owner') or 'root',
                'group': item.get('group') or 'root',
                'mode': parse_mode(item.get('mode') or '0755', f'directory {dpath}'),
            })
        self.devices = []
        for name in devices or []:
            if not isinstance(name, str) or not DEVICE_NAME_RE.match(name):
                raise JailError(f'device {name!r} is not a plain device name like "null" or "urandom"')
            self.devices.append(name)
        self.users = list(users or [])
        self.groups = list(groups or [])
        self.profiles = list(profiles or [])
        for profile in self.profiles:
            if profile not in PROFILES:
                raise JailError('unknown profile {!r} (known: {})'.format(profile, ', '.join(sorted(PROFILES))))
        self.allow_setuid = bool(allow_setuid)
        self.prune = bool(prune)


class Plan:
    """Desired jail content: jail path -> entry dict."""

    def __init__(self):
        self.entries = {'/': {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': 0o755, 'implicit': True}}
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
            raise JailError('{}: {} needs it to be a {}, but it is already planned as a {}'.format(
                path, why, entry['type'], old['type']))

    def add_parents(self, path):
        parent = posixpath.dirname(path)
        chain = []
        while parent != '/':
            chain.append(parent)
            parent = posixpath.dirname(parent)
        for directory in reversed(chain):
            existing = self.entries.get(directory)
            if existing is not None and existing['type'] != 'dir':
                if existing['type'] == 'symlink':
                    raise JailError(f'{directory} must be a directory inside the jail, but it is planned as a symlink')
                raise JailError('{} must be a directory inside the jail, but it is planned as a {}'.format(
                    directory, existing['type']))
            if existing is None:
                self.entries[directory] = {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': 0o755, 'implicit': True}


class Planner:
    def __init__(self, spec, host=None, deps=None, read_info=None):
        self.spec = spec
        self.host = host or Host()
        self.deps = deps or LoaderDeps(self.host)
        self.read_info = read_info or read_exec_info
        self.plan = Plan()
        self._done_exec = set()
        self._done_real = set()

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

    # -- copies --------------------------------------------------------
    def add_chain(self, path, why):
        """Recreate every symlink met on ``path`` and return the real host path."""
        steps, real = self.host.resolve(path, why)
        for step in steps:
            if step[0] == 'symlink':
                self.plan.add_parents(step[1])
                self.plan.add(step[1], {'type': 'symlink', 'target': step[2]}, why)
        self.plan.add_parents(real)
        return real

    def add_regular(self, real, st, why):
        mode = stat.S_IMODE(st.st_mode)
        if mode & (stat.S_ISUID | stat.S_ISGID) and not self.spec.allow_setuid:
            self.plan.warnings.append(f'{real}: setuid/setgid bits stripped in the jail copy (set allow_setuid to keep them)')
            mode &= ~(stat.S_ISUID | stat.S_ISGID)
        self.plan.add(real, {'type': 'file', 'source': real, 'uid': st.st_uid, 'gid': st.st_gid, 'mode': mode}, why)

    def add_executable(self, path, why):
        if path in self._done_exec:
            return
        self._done_exec.add(path)
        real = self.add_chain(path, why)
        st = self.host.lstat(real)
        if not stat.S_ISREG(st.st_mode):
            raise JailError(f'{why}: {real} is not a regular file')
        self.add_regular(real, st, why)
        if real in self._done_real:
            return
        self._done_real.add(real)
        try:
            info = self.read_info(self.host.fs(real))
        except (ElfError, OSError) as exc:
            raise JailError(f'{why}: cannot inspect {real}: {exc}')
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
        for lib in self.deps.list(real, info):
            self.add_library(lib, f'{why} (library)')
            if not STANDARD_LIB_DIR_RE.match(posixpath.dirname(lib)) and self.host.lstat(LD_SO_CACHE):
                # found through ld.so.conf: the jail's loader needs the cache to find it too
                self.add_file_tree(LD_SO_CACHE, f'{why} (library {lib} outside the default directories)')
        if info.interp:
            self.add_library(info.interp, f'{why} (ELF interpreter)')

    def add_library(self, path, why):
        real = self.add_chain(path, why)
        st = self.host.lstat(real)
        if not stat.S_ISREG(st.st_mode):
            raise JailError(f'{why}: {real} is not a regular file')
        self.add_regular(real, st, why)

    def find_in_path(self, name, why):
        if '/' in name:
            return check_abs_path(name, why)
        for directory in PATH_DIRS:
            candidate = directory + '/' + name
            if self.host.lstat(candidate) is not None:
                return candidate
        raise JailError('{}: #! interpreter {!r} not found in {}'.format(why, name, ':'.join(PATH_DIRS)))

    def add_file_tree(self, path, why):
        real = self.add_chain(path, why)
        st = self.host.lstat(real)
        if stat.S_ISDIR(st.st_mode):
            self.add_copied_dir(real, st, why)
            self._walk(real, why)
        else:
            self.add_node(real, st, why)

    def add_copied_dir(self, real, st, why):
        # copied directories are root-owned and never group/world writable
        self.plan.add(real, {'type': 'dir', 'uid': 0, 'gid': 0, 'mode': stat.S_IMODE(st.st_mode) & 0o755 | 0o700}, why)

    def _walk(self, top, why):
        for dirpath, dirnames, filenames in os.walk(self.host.fs(top)):
            rel_dir = dirpath if self.host.root == '/' else dirpath[len(self.host.root):]
            for name in sorted(dirnames + filenames):
                hpath = posixpath.join(rel_dir, name)
                st = self.host.lstat(hpath)
                if st is None:
                    continue
                if stat.S_ISDIR(st.st_mode):
                    self.add_copied_dir(hpath, st, why)
                else:
                    self.add_node(hpath, st, why)

    def add_node(self, real, st, why):
        self.plan.add_parents(real)
        if stat.S_ISREG(st.st_mode):
            self.add_regular(real, st, why)
        elif stat.S_ISLNK(st.st_mode):
            self.plan.add(real, {'type': 'symlink', 'target': self.host.readlink(real)}, why)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            raise JailError(f'{why}: {real} is a device node; list it under devices instead')
        # sockets and FIFOs belong to running programs on the host: not copied

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
            except JailError:
                # dangling links on this host layout: the profile entry is optional
                continue

    # -- directories, devices, accounts ---------------------------------
    def _uid(self, owner, why):
        if isinstance(owner, int) or str(owner).isdigit():
            return int(owner)
        try:
            return self.host.lookup_user(owner).pw_uid
        except KeyError:
            raise JailError(f'{why}: user {owner!r} does not exist on the host')

    def _gid(self, group, why):
        if isinstance(group, int) or str(group).isdigit():
            return int(group)
        try:
            return self.host.lookup_group(group).gr_gid
        except KeyError:
            raise JailError(f'{why}: group {group!r} does not exist on the host')

    def add_directory(self, item):
        why = 'directory {}'.format(item['path'])
        self.plan.add_parents(item['path'])
        self.plan.add(item['path'], {
            'type': 'dir', 'uid': self._uid(item['owner'], why), 'gid': self._gid(item['group'], why),
            'mode': item['mode']}, why)

    def add_device(self, name):
        why = f'device {name}'
        host_path = '/dev/' + name
        st = self.host.lstat(host_path)
        if st is None:
            raise JailError(f'{why}: {host_path} does not exist on the host')
        if not (stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)):
            raise JailError(f'{why}: {host_path} is not a device node on the host')
        self.plan.add_parents(host_path)
        self.plan.add(host_path, {
            'type': 'device', 'kind': 'char' if stat.S_ISCHR(st.st_mode) else 'block',
            'major': os.major(st.st_rdev), 'minor': os.minor(st.st_rdev),
            'uid': 0, 'gid': 0, 'mode': stat.S_IMODE(st.st_mode) & 0o777}, why)

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
        group = ''.join('{}:x:{}:{}\n'.format(groups[g].gr_name, g,
                                              ','.join(m for m in groups[g].gr_mem if m in user_names))
                        for g in order)
        for path, content in (('/etc/passwd', passwd), ('/etc/group', group)):
            self.plan.add_parents(path)
            self.plan.add(path, {'type': 'generated', 'content': content, 'uid': 0, 'gid': 0, 'mode': 0o644},
                          'users/groups')


# --------------------------------------------------------------------------
# the jail on disk

def check_jail_root(path, lstat=os.lstat):
    """Refuse jails that OpenSSH's ChrootDirectory would refuse.

    Returns the list of missing components that would have to be created.
    """
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    missing = []
    current = '/'
    for name in [c for c in path.split('/') if c] + [None]:
        try:
            st = lstat(current)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise JailError(f'{current}: cannot inspect: {exc}')
            missing.append(current)
        else:
            if missing:
                raise JailError(f'{current} appeared while checking the jail path')
            if stat.S_ISLNK(st.st_mode):
                raise JailError(f'jail path component {current} is a symlink; use the real path')
            if not stat.S_ISDIR(st.st_mode):
                raise JailError(f'jail path component {current} is not a directory')
            if st.st_uid != 0:
                raise JailError(f'jail path component {current} is not owned by root (uid {st.st_uid})')
            if st.st_mode & 0o022:
                raise JailError(f'jail path component {current} is group- or world-writable (mode {stat.S_IMODE(st.st_mode):04o})')
        if name is None:
            break
        current = posixpath.join(current, name)
    return missing


class Jail:
    """All access to the jail goes through directory fds opened O_NOFOLLOW."""

    def __init__(self, root, host=None):
        self.root = root
        self.host = host or Host()
        self._fds = {}

    def close(self):
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}

    # -- low level ------------------------------------------------------
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

    def _forget(self, path):
        for known in [p for p in self._fds if p == path or p.startswith(path.rstrip('/') + '/')]:
            os.close(self._fds.pop(known))

    # -- comparison -----------------------------------------------------
    def state_of(self, path, entry, manifest_entry):
        """Return (status, detail): status in ok/add/update."""
        st = self.lstat(path)
        if st is None:
            return 'add', None
        kind = entry['type']
        if kind == 'dir':
            if not stat.S_ISDIR(st.st_mode):
                return 'update', 'not a directory'
            # an existing directory we did not create: only insist on safety
            if entry.get('implicit') and (path == '/' or manifest_entry is None) \
                    and st.st_uid == 0 and not st.st_mode & 0o022:
                return 'ok', None
            if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (entry['uid'], entry['gid'], entry['mode']):
                return 'update', 'owner/mode'
            return 'ok', None
        if kind == 'symlink':
            if not stat.S_ISLNK(st.st_mode):
                return 'update', 'not a symlink'
            parent = self.dir_fd(posixpath.dirname(path))
            if os.readlink(posixpath.basename(path), dir_fd=parent) != entry['target']:
                return 'update', 'target'
            return 'ok', None
        if kind == 'device':
            want = stat.S_IFCHR if entry['kind'] == 'char' else stat.S_IFBLK
            if stat.S_IFMT(st.st_mode) != want or st.st_rdev != os.makedev(entry['major'], entry['minor']):
                return 'update', 'device numbers'
            if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (entry['uid'], entry['gid'], entry['mode']):
                return 'update', 'owner/mode'
            return 'ok', None
        if not stat.S_ISREG(st.st_mode):
            return 'update', 'not a regular file'
        if (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) != (entry['uid'], entry['gid'], entry['mode']):
            return 'update', 'owner/mode'
        if kind == 'generated':
            data = entry['content'].encode('utf-8')
            if st.st_size != len(data) or self._read(path) != data:
                return 'update', 'content'
            return 'ok', None
        host_st = self.host.lstat(entry['source'])
        entry['size'] = host_st.st_size
        entry['mtime_ns'] = host_st.st_mtime_ns
        if st.st_size != host_st.st_size:
            return 'update', 'size'
        entry['ctime_ns'] = st.st_ctime_ns
        entry['ino'] = st.st_ino
        # Same size and mtime as the host file, and the jail copy untouched since we wrote
        # or last verified it (ctime cannot be set back, unlike mtime): no need to read it.
        if st.st_mtime_ns == host_st.st_mtime_ns and manifest_entry and manifest_entry.get('sha256') \
                and manifest_entry.get('ctime_ns') == st.st_ctime_ns and manifest_entry.get('ino') == st.st_ino:
            entry['sha256'] = manifest_entry['sha256']
            return 'ok', None
        host_sum = self._host_sum(entry['source'])
        if self._jail_sum(path) != host_sum:
            return 'update', 'content'
        entry['sha256'] = host_sum
        return 'ok', None

    def _read(self, path):
        parent = self.dir_fd(posixpath.dirname(path))
        fd = os.open(posixpath.basename(path), os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC, dir_fd=parent)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, COPY_CHUNK)
                if not chunk:
                    return b''.join(chunks)
                chunks.append(chunk)
        finally:
            os.close(fd)

    def _jail_sum(self, path):
        parent = self.dir_fd(posixpath.dirname(path))
        fd = os.open(posixpath.basename(path), os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC, dir_fd=parent)
        try:
            return sha256_fd(fd)
        finally:
            os.close(fd)

    def _host_sum(self, source):
        fd = os.open(self.host.fs(source), os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        try:
            return sha256_fd(fd)
        finally:
            os.close(fd)

    # -- writing --------------------------------------------------------
    def _tmp_name(self, name):
        return f'.{name[:64]}.sjtmp{os.urandom(4).hex()}'

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
        for directory in missing:
            try:
                os.mkdir(directory, 0o755)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise JailError(f'{directory}: cannot create: {exc}')
            os.chown(directory, 0, 0)
            os.chmod(directory, 0o755)

    def write(self, path, entry):
        """Create or replace ``path`` atomically; returns the manifest entry."""
        kind = entry['type']
        if path == '/':
            fd = self.dir_fd('/')
            os.fchown(fd, entry['uid'], entry['gid'])
            os.fchmod(fd, entry['mode'])
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
            return {'type': 'dir'}
        self._clear_for(path, st)
        tmp = self._tmp_name(name)
        record = {'type': kind}
        try:
            if kind == 'symlink':
                os.symlink(entry['target'], tmp, dir_fd=parent)
                os.chown(tmp, 0, 0, dir_fd=parent, follow_symlinks=False)
                record['target'] = entry['target']
            elif kind == 'device':
                ftype = stat.S_IFCHR if entry['kind'] == 'char' else stat.S_IFBLK
                os.mknod(tmp, ftype | 0o600, os.makedev(entry['major'], entry['minor']), dir_fd=parent)
                os.chown(tmp, entry['uid'], entry['gid'], dir_fd=parent, follow_symlinks=False)
                os.chmod(tmp, entry['mode'], dir_fd=parent)
            else:
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600, dir_fd=parent)
                try:
                    if kind == 'generated':
                        data = entry['content'].encode('utf-8')
                        os.write(fd, data)
                        record['sha256'] = hashlib.sha256(data).hexdigest()
                        record['size'] = len(data)
                    else:
                        record.update(self._copy_into(fd, entry['source']))
                        record['source'] = entry['source']
                    os.fchown(fd, entry['uid'], entry['gid'])
                    os.fchmod(fd, entry['mode'])
                    if kind == 'file':
                        os.utime(fd, ns=(record['mtime_ns'], record['mtime_ns']))
                finally:
                    os.close(fd)
            os.rename(tmp, name, src_dir_fd=parent, dst_dir_fd=parent)
            if kind == 'file':
                st = os.stat(name, dir_fd=parent, follow_symlinks=False)
                record['ctime_ns'] = st.st_ctime_ns
                record['ino'] = st.st_ino
        except OSError as exc:
            try:
                os.unlink(tmp, dir_fd=parent)
            except OSError:
                pass
            raise JailError(f'{self.root}{path}: cannot write: {exc}')
        return record

    def _copy_into(self, out_fd, source):
        src = os.open(self.host.fs(source), os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        try:
            src_st = os.fstat(src)
            digest = hashlib.sha256()
            while True:
                chunk = os.read(src, COPY_CHUNK)
                if not chunk:
                    break
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    written = os.write(out_fd, view)
                    view = view[written:]
            return {'sha256': digest.hexdigest(), 'size': src_st.st_size, 'mtime_ns': src_st.st_mtime_ns}
        finally:
            os.close(src)

    def remove(self, path, record):
        """Remove an object the manifest says we created. Returns True if gone."""
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

    # -- manifest -------------------------------------------------------
    def read_manifest(self):
        if self.lstat('/') is None:
            return {}
        fd_parent = self.dir_fd('/')
        try:
            fd = os.open(MANIFEST_NAME, os.O_RDONLY | O_NOFOLLOW | O_CLOEXEC, dir_fd=fd_parent)
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return {}
            raise JailError(f'{self.root}/{MANIFEST_NAME}: cannot read the manifest: {exc}')
        try:
            st = os.fstat(fd)
            if st.st_uid != 0 or st.st_mode & 0o077 or not stat.S_ISREG(st.st_mode):
                raise JailError(f'{self.root}/{MANIFEST_NAME}: manifest is not a root-only file; refusing to trust it')
            raw = b''
            while True:
                chunk = os.read(fd, COPY_CHUNK)
                if not chunk:
                    break
                raw += chunk
        finally:
            os.close(fd)
        try:
            data = json.loads(raw.decode('utf-8'))
        except ValueError as exc:
            raise JailError(f'{self.root}/{MANIFEST_NAME}: manifest is not valid JSON: {exc}')
        if data.get('version') != MANIFEST_VERSION or not isinstance(data.get('managed'), dict):
            raise JailError(f'{self.root}/{MANIFEST_NAME}: unknown manifest format')
        return data

    def write_manifest(self, data):
        entry = {'type': 'generated', 'uid': 0, 'gid': 0, 'mode': 0o600, 'content': manifest_text(data)}
        self.write('/' + MANIFEST_NAME, entry)

    def remove_manifest(self):
        parent = self.dir_fd('/')
        if parent is not None:
            try:
                os.unlink(MANIFEST_NAME, dir_fd=parent)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise

    # -- audit ----------------------------------------------------------
    def audit(self):
        result = {'setuid': [], 'writable': [], 'devices': []}
        if self.lstat('/') is None:
            return result
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames + filenames:
                full = os.path.join(dirpath, name)
                rel = '/' + os.path.relpath(full, self.root)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                if stat.S_ISLNK(st.st_mode):
                    continue
                if st.st_mode & (stat.S_ISUID | stat.S_ISGID) and stat.S_ISREG(st.st_mode):
                    result['setuid'].append(rel)
                if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    result['devices'].append(rel)
                elif st.st_uid != 0 or st.st_mode & 0o022:
                    result['writable'].append(rel)
        for values in result.values():
            values.sort()
        return result


def manifest_text(data):
    return json.dumps(data, sort_keys=True, indent=1) + '\n'


# --------------------------------------------------------------------------
# the whole job

class JailResult:
    def __init__(self):
        self.changed = False
        self.added = []
        self.updated = []
        self.removed = []
        self.warnings = []
        self.audit = {'setuid': [], 'writable': [], 'devices': []}
        self.files = 0
        self.size = 0

    def as_dict(self):
        return {'changed': self.changed, 'added': self.added, 'updated': self.updated,
                'removed': self.removed, 'audit': self.audit, 'files': self.files, 'size': self.size}

    def diff(self):
        lines = []
        for label, items in (('added', self.added), ('updated', self.updated), ('removed', self.removed)):
            lines.extend(f'{label}: {item}' for item in items)
        return '\n'.join(lines) + ('\n' if lines else '')


def _depth_key(path):
    return (path.count('/') if path != '/' else 0, path)


def converge(spec, check_mode=False, host=None, runner=None, read_info=None, root_lstat=os.lstat):
    """Make the jail match ``spec``. All validation happens before any write."""
    host = host or Host()
    result = JailResult()
    missing_root = check_jail_root(spec.path, root_lstat)
    jail = Jail(spec.path, host)
    try:
        manifest = jail.read_manifest() if not missing_root else {}
        managed = dict(manifest.get('managed', {}))
        deps = LoaderDeps(host, cache=manifest.get('deps'), runner=runner)
        planner = Planner(spec, host=host, deps=deps, read_info=read_info)
        plan = planner.run()
        result.warnings.extend(plan.warnings)

        todo = []
        new_managed = {}
        for path in sorted(plan.entries, key=_depth_key):
            entry = plan.entries[path]
            if missing_root:
                status = 'add'
            else:
                status, _detail = jail.state_of(path, entry, managed.get(path))
            if status == 'ok':
                record = dict(managed.get(path) or {'type': entry['type']})
                record['type'] = entry['type']
                for key in ('sha256', 'size', 'mtime_ns', 'ctime_ns', 'ino', 'source', 'target'):
                    if key in entry:
                        record[key] = entry[key]
                if path in managed or entry['type'] != 'dir' or not entry.get('implicit'):
                    new_managed[path] = record
                continue
            todo.append((path, entry))
            (result.added if status == 'add' else result.updated).append(path)

        stale = [p for p in managed if p not in plan.entries] if spec.prune else []
        stale.sort(key=_depth_key, reverse=True)
        if not spec.prune:
            for path, record in managed.items():
                if path not in plan.entries:
                    new_managed[path] = record

        if check_mode:
            result.removed = [p for p in stale if jail.lstat(p) is not None]
        else:
            if missing_root:
                jail.make_root(missing_root)
            for path, entry in todo:
                new_managed[path] = jail.write(path, entry)
            for path in stale:
                if jail.lstat(path) is None:
                    continue
                if jail.remove(path, managed[path]):
                    result.removed.append(path)
                else:
                    new_managed[path] = managed[path]
            new_managed.pop('/', None)
            data = {'version': MANIFEST_VERSION, 'jail': spec.path, 'managed': new_managed,
                    'deps': deps.used}
            if manifest_text(data) != (manifest_text(manifest) if manifest else None):
                jail.write_manifest(data)
        result.changed = bool(result.added or result.updated or result.removed)
        for entry in plan.entries.values():
            if entry['type'] in ('file', 'generated'):
                result.files += 1
                if entry['type'] == 'file':
                    result.size += entry.get('size') or host.lstat(entry['source']).st_size
                else:
                    result.size += len(entry['content'].encode('utf-8'))
        result.audit = jail.audit()
    finally:
        jail.close()
    result.added.sort()
    result.updated.sort()
    return result


def remove_jail(path, check_mode=False, root_lstat=os.lstat):
    """state=absent: remove what the manifest says we created, then empty dirs."""
    path = check_abs_path(path, 'jail path')
    result = JailResult()
    if path == '/':
        raise JailError("refusing to use '/' as a jail")
    try:
        st = root_lstat(path)
    except OSError:
        return result
    if not stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
        raise JailError(f'{path} is not a directory')
    check_jail_root(path, root_lstat)
    jail = Jail(path)
    try:
        manifest = jail.read_manifest()
        managed = manifest.get('managed', {})
        for item in sorted(managed, key=_depth_key, reverse=True):
            if jail.lstat(item) is None:
                continue
            if check_mode or jail.remove(item, managed[item]):
                result.removed.append(item)
        if manifest and not check_mode:
            jail.remove_manifest()
    finally:
        jail.close()
    if not check_mode and manifest:
        try:
            os.rmdir(path)
            result.removed.append('/')
        except OSError:
            pass
    elif check_mode and manifest:
        result.removed.append('/')
    result.changed = bool(result.removed)
    result.removed.sort()
    return result
