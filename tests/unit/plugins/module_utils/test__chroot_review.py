# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Findings of the independent review of the chroot engine, each played as the attacker would:
uid 0 inside the jail swapping names between two of the module's calls, planting FIFOs, deep
trees and manifests the kernel cannot take. The fake host comes from test__chroot_engine.
"""

import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import make_root_dirs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine as engine_tests
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import run

fedora = engine_tests.fedora  # the fake Fedora host fixture, shared with the engine tests


@pytest.fixture
def victim(tmp_path):
    """A host file outside the jail, mode 0600."""
    path = tmp_path / 'victim'
    path.write_bytes(b'host secret')
    os.chmod(str(path), 0o600)
    return str(path)


def host_null(env):
    os.makedirs(env['root'] + '/dev')
    os.mknod(env['root'] + '/dev/null', stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(env['root'] + '/dev/null', 0o666)


# --------------------------------------------------------------------------
# device nodes: nothing is changed through a name the jail can swap

@pytest.mark.parametrize('after', ['mknod', 'chown'])
def test_device_temporary_swapped_for_a_symlink_never_changes_a_host_file(fedora, victim, monkeypatch, after):
    host_null(fedora)
    real = getattr(os, after)

    def then_swap(path, *args, dir_fd=None, **kwargs):
        real(path, *args, dir_fd=dir_fd, **kwargs)
        if '.sjtmp' in path and dir_fd is not None:  # uid 0 in the jail acts here
            os.unlink(path, dir_fd=dir_fd)
            os.symlink(victim, path, dir_fd=dir_fd)

    monkeypatch.setattr(jailfs.os, after, then_swap)
    run(fedora, devices=['null'])
    monkeypatch.undo()
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
    # what was planted stays a link inside the jail, and the next run puts the device back
    assert os.readlink(fedora['jail'] + '/dev/null') == victim
    assert run(fedora, devices=['null']).updated == ['/dev/null']
    assert stat.S_ISCHR(os.lstat(fedora['jail'] + '/dev/null').st_mode)


def test_device_node_gets_its_mode_whatever_the_umask(fedora):
    host_null(fedora)
    old = os.umask(0o077)
    try:
        run(fedora, devices=['null'])
        assert os.umask(0o077) == 0o077  # restored
    finally:
        os.umask(old)
    st = os.lstat(fedora['jail'] + '/dev/null')
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o666, 0, 0)


def test_missing_root_dir_replaced_by_a_symlink_is_refused_not_followed(tmp_path, victim):
    os.symlink(victim, str(tmp_path / 'jail'))
    with pytest.raises(JailError) as exc:
        make_root_dirs([str(tmp_path / 'jail')], 0o755)
    assert str(exc.value).startswith(f"{tmp_path / 'jail'}: is a symlink or not a directory; refusing to use it: ")
    assert stat.S_IMODE(os.stat(victim).st_mode) == 0o600
