#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a module's own code costs: packing it on the controller, loading it on the host.

ansible-core builds each module's AnsiballZ payload (the module, every module_utils file it
imports, found by parsing them all, zipped) the first time a run uses it, and keeps it only for
that run. This times that build, side by side in rotated rounds, for ansible.builtin.ping (what
every module pays: ansible.module_utils.basic and its imports) and for each module the no-change
run of playbooks/secure_server.yml uses, and reports the median wall clock and the size of the
module's own code in the payload (all but ansible.module_utils).

The host pays on every run of a module: Python imports the payload's code from the zip, where
no bytecode is kept, so every file is compiled from source each time, and twice with the
zipimport of every CPython release so far (CPython gh-141276, a fix proposed, not merged: the
module's spec asks for its file name, which compiles it, and then it is compiled again to run).
The same rounds import each module's own code from its payload in a fresh interpreter
(ansible.module_utils.basic imported first, as every module does, and not counted; the module's
main() is not run) and report the CPU time of that import and how much of it went to compile().

Run with the project's venv (ansible-core 2.19); the collection is this checkout's
(.build/collections, which `make collections-link` makes) unless ANSIBLE_COLLECTIONS_PATH says:

    .venv/bin/python bench/module_packing.py [--rounds 5]
"""

import argparse
import base64
import io
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

MODULES = ['ansible.builtin.ping', 'serversec.confine.host_files', 'serversec.confine.tcpwrap_policy',
           'serversec.confine.chroot_jail', 'serversec.confine.jailed_service']


# Run in a fresh interpreter on one payload: import basic, then the module, compile() timed.
IMPORT_FROM_PAYLOAD = """
import builtins, importlib, json, sys, time
sys.path.insert(0, sys.argv[1])
sys.dont_write_bytecode = True
import ansible.module_utils.basic
real_compile, compiled = builtins.compile, [0, 0.0]
def timed_compile(*args, **kwargs):
    start = time.process_time()
    try:
        return real_compile(*args, **kwargs)
    finally:
        compiled[0] += 1
        compiled[1] += time.process_time() - start
builtins.compile = timed_compile
start = time.process_time()
importlib.import_module(sys.argv[2])
print(json.dumps({'import': time.process_time() - start, 'compile': compiled[1], 'compiles': compiled[0]}))
"""


def host_import(zip_path, fqcn):
    """CPU seconds of importing the module fqcn's own code from its payload, and of compile() in it."""
    if fqcn.startswith('ansible.builtin.'):
        module = 'ansible.modules.' + fqcn.rsplit('.', 1)[1]
    else:
        namespace, collection, short = fqcn.split('.')
        module = f'ansible_collections.{namespace}.{collection}.plugins.modules.{short}'
    out = subprocess.run([sys.executable, '-c', IMPORT_FROM_PAYLOAD, zip_path, module], stdout=subprocess.PIPE,
                         check=True, env={'PATH': os.environ.get('PATH', '/usr/bin:/bin')}).stdout
    figures = json.loads(out)
    return figures['import'], figures['compile'], figures['compiles']


def pack(name):
    """(seconds, zip bytes, bytes of the collection's own code in it, FQCN) of one build of name's payload."""
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
    data = base64.b64decode(re.search(rb"zip_data='([A-Za-z0-9+/=]+)'", built.b_module_data).group(1))
    archive = zipfile.ZipFile(io.BytesIO(data))
    own = sum(info.file_size for info in archive.infolist() if info.filename.startswith('ansible_collections/'))
    return seconds, data, own, found.resolved_fqcn


def main():
    os.environ.setdefault('ANSIBLE_COLLECTIONS_PATH', str(Path(__file__).resolve().parent.parent / '.build' / 'collections'))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    rounds = parser.parse_args().rounds
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()
    pack(MODULES[0])  # loads what every run loads once (plugin routing, templating)
    times = {name: [] for name in MODULES}
    sizes = {}
    loads = {name: [] for name in MODULES}
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(rounds):
            for name in MODULES[index % len(MODULES):] + MODULES[:index % len(MODULES)]:
                seconds, data, sizes[name], fqcn = pack(name)
                times[name].append(seconds)
                zip_path = os.path.join(scratch, name + '.zip')
                with open(zip_path, 'wb') as handle:
                    handle.write(data)
                loads[name].append(host_import(zip_path, fqcn))
    print('| module | packing on the controller (s) | its own code in the payload (KiB) '
          '| loading it on the host, every run: CPU (ms) | of which compile() (ms; calls, two per file) |')
    print('| --- | ---: | ---: | ---: | ---: |')
    for name in MODULES:
        load = statistics.median(cpu for cpu, _compile, _count in loads[name]) * 1000
        compile_ms = statistics.median(spent for _cpu, spent, _count in loads[name]) * 1000
        print(f'| `{name}` | {statistics.median(times[name]):.2f} | {sizes[name] / 1024:.0f} | {load:.0f} '
              f'| {compile_ms:.0f} ({loads[name][0][2]}) |')


if __name__ == '__main__':
    main()
