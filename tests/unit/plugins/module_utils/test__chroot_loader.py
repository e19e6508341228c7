# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""_chroot.loader: reading the trusted loader's output."""

import os

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot.loader import parse_ldd
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError

FIXTURES = os.path.join(os.path.dirname(__file__), '..', '..', 'fixtures', 'ldd')


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


# --------------------------------------------------------------------------
# ldd parsing (real Debian 12 captures; Fedora files hand-written, see README)

@pytest.mark.parametrize('name, expected', [
    ('debian12_bash.txt', ['/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libc.so.6',
                           '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_loader_list_bash.txt', ['/lib/x86_64-linux-gnu/libtinfo.so.6', '/lib/x86_64-linux-gnu/libc.so.6',
                                       '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_libnss_dns.so.2.txt', ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']),
    ('fedora40_bash.txt', ['/lib64/libtinfo.so.6', '/lib64/libc.so.6', '/lib64/ld-linux-x86-64.so.2']),
    ('debian12_ldconfig.txt', []),
    ('fedora40_ldconfig.txt', []),
    ('debian12_static_nonpie.txt', []),
    ('debian12_script_ldd.txt', []),
])
def test_parse_ldd_exact(name, expected):
    assert parse_ldd(fixture(name), '/x') == expected


@pytest.mark.parametrize('name, count, must_have', [
    ('debian12_ssh.txt', 13, '/lib/x86_64-linux-gnu/libkrb5support.so.0'),
    ('fedora40_ssh.txt', 13, '/lib64/libkrb5support.so.0'),
    ('debian12_python3.txt', None, '/lib/x86_64-linux-gnu/libexpat.so.1'),
    ('debian12_openssl.txt', None, '/lib/x86_64-linux-gnu/libssl.so.3'),
    ('debian12_ls.txt', None, '/lib/x86_64-linux-gnu/libselinux.so.1'),
    ('debian12_getent.txt', None, '/lib/x86_64-linux-gnu/libc.so.6'),
])
def test_parse_ldd_real_outputs(name, count, must_have):
    paths = parse_ldd(fixture(name), '/x')
    assert must_have in paths
    assert all(p.startswith('/') for p in paths)
    assert not any('vdso' in p for p in paths)
    assert len(paths) == len(set(paths))
    if count is not None:
        assert len(paths) == count


@pytest.mark.parametrize('name', [
    'debian12_missing_lib.txt', 'debian12_loader_trace_missing_lib.txt', 'debian12_loader_list_missing_lib.txt'])
def test_parse_ldd_missing_library_names_it(name):
    with pytest.raises(JailError) as exc:
        parse_ldd(fixture(name), '/usr/local/bin/prog')
    assert str(exc.value) == '/usr/local/bin/prog: shared library not found on the host: libjailmissing.so.1'


def test_parse_ldd_refuses_garbage():
    with pytest.raises(JailError) as exc:
        parse_ldd('\tsomething odd\n', '/bin/x')
    assert str(exc.value) == "/bin/x: cannot understand loader output line 'something odd'"
