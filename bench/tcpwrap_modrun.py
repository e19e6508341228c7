#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the tcpwrap benchmarks (not a benchmark itself; running it does nothing).

run_module() times one module process started the way AnsiballZ runs it: python -m the module
with its arguments in a file, the collection found through PYTHONPATH. It reports the wall
clock and the CPU time (user + system) of the process: on a machine loaded by other jobs the
CPU time says more about the module's own cost.
"""

import json
import os
import resource
import subprocess
import sys
import time


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_module(module, collections, args_file):
    """(wall-clock seconds, CPU seconds, result dict) of one run of module from collections."""
    env = dict(os.environ, PYTHONPATH=collections)
    cpu = _children_cpu()
    start = time.perf_counter()
    out = subprocess.run([sys.executable, '-m', module, args_file], env=env, stdout=subprocess.PIPE, check=True).stdout
    return time.perf_counter() - start, _children_cpu() - cpu, json.loads(out)
