# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Only the jailed_service module uses it.

"""The jails on this host (whose contents uid 0 in each controls) and refusing host paths inside them.

``known_jails`` reads the jail paths chroot_jail recorded in its state directory, trusting it
only when it is root-only; ``refuse_inside_jails`` raises ServiceError for a path inside one.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import functools
import os
import posixpath

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import first_user_writable
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import parse_state, read_root_file
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathWalk
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

# chroot_jail's default state_dir: its state files record each jail's path.
JAIL_STATE_DIR = '/var/lib/serversec-confine/jails'


def known_jails(state_dir=JAIL_STATE_DIR):
    """The jails chroot_jail recorded in `state_dir` (the "jail" field of its state files), read
    only when the directory is root-only and reached through directories only root can change;
    a record that cannot be read or parsed is unknown and skipped."""
    try:
        with PathWalk('/', state_dir, 'state_dir', error=ServiceError) as walk:
            if first_user_writable(walk.dirs) or walk.links:
                return []
            fd = os.open(walk.name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=walk.parent_fd)
    except (ServiceError, OSError):
        return []
    jails = set()
    try:
        st = os.fstat(fd)
        names = os.listdir(fd) if st.st_uid == 0 and not st.st_mode & 0o077 else []
        for name in names:
            if not name.endswith('.json'):
                continue
            where = f'{state_dir}/{name}'
            try:
                opener = functools.partial(os.open, name, os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC, dir_fd=fd)
                raw = read_root_file(opener, where, 'state')
                jail = parse_state(raw, where).get('jail') if raw is not None else None
            except (JailError, OSError):
                continue
            if isinstance(jail, str) and jail.startswith('/') and jail != '/' and posixpath.normpath(jail) == jail:
                jails.add(jail)
    finally:
        os.close(fd)
    return sorted(jails)


def refuse_inside_jails(what, path, jails):
    """uid 0 in a jail can replace any path inside it with a link to the host's /etc, /root or
    /, and systemd follows bind sources anew at each start."""
    for jail in jails:
        if path.startswith(jail + '/'):
            raise ServiceError(f'{what} lies inside the jail {jail}, where uid 0 in that jail could replace it with a '
                               'symbolic link to any host path, which systemd would follow when the unit starts; '
                               'bind a path outside every jail')
