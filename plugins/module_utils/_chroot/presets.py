# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""jailkit-style presets: named bundles of binaries, files, profiles, devices and accounts.

``PRESETS`` is data, named after jailkit's ``jk_init`` sections: for each distribution family the
host paths its packages install. A field holds either one tuple for every family or a dict
family -> tuple. A preset is nothing more than these lists merged into the jail's own before the
plan is made, so every refusal of the planner (setuid bits, host secrets, special files, sources
under user-writable directories) applies to a preset's paths as to those a playbook names.
``preset_family()`` picks the family from os-release; ``expand()`` flattens presets and what they
include; ``apply_presets()`` drops the paths this host lacks (reported) and merges.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import os
import re

from ansible_collections.serversec.confine.plugins.module_utils._chroot.host import Host
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (
    FAMILIES,
    LIST_KEYS,
    PRESET_NAMES,
    JailError,
)

# os-release ID / ID_LIKE values -> family (os-release(5); ID_LIKE lists the closest first)
FAMILY_OF_ID = {
    'debian': 'debian', 'ubuntu': 'debian', 'linuxmint': 'debian', 'raspbian': 'debian',
    'rhel': 'redhat', 'fedora': 'redhat', 'centos': 'redhat', 'rocky': 'redhat', 'almalinux': 'redhat',
    'ol': 'redhat',
}
OS_RELEASE_PATHS = ('/etc/os-release', '/usr/lib/os-release')
OS_RELEASE_MAX = 65536

# Debian's multiarch triplets and the Python versions whose standard library a host may hold:
# the paths that differ between Debian 12 and 13 (or EL 8 and Fedora) are all listed, and those
# missing on a host are skipped.
DEBIAN_TRIPLETS = ('x86_64-linux-gnu', 'aarch64-linux-gnu')
PYTHON_VERSIONS = ('3.6', '3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14')


def _usr_bin(*names):
    return tuple('/usr/bin/' + name for name in names)


# jailkit's basicshell programs (found in PATH by jk_init) plus id; /bin/sh brings the /bin link
# of a merged-/usr host, which #! lines need.
SHELL_TOOLS = ('/bin/sh',) + _usr_bin(
    'bash', 'cat', 'chmod', 'cp', 'cpio', 'date', 'dd', 'echo', 'egrep', 'false', 'fgrep', 'grep',
    'gunzip', 'gzip', 'id', 'ln', 'ls', 'mkdir', 'mktemp', 'more', 'mv', 'pwd', 'rm', 'rmdir', 'sed',
    'sleep', 'sync', 'tar', 'touch', 'true', 'uncompress', 'zcat')

PRESETS = {
    # jailkit also copies libnsl and /etc/ld.so.conf, which glibc's files NSS module never reads
    'uidbasics': {'profiles': ('nss',)},
    # jailkit's libnss_mdns needs the avahi daemon's socket, never in a jail: left out
    'netbasics': {'profiles': ('dns',)},
    # jailkit's log socket is served by its jk_socketd daemon; a copied socket reaches nobody
    'logbasics': {'profiles': ('timezone',)},
    'basicshell': {
        'includes': ('uidbasics',),
        'binaries': SHELL_TOOLS,
        'files': {
            'debian': ('/etc/motd', '/etc/issue', '/etc/bash.bashrc', '/etc/profile'),
            'redhat': ('/etc/motd', '/etc/issue', '/etc/bashrc', '/etc/profile'),
        },
        'devices': ('null',),
        'users': ('root',),
        'groups': ('root',),
    },
    'editors': {
        'binaries': _usr_bin('vi', 'vim', 'nano', 'joe'),
        'files': {
            'debian': ('/etc/vim', '/usr/share/vim', '/etc/nanorc', '/usr/share/nano', '/etc/joe'),
            'redhat': ('/etc/virc', '/etc/vimrc', '/usr/share/vim', '/etc/nanorc', '/usr/share/nano', '/etc/joe'),
        },
        'profiles': ('terminfo',),
    },
    'ssh': {
        'includes': ('netbasics', 'uidbasics'),
        'binaries': _usr_bin('ssh'),
        # the client's configuration only: never /etc/ssh as a whole, which holds the host keys
        'files': ('/etc/ssh/ssh_config', '/etc/ssh/ssh_config.d'),
        'devices': ('urandom', 'tty', 'null'),
    },
    'scp': {
        'includes': ('netbasics', 'uidbasics'),
        'binaries': _usr_bin('scp'),
        'devices': ('urandom', 'null'),
    },
    'sftp': {
        'includes': ('netbasics', 'uidbasics'),
        'binaries': {
            'debian': ('/usr/lib/openssh/sftp-server',),
            'redhat': ('/usr/libexec/openssh/sftp-server',),
        },
        'devices': ('urandom', 'null'),
    },
    'rsync': {
        'includes': ('netbasics', 'uidbasics'),
        'binaries': _usr_bin('rsync'),
    },
    'netutils': {
        'includes': ('netbasics', 'ssh', 'sftp', 'scp'),
        'binaries': _usr_bin('wget', 'curl', 'lynx', 'ftp', 'host', 'rsync', 'smbclient'),
        # the CA bundle, without which wget and curl trust no HTTPS server
        'files': {
            'debian': ('/etc/ssl/certs/ca-certificates.crt', '/etc/wgetrc', '/etc/lynx'),
            'redhat': ('/etc/pki/tls/certs/ca-bundle.crt', '/etc/wgetrc', '/etc/lynx.cfg'),
        },
    },
    'git': {
        # jailkit also includes its perl section: git's own commands no longer need perl
        'includes': ('editors',),
        'binaries': {
            'debian': _usr_bin('git', 'git-shell', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive',
                               'basename', 'uname', 'pager', 'less')
            + ('/usr/lib/git-core/git-remote-http', '/usr/lib/git-core/git-remote-https'),
            'redhat': _usr_bin('git', 'git-shell', 'git-upload-pack', 'git-receive-pack', 'git-upload-archive',
                               'basename', 'uname', 'less')
            + ('/usr/libexec/git-core/git-remote-http', '/usr/libexec/git-core/git-remote-https'),
        },
        'files': ('/usr/share/git-core/templates', '/etc/gitconfig'),
        # git opens /dev/null at start; jailkit's section has no device, and git fails there
        'devices': ('null',),
    },
    'perl': {
        'binaries': _usr_bin('perl'),
        'files': {
            'debian': ('/etc/perl', '/usr/share/perl', '/usr/share/perl5')
            + tuple(f'/usr/lib/{triplet}/{name}' for triplet in DEBIAN_TRIPLETS
                    for name in ('perl', 'perl5', 'perl-base')),
            'redhat': ('/usr/share/perl5', '/usr/lib64/perl5'),
        },
        # perl -e reads its script from /dev/null; jailkit's section has none
        'devices': ('null',),
    },
    # jailkit has no python section: the standard library of each Python 3 a host may hold
    'python': {
        'binaries': _usr_bin('python3'),
        'files': {
            'debian': tuple(path for version in PYTHON_VERSIONS
                            for path in (f'/usr/lib/python{version}', f'/etc/python{version}')),
            'redhat': tuple(path for version in PYTHON_VERSIONS
                            for path in (f'/usr/lib64/python{version}', f'/usr/lib/python{version}')),
        },
    },
}


class Expansion:
    """The lists a set of presets brings, in order, each path once."""

    def __init__(self):
        for key in LIST_KEYS:
            setattr(self, key, [])

    def extend(self, key, values):
        items = getattr(self, key)
        for value in values:
            if value not in items:
                items.append(value)


def _for_family(value, family):
    return value.get(family, ()) if isinstance(value, dict) else value


def expand(names, family):
    """The ``Expansion`` of the presets ``names`` (each with what it includes) for ``family``."""
    if family not in FAMILIES:
        raise JailError(f"preset_family {family!r} is not one of {', '.join(FAMILIES)}")
    if not isinstance(names, (list, tuple)):
        raise JailError(f'presets: {names!r} is not a list')
    expansion = Expansion()
    done = set()

    def add(name):
        if not isinstance(name, str) or name not in PRESETS:
            raise JailError(f"unknown preset {name!r} (known: {', '.join(PRESET_NAMES)})")
        if name in done:
            return
        done.add(name)  # before its includes: the data has no cycles, and none could loop here
        definition = PRESETS[name]
        for included in definition.get('includes', ()):
            add(included)
        for key in LIST_KEYS:
            expansion.extend(key, _for_family(definition.get(key, ()), family))

    for name in names:
        add(name)
    return expansion


def parse_os_release(text):
    """``ID`` and ``ID_LIKE`` of an os-release file, as a list of lower-case words, ID first."""
    values = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition('=')
        if sep and key in ('ID', 'ID_LIKE'):
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in '"\'':
                value = value[1:-1]
            values[key] = value.lower().split()
    return values.get('ID', []) + values.get('ID_LIKE', [])


def preset_family(requested='auto', host=None, allow_user_writable=False):
    """``requested`` itself, or with ``auto`` the family that os-release's ID or ID_LIKE names.

    os-release is opened through the same walk as every source: component by component, and
    never through a directory a user other than root could change unless ``allow_user_writable``
    (the module's ``allow_user_writable_sources``) says so.
    """
    if requested != 'auto':
        if requested not in FAMILIES:
            raise JailError(f"preset_family {requested!r} is not one of auto, {', '.join(FAMILIES)}")
        return requested
    host = host or Host()
    for path in OS_RELEASE_PATHS:
        if host.lstat(path) is None:
            continue
        with host.open_source(path, 'preset_family auto', allow_user_writable) as src:
            if src.fd is None:
                raise JailError(f'preset_family auto: {src.real} is not a regular file')
            # a regular file: one read returns all of it, up to the bound
            text = os.read(src.fd, OS_RELEASE_MAX).decode('utf-8', 'replace')
        words = parse_os_release(text)
        for word in words:
            if word in FAMILY_OF_ID:
                return FAMILY_OF_ID[word]
        shown = ' '.join(w for w in words if re.fullmatch(r'[a-z0-9._-]{1,64}', w)) or 'nothing known'
        raise JailError(f"preset_family auto: {path} names {shown}, no family the presets know; "
                        f"set preset_family to one of {', '.join(FAMILIES)}")
    raise JailError(f"preset_family auto: no {' or '.join(OS_RELEASE_PATHS)} on the host; "
                    f"set preset_family to one of {', '.join(FAMILIES)}")


def present(host, path):
    """``path`` resolves to something on the host (a dangling link does not)."""
    try:
        host.resolve(path, 'preset')
    except JailError:
        return False
    return True


def apply_presets(options, host=None):
    """``(lists, skipped)``: the jail's ``LIST_KEYS`` lists with ``options['presets']`` merged in.

    A preset's binary, file or device this host lacks is left out and named in ``skipped``
    (a host path, or /dev/NAME); what the playbook itself lists is kept as given, so a path
    missing there still fails the plan. Nothing is read when no preset is asked for.
    """
    lists = {key: list(options.get(key) or []) for key in LIST_KEYS}
    presets = options.get('presets') or []
    skipped = []
    if not presets:
        return lists, skipped
    host = host or Host()
    family = preset_family(options.get('preset_family') or 'auto', host,
                           bool(options.get('allow_user_writable_sources')))
    expansion = expand(presets, family)
    for key in LIST_KEYS:
        for value in getattr(expansion, key):
            if key in ('binaries', 'files') and not present(host, value):
                skipped.append(value)
            elif key == 'devices' and host.lstat('/dev/' + value) is None:
                skipped.append('/dev/' + value)
            elif value not in lists[key]:
                lists[key].append(value)
    return lists, skipped
