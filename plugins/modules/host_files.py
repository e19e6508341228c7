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
module: host_files
short_description: Put several root-owned host files in place in one module run
version_added: 0.2.0
author:
  - serversec maintainers (@serversec)
description:
  - Writes the files of O(files) with their content, owner, group and mode, in one module run
    instead of two per file (M(ansible.builtin.copy) runs C(stat), then C(file) or C(copy)); a
    run that changes nothing makes one module run in all.
  - Every entry is validated before the first write (path, owner, group, mode, and every
    directory on the way), so a refused entry leaves every file as it was; a write can still fail
    midway for other reasons (a full disk).
  - Every directory from C(/) to a file is walked one component at a time without following a
    link and held open, and must be root's alone (owned by root, not group- or
    world-writable); a symbolic link on the way is refused (give the path it points to). A
    directory a non-root user controls would let that user swap the file between the check and
    the write. Every read and write is made relative to the directory the walk holds, so a
    directory renamed meanwhile does not redirect it. Missing directories are created owned by
    root with O(directory_mode).
  - One exception is made for log files. The directory holding an entry without content may also be
    root-owned and writable by its group (Ubuntu's C(/var/log) is C(root:syslog 0775)). There a
    missing file is created under its own name (O_EXCL, no temporary name to swap), and an
    existing file is never changed, since that group can rename any file of the directory onto
    its name; one without the asked owner, group and mode is refused.
  - A path inside a jail that M(serversec.confine.chroot_jail) recorded in its default state
    directory is refused, since uid 0 in that jail controls what is there; put files into a jail
    with M(serversec.confine.chroot_jail). When that state directory, or a directory above it, is
    not root's alone, nothing is written rather than trust its records.
  - A file that changes is replaced by a new inode, given its owner, mode and SELinux context
    (the old file's, or the default one for a new file) before it gets its name, in one rename;
    nobody who could open the old file holds the new one. Only the owner, group or mode of a
    root-owned file that nobody else can write is changed in place. Only a regular file with one
    name is replaced.
  - Setuid, setgid and world-writable modes are refused.
options:
  files:
    description:
      - The files to put in place.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description:
          - Absolute path of the file on the host.
        type: path
        required: true
      content:
        description:
          - The file's text (UTF-8).
          - Omitted (and no O(files[].src)), the file is created empty when missing and its
            content is never changed, as for a log file; its owner, group and mode are still
            set.
        type: str
      src:
        description:
          - A UTF-8 text file on the controller whose content is written, found like the
            C(src) of M(ansible.builtin.copy) (in C(files/) of the role or next to the
            playbook or task file; Vault-encrypted files are decrypted).
          - Read by the action plugin; mutually exclusive with O(files[].content).
        type: path
      owner:
        description:
          - Name or number of the file's owner.
          - In check mode a name the host does not know yet (a user an earlier task would create)
            is a warning, and the file is reported as changing; otherwise it is refused.
        type: str
        default: root
      group:
        description:
          - Name or number of the file's group; in check mode an unknown name is treated as for
            O(files[].owner).
        type: str
        default: root
      mode:
        description:
          - Octal mode of the file, as a quoted string such as V('0644') (a YAML number is refused, since
            C(644) unquoted is the decimal number 644).
        type: raw
        default: '0644'
  directory_mode:
    description:
      - Octal mode of the directories created on the way to a file, owned by root, as a quoted
        string; group- or world-writable modes are refused.
    type: raw
    default: '0755'
  backup:
    description:
      - Keep a root-owned copy of a file whose content is replaced, next to it, with a timestamp
        in its name.
    type: bool
    default: false
attributes:
  action:
    support: full
    description: The action plugin reads O(files[].src) on the controller.
  check_mode:
    support: full
    description: Reports what would change without writing.
  diff_mode:
    support: full
    description: Shows each file's content, and its owner, group and mode, before and after.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host.
notes:
  - Files are written as text, up to 64 MiB (a larger existing file is never read); for binary
    or larger files use M(ansible.builtin.copy).
seealso:
  - module: ansible.builtin.copy
"""

EXAMPLES = r"""
- name: A jailed web server's configuration and its page, in one module run
  serversec.confine.host_files:
    files:
      - path: /etc/lighttpd/jailed.conf
        src: daemon_files/etc/lighttpd/jailed.conf
      - path: /srv/www/index.html
        content: "<h1>It works</h1>\n"

- name: A log file kept as it is, and its logrotate snippet
  serversec.confine.host_files:
    files:
      - path: /var/log/tcpwrappers.log
        group: adm
        mode: '0640'
      - path: /etc/logrotate.d/tcpwrappers
        content: "{{ lookup('ansible.builtin.template', 'logrotate.d/tcpwrappers') }}"
"""

RETURN = r"""
files:
  description: What happened to each file, in the order of O(files).
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    changed:
      description: Whether the file was created or its content, owner, group or mode changed.
      type: bool
    created:
      description: Whether the file did not exist.
      type: bool
    content_changed:
      description: Whether its content was (or would be) written.
      type: bool
    attributes_changed:
      description: Whether its owner, group or mode was (or would be) set.
      type: bool
    backup_file:
      description: The copy kept with O(backup=true).
      type: str
      returned: when a backup was made
  sample:
    - path: /etc/lighttpd/jailed.conf
      changed: false
      created: false
      content_changed: false
      attributes_changed: false
created_directories:
  description: Directories created (in check mode, that would be) on the way to the files.
  returned: always
  type: list
  elements: str
  sample: [/srv/www]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError
from ansible_collections.serversec.confine.plugins.module_utils._host_files import HostFiles, HostFilesError


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='path', required=True),
                content=dict(type='str', no_log=True),
                src=dict(type='path'),
                owner=dict(type='str', default='root'),
                group=dict(type='str', default='root'),
                mode=dict(type='raw', default='0644'),
            ), mutually_exclusive=[('content', 'src')]),
            directory_mode=dict(type='raw', default='0755'),
            backup=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    try:
        result = HostFiles(module).execute()
    except (HostFilesError, FileIOError) as exc:
        module.fail_json(msg=to_native(exc))
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or "host_files"}: {to_native(exc.strerror or exc)}')
    module.exit_json(**result)


if __name__ == '__main__':
    main()
