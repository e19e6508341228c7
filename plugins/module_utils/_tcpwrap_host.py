# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""Facts about the managed host that TCP wrappers depend on.

The SSH connection Ansible itself uses, and the Environment of host lookups (users, groups,
netgroups, /file patterns) the matcher and the rule checks ask. Which daemons honour the
rules is _tcpwrap_enforcement's concern.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import grp
import os
import pwd
import socket

from ansible_collections.serversec.confine.plugins.module_utils._fileio import FileIOError, read_if_exists


def ssh_connection(environ=None, proc='/proc'):
    """(client address, server address) of the SSH session Ansible runs in, or None.

    become (sudo) drops SSH_CONNECTION from the environment, so the parent
    processes' environments are searched too.
    """
    value = (environ if environ is not None else os.environ).get('SSH_CONNECTION')
    pid = os.getpid()
    seen = set()
    while not value and pid > 1 and pid not in seen:
        seen.add(pid)
        try:
            for item in (read_if_exists(f'{proc}/{pid}/environ') or b'').split(b'\0'):
                if item.startswith(b'SSH_CONNECTION='):
                    value = item.split(b'=', 1)[1].decode('latin-1')
                    break
            pid = int(read_if_exists(f'{proc}/{pid}/stat').rsplit(b')', 1)[1].split()[1])
        except (OSError, FileIOError, AttributeError, ValueError, IndexError):
            break
    if not value:
        return None
    parts = value.split()
    if len(parts) < 3:
        return None
    return parts[0], parts[2]


class Environment:
    """Host-dependent lookups of the matcher and the rule checks; the defaults read this host.

    dry_run: decide as tcpdmatch does (as root) rather than as a daemon does, where the two
    differ: Debian's libwrap switches user and group only in a dry run.
    """

    dry_run = False

    def host_file_words(self, path):
        # libwrap matches nothing from a /file pattern it cannot read
        try:
            return (read_if_exists(path) or b'').decode('latin-1').split()
        except (OSError, FileIOError):
            return []

    def innetgr(self, netgroup, hostname):
        # No portable netgroup lookup from Python: libwrap without NIS says no.
        return False

    def interface_index(self, name):
        """if_nametoindex(): the index of this host's network interface, or None."""
        try:
            return socket.if_nametoindex(name)
        except (OSError, ValueError):
            return None

    def user_exists(self, name):
        try:
            pwd.getpwnam(name)
            return True
        except KeyError:
            return False

    def user_ids(self, name):
        """(uid, gid) of an existing user."""
        entry = pwd.getpwnam(name)
        return entry.pw_uid, entry.pw_gid

    def group_id(self, name):
        return grp.getgrnam(name).gr_gid

    def group_exists(self, name):
        try:
            grp.getgrnam(name)
            return True
        except KeyError:
            return False
