# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Run the chroot_jail module as Ansible does: a separate Python reading an args file."""

import json
import os
import stat
import subprocess
import sys

import pytest

MODULE = 'ansible_collections.serversec.confine.plugins.modules.chroot_jail'

# The system temp dir is sticky and world-writable, so the module rightly
# refuses jails under it. This wrapper lets the module treat it as a safe
# ancestor, only for these tests; everything else runs unchanged.
WRAPPER = '''
import os, runpy, stat, sys, tempfile
from ansible_collections.serversec.confine.plugins.module_utils import _chroot_jail as cj
TMP = {os.path.realpath(tempfile.gettempdir()), "/tmp"}
def lstat(path):
    st = os.lstat(path)
    if path in TMP:
        return os.stat_result((stat.S_IFDIR | 0o755,) + tuple(st)[1:])
    return st
cj.converge.__defaults__ = cj.converge.__defaults__[:-1] + (lstat,)
cj.remove_jail.__defaults__ = cj.remove_jail.__defaults__[:-1] + (lstat,)
runpy.run_module("%s", run_name="__main__")
''' % MODULE


def run_module(tmp_path, args, trust_tmp=True, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    args_file = tmp_path / ('args-%d.json' % len(list(tmp_path.iterdir())))
    args_file.write_text(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    argv = [sys.executable, '-c', WRAPPER, str(args_file)] if trust_tmp else \
        [sys.executable, '-m', MODULE, str(args_file)]
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
                          check=False)
    out = proc.stdout.decode()
    return json.loads(out[out.index('{'):])


@pytest.fixture
def base(tmp_path):
    path = tmp_path / 'srv'
    path.mkdir()
    os.chmod(str(path), 0o755)
    return path


def test_relative_path_fails(tmp_path):
    result = run_module(tmp_path, {'path': 'srv/jail', 'binaries': ['/bin/bash']})
    assert result['failed'] and result['msg'] == "jail path 'srv/jail' is not an absolute path"


def test_unknown_profile_fails(tmp_path, base):
    result = run_module(tmp_path, {'path': str(base / 'j'), 'profiles': ['x11']})
    assert result['failed'] and 'x11' in result['msg'] and 'profiles' in result['msg']
    assert not (base / 'j').exists()


@pytest.mark.skipif(stat.S_IMODE(os.stat('/tmp').st_mode) & 0o002 == 0, reason='/tmp is not world-writable here')
def test_jail_under_world_writable_tmp_is_refused(tmp_path):
    result = run_module(tmp_path, {'path': str(tmp_path / 'jail'), 'binaries': ['/bin/bash']}, trust_tmp=False)
    assert result['failed']
    assert result['msg'] == 'jail path component /tmp is group- or world-writable (mode %04o)' % (
        stat.S_IMODE(os.stat('/tmp').st_mode))
    assert not (tmp_path / 'jail').exists()


@pytest.mark.skipif(not os.path.exists('/lib64/ld-linux-x86-64.so.2'), reason='x86_64 glibc host only')
def test_check_diff_apply_idempotent_absent(tmp_path, base):
    jail = base / 'shell'
    # devices: [null] in YAML is [None]: it means the null device
    args = {'path': str(jail), 'binaries': ['/bin/bash', '/usr/bin/id'], 'users': ['root'], 'profiles': ['nss'],
            'devices': [None]}
    checked = run_module(tmp_path, args, check=True, diff=True)
    assert checked['changed'] and '/usr/bin/bash' in checked['added'] and '/dev/null' in checked['added']
    assert 'added: /usr/bin/bash\n' in checked['diff']['prepared']
    assert not jail.exists()

    applied = run_module(tmp_path, args)
    assert applied['changed'] and sorted(applied['added']) == sorted(checked['added'])
    assert (jail / 'usr' / 'bin' / 'bash').is_file()
    assert applied['files'] > 4 and applied['size'] > 100000

    again = run_module(tmp_path, args, check=True, diff=True)
    assert (again['changed'], again['added'], again['updated'], again['removed']) == (False, [], [], [])
    assert again['diff']['prepared'] == ''

    missing = run_module(tmp_path, dict(args, binaries=['/bin/bash', '/usr/bin/no such; $(id)']))
    assert missing['failed']
    assert missing['msg'] == 'binary /usr/bin/no such; $(id) does not exist on the host'

    gone = run_module(tmp_path, {'path': str(jail), 'state': 'absent'})
    assert gone['changed'] and '/usr/bin/bash' in gone['removed']
    assert not jail.exists()
