# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Only the jailed_service module uses it.

"""A jailed daemon that starts as root and switches itself to an unprivileged user
(jailed_service's privilege_drop): the exposure it may have, and the proof, read from the
kernel after it started, that its processes really run as that user.

The processes of the unit are those in the cgroup of its main process (``/proc/PID/cgroup``,
which the daemon cannot change: ProtectControlGroups= makes the cgroup tree read-only to it);
their identities come from ``/proc/PID/status``, whose ``Uid:``, ``Gid:`` and ``Groups:``
lines the kernel writes. Nothing the daemon writes in its jail is read.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import collections
import os
import time

from ansible_collections.serversec.confine.plugins.module_utils._systemd_policy import DROP_MAX_EXPOSURE
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

PROC_DIR = '/proc'
# How long the workers of a freshly started master have to appear, and how often to look.
WORKER_WAIT_SECONDS = 5.0
WORKER_POLL_SECONDS = 0.25

# One process of the unit: its four uids and gids (real, effective, saved, file system), its
# supplementary groups and its permitted capabilities (CapPrm, a bit mask).
Identity = collections.namedtuple('Identity', ('pid', 'uids', 'gids', 'groups', 'permitted'), defaults=(0,))
# Permitted capabilities with which a process that switched can take root's ids again (setuid(0),
# setgid(0)): kept across the switch with PR_SET_KEEPCAPS, they undo it.
REGAIN_ROOT = {7: 'CAP_SETUID', 6: 'CAP_SETGID'}


def exposure_limit(max_exposure, drop_to):
    """The max_exposure to enforce: at most DROP_MAX_EXPOSURE for a daemon that starts as root."""
    if drop_to is None:
        return max_exposure
    if max_exposure is None:
        return DROP_MAX_EXPOSURE
    if max_exposure > DROP_MAX_EXPOSURE:
        raise ServiceError(f'max_exposure: {max_exposure} is higher than {DROP_MAX_EXPOSURE}, the most accepted '
                           'for a daemon that starts as root (privilege_drop)')
    return max_exposure


def read_proc(pid, name):
    """Text of /proc/PID/NAME, or None when the process is gone."""
    try:
        with open(os.path.join(PROC_DIR, str(pid), name), 'rb') as handle:
            return handle.read().decode('utf-8', 'surrogateescape')
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_identity(pid):
    """The Identity of `pid` from /proc/PID/status, or None when it is gone."""
    status = read_proc(pid, 'status')
    if status is None:
        return None
    fields = {}
    for line in status.splitlines():
        key, _sep, value = line.partition(':')
        # The first occurrence only: the kernel writes each of these once, after Name:.
        fields.setdefault(key, value.split())
    return Identity(pid, tuple(int(v) for v in fields['Uid']), tuple(int(v) for v in fields['Gid']),
                    tuple(int(v) for v in fields.get('Groups', [])), int(fields.get('CapPrm', ['0'])[0], 16))


def unit_processes(main_pid):
    """The PIDs whose cgroup is that of `main_pid`, the unit's main process, which comes first."""
    cgroup = read_proc(main_pid, 'cgroup')
    if not cgroup:
        return []
    pids = [main_pid]
    for entry in sorted(os.listdir(PROC_DIR)):
        if entry.isdigit() and int(entry) != main_pid and read_proc(entry, 'cgroup') == cgroup:
            pids.append(int(entry))
    return pids


def describe(identity):
    """PID 812 uids 0 0 0 0 gids 0 0 0 0: real, effective, saved and file system ids."""
    return (f"PID {identity.pid} uids {' '.join(map(str, identity.uids))} "
            f"gids {' '.join(map(str, identity.gids))}")


def judge(identities, account):
    """None when at least one process runs as the account and every process runs either as root
    (the master) or as the account, with no group beyond its own and the accepted ones; else what
    is wrong."""
    workers = 0
    for identity in identities:
        if set(identity.uids) == {0} and set(identity.gids) == {0}:
            continue
        if set(identity.uids) != {account.uid} or set(identity.gids) != {account.gid}:
            return (f'{describe(identity)} runs neither as root nor as {account.user}:{account.group} '
                    f'({account.uid}:{account.gid})')
        regain = sorted(name for bit, name in REGAIN_ROOT.items() if identity.permitted >> bit & 1)
        if regain:
            return (f"{describe(identity)} keeps {' '.join(regain)} in its permitted set, with which it can become "
                    'root again')
        extra = sorted(set(identity.groups) - {account.gid} - account.allowed_gids)
        if extra or 0 in identity.groups:
            return (f'{describe(identity)} holds the groups {", ".join(map(str, extra or [0]))} beyond '
                    f'{account.group} and allow_supplementary_groups')
        workers += 1
    if not workers:
        found = '; '.join(describe(identity) for identity in identities) or 'no process'
        return f'no process runs as {account.user} ({account.uid}); found {found}'
    return None


def confirm_drop(main_pid, account):
    """The identities of the unit's processes once they show the switch to `account`, read
    again until `wait` has passed (a master forks its workers after it started); raises
    ServiceError naming what was found.

    `main_pid` is a callable giving systemd's MainPID of the unit now (0 when it has none).
    """
    deadline = time.monotonic() + WORKER_WAIT_SECONDS
    while True:
        pid = main_pid()
        identities = [identity for identity in map(process_identity, unit_processes(pid)) if identity] if pid else []
        problem = judge(identities, account)
        if problem is None:
            return [{'pid': found.pid, 'uids': list(found.uids), 'gids': list(found.gids), 'groups': list(found.groups)}
                    for found in identities]
        if time.monotonic() >= deadline:
            raise ServiceError(f'privilege_drop: {problem}')
        time.sleep(WORKER_POLL_SECONDS)
