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
module: tcpwrap_filter
short_description: Enforce the TCP wrappers policy of a daemon as a systemd IP filter on a unit
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Compiles what C(/etc/hosts.allow) and C(/etc/hosts.deny) decide for the daemon
    O(tcpwrap_daemon) into C(IPAddressAllow=) and C(IPAddressDeny=any), and writes them in a
    drop-in C(/etc/systemd/system/<unit>.d/serversec-tcpwrap-filter.conf) of an existing unit
    such as C(sshd.service) or C(vsftpd.service). The kernel then drops the packets of every
    client the policy denies, whether or not the daemon links libwrap.
  - The policy is read as libwrap reads it (the first matching rule decides, hosts.allow
    first, C(EXCEPT) nests, no match grants). Addresses, C(a.b.) prefixes, C(n/m) masks,
    C(/len), C([v6]/len) and C(ALL) compile. A rule that needs more to decide (C(LOCAL),
    C(KNOWN), C(UNKNOWN), C(PARANOID), host names, C(.domain), C(user@), C(@netgroup),
    C(/file), C(daemon@host), C(twist), C(aclexec)) is refused with its file and line; no rule
    is dropped or widened.
  - A rule with C(spawn) keeps its verdict; its command cannot run in a kernel filter, which
    the module says in a warning naming the rule.
  - Only C(systemctl daemon-reload) follows a change. Nothing is restarted unless
    O(restart=true); systemd applies the filter to the running unit's control group.
  - A unit that already sets C(IPAddressAllow=) or C(IPAddressDeny=) elsewhere is refused;
    systemd adds the lists together, which would widen the policy.
  - "Lockout guard: when Ansible runs over SSH and the unit serves that connection (an
    C(ssh)/C(sshd) unit, or a unit whose main process is an ancestor of the module), a filter
    that denies the SSH client is refused unless O(allow_lockout=true)."
  - Run it again after the policy changes; the filter holds the policy of the last run.
options:
  unit:
    description:
      - The unit to filter, a C(.service) or a C(.socket); C(.service) is appended to a name
        without suffix.
    type: str
    required: true
  tcpwrap_daemon:
    description:
      - The daemon name the policy knows, such as V(sshd) or V(vsftpd).
      - Required unless O(state=absent).
    type: str
  state:
    description:
      - V(present) writes the drop-in, V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  restart:
    description:
      - Restart the unit after the drop-in changed, when it is running.
    type: bool
    default: false
  allow_lockout:
    description:
      - Write the filter even when it would deny the SSH connection Ansible is using.
    type: bool
    default: false
  allow_path:
    description: The hosts.allow file to compile.
    type: path
    default: /etc/hosts.allow
  deny_path:
    description: The hosts.deny file to compile.
    type: path
    default: /etc/hosts.deny
  unit_dir:
    description: Directory whose C(<unit>.d/) receives the drop-in.
    type: path
    default: /etc/systemd/system
notes:
  - Needs systemd as PID 1 with cgroup v2 and BPF support (systemd 235 or newer).
  - The filter applies to every packet of the unit, in both directions, so the daemon can no
    longer reach addresses the policy denies either.
  - A socket-activated daemon is filtered on its C(.socket) unit, which owns the listening
    socket.
seealso:
  - module: serversec.confine.tcpwrap_rule
  - module: serversec.confine.tcpwrap_info
  - name: systemd.resource-control(5)
    description: IPAddressAllow= and IPAddressDeny=.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.resource-control.html
attributes:
  check_mode:
    support: full
    description: Reports the drop-in it would write without writing it or reloading systemd.
  diff_mode:
    support: full
    description: Shows the drop-in before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with systemd.
"""

EXAMPLES = r"""
- name: Hold the guides' sshd policy on Fedora, whose sshd no longer reads hosts.allow
  serversec.confine.tcpwrap_filter:
    unit: sshd.service
    tcpwrap_daemon: sshd

- name: Filter vsftpd and restart it
  serversec.confine.tcpwrap_filter:
    unit: vsftpd
    tcpwrap_daemon: vsftpd
    restart: true

- name: Remove the filter
  serversec.confine.tcpwrap_filter:
    unit: sshd.service
    state: absent
"""

RETURN = r"""
unit:
  description: The unit filtered, with its suffix.
  returned: when O(unit) is valid
  type: str
  sample: sshd.service
dropin_path:
  description: The drop-in file.
  returned: when O(unit) is valid
  type: str
  sample: /etc/systemd/system/sshd.service.d/serversec-tcpwrap-filter.conf
daemon:
  description: The daemon whose policy was compiled.
  returned: when O(state=present)
  type: str
  sample: sshd
ip_address_allow:
  description: The networks the policy grants (C(IPAddressAllow=)), V(any) for all; empty when it grants none.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [192.168.0.0/16]
ip_address_deny:
  description: Always V(any) (C(IPAddressDeny=)); systemd checks the allow list first.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [any]
rules:
  description: File and line of every rule that decided some address, in order.
  returned: when O(state=present)
  type: list
  elements: str
  sample: [/etc/hosts.allow line 3, /etc/hosts.deny line 1]
filter_warnings:
  description: What the filter cannot do that libwrap would (a C(spawn) command, other options).
  returned: when O(state=present)
  type: list
  elements: str
  sample: ['/etc/hosts.deny line 1: its spawn command cannot run in a kernel filter; the filter keeps the verdict but nothing is executed or logged']
restarted:
  description: Whether the unit was (or would be) restarted.
  returned: success
  type: bool
  sample: false
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_filter import TcpwrapFilter, finish


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type='str', required=True),
            tcpwrap_daemon=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            restart=dict(type='bool', default=False),
            allow_lockout=dict(type='bool', default=False),
            allow_path=dict(type='path', default='/etc/hosts.allow'),
            deny_path=dict(type='path', default='/etc/hosts.deny'),
            unit_dir=dict(type='path', default='/etc/systemd/system'),
        ),
        required_if=[('state', 'present', ('tcpwrap_daemon',))],
        supports_check_mode=True,
    )
    finish(module, TcpwrapFilter(module))


if __name__ == '__main__':
    main()
