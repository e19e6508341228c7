"""Run chroot_jail's engine on an instance whose kernel runs no SELinux, as if it did.

Usage: selinux_probe.py present|absent JAIL STATE_DIR. The collection's module_utils are on
PYTHONPATH. Everything is real (Debian's policy, libselinux through its Python bindings, semanage,
the security.selinux attributes written) except the answer to "is SELinux enabled?", which a
container cannot get from its kernel. Prints the engine's result as JSON.
"""

import json
import sys

import selinux

from ansible_collections.serversec.confine.plugins.module_utils._chroot import selinux as room
from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import converge, remove_jail
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailSpec


class PolicyWithoutKernel:
    """The real bindings, enabled."""

    def __getattr__(self, name):
        return getattr(selinux, name)

    @staticmethod
    def is_selinux_enabled():
        return 1


def main(action, jail, state_dir):
    labels = room.JailLabels(jail, PolicyWithoutKernel(), room.SEMANAGE_PATHS, room.ENFORCE_FILE, room.SELINUX_DIR)
    if action == 'absent':
        result = remove_jail(jail, state_dir, labels=labels)
    else:
        spec = JailSpec(jail, binaries=['/usr/sbin/lighttpd', '/usr/sbin/sshd'], devices=['null'], users=['www-data'])
        result = converge(spec, state_dir, labels=labels)
    print(json.dumps(dict(result.as_dict(), warnings=result.warnings)))


if __name__ == '__main__':
    main(*sys.argv[1:])
