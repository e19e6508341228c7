# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_chroot.spec: module options refused with a message naming the field."""

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec


# --------------------------------------------------------------------------
# input validation

@pytest.mark.parametrize('kwargs, message', [
    ({'path': 'srv/jail'}, "jail path 'srv/jail' is not an absolute path"),
    ({'path': '/'}, "refusing to use '/' as a jail"),
    ({'path': '/srv/../etc'}, "jail path '/srv/../etc' contains a '..' component"),
    ({'path': '/srv/j', 'binaries': ['bin/bash']}, "binary 'bin/bash' is not an absolute path"),
    ({'path': '/srv/j', 'files': ['/etc/../etc/shadow']}, "file '/etc/../etc/shadow' contains a '..' component"),
    ({'path': '/srv/j', 'profiles': ['nss', 'x11']},
     "unknown profile 'x11' (known: dns, locale, nss, terminfo, timezone)"),
    ({'path': '/srv/j', 'devices': ['../sda']}, 'device \'../sda\' is not a plain device name like "null" or "urandom"'),
    ({'path': '/srv/j', 'directories': [{'path': '/log', 'mode': 'rwx'}]},
     'directory /log: mode \'rwx\' is not an octal mode like "0750"'),
])
def test_spec_rejects_bad_input(kwargs, message):
    with pytest.raises(JailError) as exc:
        JailSpec(**kwargs)
    assert str(exc.value) == message
