# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""An inetd-style daemon behind tcpd: a systemd socket unit with Accept=yes and a template service.

validate_wrapped() checks the module's parameters once; render_socket()/render_service() turn
the spec into unit text. The service runs ``@/usr/sbin/tcpd PROGRAM ARGS``: systemd hands tcpd
the program's path as argv[0], from which tcpd takes the daemon name it matches and the file it
executes, with the connection on standard input. It gets jailed_service's hardening and its
exposure score; the validation pieces, the account checks, the jail checks, plan_actions and
the systemctl runner come from the systemd rooms.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import collections
import os
import shutil
import tempfile
import time

from ansible_collections.serversec.confine.plugins.module_utils import _jailed_service
from ansible_collections.serversec.confine.plugins.module_utils._fileio import write_new
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import (
    JailedService,
    check_bind_sources,
    missing_in_jail,
    plan_actions,
    read_unit,
    remove_unit,
    write_unit,
)
from ansible_collections.serversec.confine.plugins.module_utils._service_accounts import resolve_accounts
from ansible_collections.serversec.confine.plugins.module_utils._systemd_analyze import parse_verify
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import (
    HARDENING,
    JOURNAL_SOCKETS,
    PrerequisiteError,
    ServiceError,
    absolute_path,
    escape_specifiers,
    free_text,
    render_exec,
    sensitive_bind,
    unit_name,
    validate_account,
    validate_command,
)
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import filter_settings

# The policy tcpd reads; bound read-only into a jail, where a missing file reads as empty.
POLICY_FILES = ('/etc/hosts.allow', '/etc/hosts.deny')

# What the jail and bind checks of _jailed_service look at.
JailView = collections.namedtuple('JailView', ('jail', 'command', 'working_directory', 'read_write'))
BindView = collections.namedtuple('BindView', ('jail', 'bind', 'bind_read_only', 'drop_to'), defaults=(None,))

WrappedSpec = collections.namedtuple('WrappedSpec', (
    'base', 'description', 'port', 'tcpd', 'command', 'daemon_name', 'user', 'group', 'jail', 'read_write',
))


def base_name(name):
    """"telnet", "telnet.socket" or "telnet.service" all name the pair telnet.socket / telnet@.service."""
    for suffix in ('.socket', '.service'):
        if name.endswith(suffix):
            name = name[:-len(suffix)]
    if '@' in name:
        raise ServiceError(f'name: {name!r} must not contain "@"; the module makes the template {name}@.service')
    return unit_name(name)[:-len('.service')]


def validate_wrapped(params):
    """Check the parameters once; a WrappedSpec whose group is left to the caller when not given."""
    base = base_name(params['name'])
    port = params['port']
    if not 1 <= port <= 65535:
        raise ServiceError(f'port: {port} is not a TCP port (1-65535)')
    command = validate_command(params['command'])
    program = os.path.basename(command[0])
    daemon_name = params['daemon_name'] or program
    if daemon_name != program:
        raise ServiceError(
            f'daemon_name: tcpd matches the rules against the file name of the program it runs, here {program!r}, '
            f'not {daemon_name!r}; install the program under that name (a symbolic link such as '
            f'/usr/local/sbin/{daemon_name}) and give that path in command[0]')
    tcpd = absolute_path('tcpd', params['tcpd'])
    jail = params['jail']
    if jail is not None:
        jail = absolute_path('jail', jail)
        if jail == '/':
            raise ServiceError('jail: "/" is not a jail')
    read_write = []
    for path in params['read_write']:
        path = absolute_path('read_write', path)
        if path == '/':
            raise ServiceError("read_write: '/' would let the wrapped daemon write the host's whole file system")
        reason = sensitive_bind(path)
        if reason:
            raise ServiceError(f"read_write: {path!r} {reason.replace('the jailed daemon', 'the wrapped daemon')}")
        read_write.append(path)
    group = params['group']
    description = params['description'] or f'{command[0]} behind tcpd on port {port}'
    return WrappedSpec(
        base=base, description=free_text('description', description), port=port, tcpd=tcpd, command=command,
        daemon_name=daemon_name, user=validate_account('user', params['user']),
        group=validate_account('group', group) if group is not None else None, jail=jail, read_write=read_write)


def render_socket(spec, filter_properties):
    lines = [
        '# Managed by Ansible (serversec.confine.tcpwrapped_service); local edits are overwritten.',
        '[Unit]',
        f'Description={escape_specifiers(spec.description)} (socket)',
        '',
        '[Socket]',
        f'ListenStream={spec.port}',
        'Accept=yes',
    ]
    lines.extend(f'{name}={value}' for name, values in filter_properties for value in values)
    lines.extend(['', '[Install]', 'WantedBy=sockets.target', ''])
    return '\n'.join(lines)


def render_service(spec):
    """The template service: tcpd in front of the program, one instance per connection."""
    paths = ' '.join(escape_specifiers(path) for path in spec.read_write)
    lines = [
        '# Managed by Ansible (serversec.confine.tcpwrapped_service); local edits are overwritten.',
        '[Unit]',
        f'Description={escape_specifiers(spec.description)}',
        # An instance ends with its connection, often with a failure status: do not keep it.
        'CollectMode=inactive-or-failed',
        '',
        '[Service]',
        f'ExecStart=@{render_exec([spec.tcpd] + spec.command)}',
        'StandardInput=socket',
        'StandardOutput=socket',
        'StandardError=journal',
        f'User={spec.user}',
        f'Group={spec.group}',
    ]
    if spec.jail:
        # Inside the jail tcpd reads the host's policy and logs through the journal's sockets.
        lines.append(f'RootDirectory={escape_specifiers(spec.jail)}')
        lines.append('BindReadOnlyPaths=' + ' '.join(['-' + path for path in POLICY_FILES] + list(JOURNAL_SOCKETS)))
        if paths:
            lines.append(f'BindPaths={paths}')
    elif paths:
        lines.append(f'ReadWritePaths={paths}')
    if paths:
        # as jailed_service: what the daemon can write, it cannot execute (in the jail, the
        # bind's destination is the same path)
        no_exec = ' '.join(escape_specifiers((spec.jail or '') + path) for path in spec.read_write)
        lines.append(f'NoExecPaths={no_exec}')
    lines.extend(['CapabilityBoundingSet=', 'AmbientCapabilities='])
    lines.extend(f'{name}={value}' for name, value in HARDENING)
    lines.extend(['MemoryDenyWriteExecute=yes', 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6', ''])
    return '\n'.join(lines)


class TcpwrappedService(JailedService):
    """Brings the socket and its template service to the state the play asks, through systemctl."""

    def paths(self, base):
        unit_dir = self.params['unit_dir']
        return os.path.join(unit_dir, f'{base}.socket'), os.path.join(unit_dir, f'{base}@.service')

    def check_host(self, spec):
        """Account, program, jail and read_write checks; what an earlier task may create only warns in check mode."""
        try:
            group = resolve_accounts(spec.user, spec.group, self.params['allow_supplementary_groups'])
        except PrerequisiteError as exc:
            self.prerequisite(str(exc))
            group = spec.group or spec.user
        programs = [('tcpd', spec.tcpd), ('command[0]', spec.command[0])]
        allow_user_writable = self.params['allow_user_writable_sources']
        messages = []
        if spec.jail is None:
            messages = [f'{field}: {program} is not an executable file on this host' for field, program in programs
                        if not (os.path.isfile(program) and os.access(program, os.X_OK))]
        else:
            for field, program in programs:
                found = missing_in_jail(JailView(spec.jail, [program], '/', []), allow_user_writable)
                messages.extend(message.replace('command[0]:', f'{field}:', 1) for message in found)
                if found and found[0].startswith('jail:'):
                    break
        # The writable paths are bind sources on the host: the same rules as jailed_service's binds.
        try:
            messages += check_bind_sources(BindView(spec.jail, [(path, None) for path in spec.read_write], []), False,
                                           allow_user_writable)
        except ServiceError as exc:
            message = str(exc).replace('bind: ', 'read_write: ', 1)
            raise ServiceError(message.replace('to the jailed daemon', 'to the wrapped daemon')) from None
        for message in messages:
            self.prerequisite(message.replace('bind: ', 'read_write: ', 1))
        return group

    def verify_pair(self, socket_text, service_text):
        """systemd-analyze verify needs the socket and its template side by side."""
        workdir = tempfile.mkdtemp(prefix='tcpwrapped_service.')
        try:
            socket_path = os.path.join(workdir, os.path.basename(self.result['socket_path']))
            for path, text in ((socket_path, socket_text),
                               (os.path.join(workdir, os.path.basename(self.result['service_path'])), service_text)):
                write_new(path, text.encode('utf-8'))
            rc, out, err = self.module.run_command([self.analyze, 'verify', socket_path])
            errors, warnings = parse_verify(f'{out}\n{err}', rc, socket_path)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if errors:
            raise ServiceError(f"systemd-analyze verify refused {self.result['socket']}: "
                               f"{' | '.join(errors).replace(workdir + '/', '')}", unit=socket_text)
        return warnings

    def candidates(self, spec):
        """(socket text, service text), checked and scored."""
        group = self.check_host(spec)
        service_text = render_service(spec._replace(group=group))
        daemon = self.params['tcpwrap_daemon']
        filter_properties = [] if daemon is None else filter_settings(daemon, self.module.warn, self.result)
        socket_text = render_socket(spec, filter_properties)
        # The template is scored under its own name, as systemd-analyze instantiates it.
        self.name = self.result['service']
        # evaluate() names the unit it refuses by the result's unit_path.
        self.result['unit_path'] = self.result['service_path']
        exposure, rating, warnings = self.evaluate(service_text)
        del self.result['unit_path']
        self.name = self.result['socket']
        warnings += self.verify_pair(socket_text, service_text)
        self.result.update(socket_unit=socket_text, service_unit=service_text, exposure=exposure,
                           exposure_rating=rating, verify_warnings=warnings)
        max_exposure = self.params['max_exposure']
        if max_exposure is not None and exposure > max_exposure:
            raise ServiceError(f"{self.result['service']}: exposure {exposure} ({rating}) is higher than max_exposure "
                               f'{max_exposure}; the units were not installed', exposure=exposure)
        return socket_text, service_text

    def confirm_listening(self):
        time.sleep(_jailed_service.SETTLE_SECONDS)
        active, sub, _file_state = self.unit_state()
        if active != 'active' or sub != 'listening':
            raise ServiceError(f'{self.name} is not listening (ActiveState={active}, SubState={sub})',
                               journal=self.journal_tail())

    def apply_step(self, step, texts):
        if step == 'install':
            for path, text in zip((self.result['socket_path'], self.result['service_path']), texts):
                write_unit(self.module, path, text)
        elif step == 'remove':
            for path in (self.result['socket_path'], self.result['service_path']):
                if os.path.lexists(path):
                    remove_unit(path)
        else:
            self.run([self.systemctl, step, self.name])
        if step == 'stop':
            # Connections already accepted run on in their own instances.
            self.run([self.systemctl, 'stop', f"{self.result['service'][:-len('@.service')]}@*.service"])
        if step in ('install', 'remove'):
            self.run([self.systemctl, 'daemon-reload'])
        elif step in ('start', 'restart'):
            self.confirm_listening()

    def execute(self):
        params = self.params
        absent = params['state'] == 'absent'
        base = base_name(params['name'])
        socket_path, service_path = self.paths(base)
        self.name = f'{base}.socket'
        self.result.update(socket=self.name, service=f'{base}@.service', socket_path=socket_path,
                           service_path=service_path)
        spec = None if absent else validate_wrapped(params)
        self.require_systemd()
        current = (read_unit(socket_path), read_unit(service_path))
        texts = (None, None) if absent else self.candidates(spec)
        unit_changed = current != (None, None) if absent else current != texts
        active, _sub, file_state = self.unit_state()
        steps = plan_actions(params['state'], params['enabled'], active, unit_changed, file_state == 'enabled')
        if not self.module.check_mode:
            for step in steps:
                self.apply_step(step, texts)
        if self.module._diff:
            self.result['diff'] = [
                {'before': before or '', 'after': after or '', 'before_header': path, 'after_header': path}
                for before, after, path in zip(current, texts, (socket_path, service_path))]
        self.result['changed'] = bool(steps)
        return self.result
