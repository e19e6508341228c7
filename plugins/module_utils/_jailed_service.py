# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Only the jailed_service module uses it.

"""Bringing a jailed service to the state a play asks for.

``plan_actions`` is the pure table of steps (install, enable, start...) from the wanted and
the current state. The account checks live in _service_accounts, those of a daemon that drops
root itself in _privilege_drop. The jail checks (the program, the working directory and the
writable paths exist inside the jail) and the bind source checks read the host but never change it; every path is followed
with the collection's one walker (``_paths.PathWalk``), and a bind source or writable path
that systemd resolves on the host is refused when a non-root user could swap it (the chroot
engine's rule for sources), and so is a bind source inside a jail (_known_jails). ``JailedService`` runs systemctl and systemd-analyze for the
module (skipping the analysis when the installed unit is the candidate and _analysis_record
holds its result); the unit text comes from _systemd_unit.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import pwd
import shutil
import stat
import tempfile
import time

from ansible_collections.serversec.confine.plugins.module_utils._analysis_record import AnalysisRecord
from ansible_collections.serversec.confine.plugins.module_utils._chroot.audit import process_predates_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import (
    UnsafeSource,
    refuse_user_links,
    refuse_user_writable,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, check_jail_root
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    O_CLOEXEC,
    O_NOFOLLOW,
    O_PATH,
    FileIOError,
    read_if_exists,
    write_atomic,
)
from ansible_collections.serversec.confine.plugins.module_utils._known_jails import (
    JAIL_STATE_DIR,
    known_jails,
    refuse_jail_overlap,
)
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathWalk
from ansible_collections.serversec.confine.plugins.module_utils._privilege_drop import confirm_drop, exposure_limit
from ansible_collections.serversec.confine.plugins.module_utils._service_accounts import drop_account, resolve_accounts
from ansible_collections.serversec.confine.plugins.module_utils._systemd_analyze import (
    parse_exposure,
    parse_verify,
)
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import (
    ALLOW_SENSITIVE,
    BIND_EXEMPT,
    JOURNAL_SOCKETS,
    PrerequisiteError,
    ServiceError,
    render_unit,
    sensitive_bind,
    unit_name,
    validate_unit,
)

SYSTEMD_RUNTIME_DIR = '/run/systemd/system'
RUNNING_STATES = ('active', 'activating', 'reloading')
# How long a freshly started daemon must stay up before the start counts.
SETTLE_SECONDS = 1.0
UNIT_MODE = 0o644
# How much of a read-only bind source is looked through for a privilege_drop daemon.
DROP_READ_MAX_ENTRIES = 10000
MASTER = "the daemon's master, root in the jail with privilege_drop,"


def plan_actions(state, enabled, active, unit_changed, is_enabled):
    """The steps, in order, that take the service where the play asks.

    `active` is systemd's ActiveState, `is_enabled` whether the unit is enabled now, and
    `unit_changed` whether the unit file differs from the wanted text (for state=absent:
    whether it exists). A step is "install" or "remove" (the unit file, then daemon-reload)
    or a systemctl verb.
    """
    running = active in RUNNING_STATES
    if state == 'absent':
        return [step for step, needed in (('stop', running), ('disable', is_enabled), ('remove', unit_changed))
                if needed]
    steps = ['install'] if unit_changed else []
    if enabled != is_enabled:
        steps.append('enable' if enabled else 'disable')
    if state == 'restarted' or (running and unit_changed and state in ('started', 'present')):
        steps.append('restart')
    elif state == 'started' and not running:
        steps.append('start')
    elif state == 'stopped' and running:
        steps.append('stop')
    return steps


def walk_failure(message):
    """The error for a path the walker could not follow: one that does not exist yet is a
    prerequisite an earlier task may create; a loop, a file used as a directory or a link to
    the root is a refusal."""
    return (PrerequisiteError if ' does not exist ' in message else ServiceError)(message)


def stat_in_jail(jail, path, what, seen=None):
    """(lstat of what `path` leads to inside `jail`, the walk's steps, the directories it
    held as host paths), following links as the kernel would after chroot(jail): absolute
    targets restart at the jail root and ".." never climbs above it (``_paths.PathWalk``).

    The steps are also added to the list `seen`, if given, even when the walk fails.
    """
    if path == '/':
        return os.lstat(jail), [], []
    walk = PathWalk(jail, path, what, where=f'in the jail {jail}', error=walk_failure)
    try:
        with walk:
            st = os.stat(walk.name, dir_fd=walk.parent_fd, follow_symlinks=False)
            return st, walk.steps, [(jail + held if held != '/' else jail, held_st) for held, held_st in walk.dirs]
    except OSError as exc:
        # A directory replaced while it was walked, or one that cannot be entered.
        raise ServiceError(f'{what}: {path} cannot be followed in the jail {jail}: {exc.strerror}') from None
    finally:
        if seen is not None:
            seen.extend(walk.steps)


def refuse_swappable(subject, dirs, links, allow_user_writable):
    """The chroot engine's rules for sources, applied to what systemd resolves on the host when
    the unit starts: a directory a non-root user could change lets that user swap the path, and
    a link in such a directory is never followed, even when the play accepts the directory."""
    try:
        if not allow_user_writable:
            refuse_user_writable(subject, dirs)
        refuse_user_links(subject, links)
    except UnsafeSource as exc:
        raise ServiceError(str(exc)) from None


def check_program_in_jail(jail, program):
    """Refuse a program that is missing or not executable inside the jail.

    Only stat() is used: the binary is never run.
    """
    try:
        info, steps, _dirs = stat_in_jail(jail, program, 'command[0]')
    except PrerequisiteError as exc:
        raise PrerequisiteError(f'{exc}; add it with serversec.confine.chroot_jail binaries') from None
    host_path = jail + steps[-1][1]
    if not stat.S_ISREG(info.st_mode):
        raise PrerequisiteError(f'command[0]: {program} in the jail {jail} is not a regular file ({host_path})')
    if not info.st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH):
        raise PrerequisiteError(
            f'command[0]: {program} in the jail {jail} is not executable (mode {stat.S_IMODE(info.st_mode):04o})')
    return host_path


def check_read_write(jail, path, allow_user_writable):
    """None when `path` is a directory in the jail that systemd will find where the jail has
    it, else what is missing; raises when it goes through a link or a directory a non-root user
    could change."""
    what = f'read_write: {path}'
    seen = []
    missing = None
    try:
        info, _steps, dirs = stat_in_jail(jail, path, 'read_write', seen)
    except PrerequisiteError as exc:
        info, missing = None, f'{exc}; create it with serversec.confine.chroot_jail directories'
    # systemd resolves these on the host: a link in the jail could point out of it, even one
    # whose target the jail lacks.
    if any(step[0] == 'symlink' for step in seen):
        raise ServiceError(f'{what} goes through a symbolic link in the jail {jail}')
    if info is None:
        return missing
    # Any link was refused above.
    refuse_swappable(what, dirs, [], allow_user_writable)
    if not stat.S_ISDIR(info.st_mode):
        return f'{what} is not a directory in the jail {jail}'
    return None


def missing_in_jail(spec, allow_user_writable=False):
    """Messages about what the jail still lacks (an earlier task may add it); raises for a
    writable path that leaves the jail through a symbolic link or that a non-root user could
    swap."""
    jail = spec.jail
    try:
        # as chroot_jail and OpenSSH's ChrootDirectory: systemd enters the jail by this path at
        # every start, so whoever can change a directory on it can swap the jail for their own
        check_jail_root(jail, tree.jail_root_lstat)
    except JailError as exc:
        raise ServiceError(f'jail: {jail}: {exc}; systemd follows the jail path at every start, so a user who can change '
                           'it could swap the jail for a tree of their own') from None
    if not os.path.isdir(jail):
        return [f'jail: {jail} does not exist or is not a directory; build it first with serversec.confine.chroot_jail']
    missing = []
    try:
        check_program_in_jail(jail, spec.command[0])
    except PrerequisiteError as exc:
        missing.append(str(exc))
    # systemd would fail the start with 200/CHDIR.
    try:
        info = stat_in_jail(jail, spec.working_directory, 'working_directory')[0]
        if not stat.S_ISDIR(info.st_mode):
            missing.append(f'working_directory: {spec.working_directory} is not a directory in the jail {jail}')
    except PrerequisiteError as exc:
        missing.append(str(exc))
    for host_path in spec.read_write:
        message = check_read_write(jail, host_path[len(jail):], allow_user_writable)
        if message:
            missing.append(message)
    return missing


def kernel_step(steps):
    """The first path of a ``PathWalk``'s steps under /proc or /sys, or None: the kernel's links
    there (``/proc/PID/root``) lead into other processes' views of the file system, where the
    link's text, which the walk follows, does not."""
    for step in steps:
        if any(step[1] == top or step[1].startswith(top + '/') for top in ('/proc', '/sys')):
            return step[1]
    return None


def drop_uid(drop_to):
    """The uid of privilege_drop's user; None while the account does not exist (check mode)."""
    try:
        return pwd.getpwnam(drop_to.user).pw_uid
    except KeyError:
        return None


def drop_refusal(field, target, fd, uid):
    """Why the bind source ``target``, held by the O_PATH descriptor ``fd``, is refused for a
    privilege_drop daemon, or None. Its master is root in the jail and can become any user:
    whatever a bind lets root read or change, the daemon can. ``uid`` is privilege_drop's user."""
    st = os.fstat(fd)
    if field == 'bind' and not stat.S_ISSOCK(st.st_mode):
        if st.st_uid != uid and (uid is not None or st.st_uid == 0):
            owner = 'root' if st.st_uid == 0 else f'uid {st.st_uid}'
            return f"is owned by {owner}, not by privilege_drop's user, so {MASTER} could change it"
        return None
    reason = hidden_entry(target, target, st, uid)
    if reason or not stat.S_ISDIR(st.st_mode):
        return reason
    warnings = []
    entries = tree.walk(target, warnings)
    try:
        for count, (rel, entry) in enumerate(entries, 1):
            if count > DROP_READ_MAX_ENTRIES:
                return f'holds more than {DROP_READ_MAX_ENTRIES} entries, too many to check what {MASTER} could read there'
            reason = hidden_entry(target, target + rel, entry, uid)
            if reason:
                return reason
    finally:
        entries.close()
    return f'could not be looked through whole ({warnings[0]})' if warnings else None


def hidden_entry(target, path, st, uid):
    """Why the entry ``path`` (lstat ``st``) of the read-only bind source ``target`` gives root in
    the jail more than everyone may have, or None: a socket or device node, or what only its
    owner or group may read (unless privilege_drop's user ``uid`` owns it). A symbolic link is
    followed in the jail, not on the host."""
    top = path == target
    if stat.S_ISSOCK(st.st_mode):
        # a read-only bind does not stop connect(), and root is privileged to most daemons
        return f"{'is a socket' if top else f'holds the socket {path}'}, which {MASTER} could connect to as root"
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        return f"{'is a device node' if top else f'holds the device node {path}'}, which {MASTER} could open"
    if stat.S_ISLNK(st.st_mode) or st.st_uid == uid:
        return None
    mode = stat.S_IMODE(st.st_mode)
    wanted = 0o005 if stat.S_ISDIR(st.st_mode) else 0o004
    if mode & wanted == wanted:
        return None
    return (f"{'may be read' if top else f'holds {path}, which may be read'} only by its owner or group (mode "
            f'{mode:04o}, uid {st.st_uid}), and {MASTER} could read it')


def check_bind_sources(spec, allow_sensitive, allow_user_writable, state_dir=JAIL_STATE_DIR):
    """Messages about bind sources that do not exist yet; raises for a source inside, equal to or
    above this unit's jail or one chroot_jail knows (in `state_dir`), for one that leads to the
    host's root or a sensitive path (a symbolic link is bound where it points), or whose path a
    non-root user could swap, or that passes through /proc or /sys; with privilege_drop also for
    what gives root in the jail more than the daemon's user (``drop_refusal``)."""
    missing = []
    jails = ([spec.jail] if spec.jail else []) + known_jails(state_dir)
    drop = spec.drop_to is not None
    uid = drop_uid(spec.drop_to) if drop else None
    for field, entries in (('bind', spec.bind), ('bind_read_only', spec.bind_read_only)):
        for source, _dest in entries:
            if source in JOURNAL_SOCKETS:
                continue
            what = f'{field}: {source}'
            refuse_jail_overlap(what, source, jails)
            try:
                with PathWalk('/', source, what, error=walk_failure) as walk:
                    target, dirs, links, through = walk.real, walk.dirs, walk.links, kernel_step(walk.steps)
                    refusal = None
                    if drop and target not in BIND_EXEMPT and not allow_sensitive:
                        fd = os.open(walk.name, O_PATH | O_NOFOLLOW | O_CLOEXEC, dir_fd=walk.parent_fd)
                        try:
                            refusal = drop_refusal(field, target, fd, uid)
                        finally:
                            os.close(fd)
            except PrerequisiteError as exc:
                missing.append(str(exc))
                continue
            except OSError as exc:
                raise ServiceError(f'{what} cannot be followed on this host: {exc.strerror}') from None
            refuse_jail_overlap(f'{what} leads to {target}, which', target, jails)
            reason = sensitive_bind(target, drop)
            if reason and not allow_sensitive:
                raise ServiceError(f'{what} leads to {target} on this host, which {reason}; {ALLOW_SENSITIVE}')
            if through and not allow_sensitive:
                raise ServiceError(f"{what} passes through {through}, where the kernel's links lead into other "
                                   f"processes' views of the host; {ALLOW_SENSITIVE}")
            if refusal:
                raise ServiceError(f'{what} leads to {target} on this host, which {refusal}; {ALLOW_SENSITIVE}')
            refuse_swappable(what, dirs, links, allow_user_writable)
    return missing


def read_unit(path):
    """Text of the unit file, or None when there is none."""
    try:
        data = read_if_exists(path)
    except FileIOError as exc:
        raise ServiceError(f'unit_dir: {exc}') from None
    except OSError as exc:
        # read_if_exists passes on all but ENOENT: unit_dir a file, a loop, a denied directory
        raise ServiceError(f'unit_dir: cannot read {path}: {exc.strerror}') from None
    return None if data is None else data.decode('utf-8', 'surrogateescape')


def remove_unit(path):
    try:
        os.remove(path)
    except OSError as exc:
        raise ServiceError(f'unit_dir: cannot remove {path}: {exc.strerror}') from None


def write_unit(module, path, text):
    """Replace the unit file atomically through the I/O layer; always mode 0644."""
    try:
        write_atomic(module, path, text.encode('utf-8'), create_mode=UNIT_MODE)
    except FileIOError as exc:
        raise ServiceError(f'unit_dir: {exc}')
    # an existing unit keeps its mode through atomic_move: make it the unit mode too
    module.set_mode_if_different(path, UNIT_MODE, False)


# What process_predates_jail reads of the unit's main process.
MAIN_PROCESS = ('MainPID', 'ExecMainStartTimestampMonotonic')


class JailedService:
    """Brings one jailed service to the state the play asks, through systemctl."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = None
        self.result = {}
        self.systemctl = None
        self.analyze = None
        self.drop_to = None

    def run(self, args, check_rc=True):
        rc, out, err = self.module.run_command(args)
        if rc != 0 and check_rc:
            raise ServiceError(f"{' '.join(args)} failed with status {rc}: {(err or out).strip()}",
                               journal=self.journal_tail())
        return rc, out, err

    def journal_tail(self):
        journalctl = self.module.get_bin_path('journalctl')
        if not journalctl:
            return []
        rc, out, _err = self.module.run_command(
            [journalctl, '--no-pager', '-n', '20', '-o', 'short-iso', '-u', self.name])
        return out.splitlines() if rc == 0 else []

    def require_systemd(self):
        if not os.path.isdir(SYSTEMD_RUNTIME_DIR):
            raise ServiceError(f'this host does not run systemd ({SYSTEMD_RUNTIME_DIR} is missing); '
                               f'jailed_service needs systemd as init to run {self.name}')
        self.systemctl = self.module.get_bin_path('systemctl')
        self.analyze = self.module.get_bin_path('systemd-analyze')
        if not self.systemctl or not self.analyze:
            raise ServiceError('this host runs systemd but systemctl or systemd-analyze is not installed')

    def show(self, *properties):
        """``{property: value}`` of the unit as systemd sees it now."""
        _rc, out, _err = self.run(
            [self.systemctl, 'show', f"--property={','.join(properties)}", self.name], check_rc=False)
        return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)

    def unit_state(self):
        """(ActiveState, SubState, UnitFileState) of the unit as systemd sees it now."""
        values = self.show('ActiveState', 'SubState', 'UnitFileState')
        return values.get('ActiveState', ''), values.get('SubState', ''), values.get('UnitFileState', '')

    def main_pid(self):
        """systemd's MainPID of the unit now (0 when it has none)."""
        _rc, out, _err = self.run([self.systemctl, 'show', '--property=MainPID', '--value', self.name])
        return int(out.strip() or 0)

    def prerequisite(self, message):
        """Missing prerequisites are fatal, but only a warning in check mode, because an
        earlier task of the play may create them."""
        if not self.module.check_mode:
            raise PrerequisiteError(message)
        self.module.warn(f'{message} (check mode: an earlier task may create it)')

    def evaluate(self, text):
        """(exposure, rating, verify warnings) of the candidate unit, analysed in a private
        temporary directory."""
        workdir = tempfile.mkdtemp(prefix='jailed_service.')
        try:
            candidate = os.path.join(workdir, self.name)
            write_atomic(self.module, candidate, text.encode('utf-8'))
            rc, out, err = self.module.run_command([self.analyze, 'verify', candidate])
            errors, warnings = parse_verify(f'{out}\n{err}', rc, candidate)
            if errors:
                # Name the real unit path, not the throw-away candidate.
                details = ' | '.join(errors).replace(candidate, self.result['unit_path'])
                raise ServiceError(f'systemd-analyze verify refused the unit {self.name}: {details}', unit=text)
            rc, out, err = self.module.run_command([self.analyze, 'security', '--offline=true', '--no-pager', candidate])
            if rc != 0:
                raise ServiceError(f'systemd-analyze security --offline=true failed with status {rc} '
                                   f'(systemd 250 or newer is needed): {(err or out).strip()}', unit=text)
            try:
                exposure, rating = parse_exposure(out)
            except ServiceError as exc:
                raise ServiceError(str(exc), unit=text)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return exposure, rating, warnings

    def scored(self, text, installed):
        """evaluate(), skipped when ``installed`` (the unit file now) is ``text`` and its record still holds."""
        record = AnalysisRecord(self.name, self.analyze, self.module.warn)
        scores = record.load(text) if installed == text else None
        self.result['exposure_cached'] = scores is not None
        if scores is None:
            scores = self.evaluate(text)
            if not self.module.check_mode:
                record.save(text, scores)
        return scores

    def candidate(self, spec, installed):
        """The checked, rendered and scored unit text."""
        params = self.params
        max_exposure = exposure_limit(params['max_exposure'], spec.drop_to)
        # A daemon that drops root itself is held to the same account rules for its user.
        account, prefix = (spec.drop_to, 'privilege_drop.') if spec.drop_to else (spec, '')
        try:
            group = resolve_accounts(account.user, account.group, params['allow_supplementary_groups'], prefix)
        except PrerequisiteError as exc:
            self.prerequisite(str(exc))
            group = account.group or account.user
        spec = spec._replace(drop_to=spec.drop_to._replace(group=group)) if spec.drop_to else spec._replace(
            group=group)
        allow_user_writable = params['allow_user_writable_sources']
        for message in missing_in_jail(spec, allow_user_writable) + check_bind_sources(
                spec, params['allow_sensitive_binds'], allow_user_writable):
            self.prerequisite(message)
        self.drop_to = spec.drop_to
        text = render_unit(spec._replace(extra=spec.extra + self.ip_filter(spec)))
        exposure, rating, warnings = self.scored(text, installed)
        self.result.update(unit=text, exposure=exposure, exposure_rating=rating, verify_warnings=warnings)
        if max_exposure is not None and exposure > max_exposure:
            raise ServiceError(f'{self.name}: exposure {exposure} ({rating}) is higher than max_exposure '
                               f'{max_exposure}; the unit was not installed', unit=text, exposure=exposure)
        return text

    def ip_filter(self, spec):
        """IPAddressAllow=/IPAddressDeny= settings compiled from the policy of tcpwrap_daemon."""
        daemon = self.params['tcpwrap_daemon']
        if daemon is None:
            return []
        for name, _values in spec.extra:
            if name in ('IPAddressAllow', 'IPAddressDeny'):
                raise ServiceError(f'extra_properties: {name} is set by tcpwrap_daemon; give one or the other')
        # loaded only here: the host compiles the libwrap engine from source on every run that imports it
        from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import filter_settings
        return filter_settings(daemon, self.module.warn, self.result)

    def confirm_running(self):
        """A daemon that dies right after exec (bad configuration) must fail the task."""
        time.sleep(SETTLE_SECONDS)
        active, sub, _file_state = self.unit_state()
        if active != 'active' or sub != 'running':
            raise ServiceError(f'{self.name} did not stay running (ActiveState={active}, SubState={sub})',
                               journal=self.journal_tail())

    def confirm_dropped(self):
        """The processes of a daemon that drops root itself must show the switch; else it is stopped."""
        account = drop_account(self.drop_to.user, self.drop_to.group, self.params['allow_supplementary_groups'])
        try:
            self.result['processes'] = confirm_drop(self.main_pid, account)
        except ServiceError as exc:
            self.run([self.systemctl, 'stop', self.name])
            raise ServiceError(f'{exc}; {self.name} was stopped', journal=self.journal_tail())

    def apply(self, step, text):
        unit_path = self.result['unit_path']
        if step == 'install':
            write_unit(self.module, unit_path, text)
        elif step == 'remove':
            remove_unit(unit_path)
        else:
            self.run([self.systemctl, step, self.name])
        if step in ('install', 'remove'):
            self.run([self.systemctl, 'daemon-reload'])
        elif step in ('start', 'restart') and self.params['type'] != 'oneshot':
            self.confirm_running()
            if self.drop_to:
                self.confirm_dropped()

    def execute(self):
        params = self.params
        self.name = unit_name(params['name'])
        unit_path = os.path.join(params['unit_dir'], self.name)
        self.result.update(name=self.name, unit_path=unit_path)
        absent = params['state'] == 'absent'
        # Refuse bad input before looking at the host.
        spec = None if absent else validate_unit(params)
        self.require_systemd()
        current = read_unit(unit_path)
        text = None if absent else self.candidate(spec, current)
        unit_changed = current is not None if absent else current != text
        # One systemctl call tells the state and, when nothing is to be done, the main process.
        shown = self.show('ActiveState', 'UnitFileState', *MAIN_PROCESS)
        steps = plan_actions(params['state'], params['enabled'], shown.get('ActiveState', ''), unit_changed,
                             shown.get('UnitFileState', '') == 'enabled')
        if not self.module.check_mode:
            for step in steps:
                self.apply(step, text)
            if absent:
                AnalysisRecord(self.name, self.analyze, self.module.warn).drop()
            if steps:
                shown = self.show(*MAIN_PROCESS)
        if not absent:
            self.result['predates_jail'] = process_predates_jail(shown, params['jail'], JAIL_STATE_DIR)
        if self.module._diff:
            self.result['diff'] = {'before': current or '', 'after': text or '',
                                   'before_header': unit_path, 'after_header': unit_path}
        self.result['changed'] = bool(steps)
        return self.result
