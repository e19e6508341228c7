# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""The manifest: what the module created in a jail, with checksums and the dependency cache.

It lives at ``/.serversec-jail.json`` in the jail, root-owned mode 0600, and is read,
validated, written and removed through the jail's descriptors (``jailfs.Jail``).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import json
import os
import stat

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError
from ansible_collections.serversec.confine.plugins.module_utils._fileio import read_fd

MANIFEST_NAME = '.serversec-jail.json'
MANIFEST_PATH = '/' + MANIFEST_NAME
MANIFEST_VERSION = 1


def manifest_text(data):
    return json.dumps(data, sort_keys=True, indent=1) + '\n'


def read_manifest(jail):
    """The manifest of ``jail`` (a ``jailfs.Jail``), ``{}`` when there is none."""
    if jail.lstat('/') is None:
        return {}
    where = f'{jail.root}/{MANIFEST_NAME}'
    try:
        fd = jail.open_read(MANIFEST_PATH)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            return {}
        raise JailError(f'{where}: cannot read the manifest: {exc}')
    try:
        st = os.fstat(fd)
        if st.st_uid != 0 or st.st_mode & 0o077 or not stat.S_ISREG(st.st_mode):
            raise JailError(f'{where}: manifest is not a root-only file; refusing to trust it')
        raw = read_fd(fd)
    finally:
        os.close(fd)
    try:
        data = json.loads(raw.decode('utf-8'))
    except ValueError as exc:
        raise JailError(f'{where}: manifest is not valid JSON: {exc}')
    if data.get('version') != MANIFEST_VERSION or not isinstance(data.get('managed'), dict):
        raise JailError(f'{where}: unknown manifest format')
    return data


def write_manifest(jail, data):
    jail.write(MANIFEST_PATH, {'type': 'generated', 'uid': 0, 'gid': 0, 'mode': 0o600, 'content': manifest_text(data)})


def remove_manifest(jail):
    jail.unlink(MANIFEST_PATH)
