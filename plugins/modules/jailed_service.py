# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep their imports after DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: jailed_service
short_description: Run a daemon in a chroot jail as an unprivileged user under a hardened systemd unit
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Writes a systemd service unit that starts O(command) inside the chroot jail O(jail)
    (C(RootDirectory=)) as the unprivileged O(user), and enables, starts, stops or removes it.
  - systemd resolves the user on the host before it enters the jail and drops every
    supplementary group but the user's own, so the daemon never runs as root inside the jail.
  - "Hardening is on by default: C(NoNewPrivileges=yes), an empty C(CapabilityBoundingSet=)
    except for O(capabilities), C(PrivateTmp), C(PrivateDevices), C(PrivateMounts),
    C(ProtectSystem=strict), C(ProtectHome), C(ProtectKernelTunables), C(ProtectKernelModules),
    C(ProtectKernelLogs), C(ProtectControlGroups), C(ProtectClock), C(ProtectHostname),
    C(ProtectProc=invisible), C(RestrictNamespaces), C(RestrictSUIDSGID), C(RestrictRealtime),
    C(RemoveIPC), C(LockPersonality), C(MemoryDenyWriteExecute), C(RestrictAddressFamilies),
    C(SystemCallFilter=@system-service), C(SystemCallArchitectures=native) and C(UMask=0077)."
  - C(PrivateUsers=) is not set, because it fails with status 217/USER in containers and on
    hosts that restrict user namespaces; set it with O(extra_properties) where it works.
  - The journal's sockets (C(/dev/log), C(/run/systemd/journal/socket),
    C(/run/systemd/journal/stdout)) are bound read-only into the jail so the daemon's logs
    reach the journal.
  - The candidate unit is checked with C(systemd-analyze verify) before it is installed
    (its false "is not executable" message for programs inside the jail is ignored), and
    scored with C(systemd-analyze security --offline=true); the module checks itself that the
    program exists and is executable inside the jail, without running it.
  - The unit file is replaced atomically, C(systemctl daemon-reload) runs only when it changed,
    and a running service is restarted only when its unit changed.
  - Build the jail first, for example with M(serversec.confine.chroot_jail).
options:
  name:
    description:
      - Name of the unit, ending in C(.service).
    type: str
    required: true
  jail:
    description:
      - Root directory of the jail on the host. It must exist.
      - Required unless O(state=absent).
    type: path
  command:
    description:
      - Argument list of the daemon, as seen inside the jail. The first element is the
        absolute path of the program inside the jail; it must exist there and be executable.
      - Each element is quoted for systemd, so spaces, C(%), C($) and C(;) reach the daemon
        unchanged. No shell is involved.
      - The daemon must stay in the foreground (for example C(lighttpd -D) or
        C(rsync --daemon --no-detach)) unless O(type=forking).
      - Required unless O(state=absent).
    type: list
    elements: str
  user:
    description:
      - Host user the daemon runs as. It must exist on the host; C(root) and uid 0 are refused,
        because a process running as root can break out of a chroot jail.
      - Required unless O(state=absent).
    type: str
  group:
    description:
      - Host group the daemon runs as. It must exist; C(root) and gid 0 are refused.
      - Defaults to the primary group of O(user).
    type: str
  description:
    description:
      - C(Description=) of the unit. Defaults to the program and the jail.
    type: str
  state:
    description:
      - V(started) installs the unit and starts the service (restarting it when the unit changed).
      - V(stopped) installs the unit and stops the service.
      - V(restarted) installs the unit and always restarts the service.
      - V(present) installs the unit and leaves the service as it is, except that a running
        service is restarted when its unit changed.
      - V(absent) stops and disables the service and removes the unit.
    type: str
    choices: [started, stopped, restarted, present, absent]
    default: started
  enabled:
    description:
      - Whether the service starts at boot (C(WantedBy=multi-user.target)).
      - Ignored when O(state=absent).
    type: bool
    default: true
  environment:
    description:
      - Environment variables of the daemon (C(Environment=)).
    type: dict
    default: {}
  working_directory:
    description:
      - Working directory of the daemon, an absolute path inside the jail.
    type: str
    default: /
  capabilities:
    description:
      - Capabilities the daemon keeps, for example V(CAP_NET_BIND_SERVICE) to bind a port below
        1024 without root. They are its whole bounding set and are granted as ambient
        capabilities; every other capability is dropped.
    type: list
    elements: str
    default: []
  bind_read_only:
    description:
      - Host paths bound read-only into the jail (C(BindReadOnlyPaths=)), each V(SOURCE) or
        V(SOURCE:DESTINATION) with DESTINATION inside the jail.
    type: list
    elements: str
    default: []
  bind:
    description:
      - Host paths bound read-write into the jail (C(BindPaths=)), each V(SOURCE) or
        V(SOURCE:DESTINATION) with DESTINATION inside the jail.
    type: list
    elements: str
    default: []
  read_write:
    description:
      - Paths inside the jail the daemon may write, for example its log or state directory;
        C(ProtectSystem=strict) makes everything else read-only.
      - Written as C(ReadWritePaths=) with the jail as prefix, because systemd looks these paths
        up on the host even with C(RootDirectory=). They must exist, for example created with
        the O(serversec.confine.chroot_jail#module:directories) option of M(serversec.confine.chroot_jail).
    type: list
    elements: str
    default: []
  bind_journal:
    description:
      - Bind the journal's sockets read-only into the jail so syslog and journal messages
        reach the journal. Standard output and error reach it either way.
    type: bool
    default: true
  type:
    description:
      - C(Type=) of the service.
    type: str
    choices: [simple, exec, forking, oneshot, notify, dbus, idle]
    default: exec
  restart:
    description:
      - C(Restart=) policy of the service.
    type: str
    choices: ['no', always, on-success, on-failure, on-abnormal, on-abort, on-watchdog]
    default: on-failure
  extra_properties:
    description:
      - Further C([Service]) settings, name to value. A boolean becomes C(yes)/C(no); a list
        gives one line per element (for example several C(ReadWritePaths=)).
      - A setting that is also a hardening default (for example C(ProtectSystem)) replaces it.
      - Settings that other options control (C(User), C(RootDirectory), C(ExecStart),
        C(CapabilityBoundingSet) and so on) are refused.
      - Paths in C(ReadWritePaths=), C(ReadOnlyPaths=) and C(InaccessiblePaths=) are host paths;
        use O(read_write) for paths inside the jail.
    type: dict
    default: {}
  memory_deny_write_execute:
    description:
      - Set C(MemoryDenyWriteExecute=yes). Turn it off for daemons with a JIT.
    type: bool
    default: true
  restrict_address_families:
    description:
      - Socket address families the daemon may use (C(RestrictAddressFamilies=)), or V(none)
        alone to deny all.
    type: list
    elements: str
    default: [AF_UNIX, AF_INET, AF_INET6]
  unit_dir:
    description:
      - Directory the unit file is written to.
    type: path
    default: /etc/systemd/system
  max_exposure:
    description:
      - Fail, before anything is written, when the C(systemd-analyze security) exposure score
        of the unit is higher than this (0.0 is best, 10.0 worst).
    type: float
notes:
  - Needs systemd as PID 1 and C(systemd-analyze) 250 or newer on the managed host.
  - In check mode a jail, user, group or program that does not exist yet only gives a
    warning, since an earlier task of the same play may create it.
  - "Linux always lists the user's own group among the process's groups
    (C(Groups:) in C(/proc/PID/status)); no other group is kept."
seealso:
  - module: serversec.confine.chroot_jail
  - name: systemd.exec(5)
    description: Execution environment settings of systemd units.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html
attributes:
  check_mode:
    support: full
    description: Reports the unit it would write and the changes it would make.
  diff_mode:
    support: full
    description: Shows the unit file before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with systemd.
"""

EXAMPLES = r"""
- name: Run lighttpd jailed in /srv/jails/web as www-jail on port 8080
  serversec.confine.jailed_service:
    name: web.service
    jail: /srv/jails/web
    command: [/usr/sbin/lighttpd, -D, -f, /etc/lighttpd/lighttpd.conf]
    user: www-jail
    max_exposure: 2.0
  register: web

- name: Show the exposure score
  ansible.builtin.debug:
    msg: "{{ web.exposure }}"

- name: Run rsync as a daemon on port 873, which needs CAP_NET_BIND_SERVICE
  serversec.confine.jailed_service:
    name: rsyncd-jail.service
    jail: /srv/jails/rsync
    command: [/usr/bin/rsync, --daemon, --no-detach, --config, /etc/rsyncd.conf]
    user: rsync-jail
    capabilities: [CAP_NET_BIND_SERVICE]
    read_write: [/var/log/rsync]

- name: Remove the jailed web server
  serversec.confine.jailed_service:
    name: web.service
    state: absent
"""

RETURN = r"""
unit_path:
  description: Path of the unit file.
  returned: always
  type: str
  sample: /etc/systemd/system/web.service
unit:
  description: Text of the unit file as written (or as it would be written in check mode).
  returned: when O(state) is not V(absent)
  type: str
  sample: "[Unit]\nDescription=web\n\n[Service]\nType=exec\n..."
exposure:
  description:
    - Overall exposure level of the unit by C(systemd-analyze security), from 0.0 (best) to 10.0.
  returned: when O(state) is not V(absent)
  type: float
  sample: 1.2
exposure_rating:
  description: Rating that goes with RV(exposure), such as C(OK), C(MEDIUM), C(EXPOSED) or C(UNSAFE).
  returned: when O(state) is not V(absent)
  type: str
  sample: OK
verify_warnings:
  description: Messages of C(systemd-analyze verify) that did not stop the installation.
  returned: when O(state) is not V(absent)
  type: list
  elements: str
  sample: []
"""

import grp
import os
import pwd
import shutil
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import (
    DEFAULT_ADDRESS_FAMILIES,
    RESTART_POLICIES,
    STATES,
    TYPES,
    JailedServiceError,
    check_program_in_jail,
    parse_exposure,
    parse_verify,
    render_unit,
    resolve_in_jail,
    validate_unit_name,
)

SYSTEMD_RUNTIME_DIR = '/run/systemd/system'
RUNNING_STATES = ('active', 'activating', 'reloading')
# How long a freshly started daemon must stay up before the start counts.
SETTLE_SECONDS = 1.0


class JailedService:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.name = self.params['name']
        self.unit_path = os.path.join(self.params['unit_dir'], self.name)
        self.changed = False
        self.result = {'unit_path': self.unit_path}
        self.systemctl = None
        self.analyze = None

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg, unit_path=self.unit_path, **kwargs)

    def require_systemd(self):
        if not os.path.isdir(SYSTEMD_RUNTIME_DIR):
            self.fail(f'this host does not run systemd ({SYSTEMD_RUNTIME_DIR} is missing); '
                      f'jailed_service needs systemd as init to run {self.name}')
        self.systemctl = self.module.get_bin_path('systemctl')
        self.analyze = self.module.get_bin_path('systemd-analyze')
        if not self.systemctl or not self.analyze:
            self.fail('this host runs systemd but systemctl or systemd-analyze is not installed')

    def run(self, args, check_rc=True):
        rc, out, err = self.module.run_command(args)
        if rc != 0 and check_rc:
            self.fail(f"{' '.join(args)} failed with status {rc}: {(err or out).strip()}",
                      journal=self.journal_tail())
        return rc, out, err

    def journal_tail(self):
        journalctl = self.module.get_bin_path('journalctl')
        if not journalctl:
            return []
        rc, out, _err = self.module.run_command(
            [journalctl, '--no-pager', '-n', '20', '-o', 'short-iso', '-u', self.name])
        return out.splitlines() if rc == 0 else []

    def unit_state(self):
        """(ActiveState, SubState, UnitFileState) of the unit as systemd sees it now."""
        _rc, out, _err = self.run(
            [self.systemctl, 'show', '--property=ActiveState,SubState,UnitFileState', self.name],
            check_rc=False)
        values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line)
        return values.get('ActiveState', ''), values.get('SubState', ''), values.get('UnitFileState', '')

    def read_current(self):
        try:
            with open(self.unit_path) as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.fail(f'cannot read {self.unit_path}: {to_native(exc)}')

    # state=absent ----------------------------------------------------------

    def remove(self):
        current = self.read_current()
        active, _sub, file_state = self.unit_state()
        self.result['diff'] = {'before': current or '', 'after': '',
                               'before_header': self.unit_path, 'after_header': self.unit_path}
        if active in RUNNING_STATES:
            self.changed = True
            if not self.module.check_mode:
                self.run([self.systemctl, 'stop', self.name])
        if file_state == 'enabled':
            self.changed = True
            if not self.module.check_mode:
                self.run([self.systemctl, 'disable', self.name])
        if current is not None:
            self.changed = True
            if not self.module.check_mode:
                os.remove(self.unit_path)
                self.run([self.systemctl, 'daemon-reload'])

    # state!=absent ---------------------------------------------------------

    def prerequisite(self, message):
        """A missing jail, account or program: fatal, but in check mode only a warning,
        because an earlier task of the play may create it."""
        if self.module.check_mode:
            self.module.warn(f'{message} (check mode: an earlier task may create it)')
        else:
            self.fail(message)

    def resolve_accounts(self):
        user = self.params['user']
        group = self.params['group']
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            self.prerequisite(f'user: {user} does not exist on this host; create it first '
                              '(a system user without login shell or home)')
            return group or user
        if entry.pw_uid == 0:
            self.fail(f'user: {user} has uid 0; a jailed daemon running as root can break out of its chroot')
        if group is None:
            try:
                return grp.getgrgid(entry.pw_gid).gr_name
            except KeyError:
                self.fail(f'user: the primary group {entry.pw_gid} of {user} does not exist')
        try:
            if grp.getgrnam(group).gr_gid == 0:
                self.fail(f'group: {group} has gid 0; a jailed daemon must not run with the root group')
        except KeyError:
            self.prerequisite(f'group: {group} does not exist on this host')
        return group

    def check_jail(self):
        jail = self.params['jail']
        if not os.path.isdir(jail):
            self.prerequisite(f'jail: {jail} does not exist or is not a directory; build it first '
                              'with serversec.confine.chroot_jail')
            return
        try:
            check_program_in_jail(jail, self.params['command'][0])
        except JailedServiceError as exc:
            self.prerequisite(str(exc))
        # systemd would fail the start with 200/CHDIR.
        working_directory = self.params['working_directory']
        if not os.path.isdir(resolve_in_jail(jail, working_directory)):
            self.prerequisite(f'working_directory: {working_directory} does not exist in the jail {jail}')
        for path in self.params['read_write']:
            host_path = os.path.join(jail, path.lstrip('/'))
            # systemd resolves these on the host: a link in the jail could point out of it.
            if os.path.realpath(host_path) != os.path.join(os.path.realpath(jail), path.lstrip('/')):
                self.fail(f'read_write: {path} goes through a symbolic link in the jail {jail}')
            if not os.path.isdir(host_path):
                self.prerequisite(f'read_write: {path} does not exist in the jail {jail}; create it with '
                                  'serversec.confine.chroot_jail directories')

    def render(self, group):
        spec = dict(self.params)
        spec['group'] = group
        try:
            return render_unit(spec)
        except JailedServiceError as exc:
            self.fail(str(exc))

    def evaluate(self, text):
        """Verify and score the candidate unit in a private temporary directory."""
        workdir = tempfile.mkdtemp(prefix='jailed_service.')
        try:
            candidate = os.path.join(workdir, self.name)
            with open(candidate, 'w') as handle:
                handle.write(text)
            rc, out, err = self.module.run_command([self.analyze, 'verify', candidate])
            errors, warnings = parse_verify(f'{out}\n{err}', rc, candidate)
            if errors:
                # Name the real unit path, not the throw-away candidate.
                details = ' | '.join(errors).replace(candidate, self.unit_path)
                self.fail(f'systemd-analyze verify refused the unit {self.name}: {details}', unit=text)
            rc, out, err = self.module.run_command(
                [self.analyze, 'security', '--offline=true', '--no-pager', candidate])
            if rc != 0:
                self.fail(f'systemd-analyze security --offline=true failed with status {rc} '
                          f'(systemd 250 or newer is needed): {(err or out).strip()}', unit=text)
            try:
                exposure, rating = parse_exposure(out)
            except JailedServiceError as exc:
                self.fail(str(exc), unit=text)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        return exposure, rating, warnings

    def install(self, text):
        unit_dir = self.params['unit_dir']
        if not os.path.isdir(unit_dir):
            self.fail(f'unit_dir: {unit_dir} does not exist')
        fd, tmp_path = tempfile.mkstemp(prefix=f'.{self.name}.', dir=unit_dir)
        try:
            with os.fdopen(fd, 'w') as handle:
                handle.write(text)
            os.chmod(tmp_path, 0o644)
            self.module.atomic_move(tmp_path, self.unit_path)
        finally:
            if os.path.exists(tmp_path):
                os.remove(tmp_path)
        self.run([self.systemctl, 'daemon-reload'])

    def confirm_running(self):
        """A daemon that dies right after exec (bad configuration) must fail the task."""
        time.sleep(SETTLE_SECONDS)
        active, sub, _file_state = self.unit_state()
        if active != 'active' or sub != 'running':
            self.fail(f'{self.name} did not stay running (ActiveState={active}, SubState={sub})',
                      journal=self.journal_tail())

    def apply(self):
        group = self.resolve_accounts()
        self.check_jail()
        text = self.render(group)
        current = self.read_current()
        unit_changed = current != text
        exposure, rating, warnings = self.evaluate(text)
        self.result.update(unit=text, exposure=exposure, exposure_rating=rating,
                           verify_warnings=warnings)
        self.result['diff'] = {'before': current or '', 'after': text,
                               'before_header': self.unit_path, 'after_header': self.unit_path}
        max_exposure = self.params['max_exposure']
        if max_exposure is not None and exposure > max_exposure:
            self.fail(f'{self.name}: exposure {exposure} ({rating}) is higher than max_exposure '
                      f'{max_exposure}; the unit was not installed', unit=text, exposure=exposure)
        check_mode = self.module.check_mode
        if unit_changed:
            self.changed = True
            if not check_mode:
                self.install(text)
        active, _sub, file_state = self.unit_state()
        running = active in RUNNING_STATES
        if self.params['enabled'] != (file_state == 'enabled'):
            self.changed = True
            if not check_mode:
                self.run([self.systemctl, 'enable' if self.params['enabled'] else 'disable', self.name])
        state = self.params['state']
        action = None
        if state == 'started':
            action = 'restart' if running and unit_changed else None if running else 'start'
        elif state == 'restarted' or (state == 'present' and running and unit_changed):
            action = 'restart'
        elif state == 'stopped' and running:
            action = 'stop'
        if action:
            self.changed = True
            if not check_mode:
                self.run([self.systemctl, action, self.name])
                if action != 'stop' and self.params['type'] != 'oneshot':
                    self.confirm_running()

    def execute(self):
        try:
            validate_unit_name(self.name)
        except JailedServiceError as exc:
            self.fail(str(exc))
        absent = self.params['state'] == 'absent'
        if not absent:
            # Refuse bad input before looking at the host.
            self.render(self.params['group'] or self.params['user'])
        self.require_systemd()
        if absent:
            self.remove()
        else:
            self.apply()
        if not self.module._diff:
            self.result.pop('diff', None)
        self.result['changed'] = self.changed
        return self.result


def main():
    not_absent = ('jail', 'command', 'user')
    module = AnsibleModule(
        argument_spec={
            'name': {'type': 'str', 'required': True},
            'jail': {'type': 'path'},
            'command': {'type': 'list', 'elements': 'str'},
            'user': {'type': 'str'},
            'group': {'type': 'str'},
            'description': {'type': 'str'},
            'state': {'type': 'str', 'default': 'started', 'choices': list(STATES)},
            'enabled': {'type': 'bool', 'default': True},
            'environment': {'type': 'dict', 'default': {}},
            'working_directory': {'type': 'str', 'default': '/'},
            'capabilities': {'type': 'list', 'elements': 'str', 'default': []},
            'bind_read_only': {'type': 'list', 'elements': 'str', 'default': []},
            'bind': {'type': 'list', 'elements': 'str', 'default': []},
            'read_write': {'type': 'list', 'elements': 'str', 'default': []},
            'bind_journal': {'type': 'bool', 'default': True},
            'type': {'type': 'str', 'default': 'exec', 'choices': list(TYPES)},
            'restart': {'type': 'str', 'default': 'on-failure', 'choices': list(RESTART_POLICIES)},
            'extra_properties': {'type': 'dict', 'default': {}},
            'memory_deny_write_execute': {'type': 'bool', 'default': True},
            'restrict_address_families': {
                'type': 'list', 'elements': 'str', 'default': list(DEFAULT_ADDRESS_FAMILIES)},
            'unit_dir': {'type': 'path', 'default': '/etc/systemd/system'},
            'max_exposure': {'type': 'float'},
        },
        required_if=[('state', state, not_absent) for state in STATES if state != 'absent'],
        supports_check_mode=True,
    )
    module.exit_json(**JailedService(module).execute())


if __name__ == '__main__':
    main()
