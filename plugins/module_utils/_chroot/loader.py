# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""List a file's shared libraries with the host's own trusted dynamic loader.

The trusted loader table, the parser of ``ld.so --list`` output and ``LoaderDeps``, whose
results are cached by the stat signatures of the file, of each library and of
/etc/ld.so.cache, and shared within a run by files with the same link key. Only a trusted
loader is ever run, never the inspected file.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import re
import stat
import subprocess

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import first_user_writable
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError

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
LD_SO_CACHE = '/etc/ld.so.cache'
LDD_ARROW_RE = re.compile(r'^(\S+) => (.*?)(?: \(0x[0-9a-f]+\))?\Z')
LDD_PATH_RE = re.compile(r'^(/\S*)(?: \(0x[0-9a-f]+\))?\Z')
LDD_VDSO_RE = re.compile(r'^(linux-vdso|linux-gate|linux-vdso32|linux-vdso64)\.so\.\d+(?: \(0x[0-9a-f]+\))?\Z')
LOADER_ERROR_RE = re.compile(r'error while loading shared libraries: (.+?): cannot open shared object file')


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
            # else "libfoo.so => (0x...)": the vdso on old glibc
            continue
        plain = LDD_PATH_RE.match(line)
        if plain:
            paths.append(plain.group(1))
            continue
        raise JailError(f'{subject}: cannot understand loader output line {line!r}')
    if missing:
        noun = 'library' if len(missing) == 1 else 'libraries'
        raise JailError(f"{subject}: shared {noun} not found on the host: {', '.join(missing)}")
    seen = set()
    ordered = []
    for path in paths:
        if path not in seen:
            seen.add(path)
            ordered.append(path)
    return ordered


def _stat_sig(st):
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _run_argv(argv):
    env = {'LC_ALL': 'C', 'PATH': '/usr/sbin:/usr/bin:/sbin:/bin'}
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    out, err = proc.communicate()
    return proc.returncode, out.decode('utf-8', 'surrogateescape'), err.decode('utf-8', 'surrogateescape')


class LoaderDeps:
    """List a file's shared libraries with the host's own trusted loader.

    The loader (never the inspected file, never a loader the file names) is
    run with an argument list and a clean environment. Results are cached by
    the file's and each library's size/mtime/inode plus /etc/ld.so.cache, so
    a re-run with nothing changed on the host runs nothing. ``used`` holds
    the cache entries this run relied on (what the state keeps).

    Within a run, a file whose ELF link key (``ExecInfo.link_key``: interpreter, DT_NEEDED names,
    no search path of its own) equals that of a file the loader already listed gets that list
    without another run when the loader found every symbol version it needs met for that key and
    /etc/ld.so.cache is still the one it read: the loader's answer cannot differ for it. Only a
    ``shareable`` file lends its answer (root's own, in directories only root can change): a
    user's file could be swapped for another between the headers read here and the loader
    opening it. Most programs of a jail link just the C library, so a cold jail of 45 binaries
    runs the loader 22 times instead of 45. What the loader would refuse in the program file
    alone (a header it cannot map, an instruction set this CPU lacks, DT_RELR it cannot apply) is
    not asked again for such a file; the jail's copy fails to run as it does on the host.
    """

    def __init__(self, host, cache=None, runner=None):
        self.host = host
        self.cache = dict(cache or {})
        self.used = {}
        self.runner = runner or _run_argv
        self._listed = {}  # link key -> (deps, dep_sigs, ld.so.cache signature, version needs met)

    def trusted_loader(self, info, subject):
        candidates = TRUSTED_LOADERS.get((info.machine, info.elf_class))
        if not candidates:
            raise JailError(f'{subject}: no trusted dynamic loader known for {info.machine} {info.elf_class}-bit')
        if info.interp is not None and info.interp not in candidates:
            raise JailError(f"{subject}: its ELF interpreter {info.interp} is not a trusted system loader "
                            f"({', '.join(candidates)})")
        for candidate in ((info.interp,) if info.interp else candidates):
            try:
                # judged below whatever the play accepts: the loader runs as root
                src = self.host.open_source(candidate, 'loader', allow_user_writable=True)
            except JailError:
                continue
            with src:
                st = src.st
                if st.st_uid != 0 or st.st_mode & 0o022 or not stat.S_ISREG(st.st_mode):
                    raise JailError(f'{subject}: loader {src.real} is not a root-owned, non-writable file')
                found = first_user_writable(src.dirs)
                if found:
                    raise JailError(f'{subject}: loader {src.real} is run as root, but {found}')
                return src.real
        raise JailError(f"{subject}: none of the loaders {', '.join(candidates)} exists on the host")

    def _ldcache_sig(self):
        st = self.host.lstat(LD_SO_CACHE)
        return _stat_sig(st) if st else None

    def _cached(self, path, sig, ldcache):
        entry = self.cache.get(path)
        if not entry or entry.get('sig') != sig or entry.get('ldcache') != ldcache:
            return None
        for dep, dep_sig in zip(entry['deps'], entry['dep_sigs']):
            try:
                st = os.stat(self.host.fs(dep))
            except OSError:
                return None
            if _stat_sig(st) != dep_sig:
                return None
        return entry

    def list(self, path, info, st, shareable):
        """``path`` is the host path of a dynamic ELF file (symlinks resolved), ``st`` the fstat
        of the descriptor it was inspected through; ``shareable`` lets its answer serve other
        files with the same link key in this run."""
        sig = _stat_sig(st)
        ldcache = self._ldcache_sig()
        entry = self._cached(path, sig, ldcache)
        listed = self._listed.get(info.link_key)
        if entry is None and listed is not None and listed[2] == ldcache and info.version_needs <= listed[3]:
            entry = {'sig': sig, 'ldcache': ldcache, 'deps': listed[0], 'dep_sigs': listed[1]}
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
            entry = {'sig': sig, 'ldcache': ldcache, 'deps': deps, 'dep_sigs': dep_sigs}
            if shareable and info.link_key is not None and rc == 0:
                # the loader listed without complaint: every version this file needs was met
                same = listed is not None and listed[0] == deps and listed[2] == ldcache
                met = listed[3] if same else frozenset()
                self._listed[info.link_key] = (deps, dep_sigs, ldcache, met | info.version_needs)
        self.used[path] = entry
        return list(entry['deps'])
