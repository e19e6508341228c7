# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""A systemd drop-in that enforces the TCP wrappers policy of one daemon on a unit the host ships.

The policy is compiled by _tcpwrap_compile; this room renders the drop-in, refuses a unit that
already filters addresses elsewhere (two lists would add up and widen the policy) and a filter
that would cut the SSH connection Ansible runs through, and drives systemctl through the
systemd rooms' runner. Only a daemon-reload follows a change; a restart only when asked.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import re

from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError, read_if_exists, write_atomic
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import JailedService
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError, unit_name
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import host_filter
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import ssh_connection

DROPIN_NAME = 'serversec-tcpwrap-filter.conf'
DROPIN_MODE = 0o644
DIRECTORY_MODE = 0o755
# Units that carry an SSH server's connections even when this process does not descend from them.
SSH_UNITS = ('ssh.service', 'sshd.service', 'ssh.socket', 'sshd.socket')
SECTIONS = {'service': 'Service', 'socket': 'Socket'}
FILE_HEADER_RE = re.compile(r'^# (/\S+)$')
IP_SETTING_RE = re.compile(r'^\s*(IPAddressAllow|IPAddressDeny)\s*=\s*(\S.*)?$')


def filter_unit_name(name, field='unit', module='tcpwrap_filter'):
    """A .service or .socket unit name (".service" appended when there is no suffix)."""
    try:
        if name.endswith('.socket'):
            return unit_name(name[:-len('.socket')] + '.service')[:-len('.service')] + '.socket'
        return unit_name(name)
    except ServiceError as exc:
        # unit_name() speaks for jailed_service's "name"; say which field and module refused it.
        message = str(exc).replace('jailed_service manages .service units', f'{module} manages .service and .socket units')
        raise ServiceError(field + message[len('name'):] if message.startswith('name:') else message) from None


def render_dropin(unit, compiled, allow_path, deny_path):
    """The drop-in text: IPAddressAllow= is checked first by systemd, then IPAddressDeny=any."""
    lines = [
        '# Managed by Ansible (serversec.confine.tcpwrap_filter); local edits are overwritten.',
        f'# The TCP wrappers policy of {allow_path} and {deny_path} for daemon "{compiled.daemon}",',
        '# compiled from ' + (', '.join(compiled.rules) if compiled.rules else 'no rule (no rule matches: granted)') + '.',
        f'[{SECTIONS[unit.rsplit(".", 1)[1]]}]',
    ]
    lines.extend(f'{name}={value}' for name, value in compiled.properties())
    return '\n'.join(lines) + '\n'


def foreign_ip_settings(cat_output, dropin_path):
    """'file: line' of every IPAddressAllow=/IPAddressDeny= line `systemctl cat` shows outside our drop-in.

    An empty assignment counts too: in a drop-in read after ours it would reset our filter.
    """
    found = []
    current = None
    for line in cat_output.splitlines():
        header = FILE_HEADER_RE.match(line)
        if header:
            current = header.group(1)
            continue
        setting = IP_SETTING_RE.match(line)
        if setting and current != dropin_path:
            found.append(f'{current}: {line.strip()}')
    return found


def process_ancestors(proc='/proc', pid=None):
    """This process and its parents, by pid, as /proc/PID/stat tells."""
    pid = pid or os.getpid()
    seen = []
    while pid > 1 and pid not in seen:
        seen.append(pid)
        try:
            stat = read_if_exists(f'{proc}/{pid}/stat') or b''
            pid = int(stat.rsplit(b')', 1)[1].split()[1])
        except (OSError, FileIOError, ValueError, IndexError):
            break
    return seen


class TcpwrapFilter(JailedService):
    """Brings the drop-in of one unit to the state the play asks, through systemctl."""

    def dropin_path(self):
        return os.path.join(self.params['unit_dir'], f'{self.name}.d', DROPIN_NAME)

    def unit_show(self, *properties):
        _rc, out, _err = self.run([self.systemctl, 'show', f"--property={','.join(properties)}", self.name],
                                  check_rc=False)
        return dict(line.split('=', 1) for line in out.splitlines() if '=' in line)

    def check_unit(self, path):
        """The unit must exist, and filter addresses nowhere but in our drop-in."""
        if self.unit_show('LoadState').get('LoadState') != 'loaded':
            self.prerequisite(f'unit: {self.name} is not installed on this host')
            return
        _rc, out, _err = self.run([self.systemctl, 'cat', '--no-pager', self.name], check_rc=False)
        foreign = foreign_ip_settings(out, path)
        if foreign:
            raise ServiceError(f"unit: {self.name} already sets an IP address filter ({'; '.join(foreign)}); "
                               'systemd adds lists together, which would widen the policy. Remove that setting first')

    def serves_this_session(self):
        if self.name in SSH_UNITS:
            return True
        main_pid = self.unit_show('MainPID').get('MainPID', '0')
        return main_pid.isdigit() and int(main_pid) in process_ancestors()

    def lockout_guard(self, compiled):
        """Refuse a filter that denies the client of the SSH session Ansible runs in."""
        connection = ssh_connection()
        if self.params['allow_lockout'] or connection is None or not self.serves_this_session():
            return
        client, server = connection
        if not compiled.allows(client):
            raise ServiceError(
                f'refusing to filter {self.name}: the policy for {compiled.daemon} denies {client}, the client of the '
                f'SSH connection Ansible is using (to {server}). Grant that client first, or set allow_lockout=true '
                'if you really mean it')

    def execute(self):
        params = self.params
        self.name = filter_unit_name(params['unit'])
        path = self.dropin_path()
        self.result.update(unit=self.name, dropin_path=path)
        absent = params['state'] == 'absent'
        self.require_systemd()
        current = read_if_exists(path)
        current = None if current is None else current.decode('utf-8', 'replace')
        text = None
        if not absent:
            try:
                compiled = host_filter(params['tcpwrap_daemon'], params['allow_path'], params['deny_path'])
            except TcpwrapError as exc:
                raise ServiceError(f'tcpwrap_daemon: {exc}') from None
            for warning in compiled.warnings:
                self.module.warn(warning)
            self.result.update(compiled.as_dict())
            self.check_unit(path)
            text = render_dropin(self.name, compiled, params['allow_path'], params['deny_path'])
            if text != current:
                self.lockout_guard(compiled)
        changed = current is not None if absent else text != current
        if changed and not self.module.check_mode:
            if absent:
                os.remove(path)
            else:
                if not os.path.isdir(os.path.dirname(path)):
                    os.mkdir(os.path.dirname(path), DIRECTORY_MODE)
                write_atomic(self.module, path, text.encode('utf-8'), create_mode=DROPIN_MODE)
            self.run([self.systemctl, 'daemon-reload'])
        restart = changed and params['restart'] and self.unit_show('ActiveState').get('ActiveState') == 'active'
        if restart and not self.module.check_mode:
            self.run([self.systemctl, 'restart', self.name])
        self.result['restarted'] = bool(restart)
        if self.module._diff:
            self.result['diff'] = {'before': current or '', 'after': text or '', 'before_header': path,
                                   'after_header': path}
        self.result['changed'] = changed
        return self.result


def finish(module, service):
    """Run a systemd-area runner and end the module with its result, or a failure naming the cause."""
    try:
        result = service.execute()
    except ServiceError as exc:
        module.fail_json(msg=str(exc), **dict(service.result, **exc.details))
    except (FileIOError, OSError) as exc:
        module.fail_json(msg=str(exc), **service.result)
    module.exit_json(**result)
