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
module: tcpwrap_policy
short_description: Manage the rules of hosts.allow and hosts.deny together, as one policy
version_added: 0.2.0
author:
  - serversec maintainers (@serversec)
description:
  - Applies O(allow) to C(/etc/hosts.allow) and O(deny) to C(/etc/hosts.deny) (or the files
    O(allow_path) and O(deny_path)) in one module run, with the rule semantics of
    M(serversec.confine.tcpwrap_rule) - rules equal in meaning found rather than appended again,
    lines the module did not write kept byte for byte, nothing libwrap would misread ever written,
    atomic writes that keep owner, mode and SELinux context, and a symlink written through to its
    target.
  - Both tables are computed and checked before either is written. Bad input in any rule of
    either list, an O(owner) or O(group) the host does not know, the same file for both tables,
    or O(allow_path) naming the host's hosts.deny (or O(deny_path) its hosts.allow) is refused
    with a message naming the field (for example C(deny[1].clients[0])) and neither file is
    changed. Then O(allow_path) is written before O(deny_path), so grants land before the
    denials that rely on them; if the second write fails, the task fails as changed, saying the
    first file was written.
  - "Lockout guard: when a file changed is C(/etc/hosts.allow) or C(/etc/hosts.deny) and the new
    policy, both tables as this run leaves them, would deny the SSH connection Ansible uses while
    the old one granted it, the module fails before writing anything unless
    O(allow_lockout=true). When writing hosts.allow first would deny that connection until
    hosts.deny is written, hosts.deny is written first."
  - A rule of O(deny) that an earlier line of hosts.allow makes dead (libwrap reads it first, the
    host's C(/etc/hosts.allow) for its C(/etc/hosts.deny), otherwise O(allow) as this run
    leaves it) is reported in RV(deny.shadowed) and as a warning, and so is a daemon whose rules
    nobody enforces on the host, as M(serversec.confine.tcpwrap_rule) warns.
  - O(mode), O(owner), O(group) and the SELinux options apply to each file the run edits (a list
    omitted leaves its file alone).
options:
  allow:
    description:
      - Rules for O(allow_path), applied in order. Each takes the rule options of
        M(serversec.confine.tcpwrap_rule) (O(allow[].daemons), O(allow[].clients), ...).
      - Omitted, the file is not changed, but still read for the lockout guard.
    type: list
    elements: dict
    suboptions:
      daemons:
        description: Daemon patterns (process names, C(ALL), C(name@host)).
        type: list
        elements: str
        required: true
      except_daemons:
        description: Daemon patterns after C(EXCEPT).
        type: list
        elements: str
      clients:
        description:
          - Client patterns (addresses, C(net/mask), C(net/prefix), C(.domain), C(@netgroup),
            C(ALL), C(LOCAL), C(KNOWN), ...). IPv6 addresses are bracketed.
        type: list
        elements: str
        required: true
      except_clients:
        description: Client patterns after C(EXCEPT).
        type: list
        elements: str
      options:
        description: hosts_options(5) options, such as C(severity auth.info) or C(deny).
        type: list
        elements: str
      command:
        description: A shell command run on a match, written as C(spawn <command>).
        type: str
      comment:
        description: A comment line written above the rule.
        type: str
      position:
        description: Where a new rule goes.
        type: str
        choices: [first, last, before, after]
        default: last
      anchor:
        description: The rule line that C(position=before) or C(position=after) places the rule by.
        type: str
      state:
        description: Whether the rule is present or absent.
        type: str
        choices: [present, absent]
        default: present
      replace:
        description: Replace a rule with the same daemons and clients but other options or command.
        type: bool
        default: false
  deny:
    description:
      - Rules for O(deny_path), applied in order, with the same options as O(allow).
      - Omitted, the file is not changed, but still read for the lockout guard.
    type: list
    elements: dict
    suboptions:
      daemons:
        description: Daemon patterns (process names, C(ALL), C(name@host)).
        type: list
        elements: str
        required: true
      except_daemons:
        description: Daemon patterns after C(EXCEPT).
        type: list
        elements: str
      clients:
        description:
          - Client patterns (addresses, C(net/mask), C(net/prefix), C(.domain), C(@netgroup),
            C(ALL), C(LOCAL), C(KNOWN), ...). IPv6 addresses are bracketed.
        type: list
        elements: str
        required: true
      except_clients:
        description: Client patterns after C(EXCEPT).
        type: list
        elements: str
      options:
        description: hosts_options(5) options, such as C(severity auth.info) or C(deny).
        type: list
        elements: str
      command:
        description: A shell command run on a match, written as C(spawn <command>).
        type: str
      comment:
        description: A comment line written above the rule.
        type: str
      position:
        description: Where a new rule goes.
        type: str
        choices: [first, last, before, after]
        default: last
      anchor:
        description: The rule line that C(position=before) or C(position=after) places the rule by.
        type: str
      state:
        description: Whether the rule is present or absent.
        type: str
        choices: [present, absent]
        default: present
      replace:
        description: Replace a rule with the same daemons and clients but other options or command.
        type: bool
        default: false
  allow_path:
    description: The hosts.allow file.
    type: path
    default: /etc/hosts.allow
  deny_path:
    description: The hosts.deny file.
    type: path
    default: /etc/hosts.deny
  backup:
    description:
      - Keep a timestamped copy of each file before changing it.
    type: bool
    default: false
  allow_lockout:
    description:
      - Change the files even when the new policy would deny the SSH connection Ansible uses.
    type: bool
    default: false
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows each file before and after.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host; the rules take effect where daemons link libwrap.
notes:
  - Rules take effect for daemons linked with libwrap and for services started through tcpd.
seealso:
  - module: serversec.confine.tcpwrap_rule
  - module: serversec.confine.tcpwrap_info
  - name: hosts_access(5)
    description: The access control language.
    link: https://manpages.debian.org/hosts_access.5
"""

EXAMPLES = r"""
- name: Default deny, with explicit grants, logging who was refused
  serversec.confine.tcpwrap_policy:
    backup: true
    allow:
      - daemons: [sshd]
        clients: [ALL]
        except_clients: [203.0.113.60]
      - daemons: [in.telnetd]
        clients: [LOCAL, 192.168.]
        comment: telnet only from the LAN
    deny:
      - daemons: [ALL]
        clients: [ALL]
        command: /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log
        replace: true
"""

RETURN = r"""
allow:
  description: What became of O(allow_path).
  returned: always
  type: dict
  contains:
    path:
      description: The file that was (or would be) edited.
      type: str
      sample: /etc/hosts.allow
    changed:
      description: Whether the file (its content or attributes) changed.
      type: bool
    added:
      description: Rule lines written, in order.
      type: list
      elements: str
      sample: ["sshd : ALL"]
    removed:
      description: Rule lines removed (or moved), in order.
      type: list
      elements: str
      sample: []
    shadowed:
      description:
        - Rules written by this run that can never match, because an earlier line (in the file, or
          in the new O(allow_path) for O(deny_path)) matches every request they match first. Each
          is also a warning.
      type: list
      elements: dict
      sample: [{"rule": "sshd : 10.0.0.0/8", "message": "dead rule: \"ALL : ALL\" on line 3 matches first"}]
    backup_file:
      description: The backup copy, when O(backup=true) and the file changed.
      type: str
      sample: /etc/hosts.allow.12345.2026-11-28@21:00:00~
deny:
  description: What became of O(deny_path).
  returned: always
  type: dict
  contains:
    path:
      description: The file that was (or would be) edited.
      type: str
      sample: /etc/hosts.allow
    changed:
      description: Whether the file (its content or attributes) changed.
      type: bool
    added:
      description: Rule lines written, in order.
      type: list
      elements: str
      sample: ["sshd : ALL"]
    removed:
      description: Rule lines removed (or moved), in order.
      type: list
      elements: str
      sample: []
    shadowed:
      description:
        - Rules written by this run that can never match, because an earlier line (in the file, or
          in the new O(allow_path) for O(deny_path)) matches every request they match first. Each
          is also a warning.
      type: list
      elements: dict
      sample: [{"rule": "sshd : 10.0.0.0/8", "message": "dead rule: \"ALL : ALL\" on line 3 matches first"}]
    backup_file:
      description: The backup copy, when O(backup=true) and the file changed.
      type: str
      sample: /etc/hosts.allow.12345.2026-11-28@21:00:00~
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_policy import RULE_OPTIONS, PolicyEdit

TABLES = ('allow', 'deny')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            allow=dict(type='list', elements='dict', options=RULE_OPTIONS),
            deny=dict(type='list', elements='dict', options=RULE_OPTIONS),
            allow_path=dict(type='path', default='/etc/hosts.allow'),
            deny_path=dict(type='path', default='/etc/hosts.deny'),
            backup=dict(type='bool', default=False),
            allow_lockout=dict(type='bool', default=False),
        ),
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    edited = [kind for kind in TABLES if params[kind] is not None]
    tables = [(kind, params[f'{kind}_path'], [(f'{kind}[{index}]', spec) for index, spec in enumerate(params[kind])])
              for kind in edited]
    try:
        results = dict(zip(edited, PolicyEdit(module, tables, params['allow_path']).execute()))
    except (TcpwrapError, FileIOError, OSError) as exc:
        module.fail_json(msg=to_native(exc))
    for kind in TABLES:
        results.setdefault(kind, dict(changed=False, path=params[f'{kind}_path'], added=[], removed=[], shadowed=[]))
    diffs = [results[kind].pop('diff') for kind in edited if 'diff' in results[kind]]
    module.exit_json(changed=any(results[kind]['changed'] for kind in TABLES), diff=diffs, **results)


if __name__ == '__main__':
    main()
