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
module: tcpwrap_rule
short_description: Manage TCP wrappers rules in hosts.allow and hosts.deny
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Adds, moves or removes rules in C(/etc/hosts.allow), C(/etc/hosts.deny) or any file in
    the hosts_access(5) format. One rule comes from the top-level options; many rules come from
    O(rules) and are applied in one call.
  - A rule equal in meaning to one already in the file is found rather than appended again
    (pattern order, commas or spaces, letter case and line continuation do not matter), so a
    second run reports no change.
  - Lines the module did not write (comments, fail2ban or DenyHosts entries, anything it does
    not manage) are kept byte for byte.
  - It never writes a file that libwrap misreads. Every line ends in LF, no line reaches
    2,047 bytes, no NUL, CR or byte order mark is written, IPv6 addresses must be bracketed,
    C(allow), C(deny) and C(twist) must come last, C(:) in option values is escaped as C(\:).
    Patterns with a newline, NUL, C(:), C(#), whitespace or a backslash, invalid masks and
    prefixes, and options libwrap would reject are refused with a message naming the field;
    the file is then left byte-identical.
  - The write is atomic (a temporary file in the same directory, then a rename) and keeps the
    owner, mode and SELinux context of the file. A symlink at O(path) is written through to its
    target, as libwrap reads it; a directory, device or FIFO there is refused, and so is a path
    that cannot be read (a symlink loop, a path through a file, no permission), naming what
    libwrap makes of it.
  - O(mode), O(owner), O(group) and the SELinux options set those attributes of the file (of the
    target of a symlink), whether or not its content changes. An owner or group the host does not
    know is refused before the file is written (a warning in check mode). Without them an existing file
    keeps its own and a new one gets the mode the umask leaves and the default SELinux context.
  - "Lockout guard: when O(path) is C(/etc/hosts.allow) or C(/etc/hosts.deny) and the change would
    deny the SSH connection Ansible itself uses (C(SSH_CONNECTION) on the target, also found in
    parent processes when C(become) dropped it), the module fails unless O(allow_lockout=true)."
  - It warns when a rule names a daemon whose rules nobody enforces on the host - its binary
    does not link libwrap (read from the ELF dynamic section; the binary is never run), and no
    tcpd socket unit or systemd IP filter serves it - as M(serversec.confine.tcpwrap_info)
    reports in its C(enforcement) result. For C(sshd) the binaries checked are C(/usr/sbin/sshd)
    and C(/usr/lib/openssh/sshd-session) (OpenSSH 9.8 and later, for example Debian 13).
options:
  table:
    description:
      - Which table to edit, V(allow) for C(/etc/hosts.allow) or V(deny) for C(/etc/hosts.deny).
      - Ignored for the file name when O(path) is given.
    type: str
    choices: [allow, deny]
    default: allow
  path:
    description:
      - File to edit instead of the one O(table) names. It is created when missing.
    type: path
  daemons:
    description:
      - Daemon patterns (process names such as C(sshd) or C(in.telnetd), C(ALL), wildcards,
        C(daemon@host)). One pattern per item.
      - Required with O(clients) unless O(rules) is given.
    type: list
    elements: str
  except_daemons:
    description:
      - Daemon patterns excluded from O(daemons) (written after C(EXCEPT)).
    type: list
    elements: str
  clients:
    description:
      - Client patterns, one per item, for example C(ALL), C(LOCAL), C(KNOWN), C(UNKNOWN),
        C(PARANOID), C(.example.com), C(192.168.), C(10.0.0.0/255.0.0.0), C(10.0.0.0/8),
        C([2001:db8::]/32), C(@netgroup), C(/etc/trusted-hosts), C(192.168.*), C(user@host).
    type: list
    elements: str
  except_clients:
    description:
      - Client patterns excluded from O(clients) (written after C(EXCEPT)).
    type: list
    elements: str
  options:
    description:
      - hosts_options(5) options in order, each C(name) or C(name value), for example
        C(severity auth.info), C(spawn /bin/echo %c >> /var/log/x), C(deny). Known names are
        spawn, twist, aclexec, allow, deny, severity, setenv, umask, banners, nice, keepalive,
        linger and rfc931. C(allow), C(deny) and C(twist) must be last.
      - C(user) and C(group) are refused - daemons linked with Debian's libwrap ignore them, so
        the daemon keeps its own credentials (root under tcpd), while tcpdmatch switches in its
        dry run and may deny. Run the service as an unprivileged user instead.
      - C(aclexec <command>) runs the command when the rule matches; its exit status decides
        (0 keeps the rule, any other lets the rules after it decide). Debian builds libwrap
        with it.
    type: list
    elements: str
  command:
    description:
      - A shell command run when the rule matches, as the classic third field of a rule.
      - Written as C(spawn <command>) before the other options, because libwrap built with
        options support (as Debian's is) reads a bare command as a bad option, denies the
        connection and never runs the command.
    type: str
  comment:
    description:
      - Comment written on its own line (C(# comment)) above a rule this module adds, and
        removed with it when O(state=absent).
    type: str
  position:
    description:
      - Where the rule goes. The first matching rule decides, so order matters.
      - V(last) appends it when it is missing. V(first) puts it before every other rule.
        V(before) and V(after) place it relative to the rule O(anchor).
      - An existing rule in the wrong place for V(first), V(before) or V(after) is moved.
    type: str
    choices: [first, last, before, after]
    default: last
  anchor:
    description:
      - "The existing rule for O(position=before) or O(position=after), written as a rule line
        such as C(ALL : ALL); it is compared by meaning."
    type: str
  state:
    description:
      - Whether the rule should be in the file.
    type: str
    choices: [present, absent]
    default: present
  replace:
    description:
      - "Remove rules with the same daemon and client patterns but other options (or another
        command) when adding this one, for example to change the logging command of
        C(ALL : ALL) instead of adding a second, dead C(ALL : ALL) after it."
    type: bool
    default: false
  rules:
    description:
      - Several rules applied in order in one call, each with the keys of the top-level rule
        options. Mutually exclusive with O(daemons), O(clients) and the other rule options.
    type: list
    elements: dict
    suboptions:
      daemons:
        description: Daemon patterns.
        type: list
        elements: str
        required: true
      except_daemons:
        description: Daemon patterns after C(EXCEPT).
        type: list
        elements: str
      clients:
        description: Client patterns.
        type: list
        elements: str
        required: true
      except_clients:
        description: Client patterns after C(EXCEPT).
        type: list
        elements: str
      options:
        description: hosts_options(5) options in order.
        type: list
        elements: str
      command:
        description: Shell command, written as C(spawn).
        type: str
      comment:
        description: Comment line written above the rule.
        type: str
      position:
        description: Where the rule goes.
        type: str
        choices: [first, last, before, after]
        default: last
      anchor:
        description: Existing rule for V(before) and V(after).
        type: str
      state:
        description: Whether the rule should be in the file.
        type: str
        choices: [present, absent]
        default: present
      replace:
        description: Remove rules with the same patterns but other options when adding this one.
        type: bool
        default: false
  backup:
    description:
      - Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
  allow_lockout:
    description:
      - Change the file even when the result would deny the SSH connection Ansible uses.
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
    description: Shows the file before and after.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host; the rules take effect where daemons link libwrap.
notes:
  - Rules take effect for daemons linked with libwrap and for services started through tcpd.
seealso:
  - module: serversec.confine.tcpwrap_info
  - name: hosts_access(5)
    description: The access control language.
    link: https://manpages.debian.org/hosts_access.5
  - name: hosts_options(5)
    description: The option language.
    link: https://manpages.debian.org/hosts_options.5
"""

EXAMPLES = r"""
- name: Let everyone reach sshd
  serversec.confine.tcpwrap_rule:
    table: allow
    daemons: [sshd]
    clients: [ALL]

- name: Deny everything else and log who tried
  serversec.confine.tcpwrap_rule:
    table: deny
    daemons: [ALL]
    clients: [ALL]
    command: /bin/echo "%c tried to connect to %d and was blocked" >> /var/log/tcpwrappers.log

- name: Telnet only from the local network, except one host, placed first
  serversec.confine.tcpwrap_rule:
    table: allow
    daemons: [in.telnetd]
    clients: [192.168., 127.0.0.1]
    except_clients: [192.168.1.66]
    position: first
    comment: telnet for the lab

- name: A whole policy in one task
  serversec.confine.tcpwrap_rule:
    table: allow
    backup: true
    rules:
      - daemons: [sshd]
        clients: [10.0.0.0/8, "[2001:db8::]/32"]
      - daemons: [vsftpd]
        clients: [.example.com]
        options: [severity auth.info]
      - daemons: [in.fingerd]
        clients: [ALL]
        state: absent

- name: A table of its own, readable by root only
  serversec.confine.tcpwrap_rule:
    path: /etc/hosts.allow.d/ssh
    owner: root
    group: root
    mode: "0600"
    daemons: [sshd]
    clients: [10.0.0.0/8]

- name: Put a rule before the catch-all of hosts.deny
  serversec.confine.tcpwrap_rule:
    table: deny
    daemons: [sshd]
    clients: [203.0.113.0/24]
    position: before
    anchor: "ALL : ALL"
"""

RETURN = r"""
path:
  description: The file that was (or would be) edited.
  returned: always
  type: str
  sample: /etc/hosts.allow
added:
  description: Rule lines written, in order.
  returned: always
  type: list
  elements: str
  sample: ["sshd : ALL"]
removed:
  description: Rule lines removed (or moved), in order.
  returned: always
  type: list
  elements: str
  sample: []
shadowed:
  description:
    - "Rules written by this run that can never match, because an earlier line (in the file,
      or in C(/etc/hosts.allow) for C(/etc/hosts.deny)) matches every request they match
      first, such as a rule appended after C(ALL : ALL : DENY). Each is also a warning."
  returned: always
  type: list
  elements: dict
  contains:
    rule:
      description: The rule line written.
      type: str
    message:
      description: Which earlier line shadows it.
      type: str
  sample: [{"rule": "sshd : 10.0.0.0/8", "message": "dead rule: \"ALL : ALL\" on line 3 matches first"}]
backup_file:
  description: The backup copy, when O(backup=true) and the file changed.
  returned: changed and backup requested
  type: str
  sample: /etc/hosts.allow.12345.2026-11-28@21:00:00~
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_policy import (
    RULE_OPTIONS,
    SYSTEM_TABLES,
    PolicyEdit,
    system_table_kind,
)


def rule_specs(params):
    """[(field, rule spec)]: the rules of O(rules), or the single rule of the top-level options."""
    if params['rules'] is not None:
        return [(f'rules[{index}]', spec) for index, spec in enumerate(params['rules'])]
    return [('', {key: params[key] for key in RULE_OPTIONS})]


def main():
    # A single rule is given with the same keys at the top level, where none is required.
    single_rule = dict((name, dict((key, value) for key, value in spec.items() if key != 'required'))
                       for name, spec in RULE_OPTIONS.items())
    module = AnsibleModule(
        argument_spec=dict(
            table=dict(type='str', choices=['allow', 'deny'], default='allow'),
            path=dict(type='path'),
            rules=dict(type='list', elements='dict', options=RULE_OPTIONS),
            backup=dict(type='bool', default=False),
            allow_lockout=dict(type='bool', default=False),
            **single_rule
        ),
        # Rule keys without a default cannot be given next to rules.
        mutually_exclusive=[('rules', name) for name, spec in RULE_OPTIONS.items() if 'default' not in spec],
        required_one_of=[('rules', 'daemons')],
        required_together=[('daemons', 'clients')],
        required_if=[('position', 'before', ('anchor',)), ('position', 'after', ('anchor',))],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    path = module.params['path'] or SYSTEM_TABLES[module.params['table']]
    try:
        edit = PolicyEdit(module, [(system_table_kind(path), path, rule_specs(module.params))], SYSTEM_TABLES['allow'])
        [result] = edit.execute()
    except (TcpwrapError, FileIOError) as exc:
        module.fail_json(msg=to_native(exc), path=path)
    except OSError as exc:
        module.fail_json(msg=f'{path}: {to_native(exc)}', path=path)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
