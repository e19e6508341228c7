# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Only the jailed_service module uses it.

"""The last systemd-analyze result of each unit, kept root-only so that a run that changes
nothing does not analyse the same text again.

``RECORD_DIR`` (root-owned, 0700, reached through directories only root can change) holds
per unit ``STEM.HASH.json`` (chroot_jail's naming of its state files)::

    {"version": 2, "unit": "web.service", "sha256": "<of the unit text>",
     "analyzer": {"path", "dev", "ino", "size", "mtime_ns", "ctime_ns"},
     "dropins": {"unit_path": null, "files": [[path, size, mtime_ns, ctime_ns, sha256]]},
     "exposure": 1.4, "rating": "OK", "verify_warnings": []}

A forged record would let a unit past max_exposure, so one is used only when the directory is
reached with no link and through directories only root can change, the file is root's alone
(``_chroot.state.read_root_file``) and every field matches this unit, this text and the
systemd-analyze installed now (a package upgrade changes its inode or times). systemd-analyze
also applies the drop-ins on the unit search path, so ``dropins`` names SYSTEMD_UNIT_PATH and
every drop-in that applies to the unit name (``_systemd_installed.dropin_fingerprint``, read under
``UNIT_ROOT``); one added, changed or removed, or one that cannot be read, means no record is
trusted. It is taken before the analysis: a drop-in changed meanwhile cannot match next time.
Anything else (malformed included) is ignored: the unit is analysed again. Written atomically
(``replace_at``).
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import errno
import hashlib
import os
import re

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import user_writable
from ansible_collections.serversec.confine.plugins.module_utils._chroot.jailfs import (
    make_root_dirs,
    tmp_leftovers,
    tmp_name,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, check_jail_root
from ansible_collections.serversec.confine.plugins.module_utils._chroot.state import (
    parse_state,
    read_root_file,
    state_name,
    state_text,
)
from ansible_collections.serversec.confine.plugins.module_utils._fileio import O_CLOEXEC, O_NOFOLLOW, replace_at
from ansible_collections.serversec.confine.plugins.module_utils._known_jails import open_root_dir
from ansible_collections.serversec.confine.plugins.module_utils._systemd_installed import (
    UnitReadError,
    dropin_fingerprint,
)

RECORD_DIR = '/var/lib/serversec-confine/units'
RECORD_VERSION = 2
# Where the unit search path is read; only unit tests point it at a fake tree.
UNIT_ROOT = '/'
RATING_RE = re.compile(r'\A\S+\Z')
# How a directory on the way to the records is judged, and looked at before it is made. Only
# unit tests replace them (to trust the sticky system temp dir); no module option reaches them.
dir_check = user_writable
dir_lstat = os.lstat


class RecordError(Exception):
    """The record could not be written or removed; the message names the file and the cause.

    Only a warning: the record saves time, and a run that cannot keep it still did its work.
    """


def analyzer_identity(path):
    """What changes when systemd-analyze is replaced: its real path, device, inode, size and
    times; None when it cannot be looked at (then nothing is recorded nor trusted)."""
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return {'path': real, 'dev': st.st_dev, 'ino': st.st_ino, 'size': st.st_size,
            'mtime_ns': st.st_mtime_ns, 'ctime_ns': st.st_ctime_ns}


def dropins_identity(unit):
    """SYSTEMD_UNIT_PATH and the drop-ins that apply to ``unit``; None when any cannot be read
    (then nothing is recorded nor trusted)."""
    unit_path = os.environ.get('SYSTEMD_UNIT_PATH')
    try:
        return {'unit_path': unit_path, 'files': dropin_fingerprint(unit, UNIT_ROOT, unit_path)}
    except (UnitReadError, OSError):
        return None


def text_sha256(text):
    return hashlib.sha256(text.encode('utf-8', 'surrogateescape')).hexdigest()


def _is_score(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 10


class AnalysisRecord:
    """The record of one unit, as analysed by the systemd-analyze at ``analyzer``."""

    def __init__(self, unit, analyzer, warn):
        self.unit = unit
        self.warn = warn
        self.analyzer = analyzer_identity(analyzer)
        self.dropins = dropins_identity(unit)
        self.directory = RECORD_DIR
        self.name = state_name(unit) + '.json'
        self.where = f'{self.directory}/{self.name}'

    def load(self, text):
        """(exposure, rating, verify warnings) recorded for exactly ``text``, or None."""
        fd = open_root_dir(self.directory, dir_check) if self.analyzer and self.dropins is not None else None
        if fd is None:
            return None
        try:
            raw = read_root_file(lambda: os.open(self.name, os.O_RDONLY | os.O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC,
                                                 dir_fd=fd), self.where, 'analysis record')
            data = None if raw is None else parse_state(raw, self.where)
        except JailError:
            return None
        finally:
            os.close(fd)
        if data is None or data.get('version') != RECORD_VERSION or data.get('unit') != self.unit:
            return None
        if (data.get('sha256') != text_sha256(text) or data.get('analyzer') != self.analyzer
                or data.get('dropins') != self.dropins):
            return None
        exposure, rating, warnings = data.get('exposure'), data.get('rating'), data.get('verify_warnings')
        if not (_is_score(exposure) and isinstance(rating, str) and RATING_RE.match(rating)
                and isinstance(warnings, list) and all(isinstance(w, str) for w in warnings)):
            return None
        return float(exposure), rating, warnings

    def save(self, text, scores):
        """Record ``scores`` (exposure, rating, verify warnings) of ``text``; mode 0600, directory 0700."""
        if self.analyzer is not None and self.dropins is not None:
            self._warned(self._write, text, scores)

    def drop(self):
        """Remove the record (state=absent); nothing to do when there is none."""
        self._warned(self._remove)

    def _warned(self, action, *args):
        try:
            action(*args)
        except RecordError as exc:
            self.warn(f'{exc}; the next run analyses the unit again')

    def _write(self, text, scores):
        exposure, rating, warnings = scores
        data = {'version': RECORD_VERSION, 'unit': self.unit, 'sha256': text_sha256(text), 'analyzer': self.analyzer,
                'dropins': self.dropins, 'exposure': exposure, 'rating': rating, 'verify_warnings': warnings}
        fd = self._open_dir(create=True)
        try:
            for leftover in tmp_leftovers(fd, [self.name]):
                os.unlink(leftover, dir_fd=fd)
            replace_at(fd, self.name, state_text(data).encode('utf-8'), tmp_name(self.name))
        except OSError as exc:
            raise RecordError(f'{self.where}: cannot write the analysis record: {exc}')
        finally:
            os.close(fd)

    def _remove(self):
        fd = self._open_dir(create=False)
        if fd is None:
            return
        try:
            os.unlink(self.name, dir_fd=fd)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                raise RecordError(f'{self.where}: cannot remove the analysis record: {exc}')
        finally:
            os.close(fd)

    def _open_dir(self, create):
        """The records directory, made root-owned 0700 first when missing and ``create``."""
        try:
            missing = check_jail_root(self.directory, dir_lstat, what='the analysis record directory')
            if missing and not create:
                return None
            make_root_dirs(missing, 0o700)
        except JailError as exc:
            raise RecordError(f'{self.directory}: {exc}')
        fd = open_root_dir(self.directory, dir_check)
        if fd is None:
            raise RecordError(f'{self.directory}: not a directory only root can change, reached through directories '
                              'only root can change')
        return fd
