#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the controller pays, once per module per playbook run, to pack a module for the host.

ansible-core builds each module's AnsiballZ payload (the module, every module_utils file it
imports, found by parsing them all, zipped) the first time a run uses it, and keeps it only for
that run. This times that build, side by side in rotated rounds, for ansible.builtin.ping (what
every module pays: ansible.module_utils.basic and its imports) and for each module the no-change
run of playbooks/secure_server.yml uses, and reports the median wall clock and the size of the
module's own code in the payload (all but ansible.module_utils).

Run with the project's venv (ansible-core 2.19); the collection is this checkout's
(.build/collections, which `make collections-link` makes) unless ANSIBLE_COLLECTIONS_PATH says:

    .venv/bin/python bench/module_packing.py [--rounds 5]
"""

import argparse
import base64
import io
import os
import re
import shutil
import statistics
import time
import zipfile
from pathlib import Path

MODULES = ['ansible.builtin.ping', 'serversec.confine.host_files', 'serversec.confine.tcpwrap_policy',
           'serversec.confine.chroot_jail', 'serversec.confine.jailed_service']


def build(name):
    """(seconds, bytes of the collection's own code in the payload) of one build of name."""
    from ansible.executor import module_common
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import module_loader
    from ansible.template import Templar

    from ansible import constants

    found = module_loader.find_plugin_with_context(name)
    # A run keeps each payload it built; every build here is a first one.
    shutil.rmtree(os.path.join(constants.DEFAULT_LOCAL_TMP, 'ansiballz_cache'), ignore_errors=True)
    start = time.perf_counter()
    built = module_common.modify_module(module_name=found.resolved_fqcn, module_path=found.plugin_resolved_path,
                                        module_args={}, templar=Templar(loader=DataLoader()),
                                        task_vars={'ansible_python_interpreter': '/usr/bin/python3'},
                                        module_compression='ZIP_DEFLATED')
    seconds = time.perf_counter() - start
    payload = re.search(rb"zip_data='([A-Za-z0-9+/=]+)'", built.b_module_data)
    archive = zipfile.ZipFile(io.BytesIO(base64.b64decode(payload.group(1))))
    own = sum(info.file_size for info in archive.infolist() if info.filename.startswith('ansible_collections/'))
    return seconds, own


def main():
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(Path(__file__).resolve().parent.parent / '.build' / 'collections'))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    rounds = parser.parse_args().rounds
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    build(MODULES[0])  # loads what every run loads once (plugin routing, templating)
    times = {name: [] for name in MODULES}
    sizes = {}
    for index in range(rounds):
        for name in MODULES[index % len(MODULES):] + MODULES[:index % len(MODULES)]:
            seconds, sizes[name] = build(name)
            times[name].append(seconds)
    print('| module | packing on the controller (s) | its own code in the payload (KiB) |')
    print('| --- | ---: | ---: |')
    for name in MODULES:
        print(f'| `{name}` | {statistics.median(times[name]):.2f} | {sizes[name] / 1024:.0f} |')


if __name__ == '__main__':
    main()
