#!/usr/bin/python
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r'''
---
module: chroot_jail_info
short_description: Audit a chroot jail made by chroot_jail, read-only
version_added: 0.2.0
author:
  - serversec maintainers (@serversec)
description:
  - Compares a jail built by M(serversec.confine.chroot_jail) with the host and with the module's
    state, and lists what a jailed process or a host upgrade changed, as jailkit's C(jk_check)
    does, for a nightly play or a Molecule verify step.
  - Reports the drift of every path the module made (RV(drift)) - C(missing) from the jail,
    C(tampered) (the jail copy is not what the module wrote, compared by SHA-256) or C(stale)
    (the host source changed since it was copied; an extended attribute other than the SELinux
    label, such as a file capability or an ACL, counts as C(tampered)) - setuid and setgid files,
    files with file capabilities (RV(capabilities)), paths writable by
    others than root, device nodes other than the character devices the module made (block
    devices always), every path the module did not make (RV(unmanaged)) and the health of the
    module's state (RV(state)).
  - Read-only, in check mode or not. The audit holds a shared lock on the jail's state while it
    runs (a M(serversec.confine.chroot_jail) run on the same jail waits for it), and waits a few
    seconds at most for it; while a M(serversec.confine.chroot_jail) run holds the lock, the state
    is reported C(locked) and drift and unmanaged paths are not judged.
  - The jail is treated as hostile. It is walked through directory descriptors, symbolic links are
    never followed, FIFOs and device nodes are never opened, the walk is bounded (256 levels, one
    million entries; a warning names where it stopped), and which host files to compare with
    comes only from the root-only state, never from the jail.
  - Fails only on request - when a kind of finding named in O(fail_on) is present, with a message
    naming the findings.
options:
  path:
    description: Absolute path of the jail on the host, as given to M(serversec.confine.chroot_jail).
    type: path
    required: true
  state_dir:
    description: Where M(serversec.confine.chroot_jail) keeps the jail's state (its O(serversec.confine.chroot_jail#module:state_dir)).
    type: path
    default: /var/lib/serversec-confine/jails
  fail_on:
    description:
      - Kinds of finding that make the module fail; by default it never fails on a finding.
      - C(drift), C(setuid), C(capabilities), C(writable), C(devices), C(unmanaged) fail when that list is not
        empty; C(state) when RV(state.health) is not C(ok).
    type: list
    elements: str
    choices: [drift, setuid, capabilities, writable, devices, unmanaged, state]
    default: []
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
    description: Linux hosts.
notes:
  - Must run as root (the state and many jail files are readable by root only).
  - The jail's owners and modes are not compared with the play (the module does not know it);
    what matters for confinement is reported in RV(setuid), RV(capabilities), RV(writable) and RV(devices).
seealso:
  - module: serversec.confine.chroot_jail
  - name: jailkit's jk_check
    description: The cron check this module replaces.
    link: https://olivier.sessink.nl/jailkit/jk_check.8.html
'''

EXAMPLES = r'''
- name: Audit the web jail, fail on drift or on anything setuid, writable or a device
  serversec.confine.chroot_jail_info:
    path: /srv/jails/web
    fail_on: [drift, setuid, devices, state]
  register: web_audit

- name: Show the files someone added to the jail
  ansible.builtin.debug:
    var: web_audit.unmanaged
'''

RETURN = r'''
exists:
  description: Whether the jail directory exists.
  returned: always
  type: bool
  sample: true
drift:
  description: Paths the module made that differ from what it made, sorted; a path can be both tampered and stale.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path inside the jail.
      type: str
    reason:
      description: C(missing), C(tampered) (the jail copy changed) or C(stale) (the host source changed).
      type: str
    detail:
      description: What differs (C(content), C(size), C(target), C(device numbers), C(extended attributes), C(not a directory), ...).
      type: str
  sample: [{path: /usr/lib/x86_64-linux-gnu/libc.so.6, reason: stale, detail: /usr/lib/x86_64-linux-gnu/libc.so.6 changed on the host}]
setuid:
  description: Regular files with the setuid or setgid bit.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/passwd]
capabilities:
  description:
    - Regular files with file capabilities (the C(security.capability) extended attribute C(setcap) sets),
      which grant privileges on C(exec) as setuid does. The module never copies one.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/bash]
writable:
  description: Paths (not symlinks or devices) owned by a user other than root or writable by group or others; C(/) is the jail root.
  returned: always
  type: list
  elements: str
  sample: [/tmp, /var/log/lighttpd]
devices:
  description: Device nodes other than the character devices the module made with the numbers it recorded; block devices always.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The path inside the jail.
      type: str
    kind:
      description: C(char) or C(block).
      type: str
    major:
      description: Major device number.
      type: int
    minor:
      description: Minor device number.
      type: int
  sample: [{path: /dev/sda, kind: block, major: 8, minor: 0}]
unmanaged:
  description: Paths in the jail the module did not make (not judged when RV(state.health) is C(missing), C(malformed), C(unsafe) or C(locked)).
  returned: always
  type: list
  elements: str
  sample: [/tmp/backdoor]
state:
  description: The module's state for the jail.
  returned: always
  type: dict
  contains:
    file:
      description: The state file.
      type: str
    health:
      description:
        - C(ok); C(missing) (no state); C(legacy) (only the in-jail manifest of an earlier version,
          without checksums); C(incomplete) (a run was killed, the next one completes it);
          C(locked) (a run held the lock); C(unsafe) (state file or directory not root's alone);
          C(malformed) (not a valid state file).
      type: str
    detail:
      description: Why, when RV(state.health) is not C(ok).
      type: str
  sample: {file: /var/lib/serversec-confine/jails/srv-jails-web.0f1e2d3c4b5a69788796a5b4.json, health: ok, detail: ''}
findings:
  description: The kinds of finding present, in the order of O(fail_on)'s choices.
  returned: always
  type: list
  elements: str
  sample: [drift, unmanaged]
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.serversec.confine.plugins.module_utils._chroot.audit import (  # noqa: E402
    FINDINGS,
    audit_jail,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state_dir=dict(type='path', default='/var/lib/serversec-confine/jails'),
            fail_on=dict(type='list', elements='str', default=[], choices=list(FINDINGS)),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        result = audit_jail(params['path'], params['state_dir'])
    except JailError as exc:
        module.fail_json(msg=str(exc), path=params['path'])
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or params["path"]}: {exc.strerror or exc}', path=params['path'])

    for warning in result.warnings:
        module.warn(warning)
    output = result.as_dict()
    failing = [kind for kind in output['findings'] if kind in params['fail_on']]
    if failing:
        module.fail_json(msg=f"jail {params['path']}: {result.summary(failing)}", changed=False, **output)
    module.exit_json(changed=False, **output)


if __name__ == '__main__':
    main()
