#!/usr/bin/python
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r'''
---
module: jail_exec
short_description: Run a command inside a chroot jail as an unprivileged user
version_added: 0.2.0
author:
  - serversec maintainers (@serversec)
description:
  - Runs an argument list (never through a shell) inside a chroot jail as O(user), the way the
    guides' C(uchroot) does, without its weaknesses.
  - The user and group are resolved on the host before the jail is entered, so the jail needs no
    C(passwd) file. Root (uid 0) and the root group (gid 0) are refused.
  - In the child process only, the jail is entered through a directory descriptor reached
    component by component without following symlinks, the supplementary groups are cleared,
    the capability bounding and ambient sets are emptied, C(no_new_privs) is set (so setuid
    programs in the jail grant nothing), every uid and gid is switched, and the module checks
    that no capability is left before the program is executed. The child has no controlling
    terminal.
  - The jail must pass OpenSSH's C(ChrootDirectory) rule (every path component root-owned and
    not group- or world-writable). The program is looked up inside the jail before anything
    runs; a missing program fails naming it.
  - Like M(ansible.builtin.command), O(creates) and O(removes) skip the run, check mode skips
    it, and a non-zero return code fails the task.
options:
  jail:
    description: Absolute path of the jail directory on the host.
    type: path
    required: true
  argv:
    description:
      - The program and its arguments. The first item is an absolute path inside the jail, or a
        bare name looked up in the C(PATH) of the environment inside the jail.
    type: list
    elements: str
    required: true
  user:
    description: Host user name or uid the program runs as. Root is refused.
    type: str
    required: true
  group:
    description: Host group name or gid; the user's primary group by default. Gid 0 is refused.
    type: str
  chdir:
    description: Working directory inside the jail, entered as O(user).
    type: str
    default: /
  environment:
    description:
      - Variables added to the clean environment, which holds only C(PATH=/usr/local/bin:/usr/bin:/bin),
        C(HOME) (the user's home on the host) and C(LANG=C.UTF-8). Entries given here replace those.
    type: dict
    default: {}
  stdin:
    description: Text written to the program's standard input (as it is, no newline added).
    type: str
  timeout:
    description:
      - Seconds after which the program and every process it started are killed and the task fails,
        including processes that left its process group or session (C(setsid), double fork); the
        module is their child subreaper and kills every process of O(user) below it.
      - The task returns at most a few seconds after the timeout, with the output read so far; a
        process that could not be killed is named in the message.
    type: int
  creates:
    description: A path inside the jail; when it exists the program is not run.
    type: str
  removes:
    description: A path inside the jail; when it does not exist the program is not run.
    type: str
attributes:
  check_mode:
    support: partial
    description: Like M(ansible.builtin.command), every check runs and then the program is skipped.
    details: The program does not run in check mode, so nothing reports what it would have changed.
  diff_mode:
    support: none
    description: Running a program has no diff.
  platform:
    support: full
    platforms: posix
    description: Linux (chroot, prctl C(PR_SET_NO_NEW_PRIVS), capabilities).
notes:
  - Runs as root on the managed host (C(become)), which chroot and the change of user need.
seealso:
  - module: serversec.confine.chroot_jail
  - module: serversec.confine.ssh_jail
'''

EXAMPLES = r'''
- name: List the jail's /bin as sam
  serversec.confine.jail_exec:
    jail: /srv/jails/sam
    argv: [/bin/bash, -c, 'ls /bin; id']
    user: sam

- name: Initialise a data directory once, as the service user
  serversec.confine.jail_exec:
    jail: /srv/jails/app
    argv: [/usr/bin/app, --init, /var/lib/app]
    user: app
    creates: /var/lib/app/.initialised
    timeout: 60
'''

RETURN = r'''
cmd:
  description: The argument list that ran.
  returned: always
  type: list
  elements: str
  sample: [/bin/bash, -c, 'ls /bin; id']
rc:
  description: Return code of the program (C(-9) when the timeout killed it).
  returned: when the program ran
  type: int
  sample: 0
stdout:
  description: Standard output, trailing newline removed.
  returned: when the program ran
  type: str
  sample: "bash\nls\nuid=1001(sam) gid=1001(sam) groups=1001(sam)"
stderr:
  description: Standard error, trailing newline removed.
  returned: when the program ran
  type: str
  sample: ''
start:
  description: When the program started.
  returned: when the program ran
  type: str
  sample: '2026-11-29 06:30:00.123456'
end:
  description: When the program ended.
  returned: when the program ran
  type: str
  sample: '2026-11-29 06:30:00.234567'
delta:
  description: How long the program ran.
  returned: when the program ran
  type: str
  sample: '0:00:00.111111'
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.serversec.confine.plugins.module_utils._jail_exec import (  # noqa: E402
    ExecRequest,
    JailExecError,
    jail_path_exists,
    run,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            jail=dict(type='path', required=True),
            argv=dict(type='list', elements='str', required=True),
            user=dict(type='str', required=True),
            group=dict(type='str'),
            chdir=dict(type='str', default='/'),
            environment=dict(type='dict', default={}),
            stdin=dict(type='str'),
            timeout=dict(type='int'),
            creates=dict(type='str'),
            removes=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        request = ExecRequest(params['jail'], params['argv'], params['user'], group=params['group'],
                              chdir=params['chdir'], environment=params['environment'],
                              stdin=params['stdin'], timeout=params['timeout'])
    except JailExecError as exc:
        module.fail_json(msg=str(exc), cmd=params['argv'])
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or params["jail"]}: {exc.strerror or exc}', cmd=params['argv'])

    for option, skip_if_exists in (('creates', True), ('removes', False)):
        path = params[option]
        if not path:
            continue
        try:
            exists = jail_path_exists(request.jail, path)
        except (OSError, ValueError) as exc:  # a name too long, a NUL byte
            module.fail_json(msg=f'{option} {path!r}: {getattr(exc, "strerror", None) or exc}', cmd=request.argv)
        if exists == skip_if_exists:
            module.exit_json(cmd=request.argv, rc=0, changed=False,
                             msg=f"skipped, since {path} {'exists' if exists else 'does not exist'}")
    if module.check_mode:
        module.exit_json(cmd=request.argv, rc=0, changed=False, skipped=True, msg='skipped, running in check mode')

    try:
        result = run(request)
    except JailExecError as exc:
        module.fail_json(msg=str(exc), cmd=request.argv)
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or request.jail}: {exc.strerror or exc}', cmd=request.argv)
    output = result.as_dict()
    if result.timed_out:
        msg = f'{request.argv[0]} was killed after the timeout of {request.timeout}s'
        if result.survivors:
            msg += f"; these processes it started could not be killed: {', '.join(map(str, result.survivors))}"
        module.fail_json(msg=msg, **output)
    if result.rc != 0:
        module.fail_json(msg='non-zero return code', **output)
    module.exit_json(changed=True, **output)


if __name__ == '__main__':
    main()
