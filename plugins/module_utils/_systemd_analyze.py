# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change at any time without notice. Do not import it from outside the collection.

"""What `systemd-analyze verify` and `systemd-analyze security` said about a unit.

Pure parsing of their text output; running them is the caller's business.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import re

from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

EXPOSURE_RE = re.compile(r'Overall exposure level for (\S+): (\d+(?:\.\d+)?) (\S+)')
NOT_EXECUTABLE_RE = re.compile(r'Command (/\S*) is not executable')


def parse_exposure(output):
    """(score, rating) from `systemd-analyze security` text output.

    The last line reads e.g. "→ Overall exposure level for x.service: 1.9 OK 🙂".
    """
    matches = EXPOSURE_RE.findall(output)
    if not matches:
        raise ServiceError(
            f'systemd-analyze security printed no "Overall exposure level" line: {output[-500:]!r}')
    _unit, score, rating = matches[-1]
    return float(score), rating


def parse_verify(output, rc, unit_path):
    """Split `systemd-analyze verify` output into (errors, warnings).

    verify checks ExecStart= paths on the host, not under RootDirectory=, so its
    "Command /x is not executable" message is false for a jailed unit (the module checks
    the program inside the jail itself) and is dropped. verify exits 0 when it merely
    ignores a line of the unit ("Failed to parse ..., ignoring", "Unknown key name ...,
    ignoring"); such a line about our unit file is an error too, since the unit would not
    do what was asked. Anything else is an error when verify failed and a warning otherwise.
    """
    errors = []
    warnings = []
    for line in output.splitlines():
        line = line.strip()
        if not line or NOT_EXECUTABLE_RE.search(line):
            continue
        if rc != 0 or (line.startswith(unit_path + ':') and 'ignoring' in line):
            errors.append(line)
        else:
            warnings.append(line)
    return errors, warnings
