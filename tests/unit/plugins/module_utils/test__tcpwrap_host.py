# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_host as host


def test_ssh_connection_from_environment():
    assert host.ssh_connection({'SSH_CONNECTION': '192.0.2.7 51000 192.0.2.1 22'}) == ('192.0.2.7', '192.0.2.1')
    assert host.ssh_connection({'SSH_CONNECTION': 'garbage'}, proc='/nonexistent') is None


def test_ssh_connection_found_in_a_parent_process(tmp_path, monkeypatch):
    """sudo drops SSH_CONNECTION: it is found in an ancestor's environment."""
    monkeypatch.setattr(os, 'getpid', lambda: 300)
    for pid, ppid, environ in ((300, 200, b'PATH=/bin\0'), (200, 100, b'SSH_CONNECTION=2001:db8::7 40000 2001:db8::1 22\0')):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / 'environ').write_bytes(environ)
        (tmp_path / str(pid) / 'stat').write_bytes(b'%d (python3 (x)) S %d 1 1' % (pid, ppid))
    assert host.ssh_connection({}, proc=str(tmp_path)) == ('2001:db8::7', '2001:db8::1')


def test_host_file_words_read_a_pattern_file_and_match_nothing_from_what_they_cannot_read(tmp_path):
    """libwrap matches nothing from a /file pattern it cannot open; a FIFO must not hang the read."""
    words = tmp_path / 'trusted'
    words.write_bytes(b'10.0.0.7 .example.org\n192.0.2.1\n')
    fifo = tmp_path / 'fifo'
    os.mkfifo(str(fifo))
    env = host.Environment()
    assert env.host_file_words(str(words)) == ['10.0.0.7', '.example.org', '192.0.2.1']
    assert env.host_file_words(str(tmp_path / 'missing')) == []
    assert env.host_file_words(str(fifo)) == []
