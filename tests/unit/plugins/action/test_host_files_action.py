# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host_files action plugin: each src is read on the controller and sent as content."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from unittest import mock

import pytest
from ansible.errors import AnsibleError
from ansible.playbook.task import Task
from ansible_collections.serversec.confine.plugins.action.host_files import ActionModule


@pytest.fixture
def action(tmp_path):
    """The plugin with a task of the given files; the module run returns the args it was given."""
    def make(files):
        task = Task()
        task.args = {'files': files}
        loader = mock.Mock()
        loader.get_real_file.side_effect = lambda path, decrypt: path
        plugin = ActionModule(task, mock.Mock(), mock.Mock(), loader=loader, templar=None, shared_loader_obj=None)
        plugin._find_needle = mock.Mock(side_effect=lambda kind, src: str(tmp_path / src))
        plugin._execute_module = mock.Mock(side_effect=lambda module_name, module_args, task_vars: {
            'module': module_name, 'args': module_args})
        return plugin
    return make


def test_src_becomes_content(action, tmp_path):
    (tmp_path / 'app.conf').write_bytes('port 80 # ünïcode\n'.encode('utf-8'))
    plugin = action([{'path': '/etc/app.conf', 'src': 'app.conf', 'mode': '0640'}, {'path': '/var/log/app.log'}])
    with mock.patch('ansible.plugins.action.ActionBase.run', return_value={}):
        result = plugin.run(task_vars={})
    assert result == {'module': 'serversec.confine.host_files', 'args': {'files': [
        {'path': '/etc/app.conf', 'content': 'port 80 # ünïcode\n', 'mode': '0640'},
        {'path': '/var/log/app.log'}]}}
    plugin._find_needle.assert_called_once_with('files', 'app.conf')


@pytest.mark.parametrize('entry, data, message', [
    ({'path': '/etc/a', 'src': 'a', 'content': 'x'}, b'', 'files[0]: give content or src, not both'),
    ({'path': '/etc/a', 'src': 'a'}, b'\xff\xfe', 'files[0].src {tmp}/a is not UTF-8 text; host_files writes text '
                                                  'files (use ansible.builtin.copy for binary ones)'),
])
def test_bad_src_fails_without_running_the_module(action, tmp_path, entry, data, message):
    (tmp_path / 'a').write_bytes(data)
    plugin = action([entry])
    with mock.patch('ansible.plugins.action.ActionBase.run', return_value={}):
        result = plugin.run(task_vars={})
    assert result == {'failed': True, 'msg': message.format(tmp=tmp_path)}
    plugin._execute_module.assert_not_called()


def test_a_missing_src_is_named(action):
    plugin = action([{'path': '/etc/a', 'src': 'missing'}])
    plugin._find_needle.side_effect = AnsibleError("Could not find or access 'missing'")
    with mock.patch('ansible.plugins.action.ActionBase.run', return_value={}):
        result = plugin.run(task_vars={})
    assert result == {'failed': True, 'msg': "files[0].src: Could not find or access 'missing'"}
