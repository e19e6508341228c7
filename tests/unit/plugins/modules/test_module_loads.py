# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a module loads on the host when it starts.

Ansible ships module_utils to the host as source in a zip, and Python compiles every file a
module imports on every run (bench/module_packing.py). A module that only reads jails must not
load the engine that writes them, jailed_service loads the libwrap engine only for a
tcpwrap_daemon, and chroot_jail loads the presets' data and the base's engine only for a jail
that names them.
"""

import json
import os
import subprocess
import sys

import pytest

MU = 'ansible_collections.serversec.confine.plugins.module_utils.'
WRITING_ENGINE = [MU + '_chroot.' + room for room in ('converge', 'plan', 'loader', 'base', 'selinux')] + [MU + '_elf']
LIBWRAP_ENGINE = [MU + room for room in ('_tcpwrap_compile', '_tcpwrap_match', '_tcpwrap_rules', '_tcpwrap')]
NAMED_ONLY = [MU + '_chroot.presets', MU + '_chroot.base']


def loaded(module):
    """The collection's modules a fresh interpreter has loaded once it imported ``module``."""
    probe = (f'import json, sys, {module}; '
             'print(json.dumps(sorted(m for m in sys.modules if m.startswith("ansible_collections.serversec"))))')
    out = subprocess.run([sys.executable, '-c', probe], stdout=subprocess.PIPE, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout
    return set(json.loads(out))


@pytest.mark.parametrize('module, not_loaded', [
    ('chroot_jail_info', WRITING_ENGINE),
    ('jailed_service', WRITING_ENGINE + LIBWRAP_ENGINE),
    ('chroot_jail', NAMED_ONLY),
])
def test_a_module_loads_only_what_it_needs(module, not_loaded):
    modules = loaded('ansible_collections.serversec.confine.plugins.modules.' + module)
    assert MU + '_chroot.tree' in modules
    assert sorted(modules & set(not_loaded)) == []
