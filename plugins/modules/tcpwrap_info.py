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
module: tcpwrap_info
short_description: Read TCP wrappers tables, report their problems and decide access like libwrap
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Parses C(/etc/hosts.allow) and C(/etc/hosts.deny) (or the files O(allow_path) and
    O(deny_path) name) and changes nothing.
  - Reports RV(problems) - what tcpdchk would report, shadowed or dead rules, and every line
    libwrap misreads in a way that fails open or fails closed (a missing final newline, an
    over-long line, a shell command where options are expected, a NUL byte, a bad mask).
  - Evaluates O(queries) the way C(tcpdmatch) does - hosts.allow first, then hosts.deny, the
    first matching rule decides, no match grants - and returns one verdict per query in RV(verdicts), in order,
    with the file and line that decided. Verdicts agree with Debian's libwrap on well-formed
    and malformed files alike; a differential test against C(tcpdmatch) checks this.
  - Options are evaluated in dry-run mode, as tcpdmatch does. Nothing in them is executed. A
    rule with C(aclexec) is taken as matching, as tcpdmatch reports it; its verdict says that
    at connection time the command's exit status decides.
  - Verdicts are a daemon's. They differ from tcpdmatch's in one place - Debian's libwrap
    switches to the C(user) and C(group) options only in tcpdmatch's dry run (which then
    denies for C(user nobody)), never in a daemon, so a daemon grants. RV(problems) names each
    such option as an error.
  - Reports in RV(enforcement) what enforces the rules of each daemon the files or the queries
    name - libwrap linked into its binary (C(sshd-session) too, where OpenSSH moved the check),
    a tcpd socket unit (M(serversec.confine.tcpwrapped_service)), a systemd IP filter
    (M(serversec.confine.tcpwrap_filter), O(serversec.confine.jailed_service#module:tcpwrap_daemon))
    or nobody, which RV(problems) lists. Binaries are only read (their ELF headers), never run.
  - The files are compiled once per run - daemon lists matched once per daemon, options once
    per rule, rules indexed by the client networks they name - so a query looks only at the
    rules that can match it.
options:
  allow_path:
    description:
      - The hosts.allow file. A missing file counts as empty, as in libwrap.
      - A file that exists but cannot be read as text gets libwrap's verdict and is named in
        RV(problems) - a directory reads as empty (a hosts.deny that is a directory denies
        nothing), and a symlink loop, a path through a file or a file without read
        permission is an error, which goes on to hosts.deny from hosts.allow and denies in
        hosts.deny.
    type: path
    default: /etc/hosts.allow
  deny_path:
    description:
      - The hosts.deny file. A missing file counts as empty; see O(allow_path) for a file that
        cannot be read.
    type: path
    default: /etc/hosts.deny
  queries:
    description:
      - Connections to decide, each a dict with these keys (strings; a number is read as its
        text, null as not given). Any other key is refused, naming the query.
      - C(daemon) (required) - process name of the daemon, for example C(sshd).
      - C(address) - client address (IPv4 or IPv6). Without it the address is C(unknown).
      - C(hostname) - client host name as the daemon's name lookup would give it. Without it
        the name is C(unknown), which is what tcpdmatch assumes for an address. Use
        C(paranoid) for a host whose name and address do not match.
      - C(user) - client user name (from ident); C(unknown) without it.
      - C(server_address) and C(server_hostname) - the server end the client connected to,
        for C(daemon@host) patterns.
      - C(server_port) - the server port the client connected to (0 to 65535). Debian's libwrap
        reads a daemon pattern that is a number, such as C(22), as this port; without it such a
        pattern never matches, as in tcpdmatch.
      - The module checks these keys itself rather than through per-element suboptions,
        which cost more than deciding the query. For thousands of decisions, O(daemons) and
        O(addresses) are several times faster still, since their answer is smaller.
    type: list
    elements: dict
    default: []
  daemons:
    description:
      - Compact form of many queries - every daemon in this list against every address in
        O(addresses), answered in RV(access_matrix). Needs O(addresses).
    type: list
    elements: str
  addresses:
    description:
      - Client addresses (IPv4 or IPv6) for O(daemons); host name, user and server are
        C(unknown), as in a query with only C(daemon) and C(address).
    type: list
    elements: str
  report_enforcement:
    description:
      - Whether to fill RV(enforcement) and report the daemons nobody enforces in RV(problems).
        This reads the daemons' binaries and the systemd unit directories (C(/etc/systemd/system),
        C(/run/systemd/system), C(/usr/lib/systemd/system), C(/lib/systemd/system)).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: The module changes nothing.
  diff_mode:
    support: none
    description: The module changes nothing.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host.
notes:
  - C(@netgroup) patterns are evaluated as not matching (as libwrap without NIS does), and
    C(/file) patterns read the file on the managed host.
seealso:
  - module: serversec.confine.tcpwrap_rule
"""

EXAMPLES = r"""
- name: Would these clients get in?
  serversec.confine.tcpwrap_info:
    queries:
      - daemon: sshd
        address: 192.0.2.7
      - daemon: in.telnetd
        address: 192.168.1.20
        hostname: lab1
  register: tcpwrap

- name: Which of these daemons does each address reach (compact form)?
  serversec.confine.tcpwrap_info:
    daemons: [sshd, vsftpd]
    addresses: "{{ scanner_addresses }}"
  register: reach

- name: Stop when a rule set fails open or closed by accident
  ansible.builtin.assert:
    that:
      - tcpwrap.problems | selectattr('severity', 'equalto', 'error') | list | length == 0
      - tcpwrap.verdicts[0].access == 'granted'
"""

RETURN = r"""
enforcement:
  description:
    - Per daemon named in the files (daemon patterns that name one daemon, C(daemon@host) by its
      daemon) or in O(queries) and O(daemons), once each whatever its case, what enforces its rules
      on this host.
    - An IP filter counts only if it grants exactly the addresses the policy in O(allow_path) and
      O(deny_path) grants the daemon; a filter compiled from an earlier policy is a problem instead,
      and so is a filter on a template service that a socket with C(Accept=yes) starts (systemd
      applies it only to sockets the service opens, not to the connection passed in).
    - A unit with C(IPAddressAllow=)/C(IPAddressDeny=) is taken to filter the daemon its
      C(serversec-tcpwrap-filter.conf) drop-in names, else the daemon its command runs (the file
      name of its C(argv[0]); the program behind tcpd for a tcpd unit's socket).
  returned: when O(report_enforcement) is true
  type: list
  elements: dict
  contains:
    daemon:
      description: The daemon, as first named.
      type: str
      sample: sshd
    enforced_by:
      description:
        - What enforces its rules, empty when nobody does. Each item has C(mechanism) -
          V(libwrap) (with C(binary), the file that links libwrap), V(tcpd) (with C(unit), the
          socket unit, C(service), the service that runs tcpd, and C(file), that service's file)
          or V(ip_filter) (with C(unit) and C(file), the unit file or drop-in that sets the filter).
      type: list
      elements: dict
      sample: [{"mechanism": "libwrap", "binary": "/usr/lib/openssh/sshd-session"},
               {"mechanism": "ip_filter", "unit": "ssh.service",
                "file": "/etc/systemd/system/ssh.service.d/serversec-tcpwrap-filter.conf"}]
    nobody:
      description: Whether nothing enforces its rules (then RV(problems) names it too).
      type: bool
    installed:
      description:
        - Whether the daemon is on this host at all - a binary of it, or a unit that runs it. A rule for a daemon that
          is not installed protects nothing, and exposes nothing either.
      type: bool
    notes:
      description: What was looked at and found wanting (a binary without libwrap, a filter that holds another policy).
      type: list
      elements: str
      sample: ["/usr/sbin/sshd does not link libwrap"]
access_matrix:
  description:
    - For O(daemons) and O(addresses) - per daemon, per address, V(granted) or V(denied), the
      same as RV(verdicts[].access) of the query with that daemon and address. Ask a query for
      the file and line that decided.
  returned: when O(daemons) is given
  type: dict
  sample: {"sshd": {"192.0.2.7": "granted", "203.0.113.5": "denied"}}
verdicts:
  description: One verdict per query, in the order of O(queries).
  returned: always
  type: list
  elements: dict
  contains:
    query:
      description: The query as given.
      type: dict
    access:
      description: V(granted) or V(denied). A twisted connection counts as denied for the daemon.
      type: str
      sample: granted
    delegated:
      description: Whether a C(twist) option hands the connection to a shell command.
      type: bool
    table:
      description: V(allow), V(deny) or null when no rule matched.
      type: str
    file:
      description: File of the deciding rule, or null when no rule matched.
      type: str
      sample: /etc/hosts.allow
    line:
      description:
        - Line of the deciding rule (its last physical line), or null when no rule matched or
          when a file that cannot be read decided.
      type: int
      sample: 3
    reason:
      description: Why, in words.
      type: str
      sample: matched /etc/hosts.allow line 3
    notes:
      description: Host-dependent details of the decision.
      type: list
      elements: str
problems:
  description:
    - Problems found in the files, then, with O(report_enforcement), every daemon nobody enforces
      and every IP filter that does not hold the policy (severity V(warning), on the first rule
      naming the daemon; file and line null for a daemon only queried).
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: File of the problem, or null for a daemon only named in the queries.
      type: str
    line:
      description: Line of the problem, or null for the file as a whole.
      type: int
    severity:
      description: V(error) (libwrap misreads the file), V(warning) or V(info).
      type: str
    message:
      description: What is wrong and what libwrap does about it.
      type: str
rules:
  description: The rules of both files as libwrap reads them.
  returned: always
  type: list
  elements: dict
  contains:
    file:
      description: File of the rule.
      type: str
    line:
      description: Last physical line of the rule.
      type: int
    daemons:
      description: Daemon patterns, EXCEPT included.
      type: list
      elements: str
    clients:
      description: Client patterns, EXCEPT included.
      type: list
      elements: str
    options:
      description: Options text, or null without options.
      type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import TcpwrapError, read_table, tokens_of
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_enforcement import enforcement_report
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import Environment
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_index import CompiledPolicy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_problems import policy_problems
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_queries import access_matrix, check_queries, verdicts


def main():
    module = AnsibleModule(
        argument_spec=dict(
            allow_path=dict(type='path', default='/etc/hosts.allow'),
            deny_path=dict(type='path', default='/etc/hosts.deny'),
            # Keys checked by check_queries(): per-element suboptions cost more than a decision.
            queries=dict(type='list', elements='dict', default=[]),
            daemons=dict(type='list', elements='str'),
            addresses=dict(type='list', elements='str'),
            report_enforcement=dict(type='bool', default=True),
        ),
        required_together=[('daemons', 'addresses')],
        supports_check_mode=True,
    )
    try:
        queries = check_queries(module.params['queries'])
    except TcpwrapError as exc:
        module.fail_json(msg=str(exc))
    allow_path, deny_path = module.params['allow_path'], module.params['deny_path']
    # A table libwrap cannot read still gets libwrap's verdict; problems name it.
    allow, deny = read_table(allow_path), read_table(deny_path)
    env = Environment()
    tables = [('allow', allow_path, allow), ('deny', deny_path, deny)]
    policy = CompiledPolicy(tables, env)
    result = dict(changed=False, verdicts=verdicts(policy, queries))
    if module.params['daemons'] is not None:
        result['access_matrix'] = access_matrix(policy, module.params['daemons'], module.params['addresses'])
    rules = []
    for path, entries in ((allow_path, allow), (deny_path, deny)):
        for entry in entries:
            if entry.kind == 'rule':
                rules.append(dict(file=path, line=entry.last_line, daemons=tokens_of(entry.daemons),
                                  clients=tokens_of(entry.clients),
                                  options=None if entry.options is None else entry.options.strip()))
    problems = policy_problems(allow_path, allow, deny_path, deny, env)
    if module.params['report_enforcement']:
        queried = [query['daemon'] for query in queries] + (module.params['daemons'] or [])
        result['enforcement'], unenforced = enforcement_report(tables, queried, env)
        problems.extend(unenforced)
    module.exit_json(rules=rules, problems=problems, **result)


if __name__ == '__main__':
    main()
