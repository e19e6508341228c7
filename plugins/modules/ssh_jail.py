#!/usr/bin/python
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r'''
---
module: ssh_jail
short_description: Jail the SSH and SFTP logins of users or groups with OpenSSH's ChrootDirectory
version_added: 0.2.0
author:
  - serversec maintainers (@serversec)
description:
  - Writes C(Match User) and/or C(Match Group) blocks that put the matched logins in O(jail)
    with C(ChrootDirectory), keep their authorized keys on the host (C(AuthorizedKeysFile)) and
    turn off forwarding of TCP, agent, X11, stream-local sockets and tunnels. O(mode=sftp) forces
    C(internal-sftp -l INFO -u 0077) and refuses a TTY; O(mode=shell) gives a shell from the jail.
  - The blocks go to C(/etc/ssh/sshd_config.d/NAME.conf) when C(/etc/ssh/sshd_config) includes
    that directory (Debian 12/13, Ubuntu, Fedora), else to a managed block at the end of
    C(/etc/ssh/sshd_config).
  - The whole configuration is validated with C(sshd -t) with the new text in place (from a
    private temporary copy) before anything is installed; a configuration that fails leaves the
    files and the running sshd untouched. sshd is reloaded only when its configuration changed.
  - sshd keeps the first value it obtains for a keyword, also across Match blocks, so an earlier
    C(Match) block or drop-in (one that sorts before C(NAME.conf)) that sets C(ChrootDirectory),
    C(AuthorizedKeysFile), C(ForceCommand) or another keyword of the block would silently cancel or
    change the jail. With O(state=present), after C(sshd -t) the module runs
    C(sshd -T -C user=USER,host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=PORT) on the same
    candidate for every user of O(users) and each port sshd listens on, and fails, before anything is written, naming the user, the keyword and the value sshd
    would use instead, when any keyword the block sets would not take effect. This runs also when
    the block is unchanged, so a conflicting block added later makes the task fail.
  - For O(groups), one member of each group is tested (its first listed member whose account
    exists, else the first account whose primary group it is); a group that does not exist or has
    no member yet is not tested.
  - C(Match Address), C(Match Host), C(Match LocalAddress) and C(Match LocalPort) blocks are judged
    for connections from C(localhost) (C(127.0.0.1)) to each of sshd's ports, and from the
    controller's address to the server's when Ansible connects over SSH, only; a block that matches
    other addresses, or a C(Match RDomain) block, is not detected.
  - The jail must pass OpenSSH's rule (every path component root-owned and not group- or
    world-writable); this is checked before anything is written.
  - O(writable) directories are created inside the jail through directory descriptors, owned
    by their user, and bind-mounted onto themselves C(noexec,nosuid,nodev) by systemd C(.mount)
    units (persistent across reboots), so uploads never execute. Every directory above one of
    them must be root-owned and not group- or world-writable. The host's C(/dev/log) socket is
    bind-mounted into the jail the same way, so C(internal-sftp) logs reach the host. A unit
    file of the same name that is not this block's (another block's, or another tool's) is
    refused before anything is written, so one jail serves one block (list several users and
    groups in that block rather than writing a second one for the same jail).
  - Refuses to jail the account Ansible is connected as over SSH (found from C(SUDO_USER),
    C(USER) and the login uid, also through the groups it belongs to) unless O(allow_lockout=true).
    Root (uid 0) and the root group are never jailed.
  - With O(mode=shell) a warning names each user whose login shell is missing in the jail.
options:
  name:
    description: Names the drop-in (C(NAME.conf)), the managed block and the mount units' marker.
    type: str
    required: true
  users:
    description: Users whose logins are jailed (plain names, no patterns).
    type: list
    elements: str
    default: []
  groups:
    description: Groups whose members' logins are jailed (plain names, no patterns).
    type: list
    elements: str
    default: []
  jail:
    description: Absolute path of the jail on the host, usually built with M(serversec.confine.chroot_jail).
    type: path
    required: true
  mode:
    description: C(sftp) allows SFTP only; C(shell) runs the user's shell inside the jail.
    type: str
    choices: [sftp, shell]
    default: sftp
  writable:
    description:
      - Directories inside the jail the users may write, mounted C(noexec,nosuid,nodev).
      - They cannot nest (nor be given twice), because every directory above a writable one stays root-owned.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path inside the jail.
        type: str
        required: true
      owner:
        description: Owner; the only user of O(users) by default.
        type: str
      group:
        description: Group; the owner's primary group by default.
        type: str
      mode:
        description: Octal mode; neither world-writable nor setuid, setgid or sticky.
        type: str
        default: '0750'
  authorized_keys_file:
    description:
      - C(AuthorizedKeysFile) for the matched users, a host path read before the chroot.
      - Its directory must be outside O(jail) (a C(%) token counts as any text), else a jailed user
        could change who logs in as them.
    type: str
    default: /etc/ssh/authorized_keys/%u
  authorized_keys:
    description:
      - The public keys that may log in as each jailed user, one key a list item, written to
        O(authorized_keys_file) with C(%u) replaced by the user's name (which must then name one file per user,
        with C(%u) in the file name and no other token). Each file is root-owned C(0644) and holds exactly the
        keys given, so a jailed user can read but never change who logs in as them; its directory is made
        root-owned C(0755), every directory above it must be root-owned and not group- or world-writable, and
        no symlink is followed on the way.
      - Only for users in O(users), and only with O(state=present). Users left out keep their file as it is.
      - When omitted, no keys file is written (manage them yourself).
    type: dict
  allow_lockout:
    description: Jail even the account Ansible is connected as.
    type: bool
    default: false
  backup:
    description:
      - Before the file that holds the block is changed or removed (the drop-in, or C(/etc/ssh/sshd_config) when
        the block is managed there), keep a copy of it next to it, with a timestamp in its name.
    type: bool
    default: false
  state:
    description: C(absent) removes the blocks and the mounts (the directories and their content stay).
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Every check and the C(sshd -t) and C(sshd -T) checks run; RV(changes) lists what would change.
  diff_mode:
    support: full
    description: Shows the sshd file and the mount units before and after.
  platform:
    support: full
    platforms: posix
    description: Linux with systemd and OpenSSH.
notes:
  - Needs systemd for the mounts, and C(sshd) on the managed host.
seealso:
  - module: serversec.confine.chroot_jail
  - module: serversec.confine.jail_exec
'''

EXAMPLES = r'''
- name: SFTP-only access for ann, uploads in /upload that never execute
  serversec.confine.ssh_jail:
    name: sftp-ann
    users: [ann]
    jail: /srv/jails/ann
    mode: sftp
    writable:
      - path: /upload
        mode: '0750'
    # written to /etc/ssh/authorized_keys/ann, root-owned
    authorized_keys:
      ann: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl ann@laptop']

- name: Shell users of the group jailed share one jail
  serversec.confine.ssh_jail:
    name: jailed-shells
    groups: [jailed]
    jail: /srv/jails/shell
    mode: shell

- name: Remove the block and the mounts
  serversec.confine.ssh_jail:
    name: sftp-ann
    users: [ann]
    jail: /srv/jails/ann
    state: absent
'''

RETURN = r'''
path:
  description: The file holding the block.
  returned: always
  type: str
  sample: /etc/ssh/sshd_config.d/sftp-ann.conf
dropin:
  description: Whether the block lives in a drop-in (else in a managed block of sshd_config).
  returned: always
  type: bool
  sample: true
changes:
  description: What was (or in check mode would be) changed.
  returned: always
  type: list
  elements: str
  sample: [create /upload, write mount srv-jails-ann-upload.mount, write /etc/ssh/sshd_config.d/sftp-ann.conf]
mounts:
  description: The mount units of this jail.
  returned: always
  type: list
  elements: str
  sample: [srv-jails-ann-dev-log.mount, srv-jails-ann-upload.mount]
devlog:
  description: Whether the host's /dev/log is mounted into the jail.
  returned: always
  type: bool
  sample: true
backup_file:
  description: The copy O(backup) made.
  returned: when O(backup=true) and the file was changed
  type: str
  sample: /etc/ssh/sshd_config.12345.2026-11-29@10:00:00~
reloaded:
  description: The sshd unit reloaded, or null.
  returned: always
  type: str
  sample: ssh.service
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import SshJailError, SshJailSpec  # noqa: E402
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_converge import SshJail, System  # noqa: E402


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            users=dict(type='list', elements='str', default=[]),
            groups=dict(type='list', elements='str', default=[]),
            jail=dict(type='path', required=True),
            mode=dict(type='str', choices=['sftp', 'shell'], default='sftp'),
            writable=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='str', required=True),
                owner=dict(type='str'),
                group=dict(type='str'),
                mode=dict(type='str', default='0750'),
            )),
            authorized_keys_file=dict(type='str', default='/etc/ssh/authorized_keys/%u'),
            authorized_keys=dict(type='dict', no_log=False),  # public keys, no secret
            allow_lockout=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        spec = SshJailSpec(params['name'], params['jail'], users=params['users'], groups=params['groups'],
                           mode=params['mode'], writable=params['writable'],
                           authorized_keys_file=params['authorized_keys_file'], state=params['state'],
                           authorized_keys=params['authorized_keys'])
        job = SshJail(spec, System(module),
                      lambda: module.get_bin_path('sshd', required=True, opt_dirs=['/usr/sbin', '/usr/local/sbin']),
                      check_mode=module.check_mode,
                      allow_lockout=params['allow_lockout'], backup=params['backup'])
        result = job.execute()
    except SshJailError as exc:
        module.fail_json(msg=str(exc), name=params['name'])
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or params["jail"]}: {exc.strerror or exc}', name=params['name'])
    for warning in job.warnings:
        module.warn(warning)
    if module._diff:
        result['diff'] = job.diffs
    module.exit_json(**result)


if __name__ == '__main__':
    main()
