# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. jailed_service and host_files use it.

"""The jails on this host (whose contents uid 0 in each controls) and refusing host paths inside them.

``known_jails`` reads the jail paths chroot_jail recorded in its state directory, and refuses to
answer when that directory is not root's alone (``open_state_dir``: a hidden record would let a
path inside a jail pass); ``open_root_dir`` is how the analysis records are reached;
``refuse_inside_jails`` raises ServiceError for a path inside one, ``refuse_jail_overlap`` also for a
bind source that is or holds one.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import functools
import os
import posixpath

from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as chroot_host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import parse_state, read_root_file
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW
from ansible_collections.serversec.confine.plugins.module_utils._paths import PathWalk
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

# chroot_jail's default state_dir: its state files record each jail's path.
JAIL_STATE_DIR = '/var/lib/serversec-confine/jails'


def open_root_dir(path, judge):
    """A descriptor on the directory ``path``, or None when it is missing, is reached through a
    symbolic link or through a directory ``judge(path, stat)`` gives a reason against, or is
    itself not root-owned or is group- or world-writable."""
    try:
        with PathWalk('/', path, 'state_dir', error=ServiceError) as walk:
            if walk.links or any(judge(held, st) for held, st in walk.dirs):
                return None
            fd = os.open(walk.name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=walk.parent_fd)
    except (ServiceError, OSError):
        return None
    st = os.fstat(fd)
    if st.st_uid != 0 or st.st_mode & 0o022:
        os.close(fd)
        return None
    return fd


class _Unreachable(ServiceError):
    """The state directory is missing (or a component is not a directory): no jail recorded."""


def open_state_dir(state_dir, judge):
    """A descriptor on ``state_dir``, or None when it is missing.

    Fails closed: a link on the way, or a directory ``judge(path, stat)`` gives a reason against
    (the state directory included), raises ServiceError, since whoever controls it could hide a
    record and so make a path inside that jail look like a host path. Everything before a missing
    component was judged root's alone, so only root can have removed it.
    """
    def untrusted(detail):
        return ServiceError(f'state_dir {state_dir}: {detail}; the jails chroot_jail records there cannot be '
                            'trusted, so no path can be shown to lie outside them: make it and every directory '
                            'above it root-owned and not group- or world-writable, with no symbolic link on the way')

    def check_dir(held, st):
        reason = judge(held, st)
        if reason:
            raise untrusted(reason)

    def check_link(link, _held):
        raise untrusted(f'{link} is a symbolic link')

    try:
        with PathWalk('/', state_dir, 'state_dir', error=_Unreachable, check_dir=check_dir,
                      check_link=check_link) as walk:
            fd = os.open(walk.name, os.O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, dir_fd=walk.parent_fd)
    except _Unreachable:
        return None
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        if exc.errno == errno.ELOOP:
            raise untrusted(f'{state_dir} is a symbolic link') from None
        raise untrusted(f'cannot open it: {exc.strerror}') from None
    reason = judge(state_dir, os.fstat(fd))
    if reason:
        os.close(fd)
        raise untrusted(reason)
    return fd


def known_jails(state_dir=JAIL_STATE_DIR):
    """The jails chroot_jail recorded in `state_dir` (the "jail" field of its state files); none
    when it is missing, ServiceError when it is not root's alone (``open_state_dir``). A record
    that cannot be read or parsed (only root can have written one there) is skipped."""
    fd = open_state_dir(state_dir, chroot_host.source_dir_check)
    if fd is None:
        return []
    jails = set()
    try:
        for name in os.listdir(fd):
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


def refuse_jail_overlap(what, path, jails):
    """refuse_inside_jails, and a bind source that is or holds a jail: the daemon would reach that
    jail's programs and libraries (its own included) through the bind, past ProtectSystem=."""
    refuse_inside_jails(what, path, jails)
    for jail in jails:
        if jail == path or jail.startswith(path.rstrip('/') + '/'):
            raise ServiceError(f'{what} is or holds the jail {jail}, whose programs and libraries the daemon could '
                               'then reach through the bind; bind a path outside every jail')
