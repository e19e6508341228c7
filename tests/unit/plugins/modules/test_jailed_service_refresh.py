# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailed_service reports whether its daemon predates the jail's last refresh by chroot_jail (issue 14 §1)."""

import os
import time

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _jailed_service
from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot import host as chroot_host
from ansible_collections.serversec.confine.plugins.modules import chroot_jail
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_chroot_jail import (
    safe_tmp_lstat,
    trust_tmp_source_dir,
)
from ansible_collections.serversec.confine.tests.unit.plugins.modules import test_jailed_service as jailed_tests
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_jailed_service import params

# The fake host and the module runner, shared with jailed_service's tests.
host = jailed_tests.host
run = jailed_tests.run

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='needs root to chown the jail copies')


@pytest.fixture
def refreshed(host, run_module, monkeypatch, tmp_path):
    """The fake host's jail refreshed by chroot_jail now; systemd's MainPID start set by the test."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    monkeypatch.setattr(chroot_host, 'source_dir_check', trust_tmp_source_dir)
    monkeypatch.setattr(_jailed_service, 'JAIL_STATE_DIR', str(tmp_path / 'state'))
    library = tmp_path / 'libweb.so.1'
    library.write_bytes(b'\x7fELF a library\n')
    made = run_module(chroot_jail, {'path': host['jail'], 'state_dir': str(tmp_path / 'state'),
                                    'files': [str(library)]})
    assert made['changed'] and not made.get('failed'), made
    systemd = host['systemd']
    systemd.main = ('0', '0')
    plain = systemd.run_command

    def run_command(args, **kwargs):
        if args[1] == 'show' and 'MainPID' in args[2]:
            _rc, state, _err = plain(args, **kwargs)
            return 0, f'{state}MainPID={systemd.main[0]}\nExecMainStartTimestampMonotonic={systemd.main[1]}\n', ''
        return plain(args, **kwargs)

    monkeypatch.setattr(systemd, 'run_command', run_command)
    return systemd


def long_ago():
    """Seconds long before the fixture's refresh, yet after the boot (the machine may be up for minutes)."""
    return min(3600, time.monotonic() // 2)


def started(seconds_ago):
    return str((time.monotonic_ns() - int(seconds_ago * 10**9)) // 1000)


def test_daemon_started_before_the_refresh_predates_it(host, run, refreshed):
    refreshed.active, refreshed.sub, refreshed.main = 'active', 'running', ('4242', started(long_ago()))
    result = run(params(host, state='present'))
    assert result['predates_jail'] is True


def test_daemon_started_after_the_refresh_does_not(host, run, refreshed):
    time.sleep(0.01)
    refreshed.main = ('4242', started(0))
    result = run(params(host))
    assert result['changed'] and refreshed.calls[-1] == 'start'
    assert result['predates_jail'] is False


def test_no_daemon_running_is_unknown(host, run, refreshed):
    assert run(params(host, state='stopped'))['predates_jail'] is None


def test_jail_without_a_state_is_unknown(host, run, refreshed, monkeypatch, tmp_path):
    monkeypatch.setattr(_jailed_service, 'JAIL_STATE_DIR', str(tmp_path / 'no-state'))
    refreshed.active, refreshed.sub, refreshed.main = 'active', 'running', ('4242', started(long_ago()))
    assert run(params(host, state='present'))['predates_jail'] is None
