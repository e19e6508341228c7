# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Run a module's main() in-process: arguments in, exit_json/fail_json results out as exceptions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ExitJson(kwargs)


def fail_json(self, **kwargs):
    kwargs['failed'] = True
    raise FailJson(kwargs)


@contextlib.contextmanager
def module_args(args):
    """Works with ansible-core 2.16 to 2.19."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:
        payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        with mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield
    else:
        with patch_module_args(args):
            yield
