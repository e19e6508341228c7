# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parsing of systemd-analyze security and verify output captured from systemd 252."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.serversec.confine.plugins.module_utils._systemd_analyze import (
    parse_exposure,
    parse_verify,
)
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError


def security_row(mark, name, description, exposure=''):
    """One row in the column layout of systemd 252's table."""
    return f'{mark} {name:<59} {description:<99} {exposure}'.rstrip() + '\n'


# Captured from `systemd-analyze security --no-pager` (systemd 252, Debian 12) in a
# container without a UTF-8 locale, and with one (the arrow and emoji variant).
SECURITY_252_C = (
    '  ' + 'NAME'.ljust(60) + 'DESCRIPTION'.ljust(100) + 'EXPOSURE\n'
    + security_row('\u2717', 'PrivateNetwork=', "Service has access to the host's network", '0.5')
    + security_row('\u2717', 'IPAddressDeny=', 'Service does not define an IP address allow list', '0.2')
    + security_row('\u2713', 'UMask=', "Files created by service are accessible only by service's own user by default")
    + '\n\u2192 Overall exposure level for rs.service: 1.4 OK :-)\n')
SECURITY_252_UTF8 = (
    "\u2713 UMask=   Files created by service are accessible only by service's own user\n\n"
    "\u2192 Overall exposure level for t1.service: 2.1 OK \U0001f642\n")
SECURITY_UNSAFE = "\u2192 Overall exposure level for lighttpd.service: 9.6 UNSAFE \U0001f628\n"
SECURITY_EXPOSED = "-> Overall exposure level for x@1.service: 10.0 EXPOSED :-(\n"


@pytest.mark.parametrize('output, expected', [
    (SECURITY_252_C, (1.4, 'OK')),
    (SECURITY_252_UTF8, (2.1, 'OK')),
    (SECURITY_UNSAFE, (9.6, 'UNSAFE')),
    (SECURITY_EXPOSED, (10.0, 'EXPOSED')),
])
def test_parse_exposure(output, expected):
    assert parse_exposure(output) == expected


def test_parse_exposure_without_score_line():
    with pytest.raises(ServiceError) as excinfo:
        parse_exposure('Failed to open /x.service: No such file or directory\n')
    assert str(excinfo.value) == (
        'systemd-analyze security printed no "Overall exposure level" line: '
        "'Failed to open /x.service: No such file or directory\\n'")


UNIT = '/tmp/candidate/web.service'


@pytest.mark.parametrize('output, rc, expected', [
    # systemd 252: the program only exists inside the jail.
    ('web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n',
     1, ([], [])),
    ('', 0, ([], [])),
    ('/tmp/candidate/web.service:7: Failed to parse service type, ignoring: bogus\n', 0,
     (['/tmp/candidate/web.service:7: Failed to parse service type, ignoring: bogus'], [])),
    ("/tmp/candidate/web.service:30: Unknown key name 'Bogus' in section 'Service', ignoring.\n",
     0, ([("/tmp/candidate/web.service:30: Unknown key name 'Bogus' in section 'Service', "
          "ignoring.")], [])),
    ('/tmp/candidate/web.service:6: Special user nobody configured, this is not safe!\n', 0,
     ([], ['/tmp/candidate/web.service:6: Special user nobody configured, this is not safe!'])),
    ('/lib/systemd/system/other.service:3: Unknown key name, ignoring.\n', 0,
     ([], ['/lib/systemd/system/other.service:3: Unknown key name, ignoring.'])),
    ('web.service: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.\n'
     'Unit web.service has a bad unit file setting.\n'
     'web.service: Command /usr/sbin/lighttpd is not executable: No such file or directory\n',
     1, (['web.service: Service has no ExecStart=, ExecStop=, or SuccessAction=. Refusing.',
          'Unit web.service has a bad unit file setting.'], [])),
])
def test_parse_verify(output, rc, expected):
    assert parse_verify(output, rc, UNIT) == expected
