# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_chroot.tree: the walk of a jail that may have built its tree to fool it, and the audit's lists.

The walk runs against a directory of pytest's; the jail's moves (an entry gone between the listing
and its lstat, a directory swapped for a file before it is opened) are played by wrapping os.
"""

import errno
import os
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree


def entry(mode, uid=0):
    """An lstat result with only the fields the audit reads."""
    return os.stat_result((mode, 1, 1, 1, uid, 0, 0, 0, 0, 0))


def make_dirs(root, *paths):
    for path in paths:
        os.makedirs(os.path.join(root, path))


def walked(root, warnings=None):
    return [rel for rel, _st in tree.walk(str(root), [] if warnings is None else warnings)]


def test_the_audit_lists_are_sorted_whatever_order_the_walk_found_them_in():
    entries = [('/b', entry(stat.S_IFDIR | 0o777)), ('/a/x', entry(stat.S_IFDIR | 0o755, uid=1000)),
               ('/d/s', entry(stat.S_IFREG | 0o4755)), ('/c/s', entry(stat.S_IFREG | 0o2755)),
               ('/z/null', entry(stat.S_IFCHR | 0o666)), ('/y/sda', entry(stat.S_IFBLK | 0o660)),
               ('/g', entry(stat.S_IFDIR | 0o2755))]  # a setgid directory is not a setgid program
    assert tree.audit(None, [], iter(entries)) == {
        'setuid': ['/c/s', '/d/s'], 'writable': ['/a/x', '/b'], 'devices': ['/y/sda', '/z/null']}


@pytest.mark.parametrize('too_deep, warning', [
    (['c'], 'audit: /a/b/c and what lies below it were not looked into (more than 2 levels deep)'),
    (['c', 'e'], 'audit: /a/b/c and what lies below it were not looked into (more than 2 levels deep); '
                 '1 more such directories were skipped too'),
    (['c', 'e', 'g'], 'audit: /a/b/c and what lies below it were not looked into (more than 2 levels deep); '
                      '2 more such directories were skipped too'),
])
def test_directories_past_the_depth_limit_are_named_once_with_a_count(tmp_path, monkeypatch, too_deep, warning):
    monkeypatch.setattr(tree, 'AUDIT_MAX_DEPTH', 2)
    make_dirs(tmp_path, *('a/b/%s/deeper' % name for name in too_deep))
    warnings = []
    assert walked(tmp_path, warnings) == ['/a', '/a/b'] + ['/a/b/' + name for name in too_deep]
    assert warnings == [warning]


def test_an_entry_gone_between_the_listing_and_its_lstat_is_skipped_and_the_walk_goes_on(tmp_path, monkeypatch):
    make_dirs(tmp_path, 'a', 'b/inner', 'c')
    real_stat = os.stat

    def vanishing(path, *args, **kwargs):
        if path == 'a' and kwargs.get('dir_fd') is not None:
            raise FileNotFoundError(2, 'No such file or directory', path)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(tree.os, 'stat', vanishing)
    assert walked(tmp_path) == ['/b', '/c', '/b/inner']


def test_a_directory_swapped_for_a_file_before_it_is_opened_is_not_entered(tmp_path, monkeypatch):
    make_dirs(tmp_path, 'd/inner', 'e')
    real_open = os.open

    def swapping(path, flags, mode=0o777, *, dir_fd=None):
        if path == 'd' and dir_fd is not None:  # uid 0 in the jail: the directory becomes a file
            os.rename(tmp_path / 'd', tmp_path / 'd.away')
            (tmp_path / 'd').write_bytes(b'not a directory')
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(tree.os, 'open', swapping)
    warnings = []
    assert walked(tmp_path, warnings) == ['/d', '/e']
    assert warnings == []  # nothing was hidden: the file that took its place is the jail's own


def test_a_directory_that_cannot_be_opened_for_another_reason_is_named_in_a_warning(tmp_path, monkeypatch):
    make_dirs(tmp_path, 'd/inner', 'e/inner')
    real_open = os.open

    def exhausted(path, flags, mode=0o777, *, dir_fd=None):
        if path == 'd' and dir_fd is not None:
            raise OSError(errno.EMFILE, 'Too many open files')
        return real_open(path, flags, mode, dir_fd=dir_fd)

    monkeypatch.setattr(tree.os, 'open', exhausted)
    warnings = []
    assert walked(tmp_path, warnings) == ['/d', '/e', '/e/inner']
    assert warnings == ['audit: /d could not be opened (Too many open files); what lies below it was not looked into']


def test_a_whole_walk_closes_every_directory_it_opened(tmp_path):
    make_dirs(tmp_path, 'a/b/c', 'a/d', 'e')
    before = sorted(os.listdir('/proc/self/fd'))
    assert walked(tmp_path) == ['/a', '/e', '/a/b', '/a/d', '/a/b/c']
    assert sorted(os.listdir('/proc/self/fd')) == before


def test_a_walk_stopped_at_its_entry_limit_closes_every_directory_it_held(tmp_path, monkeypatch):
    make_dirs(tmp_path, 'a/b/c/d')
    (tmp_path / 'a' / 'b' / 'c' / 'd' / 'f').write_bytes(b'')
    (tmp_path / 'a' / 'b' / 'c' / 'd' / 'g').write_bytes(b'')
    monkeypatch.setattr(tree, 'AUDIT_MAX_ENTRIES', 5)
    before = sorted(os.listdir('/proc/self/fd'))
    warnings = []
    assert walked(tmp_path, warnings) == ['/a', '/a/b', '/a/b/c', '/a/b/c/d', '/a/b/c/d/f']
    assert warnings == ['audit: stopped in /a/b/c/d after 5 entries; the rest of the jail was not looked into']
    assert sorted(os.listdir('/proc/self/fd')) == before
