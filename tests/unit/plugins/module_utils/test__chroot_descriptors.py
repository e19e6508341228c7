# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The jail engine holds one descriptor per jail directory: a large tree must not run out of
them half-way (nothing half-written), and a limit that cannot be raised is refused up front."""

import os
import resource

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import jailfs
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine as engine_tests
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import run, write

fedora = engine_tests.fedora  # the fake Fedora host fixture, shared with the engine tests

TREE_DIRS = 300


@pytest.fixture
def low_soft_limit():
    """A soft open-file limit well below the tree's directory count (the hard one is kept)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < TREE_DIRS + 200,
                    reason='the hard open-file limit is too low for the tree')
def test_tree_with_more_directories_than_the_soft_limit_is_copied_whole(fedora, low_soft_limit):
    for index in range(TREE_DIRS):
        write(fedora['root'], f'/srv/tree/d{index:03d}/f', b'x')
    result = run(fedora, files=['/srv/tree'])
    assert len([p for p in result.added if p.endswith('/f')]) == TREE_DIRS
    assert sorted(os.listdir(fedora['jail'] + '/srv/tree')) == [f'd{index:03d}' for index in range(TREE_DIRS)]
    assert not run(fedora, files=['/srv/tree']).changed


class FakeLimits:
    RLIMIT_NOFILE = resource.RLIMIT_NOFILE
    RLIM_INFINITY = resource.RLIM_INFINITY

    def __init__(self, soft, hard):
        self.limits = (soft, hard)
        self.set_to = None

    def getrlimit(self, which):
        return self.limits

    def setrlimit(self, which, limits):
        self.set_to = limits


@pytest.mark.parametrize('directories, soft, hard, raised_to', [
    (100, 1024, 4096, None),
    (960, 1024, 4096, None),    # exactly the soft limit: enough
    (4032, 1024, 4096, (4096, 4096)),  # exactly the hard limit: still possible
    (2000, 1024, 4096, (2064, 4096)),
    (2000, 1024, resource.RLIM_INFINITY, (2064, resource.RLIM_INFINITY)),
    (5000, resource.RLIM_INFINITY, resource.RLIM_INFINITY, None),
])
def test_soft_limit_is_raised_only_when_needed(directories, soft, hard, raised_to):
    limits = FakeLimits(soft, hard)
    jailfs.reserve_descriptors(directories, limits)
    assert limits.set_to == raised_to


def test_hard_limit_too_low_is_refused_before_anything_is_written():
    limits = FakeLimits(1024, 1024)
    with pytest.raises(JailError) as exc:
        jailfs.reserve_descriptors(2000, limits)
    assert str(exc.value) == ('the jail holds 2000 directories, and this process may open only 1024 files '
                              "(hard limit); raise the open-file limit (ulimit -n) of the managed host's Ansible user")
    assert limits.set_to is None
