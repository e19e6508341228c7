# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""ssh_jail through the module: bad input fails naming the field, before anything is read or written."""

import pytest

from ansible_collections.serversec.confine.plugins.modules import ssh_jail


@pytest.mark.parametrize('args, message', [
    ({'name': 'a/b', 'users': ['ann']}, 'name \'a/b\': use letters, digits, "_", "." and "-" (it names a file)'),
    ({'name': 'x'}, 'give users and/or groups to jail'),
    ({'name': 'x', 'users': ['*']}, "users: '*' is not a plain user or group name (no patterns, spaces or commas)"),
    ({'name': 'x', 'users': ['root']}, 'users: root has uid 0; root is never jailed (it can leave a chroot)'),
    ({'name': 'x', 'groups': ['root']}, 'groups: root has gid 0; the root group is never jailed'),
    ({'name': 'x', 'users': ['ann'], 'writable': [{'path': '/up', 'mode': '0777'}]},
     'writable /up: mode 0777 must not be world-writable, setuid, setgid or sticky'),
    ({'name': 'x', 'users': ['ann'], 'authorized_keys': {'ann': ['ssh-ed25519 AAAA a', 'ssh-rsa BBBB b\nssh-rsa CCCC c']}},
     "authorized_keys ann: 'ssh-rsa BBBB b\\nssh-rsa CCCC c' is not one line (each key is one line of the file)"),
])
def test_bad_input_fails(run_module, tmp_path, args, message):
    result = run_module(ssh_jail, dict(args, jail=str(tmp_path / 'jail')))
    assert result['failed'] and result['msg'] == message


def test_mode_choices(run_module):
    result = run_module(ssh_jail, {'name': 'x', 'users': ['ann'], 'jail': '/srv/j', 'mode': 'scp'})
    assert result['failed'] and 'mode' in result['msg'] and 'scp' in result['msg']
