# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail's ``base`` option end to end on this host's own binaries (issue 14 §3)."""

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import validate_state
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import base, run  # noqa: F401 # pylint: disable=unused-import

pytestmark = pytest.mark.skipif(not os.path.exists('/lib64/ld-linux-x86-64.so.2'), reason='x86_64 glibc host only')


def test_jails_on_a_base_share_inodes_check_diff_idempotent_absent(run, base):  # noqa: F811
    shared, jail = str(base / 'base'), str(base / 'shell')
    assert run({'path': shared, 'binaries': ['/bin/bash', '/usr/bin/id']})['changed']
    args = {'path': jail, 'binaries': ['/bin/bash'], 'base': shared}

    checked = run(args, check=True, diff=True)
    assert checked['changed'] and '/usr/bin/bash' in checked['added'] and not os.path.exists(jail)
    assert checked['base'] == {'path': shared, 'linked': []}
    assert 'added: /usr/bin/bash\n' in checked['diff']['prepared']

    applied = run(args, diff=True)
    assert applied['changed'] and '/usr/bin/bash' in applied['base']['linked']
    assert os.stat(jail + '/usr/bin/bash').st_ino == os.stat(shared + '/usr/bin/bash').st_ino
    assert applied['base']['linked'] == sorted(p for p in applied['added'] if os.path.isfile(jail + p)
                                               and not os.path.islink(jail + p) and p not in ('/etc/passwd',))

    again = run(args)
    assert (again['changed'], again['added'], again['updated'], again['removed']) == (False, [], [], [])
    assert again['base'] == {'path': shared, 'linked': []}
    assert 'base' not in run({'path': shared, 'binaries': ['/bin/bash', '/usr/bin/id']})

    gone = run({'path': jail, 'state': 'absent'})
    assert gone['changed'] and not os.path.exists(jail)
    assert os.stat(shared + '/usr/bin/bash').st_nlink == 1
    assert run({'path': shared, 'binaries': ['/bin/bash', '/usr/bin/id']})['changed'] is False


@pytest.mark.parametrize('name, message', [
    ('shell', 'base {base}/shell is the jail itself; name another jail managed by chroot_jail'),
    ('shell/inner', 'base {base}/shell/inner is inside the jail {base}/shell; a jailed process could change it'),
    ('nowhere', 'base {base}/nowhere: no state in {state}; build the base with its own chroot_jail task '
     '(same state_dir) before the jails that use it'),
])
def test_bad_bases_fail_before_anything_is_written(run, base, tmp_path, name, message):  # noqa: F811
    result = run({'path': str(base / 'shell'), 'binaries': ['/bin/bash'], 'base': str(base / name)})
    assert result['failed']
    assert result['msg'] == message.format(base=base, state=tmp_path / 'state')
    assert not (base / 'shell').exists()


@pytest.mark.parametrize('value', [7, '', 'relative', '/srv/jails/web'])
def test_the_state_records_only_another_jail_as_base(value):
    data = {'version': 2, 'jail': '/srv/jails/web', 'managed': {}, 'base': value}
    with pytest.raises(JailError) as excinfo:
        validate_state(data, 'state.json', '/srv/jails/web')
    assert str(excinfo.value) == "state.json: 'base' is not the path of another jail"
