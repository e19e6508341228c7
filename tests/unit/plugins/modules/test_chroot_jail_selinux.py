# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail's SELinux labels end to end, through the harness of tests/unit/conftest.py, with a
fake libselinux binding and a fake semanage in place of the host's."""

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import selinux as room
from ansible_collections.serversec.confine.plugins.modules import chroot_jail
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_selinux import (
    BIN,
    FakeBinding,
    FakeSemanage,
    label,
    read_subs,
)
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import safe_tmp_lstat

pytestmark = pytest.mark.skipif(not os.path.exists('/usr/bin/bash'), reason='needs the host\'s /usr/bin/bash')


@pytest.fixture
def jail(run_module, monkeypatch, tmp_path):
    """``run(args, check, diff)`` runs the module on a jail under tmp_path; ``env`` holds the fakes."""
    subs_dir = tmp_path / 'selinux' / 'targeted' / 'contexts' / 'files'
    subs_dir.mkdir(parents=True)
    semanage = tmp_path / 'semanage'
    semanage.write_text('')
    semanage.chmod(0o755)
    base = tmp_path / 'srv'
    base.mkdir()
    base.chmod(0o755)
    env = {'path': str(base / 'jail'), 'binding': FakeBinding(), 'runner': FakeSemanage(str(subs_dir / 'file_contexts.subs')),
           'semanage': str(semanage)}
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    monkeypatch.setattr(room, 'BINDING', env['binding'])
    monkeypatch.setattr(room, 'SEMANAGE_PATHS', (str(semanage),))
    monkeypatch.setattr(room, 'SELINUX_DIR', str(tmp_path / 'selinux'))
    monkeypatch.setattr(room, 'ENFORCE_FILE', str(tmp_path / 'enforce'))
    monkeypatch.setattr(room, '_run_argv', env['runner'])

    def run(args, check=False, diff=False):
        args = dict({'path': env['path'], 'state_dir': str(tmp_path / 'state')}, **args)
        return run_module(chroot_jail, args, check=check, diff=diff)
    env['run'] = run
    return env


def test_module_labels_reports_and_removes_its_rule(jail, module_warnings):
    first = jail['run']({'binaries': ['/usr/bin/bash']})
    assert first['changed'] and first['selinux'] == {'enabled': True, 'equivalence': 'added', 'relabelled': []}
    assert label(jail['path'] + '/usr/bin/bash') == BIN
    assert read_subs(jail['runner'].subs) == [f'{jail["path"]} /']

    assert not jail['run']({'binaries': ['/usr/bin/bash']})['changed']
    os.setxattr(jail['path'] + '/usr/bin/bash', room.XATTR, b'system_u:object_r:var_t:s0\0')
    drift = jail['run']({'binaries': ['/usr/bin/bash']}, diff=True)
    assert drift['changed'] and drift['selinux']['relabelled'] == ['/usr/bin/bash']
    assert drift['diff']['prepared'] == 'relabelled: /usr/bin/bash\n'
    assert label(jail['path'] + '/usr/bin/bash') == BIN

    gone = jail['run']({'state': 'absent'})
    assert gone['changed'] and gone['selinux']['equivalence'] == 'removed'
    assert read_subs(jail['runner'].subs) == [] and module_warnings == []


def test_module_does_nothing_where_selinux_is_disabled(jail, module_warnings):
    jail['binding'].enabled = 0
    result = jail['run']({'binaries': ['/usr/bin/bash']})
    assert result['selinux'] == {'enabled': False, 'equivalence': None, 'relabelled': []}
    assert label(jail['path'] + '/usr/bin/bash') is None and jail['runner'].calls == [] and module_warnings == []
