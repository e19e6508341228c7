# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one harness of the unit tests: run a module's main() in-process, as Ansible would.

``run_module(module, args, check=False, diff=False)`` returns the result dict that the module
passed to exit_json or fail_json (``failed`` is set for the latter). Works with ansible-core
2.16 to 2.19.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json
from unittest import mock

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes


class ModuleExit(Exception):
    """exit_json or fail_json was called; args[0] is the result."""


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    raise ModuleExit(kwargs)


def _fail_json(self, **kwargs):
    kwargs['failed'] = True
    raise ModuleExit(kwargs)


@contextlib.contextmanager
def module_args(args):
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        payload = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        with mock.patch.object(basic, '_ANSIBLE_ARGS', payload):
            yield
    else:
        with patch_module_args(args):
            yield


@pytest.fixture
def module_warnings(monkeypatch):
    """Warnings the module gave through AnsibleModule.warn, in order."""
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, warning: warnings.append(warning))
    return warnings


@pytest.fixture
def run_module(monkeypatch):
    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', _exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', _fail_json)

    def run(module, args, check=False, diff=False):
        args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
        with module_args(args):
            with pytest.raises(ModuleExit) as excinfo:
                module.main()
        return excinfo.value.args[0]

    return run
