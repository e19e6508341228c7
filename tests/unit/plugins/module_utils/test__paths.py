# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_paths: the absolute-path validator and the symlink-safe walker."""

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._paths import (
    PathError,
    PathWalk,
    check_abs_path,
    resolve,
)


@pytest.mark.parametrize('path, expected', [
    ('/srv/jail', '/srv/jail'),
    ('/srv//jail/', '/srv/jail'),
    ('//etc', '/etc'),
    ('/', '/'),
])
def test_check_abs_path_valid(path, expected):
    assert check_abs_path(path, 'file') == expected


@pytest.mark.parametrize('path, message', [
    ('', 'file: empty path'),
    (None, 'file: empty path'),
    ('etc/hosts', "file 'etc/hosts' is not an absolute path"),
    ('/etc/\0x', "file '/etc/\\x00x' contains a NUL byte"),
    ('/etc/../root', "file '/etc/../root' contains a '..' component"),
    ('/etc/./hosts', "file '/etc/./hosts' contains a '.' component"),
])
def test_check_abs_path_invalid(path, message):
    with pytest.raises(PathError) as exc:
        check_abs_path(path, 'file')
    assert str(exc.value) == message


def test_check_abs_path_raises_the_callers_error():
    with pytest.raises(KeyError):
        check_abs_path('relative', 'file', error=KeyError)


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / 'root'
    (root / 'usr' / 'bin').mkdir(parents=True)
    (root / 'usr' / 'bin' / 'bash').write_bytes(b'bash')
    os.symlink('usr/bin', str(root / 'bin'))
    os.symlink('/usr/bin/bash', str(root / 'abs'))
    os.symlink('../../../../usr/bin/bash', str(root / 'climb'))
    os.symlink('/etc/passwd', str(root / 'out'))
    os.symlink('loop', str(root / 'loop'))
    (tmp_path / 'etc').mkdir()
    (tmp_path / 'etc' / 'passwd').write_bytes(b'outside')
    return str(root)


@pytest.mark.parametrize('path, steps', [
    ('/bin/bash', [('symlink', '/bin', 'usr/bin'), ('dir', '/usr'), ('dir', '/usr/bin'), ('file', '/usr/bin/bash')]),
    ('/abs', [('symlink', '/abs', '/usr/bin/bash'), ('dir', '/usr'), ('dir', '/usr/bin'), ('file', '/usr/bin/bash')]),
    ('/climb', [('symlink', '/climb', '../../../../usr/bin/bash'), ('dir', '/usr'), ('dir', '/usr/bin'),
                ('file', '/usr/bin/bash')]),
    ('/usr/bin', [('dir', '/usr'), ('file', '/usr/bin')]),
])
def test_resolve_stays_under_the_root(tree, path, steps):
    assert resolve(tree, path, f'file {path}') == (steps, steps[-1][1])


@pytest.mark.parametrize('path, message', [
    ('/out', 'file /out does not exist on the host (/etc is missing)'),
    ('/usr/bin/sh', 'file /usr/bin/sh does not exist on the host'),
    ('/loop', 'file /loop: too many levels of symbolic links'),
    ('/usr/bin/bash/x', 'file /usr/bin/bash/x: /usr/bin/bash is not a directory'),
    ('/usr/..', 'file /usr/.. names the root directory'),
])
def test_resolve_refuses(tree, path, message):
    with pytest.raises(PathError) as exc:
        resolve(tree, path, f'file {path}')
    assert str(exc.value) == message


def test_resolve_names_where_it_looked(tree):
    with pytest.raises(PathError) as exc:
        resolve(tree, '/usr/sbin/x', 'bind source', where='in the jail')
    assert str(exc.value) == 'bind source: /usr/sbin/x does not exist in the jail (/usr/sbin is missing)'


def test_walk_holds_the_directory_it_resolved(tree, tmp_path):
    before = sorted(os.listdir('/proc/self/fd'))
    with PathWalk(tree, '/bin/bash', 'binary /bin/bash') as walk:
        # swapping a directory for a link after the walk does not move what it holds
        os.rename(os.path.join(tree, 'usr'), os.path.join(tree, 'moved'))
        os.symlink(str(tmp_path / 'etc'), os.path.join(tree, 'usr'))
        fd = os.open(walk.name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=walk.parent_fd)
        try:
            assert os.read(fd, 16) == b'bash'
        finally:
            os.close(fd)
    assert walk.parent_fd is None
    assert sorted(os.listdir('/proc/self/fd')) == before


def test_walk_lists_every_directory_it_held_with_the_descriptors_stat(tree):
    with PathWalk(tree, '/bin/bash', 'binary /bin/bash') as walk:
        held = [(path, (st.st_dev, st.st_ino)) for path, st in walk.dirs]
    expected = [(path, (os.stat(tree + path).st_dev, os.stat(tree + path).st_ino))
                for path in ('/', '/usr', '/usr/bin')]
    assert held == expected


def swap_during(monkeypatch, call, name, swap):
    """Run ``swap`` just before the walk's first ``call`` (os.readlink or os.open) on ``name``:
    what was lstat'ed a moment ago is something else when it is used."""
    real = getattr(os, call)

    def racing(path, *args, **kwargs):
        if path == name:
            swap()
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, call, racing)


def test_walk_fails_cleanly_when_a_link_becomes_a_directory(tree, monkeypatch):
    def swap():
        os.unlink(os.path.join(tree, 'bin'))
        os.mkdir(os.path.join(tree, 'bin'))

    swap_during(monkeypatch, 'readlink', 'bin', swap)
    with pytest.raises(PathError) as exc:
        resolve(tree, '/bin/bash', 'binary /bin/bash')
    assert str(exc.value) == 'binary /bin/bash: /bin changed while it was read; run again'


def test_walk_fails_cleanly_when_a_directory_becomes_a_link(tree, monkeypatch):
    def swap():
        os.rename(os.path.join(tree, 'usr'), os.path.join(tree, 'moved'))
        os.symlink('moved', os.path.join(tree, 'usr'))

    swap_during(monkeypatch, 'open', 'usr', swap)
    with pytest.raises(PathError) as exc:
        resolve(tree, '/usr/bin/bash', 'binary /usr/bin/bash')
    assert str(exc.value) == 'binary /usr/bin/bash: /usr changed while it was read; run again'


def test_walk_stops_at_the_directory_its_check_refuses(tree, monkeypatch):
    def refuse(path, _st):
        if path == '/usr':
            raise PathError(f'{path} refused')

    opened = []
    real_open = os.open
    monkeypatch.setattr(os, 'open', lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k))
    with pytest.raises(PathError) as exc:
        resolve_checked = PathWalk(tree, '/usr/bin/bash', 'binary /usr/bin/bash', check_dir=refuse)
        with resolve_checked:
            pass
    assert str(exc.value) == '/usr refused'
    assert 'bin' not in opened


def test_walk_checks_a_link_before_reading_it(tree, monkeypatch):
    def refuse(link, held):
        raise PathError(f'{link} in {held[0]} refused')

    monkeypatch.setattr(os, 'readlink', lambda *a, **k: pytest.fail('the refused link was read'))
    with pytest.raises(PathError) as exc:
        with PathWalk(tree, '/bin/bash', 'binary /bin/bash', check_link=refuse):
            pass
    assert str(exc.value) == '/bin in / refused'
