#!/usr/bin/env python3
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared by the tcpwrap benchmarks (not a benchmark itself; running it does nothing).

run_module() times one module process started the way AnsiballZ runs it: python -m the module
with its arguments in a file, the collection found through PYTHONPATH.
"""

import json
import os
import subprocess
import sys
import time


def run_module(module, collections, args_file):
    """(wall-clock seconds, result dict) of one run of module from the collections directory."""
    env = dict(os.environ, PYTHONPATH=collections)
    start = time.perf_counter()
    out = subprocess.run([sys.executable, '-m', module, args_file], env=env, stdout=subprocess.PIPE, check=True).stdout
    return time.perf_counter() - start, json.loads(out)
