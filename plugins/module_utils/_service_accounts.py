# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Do not import it from outside the collection.

"""The host accounts a jailed daemon runs as, checked before its unit is written.

No root (uid 0 or gid 0) and no supplementary group but those the play accepts, for the user
systemd starts the daemon as, and for the user a daemon that starts as root switches itself to
(privilege_drop). The host's account database is read, never changed.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import collections
import grp
import os
import pwd

from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import PrerequisiteError, ServiceError

# The host identity a daemon that drops root must switch to, as numbers the kernel reports.
DropAccount = collections.namedtuple('DropAccount', ('user', 'uid', 'group', 'gid', 'allowed_gids'))


def resolve_accounts(user, group, allowed_groups, prefix=''):
    """Name of the group the daemon runs as (`group`, or the user's primary group).

    Refuses uid 0, gid 0, and supplementary groups not in `allowed_groups`. `prefix` goes
    before the field names in messages ("privilege_drop." for the user the daemon switches to).
    """
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise PrerequisiteError(
            f'{prefix}user: {user} does not exist on this host; create it first (a system user without login shell or home)')
    if entry.pw_uid == 0:
        raise ServiceError(f'{prefix}user: {user} has uid 0; a jailed daemon running as root can break out of its chroot')
    if group is None:
        gid = entry.pw_gid
        try:
            group = grp.getgrgid(gid).gr_name
        except KeyError:
            raise ServiceError(f'{prefix}user: the primary group {gid} of {user} does not exist')
    else:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise PrerequisiteError(f'{prefix}group: {group} does not exist on this host')
    if gid == 0:
        raise ServiceError(f'{prefix}group: {group} has gid 0; a jailed daemon must not run with the root group')
    check_supplementary_groups(user, gid, allowed_groups, prefix)
    return group


def check_supplementary_groups(user, gid, allowed_groups, prefix=''):
    """systemd gives the daemon every host group that lists `user` (initgroups), whatever
    SupplementaryGroups= says; refuse them unless accepted, and gid 0 always."""
    unaccepted = []
    # getgrouplist() is what initgroups() uses, so it sees the same NSS sources as systemd.
    for member_gid in sorted(set(os.getgrouplist(user, gid)) - {gid}):
        try:
            name = grp.getgrgid(member_gid).gr_name
        except KeyError:
            name = str(member_gid)
        if member_gid == 0:
            raise ServiceError(f'{prefix}user: {user} is a member of the group {name} (gid 0), which systemd would give the '
                               'daemon; the root group is refused even in allow_supplementary_groups')
        if name not in allowed_groups:
            unaccepted.append(name)
    if unaccepted:
        raise ServiceError(
            f"{prefix}user: {user} is a member of the groups {', '.join(unaccepted)}, which systemd would give the daemon "
            '(initgroups); remove the memberships or list them in allow_supplementary_groups')


def drop_account(user, group, allowed_groups):
    """The DropAccount of `user` and `group`, both accepted by resolve_accounts already; the
    accepted supplementary groups that exist, by number."""
    allowed_gids = set()
    for name in allowed_groups:
        try:
            allowed_gids.add(grp.getgrnam(name).gr_gid)
        except KeyError:
            continue
    return DropAccount(user, pwd.getpwnam(user).pw_uid, group, grp.getgrnam(group).gr_gid, frozenset(allowed_gids))
