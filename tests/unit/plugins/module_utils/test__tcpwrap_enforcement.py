# -*- coding: utf-8 -*-
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Who enforces a daemon's rules: libwrap, tcpd, a systemd IP filter or nobody, on fake root trees.

The binaries are tiny real ELF files whose dynamic section lists DT_NEEDED names; the units are
written by the collection's own renderers where it writes them (tcpwrapped_service, tcpwrap_filter).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import struct

import pytest

from ansible_collections.serversec.confine.plugins.module_utils import _elf as elf
from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_enforcement as enforcement
from ansible_collections.serversec.confine.plugins.module_utils import _tcpwrap_filter
from ansible_collections.serversec.confine.plugins.module_utils._systemd_installed import InstalledUnits, parse_unit, split_exec
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap import scan_table
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_compile import compile_policy
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrapped_service import WrappedSpec, render_service, render_socket
from ansible_collections.serversec.confine.tests.unit.plugins.module_utils.test__tcpwrap_match import FakeEnv

ALLOW = '/etc/hosts.allow'
DENY = '/etc/hosts.deny'
UNITS = 'etc/systemd/system'
VENDOR_UNITS = 'usr/lib/systemd/system'
SSH_UNIT = '[Unit]\nDescription=OpenBSD Secure Shell server\n\n[Service]\nExecStart=/usr/sbin/sshd -D $SSHD_OPTS\n'
TELNET = WrappedSpec(base='telnet', description='telnet lab', port=23, tcpd='/usr/sbin/tcpd',
                     command=['/usr/local/sbin/in.telnetd', '-E', '/usr/local/bin/telnet-banner'],
                     daemon_name='in.telnetd', user='telnetd', group='telnetd', jail=None, read_write=[])
WEB_FILTERED = ('# Managed by Ansible (serversec.confine.jailed_service); local edits are overwritten.\n'
                '[Service]\nExecStart=/usr/sbin/lighttpd -D -f /etc/lighttpd/filtered.conf\n'
                'RootDirectory=/srv/jails/web-filtered\nUser=web-filtered\n'
                'IPAddressAllow=192.168.0.0/16\nIPAddressDeny=any\n')


def build_elf64(needed):
    """A minimal little-endian ELF64 with one PT_LOAD and a PT_DYNAMIC listing `needed`."""
    strtab = b'\0' + b''.join(name.encode() + b'\0' for name in needed)
    header_size, phdr_size = 64, 56
    dynamic_offset = header_size + 2 * phdr_size
    dynamic = b''
    offset = 1
    for name in needed:
        dynamic += struct.pack('<qQ', elf.DT_NEEDED, offset)
        offset += len(name) + 1
    strtab_offset = dynamic_offset + len(dynamic) + 2 * 16
    vaddr_base = 0x400000
    dynamic += struct.pack('<qQ', elf.DT_STRTAB, vaddr_base + strtab_offset) + struct.pack('<qQ', 0, 0)
    total = strtab_offset + len(strtab)
    ident = b'\x7fELF' + bytes([2, 1, 1]) + b'\0' * 9
    elf_header = ident + struct.pack('<HHIQQQIHHHHHH', 3, 62, 1, 0, header_size, 0, 0, header_size, phdr_size,
                                     2, 64, 0, 0)
    load = struct.pack('<IIQQQQQQ', elf.PT_LOAD, 5, 0, vaddr_base, vaddr_base, total, total, 0x1000)
    dyn = struct.pack('<IIQQQQQQ', elf.PT_DYNAMIC, 6, dynamic_offset, vaddr_base + dynamic_offset,
                      vaddr_base + dynamic_offset, len(dynamic), len(dynamic), 8)
    return elf_header + load + dyn + dynamic + strtab


WRAPPED = build_elf64(['libwrap.so.0', 'libc.so.6'])
PLAIN = build_elf64(['libc.so.6'])


class FakeRoot:
    """A host tree under tmp_path: put(path, bytes or text) writes a file, link(path, target) a symlink."""

    def __init__(self, path):
        self.path = path

    def put(self, relative, content):
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content if isinstance(content, bytes) else content.encode())
        return target

    def link(self, relative, destination):
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(destination)

    def report(self, daemon, tables=None):
        return enforcement.Enforcement(str(self.path)).report(daemon, tables, FakeEnv())


@pytest.fixture
def root(tmp_path):
    return FakeRoot(tmp_path)


def tables(allow, deny=''):
    return [('allow', ALLOW, scan_table(allow.encode())), ('deny', DENY, scan_table(deny.encode()))]


def put_ssh_filter(root, policy, daemon='sshd'):
    """The drop-in tcpwrap_filter writes for ssh.service, compiled from policy."""
    compiled = compile_policy(policy, daemon, FakeEnv())
    text = _tcpwrap_filter.render_dropin('ssh.service', compiled, ALLOW, DENY)
    return root.put(f'{UNITS}/ssh.service.d/{_tcpwrap_filter.DROPIN_NAME}', text)


def record_opens(monkeypatch):
    """The names os.open opens from now on (held with O_PATH is not opened), in a list."""
    opened = []
    real_open = os.open

    def spy(path, flags, *args, **kwargs):
        if not flags & getattr(os, 'O_PATH', 0):
            opened.append(path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', spy)
    return opened


# ---------------------------------------------------------------- libwrap

def test_debian12_sshd_links_libwrap(root):
    root.put('usr/sbin/sshd', WRAPPED)
    assert root.report('sshd') == {'daemon': 'sshd', 'enforced_by': [{'mechanism': 'libwrap', 'binary': '/usr/sbin/sshd'}],
                                   'nobody': False, 'installed': True, 'notes': [], 'problems': []}


def test_debian13_sshd_session_links_libwrap(root):
    root.put('usr/sbin/sshd', PLAIN)
    root.put('usr/lib/openssh/sshd-session', WRAPPED)
    report = root.report('sshd')
    assert report['enforced_by'] == [{'mechanism': 'libwrap', 'binary': '/usr/lib/openssh/sshd-session'}]
    assert report['notes'] == ['/usr/sbin/sshd does not link libwrap']


def test_a_daemon_without_libwrap_is_enforced_by_nobody(root):
    root.put('usr/sbin/vsftpd', PLAIN)
    report = root.report('vsftpd')
    assert (report['enforced_by'], report['nobody'], report['notes']) == ([], True, ['/usr/sbin/vsftpd does not link libwrap'])
    assert enforcement.nobody_message(report) == (
        'daemon "vsftpd": nobody enforces its TCP wrappers rules on this host (/usr/sbin/vsftpd does not link libwrap; '
        'no tcpd socket unit or systemd IP filter serves it)')


def test_an_unknown_daemon_is_enforced_by_nobody(root):
    report = root.report('in.fingerd')
    assert (report['nobody'], report['installed'], report['notes']) == (True, False, ['no binary of it found on this host'])


def test_an_installed_daemon_nobody_enforces_is_installed(root):
    root.put('usr/sbin/vsftpd', PLAIN)
    assert (root.report('vsftpd')['nobody'], root.report('vsftpd')['installed']) == (True, True)


def test_links_resolve_under_the_root_and_one_file_counts_once(root):
    """/sbin -> usr/sbin (merged /usr) and an absolute link both stay in the tree being inspected."""
    root.put('usr/sbin/telnetd', WRAPPED)
    root.link('sbin', 'usr/sbin')
    root.link('usr/local/sbin/in.telnetd', '/usr/sbin/telnetd')
    assert root.report('telnetd')['enforced_by'] == [{'mechanism': 'libwrap', 'binary': '/usr/sbin/telnetd'}]
    assert root.report('in.telnetd')['enforced_by'] == [{'mechanism': 'libwrap', 'binary': '/usr/local/sbin/in.telnetd'}]


def test_a_link_cannot_leave_the_root(root, tmp_path):
    """An absolute link restarts at the root being inspected, never at the host's."""
    root.link('usr/sbin/sshd', '/usr/bin/env')   # the host has it; the fake root does not
    assert root.report('sshd')['notes'] == ['no binary of it found on this host']


def test_the_program_of_an_unjailed_unit_is_inspected(root):
    root.put('opt/ftp/bin/pure-ftpd', WRAPPED)
    root.put(f'{VENDOR_UNITS}/pure-ftpd.service', '[Service]\nExecStart=/opt/ftp/bin/pure-ftpd -B\n')
    assert root.report('pure-ftpd')['enforced_by'] == [{'mechanism': 'libwrap', 'binary': '/opt/ftp/bin/pure-ftpd'}]


def test_a_script_is_read_and_never_run(root, tmp_path):
    ran = tmp_path / 'ran'
    script = root.put('usr/sbin/in.fingerd', f'#!/bin/sh\ntouch {ran}\n')
    script.chmod(0o755)
    assert root.report('in.fingerd')['notes'] == ['/usr/sbin/in.fingerd does not link libwrap']
    assert not ran.exists()


MALFORMED = [
    ('truncated-program-headers', WRAPPED[:150], 'program headers: 112 bytes at offset 64 are past the end of the file (150 bytes)'),
    ('truncated-dynamic-section', WRAPPED[:200], 'no string table for the dynamic section'),
    # offsets in build_elf64's layout: e_phnum at 56, the DT_NEEDED entry's string offset at 184
    ('too-many-program-headers', WRAPPED[:56] + struct.pack('<H', 5000) + WRAPPED[58:], 'implausible program header count 5000'),
    ('name-past-the-end', WRAPPED[:184] + struct.pack('<Q', 1 << 40) + WRAPPED[192:], 'unterminated library name in the string table'),
    ('neither-elf-nor-script', b'MZ\x90\x00', 'neither an ELF file nor a #! script'),
]


@pytest.mark.parametrize('data, message', [case[1:] for case in MALFORMED], ids=[case[0] for case in MALFORMED])
def test_a_malformed_binary_is_a_note_naming_the_fault(root, data, message):
    root.put('usr/sbin/sshd', data)
    report = root.report('sshd')
    assert (report['nobody'], report['notes']) == (True, [f'cannot read /usr/sbin/sshd ({message})'])


def test_a_fifo_named_like_a_daemon_does_not_hang_the_report(root):
    (root.path / 'usr/sbin').mkdir(parents=True)
    os.mkfifo(str(root.path / 'usr/sbin/sshd'))
    assert root.report('sshd')['notes'] == ['cannot read /usr/sbin/sshd (not a regular file)']


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to make a device node')
def test_a_device_a_link_leads_to_is_never_opened(root, monkeypatch):
    """A user who can write where a daemon's program lives links it to a device: opening
    /dev/watchdog arms it (the host reboots), so the node is only held, never opened."""
    (root.path / 'dev').mkdir()
    os.mknod(str(root.path / 'dev/watchdog'), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    root.link('usr/local/sbin/sshd', '/dev/watchdog')
    opened = record_opens(monkeypatch)
    report = root.report('sshd')
    monkeypatch.undo()
    assert 'watchdog' not in opened
    assert report['notes'] == ['cannot read /usr/local/sbin/sshd (not a regular file)']


# ---------------------------------------------------------------- tcpd

def test_a_tcpd_socket_unit_enforces_the_wrapped_daemon(root):
    root.put(f'{UNITS}/telnet.socket', render_socket(TELNET, []))
    root.put(f'{UNITS}/telnet@.service', render_service(TELNET))
    root.put('usr/local/sbin/in.telnetd', PLAIN)
    report = root.report('in.telnetd')
    assert report['enforced_by'] == [{'mechanism': 'tcpd', 'unit': 'telnet.socket', 'service': 'telnet@.service',
                                      'file': f'/{UNITS}/telnet@.service'}]
    assert report['notes'] == ['/usr/local/sbin/in.telnetd does not link libwrap']
    assert root.report('telnet-banner')['nobody'] is True


@pytest.mark.parametrize('exec_start, socket, note', [
    # Without "@" tcpd's argv[0] is tcpd itself: it would match the rules of "tcpd".
    ('/usr/sbin/tcpd /usr/local/sbin/in.telnetd', 'ListenStream=23\nAccept=yes\n', None),
    ('@/usr/sbin/tcpd /usr/local/sbin/in.telnetd', None, 'telnet@.service runs it behind tcpd but no socket unit starts it'),
    # Accept=no starts telnet.service, not the template.
    ('@/usr/sbin/tcpd /usr/local/sbin/in.telnetd', 'ListenStream=23\n', 'telnet@.service runs it behind tcpd but no socket unit starts it'),
], ids=['no-argv0', 'no-socket', 'socket-without-accept'])
def test_tcpd_that_serves_no_connection_enforces_nothing(root, exec_start, socket, note):
    root.put(f'{UNITS}/telnet@.service', f'[Service]\nExecStart={exec_start}\nStandardInput=socket\n')
    if socket:
        root.put(f'{UNITS}/telnet.socket', f'[Socket]\n{socket}')
    report = root.report('in.telnetd')
    assert (report['enforced_by'], report['notes']) == ([], ['no binary of it found on this host'] + ([note] if note else []))


def test_a_masked_socket_starts_nothing(root):
    root.put(f'{VENDOR_UNITS}/telnet.socket', render_socket(TELNET, []))
    root.put(f'{VENDOR_UNITS}/telnet@.service', render_service(TELNET))
    root.link(f'{UNITS}/telnet.socket', '/dev/null')     # dangling in the fake root, a device on a host: masked
    assert root.report('in.telnetd')['enforced_by'] == []


# ---------------------------------------------------------------- IP filters

def test_tcpwrap_filter_dropin_enforces_the_daemon_its_header_names(root):
    policy = tables('sshd : 192.168.\n', 'ALL : ALL\n')
    root.put(f'{UNITS}/ssh.service', SSH_UNIT)
    dropin = put_ssh_filter(root, policy)
    assert _tcpwrap_filter.DROPIN_NAME == enforcement.FILTER_DROPIN
    expected = [{'mechanism': 'ip_filter', 'unit': 'ssh.service', 'file': '/' + str(dropin.relative_to(root.path))}]
    assert root.report('sshd', policy)['enforced_by'] == expected
    # Without the tables (tcpwrap_rule's warnings) the filter counts as it is.
    assert root.report('sshd')['enforced_by'] == expected


def test_a_filter_compiled_from_an_earlier_policy_is_a_problem(root):
    root.put(f'{UNITS}/ssh.service', SSH_UNIT)
    dropin = '/' + str(put_ssh_filter(root, tables('sshd : 192.168.\n', 'ALL : ALL\n')).relative_to(root.path))
    report = root.report('sshd', tables('sshd : 192.168. 10.\n', 'ALL : ALL\n'))
    message = (f'the IP filter of ssh.service ({dropin}) grants 192.168.0.0/16 but the policy grants 10.0.0.0/8 '
               '192.168.0.0/16, so it does not enforce the policy (a filter compiled from an earlier policy is '
               'rewritten by running the task that wrote it again)')
    assert (report['enforced_by'], report['problems'], report['notes']) == (
        [], [message], ['no binary of it found on this host', message])


def test_a_filter_is_compared_by_the_addresses_it_grants(root):
    """Any spelling that grants the same addresses holds the policy; a later empty assignment resets."""
    root.put(f'{UNITS}/ssh.service', SSH_UNIT)
    root.put(f'{UNITS}/ssh.service.d/10-local.conf', '[Service]\nIPAddressAllow=1.2.3.4\nIPAddressDeny=any\n')
    root.put(f'{UNITS}/ssh.service.d/20-local.conf',
             '[Service]\nIPAddressAllow=\nIPAddressAllow=192.168.0.0/17 192.168.128.0/17\nIPAddressDeny=0.0.0.0/0 ::/0\n')
    policy = tables('sshd : 192.168.\n', 'ALL : ALL\n')
    assert root.report('sshd', policy)['enforced_by'] == [
        {'mechanism': 'ip_filter', 'unit': 'ssh.service', 'file': f'/{UNITS}/ssh.service.d/20-local.conf'}]


def test_a_filter_of_a_policy_no_filter_can_hold_is_a_problem(root):
    root.put(f'{UNITS}/ssh.service', SSH_UNIT + 'IPAddressDeny=any\n')
    report = root.report('sshd', tables('sshd : LOCAL\n', 'ALL : ALL\n'))
    assert report['problems'] == [
        f'the IP filter of ssh.service (/{UNITS}/ssh.service) cannot hold the policy, which no IP filter can express '
        f'({ALLOW} line 1: cannot be compiled into an IP filter: LOCAL matches host names without a dot)']


def test_a_jailed_unit_filters_the_daemon_it_runs(root):
    root.put(f'{UNITS}/web-filtered.service', WEB_FILTERED)
    root.put('usr/sbin/lighttpd', PLAIN)
    report = root.report('lighttpd', tables('lighttpd : 192.168.\n', 'ALL : ALL\n'))
    assert report['enforced_by'] == [{'mechanism': 'ip_filter', 'unit': 'web-filtered.service', 'file': f'/{UNITS}/web-filtered.service'}]
    assert report['notes'] == ['/usr/sbin/lighttpd does not link libwrap',
                               'web-filtered.service runs it in a jail, whose copy of the binary is not inspected']


def test_a_filter_on_a_tcpd_socket_filters_the_wrapped_daemon(root):
    policy = tables('in.telnetd : 192.168.\n', 'ALL : ALL\n')
    filtered = compile_policy(policy, 'in.telnetd', FakeEnv()).properties()
    root.put(f'{UNITS}/telnet.socket', render_socket(TELNET, [(name, [value]) for name, value in filtered]))
    root.put(f'{UNITS}/telnet@.service', render_service(TELNET))
    assert [item['mechanism'] for item in root.report('in.telnetd', policy)['enforced_by']] == ['tcpd', 'ip_filter']


def test_a_filter_on_the_service_an_accepting_socket_starts_filters_nothing(root):
    """systemd does not apply a service's IP filter to the connection its socket passes in."""
    root.put(f'{UNITS}/telnet.socket', render_socket(TELNET, []))
    root.put(f'{UNITS}/telnet@.service', render_service(TELNET))
    root.put(f'{UNITS}/telnet@.service.d/{enforcement.FILTER_DROPIN}',
             '# The TCP wrappers policy of /etc/hosts.allow and /etc/hosts.deny for daemon "in.telnetd",\n'
             '[Service]\nIPAddressAllow=192.168.0.0/16\nIPAddressDeny=any\n')
    report = root.report('in.telnetd', tables('in.telnetd : 192.168.\n', 'ALL : ALL\n'))
    assert [item['mechanism'] for item in report['enforced_by']] == ['tcpd']
    assert report['problems'] == [
        f'the IP filter of telnet@.service (/{UNITS}/telnet@.service.d/{enforcement.FILTER_DROPIN}) does not apply to '
        'the connections telnet.socket passes in; set it on the socket unit']


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to make a device node')
def test_a_device_in_place_of_a_unit_file_is_never_opened(root, monkeypatch):
    """Whoever can write a unit directory puts a device where a unit file is looked for: the
    node is held and seen not to be a unit, never opened (a watchdog's open arms it)."""
    (root.path / UNITS).mkdir(parents=True)
    os.mknod(str(root.path / UNITS / 'ssh.service'), 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    opened = record_opens(monkeypatch)
    units = InstalledUnits(str(root.path)).units()
    monkeypatch.undo()
    assert 'ssh.service' not in opened
    assert 'ssh.service' not in units


def test_a_unit_in_etc_hides_the_vendor_unit_of_that_name(root):
    root.put(f'{VENDOR_UNITS}/ssh.service', SSH_UNIT + 'IPAddressDeny=any\n')
    root.put(f'{UNITS}/ssh.service', SSH_UNIT)
    assert root.report('sshd')['enforced_by'] == []


# ---------------------------------------------------------------- the units and the names

def test_parse_unit_joins_continuations_and_keeps_comments():
    assert parse_unit('# one\n[Service]\nExecStart=/bin/a \\\n  -x\n; two\nUser = web\n') == (
        [('Service', 'ExecStart', '/bin/a -x'), ('Service', 'User', 'web')], ['# one', '; two'])


@pytest.mark.parametrize('value, expected', [
    ('/usr/sbin/sshd -D', ('', ['/usr/sbin/sshd', '-D'])),
    ('@/usr/sbin/tcpd /usr/local/sbin/in.telnetd -E "a b"', ('@', ['/usr/sbin/tcpd', '/usr/local/sbin/in.telnetd', '-E', 'a b'])),
    ('-!/usr/bin/x', ('-!', ['/usr/bin/x'])),
    ('/bin/"unterminated', ('', [])),
    ('@', ('@', [])),
])
def test_split_exec(value, expected):
    assert split_exec(value) == expected


def test_unreadable_units_are_listed_not_fatal(root):
    root.link(f'{UNITS}/loop.service', 'loop.service')
    units = InstalledUnits(str(root.path))
    assert units.units() == {}
    assert units.errors == [f'unit file: /{UNITS}/loop.service: too many levels of symbolic links']


@pytest.mark.parametrize('name, named', [
    ('sshd', True), ('in.telnetd', True), ('ALL', False), ('all', False), ('LOCAL', False), ('EXCEPT', False),
    ('s*', False), ('ssh?', False), ('in.', False), ('.d', False), ('/etc/daemons', False), ('22', False),
    ('..', False), ('a/b', False), ('', False),
])
def test_is_daemon_name(name, named):
    assert enforcement.is_daemon_name(name) is named


def test_named_daemons_first_naming_then_queries_once_whatever_the_case():
    policy = tables('sshd, in.telnetd@192.0.2.1 : ALL\nALL EXCEPT vsftpd : LOCAL\n', 'SSHD : ALL\nALL : ALL\n')
    assert enforcement.named_daemons(policy, ['Vsftpd', 'lighttpd', 'ALL']) == [
        ('sshd', ALLOW, 1), ('in.telnetd', ALLOW, 1), ('vsftpd', ALLOW, 2), ('lighttpd', None, None)]


# ---------------------------------------------------------------- reports and warnings

def test_enforcement_report_lists_nobody_as_a_problem_on_the_first_rule_naming_the_daemon(root, monkeypatch):
    monkeypatch.setattr(enforcement, 'HOST_ROOT', str(root.path))
    root.put('usr/sbin/sshd', WRAPPED)
    policy = tables('sshd : 192.168.\n\nvsftpd : ALL\n', 'ALL : ALL\n')
    reports, problems = enforcement.enforcement_report(policy, ['ghost'], FakeEnv())
    assert [(report['daemon'], report['nobody']) for report in reports] == [('sshd', False), ('vsftpd', True), ('ghost', True)]
    assert problems == [
        {'file': ALLOW, 'line': 3, 'severity': 'warning',
         'message': 'daemon "vsftpd": nobody enforces its TCP wrappers rules on this host (no binary of it found on '
                    'this host; no tcpd socket unit or systemd IP filter serves it)'},
        {'file': None, 'line': None, 'severity': 'warning',
         'message': 'daemon "ghost": nobody enforces its TCP wrappers rules on this host (no binary of it found on '
                    'this host; no tcpd socket unit or systemd IP filter serves it)'},
    ]


def test_daemon_warnings_spare_daemons_that_tcpd_or_a_filter_enforce(root, monkeypatch):
    """tcpwrap_rule warned about every daemon without libwrap, even one behind tcpd or a filter."""
    monkeypatch.setattr(enforcement, 'HOST_ROOT', str(root.path))
    root.put(f'{UNITS}/telnet.socket', render_socket(TELNET, []))
    root.put(f'{UNITS}/telnet@.service', render_service(TELNET))
    root.put(f'{UNITS}/web-filtered.service', WEB_FILTERED)
    root.put('usr/local/sbin/in.telnetd', PLAIN)
    root.put('usr/sbin/nginx', PLAIN)
    assert enforcement.daemon_warnings(['in.telnetd', 'lighttpd', 'nginx', 'ALL', 's*']) == [
        'daemon "nginx": nobody enforces its TCP wrappers rules on this host (/usr/sbin/nginx does not link libwrap; '
        'no tcpd socket unit or systemd IP filter serves it)']
