# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""ssh_jail end to end: check everything, validate with ``sshd -t``, then write and reload.

Order matters. Every refusal (accounts, lockout, the jail's ownership, the writable
directories' parents), the ``sshd -t`` run on a candidate configuration and the ``sshd -T``
check that sshd would apply the block to the jailed accounts happen before the first write,
so a bad request leaves the files and the running sshd alone. With ``state=present`` the
directories and their noexec mounts come first and the sshd block last (nobody is jailed
before uploads are noexec); ``state=absent`` removes the block first. The host is reached
through a ``System`` (commands and atomic writes) so tests can stand in for it.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import ipaddress
import os
import posixpath
import pwd
import shutil
import stat
import tempfile

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import JailError, check_jail_root
from ansible_collections.serversec.confine.plugins.module_utils._fileio import (
    FileIOError,
    read_if_exists,
    write_atomic,
    write_new,
)
from ansible_collections.serversec.confine.plugins.module_utils._jail_exec import jail_path_exists
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail import (
    DROPIN_DIR,
    MAIN_CONFIG,
    SshdConfig,
    SshJailError,
    block_directives,
    check_accounts,
    check_lockout,
    connected_users,
    effective_conflicts,
    keys_may_be_inside,
    probe_accounts,
    render_block,
)
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_keys import install_keys
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import ssh_connection
from ansible_collections.serversec.confine.plugins.module_utils._ssh_jail_mounts import (
    UNIT_DIR,
    check_unit_owners,
    desired_units,
    ensure_devlog_placeholder,
    ensure_directory,
    installed_units,
    mount_options,
    resolve_owner,
)

SSHD_UNITS = ('ssh.service', 'sshd.service')
# lstat used for the jail's ancestors (tests trust the system temp dir through it)
jail_root_lstat = os.lstat


def read_text(path):
    """A config file's text, or None when it does not exist (a FIFO or directory is refused)."""
    try:
        data = read_if_exists(path)
    except FileIOError as exc:
        raise SshJailError(str(exc))
    return None if data is None else data.decode('utf-8')


def load_sshd_config(name, main_path=MAIN_CONFIG, dropin_dir=DROPIN_DIR):
    main = read_text(main_path)
    if main is None:
        raise SshJailError(f'{main_path} does not exist: is openssh-server installed?')
    dropins = {}
    if os.path.isdir(dropin_dir):
        for entry in sorted(os.listdir(dropin_dir)):
            text = read_text(posixpath.join(dropin_dir, entry))
            if text is not None:
                dropins[entry] = text
    return SshdConfig(name, main, dropins, main_path=main_path, dropin_dir=dropin_dir)


class System:
    """The managed host as ssh_jail changes it, through AnsibleModule."""

    def __init__(self, module):
        self.module = module

    def run(self, argv):
        rc, out, err = self.module.run_command(argv)
        return rc, out, err

    def systemctl(self, *args):
        rc, out, err = self.run(['systemctl'] + list(args))
        if rc != 0:
            raise SshJailError(f"systemctl {' '.join(args)} failed: {(err or out).strip()}")
        return out

    def write(self, path, text, mode=0o644):
        """Replace ``path`` atomically through the I/O layer; ``mode`` only if it creates the file
        (an existing sshd_config keeps its own, 0600 on hardened hosts), but no file it writes
        stays writable by group or others (who could then add to sshd's configuration)."""
        try:
            existing = os.lstat(path)
        except FileNotFoundError:
            existing = None
        except OSError as exc:
            raise SshJailError(f'{path}: {exc.strerror}')
        if existing is not None and stat.S_ISREG(existing.st_mode) and existing.st_mode & 0o022:
            # the old file first: the new one takes its mode in the rename, never writable meanwhile
            self.module.set_mode_if_different(path, stat.S_IMODE(existing.st_mode) & ~0o022, False)
        try:
            write_atomic(self.module, path, text.encode('utf-8'), create_mode=mode)
        except FileIOError as exc:
            raise SshJailError(str(exc))

    def backup(self, path):
        """A timestamped copy of ``path`` next to it (as lineinfile's ``backup``); its name."""
        return self.module.backup_local(path)

    def unlink(self, path):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def mountinfo(self):
        with open('/proc/self/mountinfo') as handle:
            return handle.read()


# Any connection: what it is asked for (the Port lines) cannot be set in a Match block.
PORTS_QUERY = 'user=root,host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22'


def probe_connections(ports, connection=None):
    """``sshd -C`` specs (without the user) of the connections the jailed accounts' settings are
    judged for: from localhost to each of sshd's ``ports``, and from the controller's address to
    the server's when Ansible came in over SSH (as host, like UseDNS no), so that Match blocks on
    Address, Host, LocalAddress and LocalPort are judged for them."""
    specs = [f'host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport={port}' for port in ports]
    client = ssh_connection() if connection is None else connection
    if client and all(_is_address(address) for address in client) and client[0] != '127.0.0.1':
        specs += [f'host={client[0]},addr={client[0]},laddr={client[1]},lport={port}' for port in ports]
    return specs


def _is_address(text):
    """An IP address (SSH_CONNECTION comes from the environment: nothing else goes into -C)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def sshd_ports(dump):
    """The ports of ``sshd -T``'s output (22 when it names none)."""
    ports = [words[1] for words in (line.split() for line in dump.splitlines())
             if len(words) == 2 and words[0].lower() == 'port' and words[1].isascii() and words[1].isdigit()]
    return ports or ['22']


def sshd_validate(system, config, text, sshd, directives=(), probes=()):
    """``sshd -t`` on the whole configuration with ``text`` in place of ours; raise naming the cause.
    Then ``sshd -T`` of each (what, user) of ``probes``: raise when sshd would not apply one of
    ``directives`` to that user (sshd keeps the first value it obtains, so an earlier Match block
    or drop-in wins).

    The candidates live in a private temporary directory: nothing under /etc changes, and
    sshd resolves relative Include lines against /etc/ssh whatever file -f names.
    """
    private = tempfile.mkdtemp(prefix='serversec-ssh_jail.')
    candidate = None
    main = posixpath.join(private, 'sshd_config')

    def cause(out, err):
        text = (err or out).strip().replace(main, config.main_path)
        return text.replace(candidate, config.dropin_path) if candidate else text

    try:
        if config.uses_dropin:
            if text is not None:
                candidate = posixpath.join(private, posixpath.basename(config.dropin_path))
                _write_private(candidate, text)
            _write_private(main, config.candidate_main(candidate))
        else:
            _write_private(main, text)
        rc, out, err = system.run([sshd, '-t', '-f', main])
        if rc != 0:
            raise SshJailError(f'sshd -t rejects the configuration with the new {config.path}, nothing was changed: '
                               f'{cause(out, err)}')
        connections = []
        if probes:
            # the ports are global, but sshd -T without a full -C fails on a Match it cannot judge
            rc, out, err = system.run([sshd, '-T', '-f', main, '-C', PORTS_QUERY])
            if rc != 0:
                raise SshJailError(f'sshd -T failed with the new {config.path}, nothing was changed: {cause(out, err)}')
            connections = probe_connections(sshd_ports(out))
        for what, user in probes:
            for connection in connections:
                addr = connection.split(',')[1].split('=', 1)[1]
                rc, out, err = system.run([sshd, '-T', '-f', main, '-C', f'user={user},{connection}'])
                if rc != 0:
                    raise SshJailError(f'sshd -T (the settings sshd would apply to {what}) failed with the new '
                                       f'{config.path}, nothing was changed: {cause(out, err)}')
                conflicts = effective_conflicts(directives, out)
                if conflicts:
                    keyword, wanted, effective = conflicts[0]
                    used = f"'{keyword} {effective}'" if effective is not None else f'no {keyword} (sshd -T does not show it)'
                    raise SshJailError(
                        f"{what}: with the new {config.path}, sshd would use {used} for a login from {addr}, not "
                        f"'{keyword} {wanted}' of this jail: an earlier Match block or drop-in (or a line of "
                        f'{config.main_path} before the block) sets {keyword} first, and sshd keeps the first value '
                        'it obtains. Change or remove that setting; nothing was changed.')
    finally:
        shutil.rmtree(private, ignore_errors=True)


def _write_private(path, text):
    write_new(path, text.encode('utf-8'))


def reload_sshd(system):
    """Reload the running sshd; returns the unit reloaded, or None when none runs."""
    for unit in SSHD_UNITS:
        rc, out, _err = system.run(['systemctl', 'is-active', unit])
        if rc == 0 and out.strip() == 'active':
            system.systemctl('reload', unit)
            return unit
    return None


class SshJail:
    """One run of the module; ``execute`` returns the result dict."""

    def __init__(self, spec, system, find_sshd, check_mode=False, allow_lockout=False, backup=False, devlog='/dev/log',
                 unit_dir=UNIT_DIR, main_path=MAIN_CONFIG, dropin_dir=DROPIN_DIR):
        self.spec = spec
        self.system = system
        self.find_sshd = find_sshd  # looked up only when there is something to validate or check
        self.check_mode = check_mode
        self.allow_lockout = allow_lockout
        self.backup = backup
        self.backup_file = None
        self.devlog = devlog
        self.unit_dir = unit_dir
        self.main_path = main_path
        self.dropin_dir = dropin_dir
        self.changes = []
        self.diffs = []
        self.warnings = []
        self.jail_missing = False

    def _check(self):
        spec = self.spec
        if spec.state == 'absent':
            return []  # removing a jail locks nobody out
        check_accounts(spec)
        if not self.allow_lockout:
            check_lockout(spec, connected_users())
        try:
            missing = check_jail_root(spec.jail, jail_root_lstat)
        except JailError as exc:
            raise SshJailError(f'{exc} (OpenSSH refuses such a ChrootDirectory)')
        if missing and not self.check_mode:
            raise SshJailError(f'jail {spec.jail} does not exist: build it first (serversec.confine.chroot_jail)')
        self.jail_missing = bool(missing)
        owners = []
        for item in spec.writable:
            try:
                owners.append((item, resolve_owner(item['owner'], item['group'])))
            except SshJailError:
                if not self.check_mode:  # in check mode the user may be created by an earlier task
                    raise
                owners.append((item, None))
        return owners

    def execute(self):
        spec = self.spec
        owners = self._check()
        devlog_source = None
        if spec.state == 'present':
            if keys_may_be_inside(os.path.realpath(spec.authorized_keys_file), os.path.realpath(spec.jail)):
                raise SshJailError(f'authorized_keys_file {spec.authorized_keys_file!r} leads into the jail {spec.jail} '
                                   'through a symbolic link on the host, where a jailed user could change who logs '
                                   'in; keep the keys outside the jail')
            devlog_source = os.path.realpath(self.devlog) if os.path.exists(self.devlog) else None
            planned = self._directories(owners, devlog_source, dry_run=True)  # refusals before any write
            check_unit_owners(spec.name, desired_units(spec, devlog_source), self.unit_dir)
        config = load_sshd_config(spec.name, self.main_path, self.dropin_dir)
        before = config.current()
        after = config.desired(render_block(spec) if spec.state == 'present' else None)
        if spec.state == 'present':  # also unchanged: a Match block or drop-in added since may cancel the jail
            sshd_validate(self.system, config, after, self.find_sshd(), block_directives(spec), probe_accounts(spec))
        elif before != after:
            sshd_validate(self.system, config, after, self.find_sshd())
        if before != after:
            self.diffs.append({'before_header': config.path, 'after_header': config.path,
                               'before': before or '', 'after': after or ''})
        if spec.state == 'present':
            self._check_shells()
            keys_changes, keys_diffs = install_keys(spec.keys_files, self.check_mode)
            self.changes += keys_changes
            self.diffs += keys_diffs
            self.changes += planned if self.check_mode else self._directories(owners, devlog_source, dry_run=False)
            self._mounts(desired_units(spec, devlog_source))
        reloaded = self._config(config, before, after)
        if spec.state == 'absent':
            self._mounts({})
        result = {'changed': bool(self.changes), 'changes': self.changes, 'path': config.path,
                  'dropin': config.uses_dropin, 'reloaded': reloaded,
                  'devlog': bool(devlog_source), 'mounts': sorted(desired_units(spec, devlog_source))
                  if spec.state == 'present' else []}
        if self.backup_file:
            result['backup_file'] = self.backup_file
        return result

    def _check_shells(self):
        """sshd runs a shell user's login shell inside the jail: say so when it is not there."""
        if self.spec.mode != 'shell' or self.jail_missing:
            return
        for name in self.spec.users:
            try:
                shell = pwd.getpwnam(name).pw_shell or '/bin/sh'
            except KeyError:
                continue
            if not jail_path_exists(self.spec.jail, shell):
                self.warnings.append(f'user {name}: login shell {shell} is not in the jail {self.spec.jail}, '
                                     'so the login will fail (add it to the jail with chroot_jail)')

    def _directories(self, owners, devlog_source, dry_run):
        """The writable directories and the /dev/log mount point; what changes (or would)."""
        changes = []
        for item, ids in owners:
            if self.jail_missing or ids is None:
                changes.append(f"create {item['path']}")
            else:
                changes += ensure_directory(self.spec.jail, item['path'], ids[0], ids[1], item['mode'], dry_run)
        if devlog_source:
            changes += ['create /dev/log'] if self.jail_missing else ensure_devlog_placeholder(self.spec.jail, dry_run)
        return changes

    def _config(self, config, before, after):
        if before == after:
            return None
        self.changes.append(f"{'remove' if after is None else 'write'} {config.path}")
        if self.check_mode:
            return None
        if self.backup and before is not None:
            self.backup_file = self.system.backup(config.path)
        if after is None:
            self.system.unlink(config.path)
        else:
            self.system.write(config.path, after)
        return reload_sshd(self.system)

    def _mounts(self, desired):
        installed = installed_units(self.spec.name, self.unit_dir)
        mountinfo = self.system.mountinfo()
        reload_needed = False
        for unit in sorted(set(installed) - set(desired)):
            self.changes.append(f'remove mount {unit}')
            self.diffs.append({'before_header': f'{self.unit_dir}/{unit}', 'after_header': f'{self.unit_dir}/{unit}',
                               'before': installed[unit], 'after': ''})
            if not self.check_mode:
                self.system.run(['systemctl', 'disable', '--now', unit])
                self.system.unlink(posixpath.join(self.unit_dir, unit))
                reload_needed = True
        start = []
        for unit, (where, flags, text) in sorted(desired.items()):
            if installed.get(unit) != text:
                self.changes.append(f'write mount {unit}')
                self.diffs.append({'before_header': f'{self.unit_dir}/{unit}', 'after_header': f'{self.unit_dir}/{unit}',
                                   'before': installed.get(unit, ''), 'after': text})
                if not self.check_mode:
                    self.system.write(posixpath.join(self.unit_dir, unit), text)
                reload_needed = True
                start.append(unit)
            elif not flags <= (mount_options(where, mountinfo) or set()):
                self.changes.append(f'mount {where}')
                start.append(unit)
        if self.check_mode:
            return
        if reload_needed:
            self.system.systemctl('daemon-reload')
        for unit in start:
            self.system.systemctl('enable', unit)
            self.system.systemctl('restart', unit)
        if start:
            mountinfo = self.system.mountinfo()
            for unit in start:
                where, flags, _text = desired[unit]
                have = mount_options(where, mountinfo) or set()
                if not flags <= have:
                    raise SshJailError(f'{unit} is active but {where} is not mounted {",".join(sorted(flags))} '
                                       f'(options: {",".join(sorted(have)) or "not mounted"})')
