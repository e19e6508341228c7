# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap as tw


# ---------------------------------------------------------------- scanning

SCAN_CASES = [
    (b'', []),
    (b'# comment\n\nsshd : ALL\n', [('comment', 1, 1), ('blank', 2, 2), ('rule', 3, 3)]),
    (b'sshd : 10.0.0.1 \\\n  10.0.0.2\nx\n', [('rule', 1, 2), ('malformed', 3, 3)]),
    (b'sshd : ALL', [('broken', 1, 1)]),
    (b'  # indented : is a rule\n', [('rule', 1, 1)]),
    (b'a : b\0junk\nc : d\n', [('rule', 1, 1)]),  # libwrap counts only lines whose LF it sees
    (b'x : ' + b'y' * 2042 + b'\n', [('rule', 1, 1)]),
    (b'x : ' + b'y' * 2043 + b'\nsshd : ALL\n', [('broken', 1, 1), ('ignored', 2, 2)]),
]


@pytest.mark.parametrize('data, expected', SCAN_CASES)
def test_scan_table_kinds_and_lines(data, expected):
    entries = tw.scan_table(data)
    assert [(e.kind, e.first_line, e.last_line) for e in entries] == expected
    assert b''.join(e.raw for e in entries) == data


def test_scan_splits_fields_and_keeps_escaped_colon_in_options():
    entry = tw.scan_table(b'sshd, in.telnetd : [2001:db8::]/32 : spawn echo a\\:b : deny\n')[0]
    assert entry.daemons == 'sshd, in.telnetd '
    assert entry.clients == ' [2001:db8::]/32 '
    assert tw.option_fields(entry.options) == [' spawn echo a:b ', ' deny\n']


@pytest.mark.parametrize('field, expected', [
    ('spawn echo hi', ('spawn', 'echo hi')),
    ('  severity = auth.info ', ('severity', 'auth.info')),
    ('keepalive', ('keepalive', None)),
    ('spawn=x', ('spawn', 'x')),
    ('\n', ('', None)),
])
def test_split_option(field, expected):
    assert tw.split_option(field) == expected
