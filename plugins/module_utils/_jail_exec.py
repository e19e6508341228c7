# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Run one argument list inside a chroot jail as an unprivileged user (uchroot done right).

``ExecRequest`` checks everything before anything runs: the jail passes OpenSSH's rule, the
user and group are resolved on the host and are not root, the program and the working
directory exist inside the jail (found with the symlink-safe walker of ``_paths``).
``run`` forks with ``subprocess`` and, in the child only, enters the jail through a directory
descriptor, clears the supplementary groups, empties the capability bounding and ambient
sets, sets ``no_new_privs``, switches every uid and gid, and then proves that no capability
is left before it executes the program. A failing step is reported through a pipe with its
cause, so the module can name it. The module is the child subreaper of the run: a process the
program starts stays below it even after ``setsid`` or a double fork, so a timeout kills them all.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import ctypes
import ctypes.util
import datetime
import errno
import grp
import os
import posixpath
import pwd
import signal
import stat
import subprocess
import time

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import MAX_ID, JailError, check_jail_root
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathError, PathWalk, check_abs_path

DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin'
# lstat used for the jail's ancestors (tests trust the system temp dir through it)
jail_root_lstat = os.lstat
DEFAULT_LANG = 'C.UTF-8'

PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
# After a timeout: how long the killing may take, then how long to wait for the last output.
KILL_GRACE = 5
READ_GRACE = 2
LINUX_CAPABILITY_VERSION_3 = 0x20080522


class JailExecError(Exception):
    """Bad input or an unsafe situation; the message names the field or path."""


class _CapHeader(ctypes.Structure):
    _fields_ = [('version', ctypes.c_uint32), ('pid', ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [('effective', ctypes.c_uint32), ('permitted', ctypes.c_uint32),
                ('inheritable', ctypes.c_uint32)]


def _libc():
    return ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6', use_errno=True)


def last_cap(path='/proc/sys/kernel/cap_last_cap'):
    """The highest capability number the running kernel knows."""
    with open(path) as handle:
        return int(handle.read().strip())


def numeric_id(value, what, error=JailExecError):
    """``value`` as a uid or gid when it is a number (ASCII digits only: int('²') fails), else None."""
    if not (value.isascii() and value.isdigit()):
        return None
    number = int(value)
    if number > MAX_ID:
        raise error(f'{what} {value!r} is out of range (ids go up to {MAX_ID})')
    return number


def resolve_identity(user, group=None, getpwnam=pwd.getpwnam, getpwuid=pwd.getpwuid, getgrnam=grp.getgrnam):
    """``(uid, gid, home)`` of ``user``/``group`` read from the host's databases; root refused.

    Names or numeric ids are accepted; the group defaults to the user's primary group.
    """
    user = str(user or '')
    if not user:
        raise JailExecError('user: a user is required (jail_exec never runs as root)')
    number = numeric_id(user, 'user')
    try:
        entry = getpwnam(user) if number is None else getpwuid(number)
    except (KeyError, ValueError):  # ValueError: a NUL byte in the name
        if number is None:
            raise JailExecError(f'user {user!r} does not exist on the host')
        uid, gid, home = number, None, '/'
    else:
        uid, gid, home = entry.pw_uid, entry.pw_gid, entry.pw_dir or '/'
    if uid == 0:
        raise JailExecError(f'user {user!r} has uid 0: refusing to run as root inside a jail (root can leave a chroot)')
    if group not in (None, ''):
        group = str(group)
        gid = numeric_id(group, 'group')
        if gid is None:
            try:
                gid = getgrnam(group).gr_gid
            except (KeyError, ValueError):
                raise JailExecError(f'group {group!r} does not exist on the host')
    if gid is None:
        raise JailExecError(f'user {user!r} has no passwd entry on the host: give a group')
    if gid == 0:
        raise JailExecError(f'group {group or gid!r} has gid 0: refusing to run with the root group')
    return uid, gid, home


def build_environment(extra, home):
    """The clean environment (PATH, HOME, LANG) with the playbook's entries on top."""
    env = {'PATH': DEFAULT_PATH, 'HOME': home, 'LANG': DEFAULT_LANG}
    for key, value in (extra or {}).items():
        key = str(key)
        if not key or '=' in key or '\0' in key:
            raise JailExecError(f'environment: invalid variable name {key!r}')
        value = '' if value is None else str(value)
        if '\0' in value:
            raise JailExecError(f'environment: {key} contains a NUL byte')
        env[key] = value
    return env


def _is_executable_file(walk):
    st = os.stat(walk.name, dir_fd=walk.parent_fd, follow_symlinks=False)
    return stat.S_ISREG(st.st_mode) and st.st_mode & 0o111


def find_program(jail, program, search_path):
    """The program's real path inside the jail, found without leaving it; else a clear error."""
    where = f'in the jail {jail}'
    if '/' not in program:
        for directory in [d for d in search_path.split(':') if d.startswith('/')]:
            try:
                with PathWalk(jail, posixpath.join(directory, program), 'program', where) as walk:
                    if _is_executable_file(walk):
                        return walk.real
            except (PathError, OSError):
                continue
        raise JailExecError(f'program {program!r} is not found {where} (searched PATH {search_path})')
    if not program.startswith('/'):
        raise JailExecError(f'argv[0] {program!r}: give an absolute path inside the jail or a bare program name')
    try:
        with PathWalk(jail, program, f'program {program}', where) as walk:
            if not _is_executable_file(walk):
                raise JailExecError(f'program {program} {where} is not an executable regular file')
            return walk.real
    except PathError as exc:
        raise JailExecError(str(exc))


def jail_path_exists(jail, path):
    """Whether ``path`` (as seen inside the jail) exists; symlinks resolve inside the jail."""
    try:
        with PathWalk(jail, path, 'path', f'in the jail {jail}'):
            return True
    except PathError:
        return False


def open_jail(jail):
    """A descriptor of the jail directory reached component by component without following links."""
    fd = os.open('/', os.O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    try:
        for name in [c for c in jail.split('/') if c]:
            child = os.open(name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=fd)
            os.close(fd)
            fd = child
    except OSError:
        os.close(fd)
        raise
    return fd


class ExecRequest:
    """The validated options of one jail_exec run."""

    def __init__(self, jail, argv, user, group=None, chdir='/', environment=None, stdin=None,
                 timeout=None, lstat=None, identity=resolve_identity):
        self.jail = check_abs_path(jail, 'jail', error=JailExecError)
        try:
            missing = check_jail_root(self.jail, lstat or jail_root_lstat)
        except JailError as exc:
            raise JailExecError(str(exc))
        if missing:
            raise JailExecError(f'jail {self.jail} does not exist')
        if not argv or not all(isinstance(a, str) for a in argv) or not argv[0]:
            raise JailExecError('argv: a non-empty list of strings is required')
        if any('\0' in a for a in argv):
            raise JailExecError('argv: an argument contains a NUL byte')
        self.argv = list(argv)
        self.uid, self.gid, home = identity(user, group)
        self.chdir = check_abs_path(chdir or '/', 'chdir', error=JailExecError)
        if self.chdir != '/':
            try:
                with PathWalk(self.jail, self.chdir, f'chdir {self.chdir}', f'in the jail {self.jail}') as walk:
                    st = os.stat(walk.name, dir_fd=walk.parent_fd, follow_symlinks=False)
            except PathError as exc:
                raise JailExecError(str(exc))
            if not stat.S_ISDIR(st.st_mode):
                raise JailExecError(f'chdir {self.chdir} in the jail {self.jail} is not a directory')
        self.env = build_environment(environment, home)
        self.executable = find_program(self.jail, self.argv[0], self.env['PATH'])
        self.stdin = stdin
        if timeout is not None and timeout <= 0:
            raise JailExecError(f'timeout {timeout} must be a positive number of seconds')
        self.timeout = timeout


def _prctl(libc, option, arg):
    if libc.prctl(option, ctypes.c_ulong(arg), ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


def _confine(jail_fd, uid, gid, chdir, top_cap, libc):
    """Everything the child does between fork and exec, in this order (each step needs the last)."""
    def prctl(option, arg):
        _prctl(libc, option, arg)

    os.fchdir(jail_fd)
    os.chroot('.')
    os.chdir('/')
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    for cap in range(top_cap + 1):  # needs CAP_SETPCAP, so before the uid changes
        prctl(PR_CAPBSET_DROP, cap)
    try:
        prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    except OSError:
        pass  # kernels before 4.3 have no ambient set
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    os.setresuid(uid, uid, uid)
    # Proof, not trust: a securebit (keep-caps, no-setuid-fixup) would leave capabilities.
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), 'capget failed')
    if any(d.effective or d.permitted or d.inheritable for d in data):
        raise OSError(0, 'capabilities survived the change of user')
    if os.getgroups() or os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid):
        raise OSError(0, 'the user or groups did not change as asked')
    if libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise OSError(0, 'no_new_privs is not set')
    os.chdir(chdir)


def _child_setup(jail_fd, request, top_cap, libc, report_fd):
    def setup():
        try:
            _confine(jail_fd, request.uid, request.gid, request.chdir, top_cap, libc)
        except BaseException as exc:
            os.write(report_fd, str(exc).encode('utf-8', 'replace'))
            raise
    return setup


class ExecResult:
    def __init__(self, argv):
        self.cmd = argv
        self.rc = None
        self.stdout = ''
        self.stderr = ''
        self.timed_out = False
        self.survivors = []
        self.start = self.end = None

    def as_dict(self):
        return {'cmd': self.cmd, 'rc': self.rc, 'stdout': self.stdout, 'stderr': self.stderr,
                'start': str(self.start), 'end': str(self.end), 'delta': str(self.end - self.start)}


def _text(data):
    return data.decode('utf-8', 'replace').rstrip('\r\n')


def _process_table(proc='/proc'):
    """``{pid: (ppid, real uid, state letter, threads)}`` of every process now running."""
    table = {}
    for entry in os.listdir(proc):
        if not entry.isdigit():
            continue
        status = _status(entry, proc)
        if status is not None:
            table[int(entry)] = status
    return table


def _status(pid, proc='/proc'):
    """``(ppid, real uid, state letter, threads)`` of ``pid``; None once it has ended."""
    try:
        # bytes: the Name: line is the program's to choose (PR_SET_NAME), and a byte that is no
        # UTF-8 must not make its process look gone
        with open(f'{proc}/{pid}/status', 'rb') as handle:
            fields = dict(line.split(b':', 1) for line in handle if b':' in line)
        return (int(fields[b'PPid']), int(fields[b'Uid'].split()[0]), fields[b'State'].split()[0].decode('ascii'),
                int(fields[b'Threads']))
    except (OSError, KeyError, ValueError, IndexError):
        return None


def jailed_descendants(uid, top=None, table=None):
    """``{pid: (ppid, state, threads)}`` of the processes of ``uid`` below ``top`` (this process),
    through processes of ``uid`` only: what the jailed program started, wherever it moved its session."""
    top = os.getpid() if top is None else top
    table = _process_table() if table is None else table
    children = {}
    for pid, (ppid, puid, state, threads) in table.items():
        if puid == uid:
            children.setdefault(ppid, []).append((pid, state, threads))
    found, todo = {}, [top]
    while todo:
        parent = todo.pop()
        for pid, state, threads in children.get(parent, []):
            if pid not in found:
                found[pid] = (parent, state, threads)
                todo.append(pid)
    return found


def kill_jailed(uid, keep_zombie, deadline):
    """SIGKILL every process of ``uid`` below this one until none is left or ``deadline``
    (time.monotonic) passes; returns the pids still alive. Zombies handed to this process as
    subreaper are reaped, except ``keep_zombie`` (the Popen child, which Popen reaps). A zombie
    with threads left is alive: its main thread ended, the others run on."""
    me = os.getpid()
    while True:
        alive = []
        found = jailed_descendants(uid, me)
        for pid, (ppid, state, threads) in sorted(found.items()):
            if state == 'Z' and threads <= 1:
                if ppid == me and pid != keep_zombie:
                    try:
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
                continue
            alive.append(pid)
            kill_if_jailed(pid, uid, set(found) | {me})
        if not alive or time.monotonic() >= deadline:
            return alive
        time.sleep(0.02)


def kill_if_jailed(pid, uid, parents, proc='/proc'):
    """SIGKILL ``pid`` if it still runs as ``uid`` below one of ``parents`` (this process and what
    the jailed program started). Its jailed parent may have reaped it since the process table was
    read, and the pid may now name another process: where the platform has pidfds (Linux 5.3,
    Python 3.9) the process is pinned first and read after, so root never kills a process that
    is not the run's own."""
    pidfd = None
    if hasattr(os, 'pidfd_open'):
        try:
            pidfd = os.pidfd_open(pid)
        except OSError as exc:
            if exc.errno not in (errno.ENOSYS, errno.EPERM):  # gone; else no pidfds here (kernel, seccomp)
                return
    try:
        status = _status(pid, proc)
        if status is None or status[1] != uid or status[0] not in parents:
            return
        try:
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    finally:
        if pidfd is not None:
            os.close(pidfd)


def _finish_after_timeout(proc, request, result):
    """Kill what the program started and collect its output, all within a bounded time."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    result.survivors = kill_jailed(request.uid, proc.pid, time.monotonic() + KILL_GRACE)
    try:
        return proc.communicate(timeout=READ_GRACE)
    except subprocess.TimeoutExpired as exc:
        # Something outside the tree holds the pipes (a descriptor passed over a socket).
        stdout, stderr = exc.stdout or b'', exc.stderr or b''
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe:
            pipe.close()
    try:
        proc.wait(timeout=READ_GRACE)
    except subprocess.TimeoutExpired:
        result.survivors = sorted(set(result.survivors) | {proc.pid})
    return stdout, stderr


def run(request, libc=None, top_cap=None):
    """Run the request; returns ExecResult. JailExecError when the jail could not be entered."""
    libc = libc or _libc()
    top_cap = last_cap() if top_cap is None else top_cap
    result = ExecResult(request.argv)
    was_subreaper = ctypes.c_int(0)
    if libc.prctl(PR_GET_CHILD_SUBREAPER, ctypes.byref(was_subreaper), ctypes.c_ulong(0), ctypes.c_ulong(0),
                  ctypes.c_ulong(0)) != 0:
        raise OSError(ctypes.get_errno(), f'prctl(PR_GET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}')
    jail_fd = open_jail(request.jail)
    report_r, report_w = os.pipe()
    try:
        _prctl(libc, PR_SET_CHILD_SUBREAPER, 1)
        result.start = datetime.datetime.now()
        try:
            # start_new_session: no controlling terminal to push input into (TIOCSTI).
            proc = subprocess.Popen(
                request.argv, executable=request.executable, env=request.env, close_fds=True,
                stdin=subprocess.PIPE if request.stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                preexec_fn=_child_setup(jail_fd, request, top_cap, libc, report_w))
        except (subprocess.SubprocessError, OSError) as exc:
            os.close(report_w)
            report_w = None
            cause = os.read(report_r, 4096).decode('utf-8', 'replace') or str(exc)
            raise JailExecError(f'cannot run {request.argv[0]} in the jail {request.jail} as uid '
                                f'{request.uid}: {cause}')
        data = None if request.stdin is None else request.stdin.encode('utf-8')
        try:
            stdout, stderr = proc.communicate(data, timeout=request.timeout)
        except subprocess.TimeoutExpired:
            result.timed_out = True
            stdout, stderr = _finish_after_timeout(proc, request, result)
        result.end = datetime.datetime.now()
        result.rc = proc.returncode
        result.stdout, result.stderr = _text(stdout), _text(stderr)
        return result
    finally:
        if not was_subreaper.value:
            _prctl(libc, PR_SET_CHILD_SUBREAPER, 0)
        os.close(jail_fd)
        os.close(report_r)
        if report_w is not None:
            os.close(report_w)
