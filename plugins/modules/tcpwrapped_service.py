#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep their imports after DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r"""
---
module: tcpwrapped_service
short_description: Run an inetd-style daemon behind tcpd from a systemd socket unit
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Manages a socket unit C(<name>.socket) (C(ListenStream=) on O(port), C(Accept=yes)) and a
    template service C(<name>@.service) that runs C(/usr/sbin/tcpd) in front of an inetd-style
    program, one instance per connection, with the connection on standard input and output
    (C(StandardInput=socket)). tcpd checks C(/etc/hosts.allow) and C(/etc/hosts.deny) for the
    daemon name, runs their C(spawn) commands, and starts the program only when access is
    granted. This is how the TCP wrappers policy holds for daemons that do not link libwrap.
  - The service gets the hardening of M(serversec.confine.jailed_service) (no capabilities,
    C(NoNewPrivileges), C(ProtectSystem=strict), C(PrivateDevices), C(SystemCallFilter) and
    more) and runs as the unprivileged O(user); its C(systemd-analyze security) exposure is
    returned, and O(max_exposure) fails a unit that scores worse. The units are checked with
    C(systemd-analyze verify) before anything is written.
  - With O(jail), tcpd and the program run in a chroot jail built with
    M(serversec.confine.chroot_jail) (both must be in it with their libraries); the host's
    policy files and the journal sockets are bound read-only into it.
  - With O(tcpwrap_daemon), the socket also carries the policy compiled into
    C(IPAddressAllow=)/C(IPAddressDeny=any) (see M(serversec.confine.tcpwrap_filter)); a
    client the policy denies then gets no TCP connection at all, and tcpd still decides, and
    logs, for the others.
options:
  name:
    description:
      - Base name of the units; V(telnet) manages C(telnet.socket) and C(telnet@.service). A
        C(.socket) or C(.service) suffix is dropped.
    type: str
    required: true
  port:
    description: TCP port the socket listens on, on every address.
    type: int
  command:
    description:
      - The inetd-style program and its arguments, program first, as an absolute path (inside
        O(jail) when given). It reads the connection on standard input.
    type: list
    elements: str
  daemon_name:
    description:
      - The name the policy's rules match. tcpd takes it from the file name of O(command[0]),
        so it must be that file name; the default is that file name. To match the rules under
        another name, install the program under that name (a symbolic link).
    type: str
  user:
    description: Unprivileged user tcpd and the program run as; root and uid 0 are refused.
    type: str
  group:
    description: Group they run as; default the user's primary group. gid 0 is refused.
    type: str
  allow_supplementary_groups:
    description:
      - Supplementary host groups of O(user) accepted knowingly; any other membership is
        refused, as in M(serversec.confine.jailed_service).
    type: list
    elements: str
    default: []
  jail:
    description:
      - Chroot jail the wrapper and the program run in.
      - As for M(serversec.confine.chroot_jail), the jail and every directory above it must be
        root-owned, not group- or world-writable and not a symbolic link, because systemd follows
        the jail path at every start; the module fails otherwise, before anything is written.
    type: path
  read_write:
    description:
      - Host paths tcpd and the commands it spawns may write, such as the log file of the
        deny rule's C(spawn) (C(ReadWritePaths=), or bound into the jail at the same path).
        They must exist. A path that is, or lies above, the host's C(/etc), C(/root), C(/home),
        C(/boot), C(/proc), C(/sys), C(/dev), C(/run/systemd), the system bus socket or a
        container runtime socket is refused, and so is any path under C(/proc), C(/sys) or
        C(/run/systemd).
      - They are also written as C(NoExecPaths=) (in the jail, the bind's destination), so what
        the daemon can write, it cannot execute.
    type: list
    elements: path
    default: []
  allow_user_writable_sources:
    description:
      - Accept O(read_write) paths (and, with O(jail), paths in the jail) that pass through a
        directory a non-root user owns or can write, who could swap what they hold; refused by
        default, naming that directory, as in M(serversec.confine.jailed_service).
    type: bool
    default: false
  tcpd:
    description: Path of tcpd (inside O(jail) when given).
    type: path
    default: /usr/sbin/tcpd
  tcpwrap_daemon:
    description:
      - Also enforce the policy for this daemon name as a kernel IP filter on the socket.
    type: str
  description:
    description: C(Description=) of the units.
    type: str
  state:
    description:
      - V(started) listens, V(stopped) stops listening (and the running connections),
        V(absent) removes both units.
    type: str
    choices: [started, stopped, absent]
    default: started
  enabled:
    description: Start the socket at boot.
    type: bool
    default: true
  unit_dir:
    description: Directory the unit files are written to.
    type: path
    default: /etc/systemd/system
  max_exposure:
    description:
      - Fail, before anything is written, when the exposure score of the service is higher.
    type: float
notes:
  - Needs systemd as PID 1 and C(systemd-analyze) 250 or newer. On Debian and Ubuntu tcpd
    comes in the C(tcpd) package, on Fedora and EL in C(tcp_wrappers).
  - A program that must start as root (a telnetd that runs C(/bin/login)) cannot run here.
seealso:
  - module: serversec.confine.tcpwrap_rule
  - module: serversec.confine.tcpwrap_filter
  - module: serversec.confine.jailed_service
  - name: tcpd(8)
    description: The TCP wrapper daemon.
    link: https://manpages.debian.org/tcpd.8
attributes:
  check_mode:
    support: full
    description: Reports the units it would write and the changes it would make.
  diff_mode:
    support: full
    description: Shows both unit files before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with systemd.
"""

EXAMPLES = r"""
- name: A telnet-style daemon on port 23, open only where hosts.allow says
  serversec.confine.tcpwrapped_service:
    name: telnet
    port: 23
    command: [/usr/local/sbin/in.telnetd, -h]
    user: telnetd
    read_write: [/var/log/tcpwrappers.log]
    tcpwrap_daemon: in.telnetd

- name: Stop listening
  serversec.confine.tcpwrapped_service:
    name: telnet
    state: stopped
"""

RETURN = r"""
socket:
  description: Name of the socket unit.
  returned: when O(name) is valid
  type: str
  sample: telnet.socket
service:
  description: Name of the template service.
  returned: when O(name) is valid
  type: str
  sample: telnet@.service
socket_path:
  description: Path of the socket unit file.
  returned: when O(name) is valid
  type: str
  sample: /etc/systemd/system/telnet.socket
service_path:
  description: Path of the template service file.
  returned: when O(name) is valid
  type: str
  sample: /etc/systemd/system/telnet@.service
socket_unit:
  description: Text of the socket unit.
  returned: when O(state) is not V(absent)
  type: str
service_unit:
  description: Text of the template service.
  returned: when O(state) is not V(absent)
  type: str
exposure:
  description: C(systemd-analyze security) exposure of the service, 0.0 (best) to 10.0.
  returned: when O(state) is not V(absent)
  type: float
  sample: 1.9
exposure_rating:
  description: Rating that goes with RV(exposure).
  returned: when O(state) is not V(absent)
  type: str
  sample: OK
verify_warnings:
  description: Messages of C(systemd-analyze verify) that did not stop the installation.
  returned: when O(state) is not V(absent)
  type: list
  elements: str
ip_filter:
  description: The filter compiled for O(tcpwrap_daemon), as M(serversec.confine.tcpwrap_filter) returns it.
  returned: when O(tcpwrap_daemon) is set
  type: dict
  contains:
    daemon:
      description: The daemon whose policy was compiled.
      type: str
      sample: in.telnetd
    ip_address_allow:
      description: The networks the policy grants (C(IPAddressAllow=)), V(any) for all.
      type: list
      elements: str
      sample: [192.168.0.0/16]
    ip_address_deny:
      description: Always V(any).
      type: list
      elements: str
      sample: [any]
    rules:
      description: File and line of every rule that decided some address.
      type: list
      elements: str
      sample: [/etc/hosts.allow line 3, /etc/hosts.deny line 1]
    filter_warnings:
      description: What the filter cannot do that tcpd does (a C(spawn) command, other options).
      type: list
      elements: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_filter import finish
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrapped_service import TcpwrappedService

STATES = ['started', 'stopped', 'absent']


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            port=dict(type='int'),
            command=dict(type='list', elements='str'),
            daemon_name=dict(type='str'),
            user=dict(type='str'),
            group=dict(type='str'),
            allow_supplementary_groups=dict(type='list', elements='str', default=[]),
            jail=dict(type='path'),
            read_write=dict(type='list', elements='path', default=[]),
            allow_user_writable_sources=dict(type='bool', default=False),
            tcpd=dict(type='path', default='/usr/sbin/tcpd'),
            tcpwrap_daemon=dict(type='str'),
            description=dict(type='str'),
            state=dict(type='str', choices=STATES, default='started'),
            enabled=dict(type='bool', default=True),
            unit_dir=dict(type='path', default='/etc/systemd/system'),
            max_exposure=dict(type='float'),
        ),
        required_if=[('state', state, ('port', 'command', 'user')) for state in STATES if state != 'absent'],
        supports_check_mode=True,
    )
    finish(module, TcpwrappedService(module))


if __name__ == '__main__':
    main()
