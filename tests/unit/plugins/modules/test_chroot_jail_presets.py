# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""chroot_jail's presets (issue 14 §4) end to end on this host, through tests/unit/conftest.py's harness."""

import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import presets as preset_data
from ansible_collections.serversec.confine.plugins.modules import chroot_jail
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import safe_tmp_lstat

pytestmark = pytest.mark.skipif(
    not os.path.exists('/lib64/ld-linux-x86-64.so.2') or os.geteuid() != 0,
    reason='x86_64 glibc host and root only')


@pytest.fixture
def run(run_module, monkeypatch, tmp_path):
    """chroot_jail with its state in the test's temp dir, trusting the sticky system temp dir
    as a jail ancestor (see test_chroot_jail.py)."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)

    def run_jail(args, check=False):
        return run_module(chroot_jail, dict({'state_dir': str(tmp_path / 'state')}, **args), check=check)
    return run_jail


@pytest.fixture
def jail(tmp_path):
    base = tmp_path / 'srv'
    base.mkdir(mode=0o755)
    return base / 'shell'


def test_basicshell_builds_checks_and_stays_idempotent(run, jail):
    args = {'path': str(jail), 'presets': ['basicshell']}
    checked = run(args, check=True)
    assert checked['changed'] and '/usr/bin/bash' in checked['added'] and not jail.exists()

    applied = run(args)
    assert applied['changed'] and sorted(applied['added']) == sorted(checked['added'])
    # the paths basicshell names that this host lacks, and only those, are reported
    wanted = preset_data.SHELL_TOOLS + ('/etc/motd', '/etc/issue', '/etc/bash.bashrc', '/etc/profile')
    assert applied['presets_skipped'] == [path for path in wanted if not os.path.exists(path)]
    for path in wanted:
        if os.path.exists(path):
            assert os.path.lexists(str(jail) + path), path
    assert (jail / 'usr' / 'bin' / 'bash').is_file() and (jail / 'usr' / 'bin' / 'id').is_file()
    assert (jail / 'etc' / 'passwd').read_text().startswith('root:x:0:0:')
    assert stat.S_ISCHR((jail / 'dev' / 'null').lstat().st_mode)
    assert (jail / 'etc' / 'nsswitch.conf').is_file()  # uidbasics, included

    again = run(args)
    assert (again['changed'], again['added'], again['updated'], again['removed']) == (False, [], [], [])
    assert again['presets_skipped'] == applied['presets_skipped']

    gone = run({'path': str(jail), 'state': 'absent'})
    assert gone['changed'] and gone['presets_skipped'] == [] and not jail.exists()


def test_a_preset_never_brings_a_secret(run, jail, monkeypatch):
    monkeypatch.setitem(preset_data.PRESETS, 'logbasics', {'files': ('/etc/shadow',)})
    result = run({'path': str(jail), 'presets': ['logbasics']})
    assert result['failed']
    assert result['msg'] == 'file /etc/shadow holds password hashes; set allow_sensitive_files to copy it knowingly'
    assert not jail.exists()


@pytest.mark.skipif(not os.path.exists('/usr/bin/passwd') or not os.stat('/usr/bin/passwd').st_mode & stat.S_ISUID,
                    reason='no setuid /usr/bin/passwd on this host')
def test_a_preset_never_keeps_a_setuid_bit(run, jail, monkeypatch, module_warnings):
    monkeypatch.setitem(preset_data.PRESETS, 'logbasics', {'binaries': ('/usr/bin/passwd',)})
    result = run({'path': str(jail), 'presets': ['logbasics']})
    assert result['changed'] and result['audit']['setuid'] == []
    assert '/usr/bin/passwd: setuid/setgid bits stripped in the jail copy (set allow_setuid to keep them)' \
        in module_warnings
    assert not (jail / 'usr' / 'bin' / 'passwd').stat().st_mode & stat.S_ISUID


def test_unknown_preset_is_refused_before_anything_is_written(run, jail):
    result = run({'path': str(jail), 'presets': ['x11']})
    assert result['failed'] and 'x11' in result['msg'] and 'presets' in result['msg']
    assert not jail.exists()
