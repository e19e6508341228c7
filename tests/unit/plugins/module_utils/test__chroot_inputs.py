# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Issue 9 §5 and §7: every input refused before the first write, dangerous content only on an explicit yes.

The fake Fedora host, ``run``, ``plan`` and ``snapshot`` are the ones of test__chroot_engine.py.
"""

import os
import re
import stat

import pytest

from ansible_collections.serversec.confine.plugins.module_utils._chroot import tree
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, JailSpec
from ansible_collections.serversec.confine.plugins.modules import chroot_jail
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils import test__chroot_engine
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__chroot_engine import (
    link,
    plan,
    run,
    safe_tmp_lstat,
    snapshot,
    write,
)

fedora = test__chroot_engine.fedora  # the fake Fedora host fixture
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason='mknod of device nodes needs root')

SHADOW_HINT = 'set allow_sensitive_files to copy it knowingly'


# --------------------------------------------------------------------------
# §5: the spec refuses malformed input, naming the field

@pytest.mark.parametrize('kwargs, message', [
    # ids: 32 bits, and (uid_t)-1 means "leave unchanged" to chown
    ({'directories': [{'path': '/var/x', 'owner': '99999999999'}]},
     "directory /var/x: owner '99999999999' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'directories': [{'path': '/var/x', 'owner': '4294967295'}]},
     "directory /var/x: owner '4294967295' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'directories': [{'path': '/var/x', 'group': '4294967295'}]},
     "directory /var/x: group '4294967295' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'directories': [{'path': '/var/x', 'owner': 2 ** 64}]},
     'directory /var/x: owner 18446744073709551616 is out of range (numeric ids run from 0 to 4294967294)'),
    ({'directories': [{'path': '/var/x', 'owner': -1}]},
     'directory /var/x: owner -1 is out of range (numeric ids run from 0 to 4294967294)'),
    ({'directories': [{'path': '/var/x', 'owner': '9' * 5000}]},
     f"directory /var/x: owner '{'9' * 5000}' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'directories': [{'path': '/var/x', 'owner': 'svc\x00root'}]},
     "directory /var/x: owner 'svc\\x00root' is neither a user name nor a numeric id"),
    ({'directories': [{'path': '/var/x', 'owner': '\u00b2'}]},
     "directory /var/x: owner '\u00b2' is neither a user name nor a numeric id"),
    ({'directories': [{'path': '/var/x', 'group': 'a:b'}]},
     "directory /var/x: group 'a:b' is neither a group name nor a numeric id"),
    ({'directories': [{'path': '/var/x', 'owner': True}]},
     'directory /var/x: owner True is neither a user name nor a numeric id'),
    # modes
    ({'directories': [{'path': '/log', 'mode': '0755\n'}]}, 'directory /log: mode \'0755\\n\' is not an octal mode like "0750"'),
    ({'directories': [{'path': '/log', 'mode': '\u0667\u0665\u0665'}]},
     'directory /log: mode \'\u0667\u0665\u0665\' is not an octal mode like "0750"'),
    ({'directories': [{'path': '/log', 'mode': True}]}, 'directory /log: mode True is not an octal mode like "0750"'),
    ({'directories': [{'path': '/log', 'mode': 0o17777}]}, 'directory /log: mode 8191 is out of range'),
    ({'directories': [{'path': '/log', 'mode': -1}]}, 'directory /log: mode -1 is out of range'),
    # list items of the wrong shape
    ({'directories': [7]}, 'directory 7 is neither a path nor a dict with a path'),
    ({'directories': [{'path': '/log', 'onwer': 'svc'}]}, 'directory /log: unknown key(s) onwer (known: path, owner, group, mode)'),
    ({'directories': '/log'}, "directories: '/log' is not a list"),
    ({'binaries': [7]}, 'binary 7 is not a path (a string)'),
    ({'files': [['/etc/hosts']]}, "file ['/etc/hosts'] is not a path (a string)"),
    ({'files': ['/etc/ho\x00sts']}, "file '/etc/ho\\x00sts' contains a NUL byte"),
    ({'files': ['/etc/\ud800']}, "file '/etc/\\ud800' cannot be encoded as a file name"),
    ({'files': ['/etc/' + 'a' * 256]}, "file '/etc/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'... is longer "
     'than a path can be (4095 bytes, 255 per component)'),
    ({'files': ['/a' * 2048]}, f"file '{'/a' * 32}'... is longer than a path can be (4095 bytes, 255 per component)"),
    ({'users': ['svc', None]}, 'users: None is not a valid user name'),
    ({'users': ['svc\nroot:x:0:0::/:/bin/sh']}, "users: 'svc\\nroot:x:0:0::/:/bin/sh' is not a valid user name"),
    ({'groups': ['']}, "groups: '' is not a valid group name"),
    ({'groups': [{'name': 'adm'}]}, "groups: {'name': 'adm'} is not a valid group name"),
    ({'profiles': [{'name': 'nss'}]}, "unknown profile {'name': 'nss'} (known: dns, locale, nss, terminfo, timezone)"),
    ({'profiles': [['nss']]}, "unknown profile ['nss'] (known: dns, locale, nss, terminfo, timezone)"),
    # devices: by name only; numbers always come from the host
    ({'devices': [{'name': 'sda', 'major': 8, 'minor': 0}]},
     "device {'name': 'sda', 'major': 8, 'minor': 0}: give a device by name, like \"null\"; "
     'its major/minor numbers always come from the host device'),
    ({'devices': [1]}, 'device 1 is not a plain device name like "null" or "urandom"'),
    ({'devices': ['null\n']}, 'device \'null\\n\' is not a plain device name like "null" or "urandom"'),
    ({'devices': ['x' * 65]}, f'device \'{"x" * 65}\' is not a plain device name like "null" or "urandom"'),
])
def test_spec_invalid(kwargs, message):
    with pytest.raises(JailError) as exc:
        JailSpec('/srv/j', **kwargs)
    assert str(exc.value) == message


@pytest.mark.parametrize('item, expected', [
    ({'path': '/var/x'}, {'path': '/var/x', 'owner': 'root', 'group': 'root', 'mode': 0o755}),
    ({'path': '/var/x', 'owner': '', 'group': None, 'mode': ''}, {'path': '/var/x', 'owner': 'root', 'group': 'root', 'mode': 0o755}),
    ({'path': '/var/x', 'owner': '0', 'group': '4294967294', 'mode': '750'},
     {'path': '/var/x', 'owner': 0, 'group': 4294967294, 'mode': 0o750}),
    ({'path': '/var/x', 'mode': 0}, {'path': '/var/x', 'owner': 'root', 'group': 'root', 'mode': 0}),
    ({'path': '/var/x', 'owner': '00990', 'group': 990, 'mode': 0o1770},
     {'path': '/var/x', 'owner': 990, 'group': 990, 'mode': 0o1770}),
    ({'path': '/var/x', 'owner': 'www-data', 'group': 'Domain_Users$', 'mode': '02750'},
     {'path': '/var/x', 'owner': 'www-data', 'group': 'Domain_Users$', 'mode': 0o2750}),
    ('/var//x/', {'path': '/var/x', 'owner': 'root', 'group': 'root', 'mode': 0o755}),
])
def test_spec_valid_directories(item, expected):
    assert JailSpec('/srv/j', directories=[item]).directories == [expected]


def test_spec_valid_lists():
    spec = JailSpec('/srv/j', binaries=('/bin/sh',), files=None, devices=['null', 'tty0'], users=['svc', 'nobody'],
                    groups=['adm'], profiles=['nss'])
    assert (spec.binaries, spec.files, spec.devices, spec.users, spec.groups, spec.profiles) == (
        ['/bin/sh'], [], ['null', 'tty0'], ['svc', 'nobody'], ['adm'], ['nss'])
    assert (spec.allow_sensitive_files, spec.allow_special_files, spec.allow_block_devices) == (False, False, False)


# --------------------------------------------------------------------------
# §5: nothing is written when an input is refused

INVALID_RUNS = [
    # the reported traceback: /var and /var/x were created before chown overflowed
    ({'directories': [{'path': '/var/x', 'owner': '99999999999'}]},
     "directory /var/x: owner '99999999999' is out of range (numeric ids run from 0 to 4294967294)"),
    # chown(-1) changed nothing, so every run reported changed
    ({'directories': [{'path': '/var/x', 'group': '4294967295'}]},
     "directory /var/x: group '4294967295' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'directories': [{'path': '/var/x', 'owner': 'svc\x00'}]},
     "directory /var/x: owner 'svc\\x00' is neither a user name nor a numeric id"),
    ({'directories': [{'path': '/var/x', 'owner': '\u00b2'}]},
     "directory /var/x: owner '\u00b2' is neither a user name nor a numeric id"),
    ({'devices': [{'name': 'null', 'major': 1, 'minor': 3}]},
     "device {'name': 'null', 'major': 1, 'minor': 3}: give a device by name, like \"null\"; "
     'its major/minor numbers always come from the host device'),
    ({'users': ['svc\x00']}, "users: 'svc\\x00' is not a valid user name"),
    ({'profiles': [{'nss': True}]}, "unknown profile {'nss': True} (known: dns, locale, nss, terminfo, timezone)"),
    ({'files': ['/etc/shadow']}, f'file /etc/shadow holds password hashes; {SHADOW_HINT}'),
    ({'files': ['/etc/run/app.fifo']},
     'file /etc/run/app.fifo is a FIFO, which cannot be copied; set allow_special_files to leave it out knowingly'),
]


def _add_secrets(env):
    write(env['root'], '/etc/shadow', b'root:$6$salt$hash:19000:0:99999:7:::\n', 0o640)
    os.makedirs(env['root'] + '/etc/run')
    os.mkfifo(env['root'] + '/etc/run/app.fifo')


@pytest.mark.parametrize('kwargs, message', INVALID_RUNS)
def test_invalid_input_creates_no_jail(fedora, kwargs, message):
    _add_secrets(fedora)
    with pytest.raises(JailError) as exc:
        run(fedora, binaries=['/bin/bash'], **kwargs)
    assert str(exc.value) == message
    assert not os.path.lexists(fedora['jail'])


@pytest.mark.parametrize('kwargs, message', INVALID_RUNS)
def test_invalid_input_leaves_the_jail_byte_identical(fedora, kwargs, message):
    _add_secrets(fedora)
    valid = {'binaries': ['/bin/bash'], 'users': ['svc'], 'directories': ['/var/x']}
    run(fedora, **valid)
    before = snapshot(fedora['jail'])
    with pytest.raises(JailError) as exc:
        run(fedora, **dict(valid, **kwargs))
    assert str(exc.value) == message
    assert snapshot(fedora['jail']) == before


def test_numeric_ids_at_the_limits_converge_once(fedora):
    directories = [{'path': '/var/x', 'owner': '4294967294', 'group': '0', 'mode': '0750'}]
    assert run(fedora, directories=directories).changed
    st = os.lstat(fedora['jail'] + '/var/x')
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (4294967294, 0, 0o750)
    assert not run(fedora, directories=directories).changed


# --------------------------------------------------------------------------
# §7: secrets only on an explicit yes

@pytest.fixture
def secrets(fedora):
    root = fedora['root']
    write(root, '/etc/shadow', b'root:$6$salt$hash:19000:0:99999:7:::\n', 0o640)
    write(root, '/etc/shadow-', b'root:$6$old$hash:19000:0:99999:7:::\n', 0o640)
    write(root, '/etc/gshadow', b'root:::\n', 0o640)
    write(root, '/etc/gshadow-', b'root:::\n', 0o640)
    write(root, '/etc/ssh/ssh_host_ed25519_key', b'-----BEGIN OPENSSH PRIVATE KEY-----\n', 0o600)
    write(root, '/etc/ssh/ssh_host_key', b'SSH PRIVATE KEY FILE FORMAT 1.1\n', 0o600)
    write(root, '/etc/ssh/ssh_host_ed25519_key.pub', b'ssh-ed25519 AAAA root@host\n')
    write(root, '/etc/ssh/sshd_config', b'PermitRootLogin no\n')
    write(root, '/root/.bashrc', b'export SECRET=1\n', 0o600)
    link(root, '/srv/pw', '/etc/shadow')
    link(root, '/srv/roothome', '../root')
    link(root, '/root/hosts-link', '/etc/hosts')
    link(root, '/srv/conf/shadow-link', '../../etc/shadow')
    write(root, '/srv/conf/app.conf', b'x=1\n')
    os.makedirs(root + '/srv/pub')
    os.link(root + '/etc/shadow', root + '/srv/pub/users.txt')
    os.link(root + '/etc/ssh/ssh_host_ed25519_key', root + '/srv/pub/id')
    return fedora


@pytest.mark.parametrize('files, message', [
    (['/etc/shadow'], f'file /etc/shadow holds password hashes; {SHADOW_HINT}'),
    (['/etc/shadow-'], f'file /etc/shadow- holds password hashes; {SHADOW_HINT}'),
    (['/etc/gshadow'], f'file /etc/gshadow holds password hashes; {SHADOW_HINT}'),
    (['/etc/gshadow-'], f'file /etc/gshadow- holds password hashes; {SHADOW_HINT}'),
    (['/etc/ssh/ssh_host_ed25519_key'], f'file /etc/ssh/ssh_host_ed25519_key is an SSH host private key; {SHADOW_HINT}'),
    (['/etc/ssh/ssh_host_key'], f'file /etc/ssh/ssh_host_key is an SSH host private key; {SHADOW_HINT}'),
    (['/root/.bashrc'], f"file /root/.bashrc lies in root's home directory /root; {SHADOW_HINT}"),
    (['/root'], f"file /root lies in root's home directory /root; {SHADOW_HINT}"),
    # through a symlink: the resolved path is judged too
    (['/srv/pw'], f'file /srv/pw: /etc/shadow holds password hashes; {SHADOW_HINT}'),
    (['/srv/roothome/.bashrc'], f"file /srv/roothome/.bashrc: /root/.bashrc lies in root's home directory /root; {SHADOW_HINT}"),
    # the given path is judged even when it leads somewhere harmless
    (['/root/hosts-link'], f"file /root/hosts-link lies in root's home directory /root; {SHADOW_HINT}"),
    # inside a copied directory tree
    (['/etc/ssh'], f'file /etc/ssh: /etc/ssh/ssh_host_ed25519_key is an SSH host private key; {SHADOW_HINT}'),
    (['/etc'], f'file /etc: /etc/gshadow holds password hashes; {SHADOW_HINT}'),
    # a hard link is the same secret under another name
    (['/srv/pub/users.txt'], f'file /srv/pub/users.txt is /etc/shadow under another name (a hard link or a bind mount); '
     f'{SHADOW_HINT}'),
    (['/srv/pub'], f'file /srv/pub: /srv/pub/id is /etc/ssh/ssh_host_ed25519_key under another name '
     f'(a hard link or a bind mount); {SHADOW_HINT}'),
])
def test_sensitive_files_refused(secrets, files, message):
    with pytest.raises(JailError) as exc:
        plan(secrets, files=files)
    assert str(exc.value) == message


def test_link_to_a_secret_inside_a_copied_tree_stays_a_link(secrets):
    entries = plan(secrets, files=['/srv/conf']).entries
    assert entries['/srv/conf/shadow-link'] == {'type': 'symlink', 'target': '../../etc/shadow'}
    assert '/etc/shadow' not in entries


def test_sensitive_library_from_the_loader_is_refused(secrets):
    """Defence in depth: a dependency list naming /etc/shadow (a tampered cache) copies nothing."""
    runner = secrets['runner']

    def lying_runner(argv):
        runner.calls.append(argv)
        return 0, '\t/etc/shadow (0x1)\n\t/lib64/ld-linux-x86-64.so.2 (0x2)\n', ''
    secrets['runner'] = lying_runner
    with pytest.raises(JailError) as exc:
        plan(secrets, binaries=['/usr/bin/ssh'])
    assert str(exc.value) == f'binary /usr/bin/ssh (library): /etc/shadow holds password hashes; {SHADOW_HINT}'


def test_harmless_ssh_files_are_copied(secrets):
    entries = plan(secrets, files=['/etc/ssh/ssh_host_ed25519_key.pub', '/etc/ssh/sshd_config']).entries
    assert entries['/etc/ssh/ssh_host_ed25519_key.pub']['type'] == 'file'
    assert entries['/etc/ssh/sshd_config']['type'] == 'file'


def test_sensitive_files_copied_on_purpose(secrets):
    result = run(secrets, files=['/srv/pw', '/etc/ssh', '/root'], allow_sensitive_files=True)
    jail = secrets['jail']
    with open(jail + '/etc/shadow', 'rb') as handle:
        assert handle.read() == b'root:$6$salt$hash:19000:0:99999:7:::\n'
    assert os.readlink(jail + '/srv/pw') == '/etc/shadow'
    assert stat.S_IMODE(os.lstat(jail + '/etc/ssh/ssh_host_ed25519_key').st_mode) == 0o600
    assert os.path.isfile(jail + '/root/.bashrc')
    assert '/etc/shadow' in result.added
    assert not run(secrets, files=['/srv/pw', '/etc/ssh', '/root'], allow_sensitive_files=True).changed


# --------------------------------------------------------------------------
# §7: FIFOs, sockets and device nodes in files; block devices

@pytest.fixture
def specials(fedora):
    root = fedora['root']
    os.makedirs(root + '/run/app')
    os.mkfifo(root + '/run/app/ctl.fifo')
    os.mknod(root + '/run/app/app.sock', stat.S_IFSOCK | 0o600)
    write(root, '/run/app/app.pid', b'42\n')
    os.makedirs(root + '/dev')
    return fedora


def _mknod(env, name, kind, major, minor, mode=0o660):
    os.mknod(env['root'] + '/dev/' + name, kind | mode, os.makedev(major, minor))


@pytest.mark.parametrize('files, message', [
    (['/run/app/ctl.fifo'],
     'file /run/app/ctl.fifo is a FIFO, which cannot be copied; set allow_special_files to leave it out knowingly'),
    (['/run/app/app.sock'],
     'file /run/app/app.sock is a socket, which cannot be copied; set allow_special_files to leave it out knowingly'),
    (['/run/app'],
     'file /run/app: /run/app/app.sock is a socket, which cannot be copied; '
     'set allow_special_files to leave it out knowingly'),
])
def test_fifos_and_sockets_refused(specials, files, message):
    with pytest.raises(JailError) as exc:
        plan(specials, files=files)
    assert str(exc.value) == message


def test_fifos_and_sockets_left_out_on_purpose(specials):
    entries = plan(specials, files=['/run/app', '/run/app/ctl.fifo'], allow_special_files=True).entries
    assert sorted(p for p in entries if p.startswith('/run/')) == ['/run/app', '/run/app/app.pid']


@needs_root
@pytest.mark.parametrize('kwargs, message', [
    ({'files': ['/dev/tty9']},
     'file /dev/tty9 is a device node; list it under devices, or set allow_special_files to copy it knowingly'),
    ({'files': ['/dev']},
     'file /dev: /dev/null is a device node; list it under devices, or set allow_special_files to copy it knowingly'),
    ({'files': ['/dev/sda']},
     'file /dev/sda is a block device (a disk); set allow_special_files and allow_block_devices to copy it knowingly'),
    ({'files': ['/dev'], 'allow_special_files': True},
     'file /dev: /dev/sda is a block device (a disk); set allow_block_devices to copy it knowingly'),
    ({'files': ['/dev/sda'], 'allow_block_devices': True},
     'file /dev/sda is a block device (a disk); set allow_special_files to copy it knowingly'),
    ({'devices': ['null', 'sda']},
     'device sda: /dev/sda is a block device (a disk); set allow_block_devices to create it knowingly'),
])
def test_device_nodes_refused(specials, kwargs, message):
    _mknod(specials, 'tty9', stat.S_IFCHR, 4, 9)
    _mknod(specials, 'sda', stat.S_IFBLK, 8, 0)
    _mknod(specials, 'null', stat.S_IFCHR, 1, 3, 0o666)
    with pytest.raises(JailError) as exc:
        plan(specials, **kwargs)
    assert str(exc.value) == message


@needs_root
@pytest.mark.parametrize('kwargs, path', [
    ({'devices': ['mem']}, 'device mem: /dev/mem'),
    ({'devices': ['port'], 'allow_block_devices': True}, 'device port: /dev/port'),
    ({'files': ['/dev/kmem'], 'allow_special_files': True}, 'file /dev/kmem'),
    ({'files': ['/dev/memory'], 'allow_special_files': True}, 'file /dev/memory'),
])
def test_host_memory_devices_are_never_created(specials, kwargs, path):
    """No option opens the host's memory or I/O ports to the jail, whatever the node is called."""
    for name, minor in (('mem', 1), ('kmem', 2), ('port', 4), ('memory', 1)):
        _mknod(specials, name, stat.S_IFCHR, 1, minor, 0o640)
    with pytest.raises(JailError) as exc:
        plan(specials, **kwargs)
    name = {'mem': 'mem', 'port': 'port', 'kmem': 'kmem', 'memory': 'mem'}[path.rsplit('/', 1)[1]]
    assert str(exc.value) == (f"{path} is /dev/{name}, raw access to the host's memory or I/O ports; "
                              'it is never created in a jail')


@needs_root
def test_device_nodes_created_on_purpose(specials):
    _mknod(specials, 'tty9', stat.S_IFCHR, 4, 9)
    _mknod(specials, 'sda', stat.S_IFBLK, 8, 0)
    options = {'files': ['/dev/tty9'], 'devices': ['sda'], 'allow_special_files': True, 'allow_block_devices': True}
    result = run(specials, **options)
    assert sorted(result.audit['devices']) == ['/dev/sda', '/dev/tty9']
    for name, kind, numbers in (('tty9', stat.S_IFCHR, (4, 9)), ('sda', stat.S_IFBLK, (8, 0))):
        st = os.lstat(specials['jail'] + '/dev/' + name)
        assert (stat.S_IFMT(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev), st.st_uid) == (kind,) + numbers + (0,)
    assert not run(specials, **options).changed


# --------------------------------------------------------------------------
# the module glue: the options reach the engine, and refusals are fail_json

@pytest.fixture
def run_jail(run_module, monkeypatch):
    """chroot_jail trusting the system temp dir as a jail ancestor. Runs that get past the spec
    are made in check mode: they plan on the real host and write nothing, anywhere."""
    monkeypatch.setattr(tree, 'jail_root_lstat', safe_tmp_lstat)
    return lambda args, check=False: run_module(chroot_jail, args, check=check)


@pytest.fixture
def base(tmp_path):
    path = tmp_path / 'srv'
    path.mkdir()
    os.chmod(str(path), 0o755)
    return path


@pytest.mark.parametrize('args, message', [
    ({'directories': [{'path': '/var/x', 'owner': '99999999999'}]},
     "directory /var/x: owner '99999999999' is out of range (numeric ids run from 0 to 4294967294)"),
    ({'devices': [{'name': 'sda', 'major': 8, 'minor': 0}]},
     "device {'name': 'sda', 'major': 8, 'minor': 0}: give a device by name, like \"null\"; "
     'its major/minor numbers always come from the host device'),
    ({'devices': [7]}, 'device 7 is not a plain device name like "null" or "urandom"'),
    ({'users': ['a:b']}, "users: 'a:b' is not a valid user name"),
])
def test_module_refuses_before_writing(run_jail, base, args, message):
    jail = base / 'j'
    result = run_jail(dict(args, path=str(jail)))
    assert result['failed'] and result['msg'] == message
    assert not jail.exists()


@pytest.mark.skipif(not os.path.isfile('/etc/shadow'), reason='needs a host /etc/shadow')
def test_module_sensitive_option_reaches_the_engine(run_jail, base):
    jail = base / 'j'
    refused = run_jail({'path': str(jail), 'files': ['/etc/shadow']}, check=True)
    assert refused['failed'] and refused['msg'] == f'file /etc/shadow holds password hashes; {SHADOW_HINT}'
    accepted = run_jail({'path': str(jail), 'files': ['/etc/shadow'], 'allow_sensitive_files': True}, check=True)
    assert accepted['changed'] and '/etc/shadow' in accepted['added']
    assert not jail.exists()


@pytest.mark.skipif(not os.path.exists('/dev/null'), reason='needs /dev/null')
def test_module_special_option_reaches_the_engine(run_jail, base):
    jail = base / 'j'
    refused = run_jail({'path': str(jail), 'files': ['/dev/null']}, check=True)
    assert refused['failed'] and refused['msg'] == (
        'file /dev/null is a device node; list it under devices, or set allow_special_files to copy it knowingly')
    accepted = run_jail({'path': str(jail), 'files': ['/dev/null'], 'allow_special_files': True}, check=True)
    assert accepted['changed'] and '/dev/null' in accepted['added']
    assert not jail.exists()


def _host_block_device():
    """The name of a block device in the host's /dev that the module accepts as a name, or None."""
    names = sorted(n for n in os.listdir('/dev') if re.fullmatch('[a-z][a-z0-9]*', n)
                   and stat.S_ISBLK(os.lstat('/dev/' + n).st_mode))
    return names[0] if names else None


@pytest.mark.skipif(_host_block_device() is None, reason='no block device in /dev')
def test_module_block_device_option_reaches_the_engine(run_jail, base):
    name = _host_block_device()
    jail = base / 'j'
    refused = run_jail({'path': str(jail), 'devices': [name]}, check=True)
    assert refused['failed'] and refused['msg'] == (
        f'device {name}: /dev/{name} is a block device (a disk); set allow_block_devices to create it knowingly')
    accepted = run_jail({'path': str(jail), 'devices': [name], 'allow_block_devices': True}, check=True)
    assert accepted['changed'] and f'/dev/{name}' in accepted['added']
    assert not jail.exists()
