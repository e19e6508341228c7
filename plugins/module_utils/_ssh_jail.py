# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the serversec.confine collection: this is not a public API and
# may change without notice. Do not import it from outside the collection.

"""What ssh_jail is asked for, and the sshd configuration text it implies.

``SshJailSpec`` validates the options (names sshd would read as patterns are refused);
``render_block`` writes the ``Match`` blocks; ``SshdConfig`` decides where they live (a drop-in
when the main sshd_config includes ``sshd_config.d/*.conf``, else a managed block at the end
of sshd_config) and builds the candidate main configuration that ``sshd -t -f`` validates with
the new text in place, before anything is installed; ``probe_accounts`` and
``effective_conflicts`` check with ``sshd -T`` that sshd would apply the blocks (an earlier Match
block or drop-in may set the same keywords first). ``connected_users`` and ``check_lockout`` keep Ansible from jailing the account it logs in with.
"""

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

import fnmatch
import grp
import os
import posixpath
import pwd
import re

from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import parse_mode, JailError
from ansible_collections.serversec.confine.plugins.module_utils._jail_exec import numeric_id
from ansible_collections.serversec.confine.plugins.module_utils._paths import check_abs_path
from ansible_collections.serversec.confine.plugins.module_utils._tcpwrap_host import ssh_connection

SSH_DIR = '/etc/ssh'
MAIN_CONFIG = '/etc/ssh/sshd_config'
DROPIN_DIR = '/etc/ssh/sshd_config.d'
NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*\Z')
# Plain account names only: sshd reads '*', '?', '!' and ',' in Match as patterns.
ACCOUNT_RE = re.compile(r'^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?\Z')
SFTP_COMMAND = 'internal-sftp -l INFO -u 0077'
# Every kind of forwarding off; DisableForwarding (OpenSSH 7.4) covers future kinds too.
LOCKDOWN = (
    ('DisableForwarding', 'yes'),
    ('AllowTcpForwarding', 'no'),
    ('AllowAgentForwarding', 'no'),
    ('AllowStreamLocalForwarding', 'no'),
    ('X11Forwarding', 'no'),
    ('PermitTunnel', 'no'),
    ('GatewayPorts', 'no'),
    ('PermitUserRC', 'no'),
)
UNSET_LOGINUID = 4294967295


class SshJailError(Exception):
    """Bad input or an unsafe situation; the message names the field or path."""


# Paths go into sshd_config and unit files unquoted: no spaces, quotes, '%' or '\\'.
PATH_RE = re.compile(r'^[A-Za-z0-9_./@+:-]+\Z')


def _abs(path, what):
    path = check_abs_path(path, what, error=SshJailError)
    if not PATH_RE.match(path):
        raise SshJailError(f'{what} {path!r}: use letters, digits and "_./@+:-" only (no spaces, quotes or "%")')
    return path


def keys_text(user, keys):
    """The text of ``user``'s authorized keys file: one key a line, as the role wrote it before."""
    for key in keys:
        if not isinstance(key, str) or any(c in key for c in '\n\r\0'):
            raise SshJailError(f'authorized_keys {user}: {key!r} is not one line (each key is one line of the file)')
    return '\n'.join(keys) + '\n'


class SshJailSpec:
    """Validated module options."""

    def __init__(self, name, jail, users=None, groups=None, mode='sftp', writable=None,
                 authorized_keys_file='/etc/ssh/authorized_keys/%u', state='present', authorized_keys=None):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise SshJailError(f'name {name!r}: use letters, digits, "_", "." and "-" (it names a file)')
        self.name = name
        self.state = state
        self.users = [self._account(u, 'users') for u in users or []]
        self.groups = [self._account(g, 'groups') for g in groups or []]
        if not self.users and not self.groups:
            raise SshJailError('give users and/or groups to jail')
        if mode not in ('sftp', 'shell'):
            raise SshJailError(f"mode {mode!r}: choose 'sftp' or 'shell'")
        self.mode = mode
        self.jail = _abs(jail, 'jail')
        if self.jail == '/':
            raise SshJailError("refusing to use '/' as a jail")
        keys = authorized_keys_file or ''
        if not keys.startswith('/') or any(c.isspace() for c in keys) or '..' in keys.split('/'):
            raise SshJailError(f'authorized_keys_file {keys!r}: give one absolute host path '
                               '(it is read before the chroot), e.g. /etc/ssh/authorized_keys/%u')
        self._keys_outside_jail(keys)
        self.authorized_keys_file = keys
        self.writable = [self._writable(item) for item in writable or []]
        self._no_nesting()
        self.keys_files = self._keys_files(authorized_keys)

    def _keys_files(self, authorized_keys):
        """``{host path: text}`` of the keys files asked for (``%u`` of the file replaced)."""
        if authorized_keys is None:
            return {}
        if self.state != 'present':
            raise SshJailError('authorized_keys: give it only with state=present')
        template = self.authorized_keys_file
        if template.count('%u') != 1 or '%' in template.replace('%u', '') or posixpath.dirname(template) == '/':
            raise SshJailError(f'authorized_keys: authorized_keys_file {template!r} must name one file per user, '
                               'with %u once and no other % token, in a directory below /')
        if '%u' in posixpath.dirname(template):
            raise SshJailError(f'authorized_keys: authorized_keys_file {template!r}: %u must be in the file name')
        files = {}
        for user, keys in authorized_keys.items():
            if user not in self.users:
                raise SshJailError(f'authorized_keys: {user!r} is not in users (only the jailed users\' keys are written)')
            if not isinstance(keys, list):
                raise SshJailError(f'authorized_keys {user}: give a list of keys')
            files[template.replace('%u', user)] = keys_text(user, keys)
        return files

    def _keys_outside_jail(self, keys):
        """Refuse a keys file whose directory is (or, through a % token, may be) the jail or below it:
        root in the jail, or the owner of a writable directory, could change who logs in."""
        if keys_may_be_inside(keys, self.jail):
            raise SshJailError(f'authorized_keys_file {keys!r}: its directory is (or may be) inside the jail {self.jail}, '
                               'where a jailed user could change who logs in; keep the keys outside the jail, '
                               'e.g. /etc/ssh/authorized_keys/%u')

    def _no_nesting(self):
        """A writable directory is user-owned, but the parents of a mounted one must be root-owned."""
        paths = [item['path'] for item in self.writable]
        for index, inner in enumerate(paths):
            if inner in paths[:index]:
                raise SshJailError(f'writable {inner} is given twice')
            outer = next((p for p in paths if inner.startswith(f'{p}/')), None)
            if outer:
                raise SshJailError(f'writable {inner} is inside writable {outer}: every directory above a writable one '
                                   'must stay root-owned, so writable directories cannot nest')

    @staticmethod
    def _account(value, what):
        value = str(value)
        if not ACCOUNT_RE.match(value):
            raise SshJailError(f'{what}: {value!r} is not a plain user or group name (no patterns, spaces or commas)')
        return value

    def _writable(self, item):
        if isinstance(item, str):
            item = {'path': item}
        path = _abs(item.get('path'), 'writable path')
        if path == '/':
            raise SshJailError('writable path / is the jail root: OpenSSH requires it to stay root-owned')
        owner = item.get('owner') or (self.users[0] if len(self.users) == 1 else None)
        if not owner:
            raise SshJailError(f'writable {path}: give an owner (the block jails more than one user)')
        try:
            mode = parse_mode(item.get('mode') or '0750', f'writable {path}')
        except JailError as exc:
            raise SshJailError(str(exc))
        if mode & 0o7002:
            raise SshJailError(f'writable {path}: mode {mode:04o} must not be world-writable, setuid, setgid or sticky')
        group = str(item['group']) if item.get('group') else None
        numeric_id(str(owner), f'writable {path}: owner', SshJailError)  # refused before the first write
        if group:
            numeric_id(group, f'writable {path}: group', SshJailError)
        return {'path': path, 'owner': str(owner), 'group': group, 'mode': mode}


def keys_may_be_inside(keys, jail):
    """Whether the keys file ``keys`` may lie in the jail ``jail`` or below it. ``%h`` and ``%d``
    expand to a home directory, slashes and all, so only the text before them is known; another
    ``%`` token may be any text within its own component."""
    path = '/' + posixpath.normpath(keys).lstrip('/')  # sshd reads //x as /x
    spread = [path.index(token) for token in ('%h', '%d') if token in path]
    directory = path[:min(spread)] + '%' if spread else posixpath.dirname(path)
    if '%' in directory:
        literal = directory.split('%', 1)[0]
        return jail.startswith(literal) or literal.startswith(f'{jail}/')
    return directory == jail or directory.startswith(f'{jail}/')


def block_directives(spec):
    """The (keyword, value) pairs each Match block of ``spec`` sets, as written."""
    directives = [('ChrootDirectory', spec.jail), ('AuthorizedKeysFile', spec.authorized_keys_file)]
    if spec.mode == 'sftp':
        directives += [('ForceCommand', SFTP_COMMAND), ('PermitTTY', 'no')]
    return directives + list(LOCKDOWN)


def render_block(spec):
    """The sshd configuration text of ``spec``: one Match block per criterion (users OR groups)."""
    lines = [f'# Managed by serversec.confine.ssh_jail ({spec.name}); do not edit.']
    directives = block_directives(spec)
    for keyword, names in (('User', spec.users), ('Group', spec.groups)):
        if names:
            lines.append(f"Match {keyword} {','.join(names)}")
            lines += [f'    {key} {value}' for key, value in directives]
    return '\n'.join(lines) + '\n'


def probe_accounts(spec, getgrnam=grp.getgrnam, getpwall=pwd.getpwall, getpwnam=pwd.getpwnam):
    """(what, user) pairs whose effective sshd settings show whether the blocks apply: every user,
    and for every group one member (its first listed member that exists, as sshd's Match Group
    looks the account up, else the first account whose primary group it is). A group that does
    not exist or has no member yet is not tested."""
    probes = [(f'user {name}', name) for name in spec.users]
    for name in spec.groups:
        try:
            group = getgrnam(name)
        except KeyError:
            continue
        members = sorted(group.gr_mem) or sorted(p.pw_name for p in getpwall() if p.pw_gid == group.gr_gid)
        # it goes into sshd -C user=NAME,...; a stale name in /etc/group matches no Match Group
        members = [m for m in members if ACCOUNT_RE.match(m) and _account_exists(m, getpwnam)]
        if members:
            probes.append((f'group {name} (tested with its member {members[0]})', members[0]))
    return probes


def _account_exists(name, getpwnam):
    try:
        getpwnam(name)
    except KeyError:
        return False
    return True


def effective_conflicts(directives, dump):
    """The (keyword, wanted value, effective value or None) of ``directives`` that ``dump``, the
    output of ``sshd -T`` (lower-case keywords, values as written), does not have."""
    effective = {}
    for line in dump.splitlines():
        words = line.split(None, 1)
        if words:
            effective.setdefault(words[0].lower(), words[1].strip() if len(words) > 1 else '')
    return [(keyword, value, effective.get(keyword.lower())) for keyword, value in directives
            if effective.get(keyword.lower()) != value]


def _include_globs(text, base=SSH_DIR):
    """(line index, [absolute patterns]) of each top-level Include line of a main config."""
    found = []
    for index, line in enumerate(text.splitlines()):
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        if words[0].lower() == 'match':
            break  # an Include inside a Match block is conditional: not ours to rely on
        if words[0].lower() == 'include':
            found.append((index, [w if w.startswith('/') else posixpath.join(base, w) for w in words[1:]]))
    return found


class SshdConfig:
    """Where the block of one ssh_jail lives, its current text and the candidates to validate."""

    def __init__(self, name, main_text, dropins, main_path=MAIN_CONFIG, dropin_dir=DROPIN_DIR):
        """``dropins`` maps the file names in ``dropin_dir`` to their text."""
        self.main_path = main_path
        self.main_text = main_text
        self.dropins = dropins
        self.dropin_dir = dropin_dir
        self.dropin_path = posixpath.join(dropin_dir, f'{name}.conf')
        self.begin = f'# BEGIN serversec.confine ssh_jail {name}'
        self.end = f'# END serversec.confine ssh_jail {name}'
        self.include_line = None
        for index, patterns in _include_globs(main_text):
            if any(fnmatch.fnmatchcase(self.dropin_path, p) for p in patterns):
                self.include_line = index
                break

    @property
    def uses_dropin(self):
        return self.include_line is not None

    @property
    def path(self):
        return self.dropin_path if self.uses_dropin else self.main_path

    def current(self):
        """The text now in the file that holds the block (None when the drop-in is absent)."""
        if self.uses_dropin:
            return self.dropins.get(posixpath.basename(self.dropin_path))
        return self.main_text

    def desired(self, block):
        """The new text of that file; ``block`` None removes it (drop-in: None means no file)."""
        if self.uses_dropin:
            return block
        lines = self.main_text.splitlines(True)
        kept, inside, found = [], False, False
        for line in lines:
            if line.rstrip('\n') == self.begin:
                inside = found = True
                continue
            if inside:
                if line.rstrip('\n') == self.end:
                    inside = False
                continue
            kept.append(line)
        if inside:
            raise SshJailError(f'{self.main_path}: "{self.begin}" has no matching "{self.end}"; fix it by hand')
        text = ''.join(kept)
        if block is None:
            return text if found else self.main_text
        if text and not text.endswith('\n'):
            text += '\n'
        # At the very end: a Match block lasts until the next Match or the end of the file.
        return f'{text}{self.begin}\n{block}Match all\n{self.end}\n'

    def candidate_main(self, candidate_path):
        """Main config text to validate with ``sshd -t -f``: the Include of the drop-in dir is
        expanded into the same files, in the same order, with ``candidate_path`` standing for
        ours (left out when it is None)."""
        if not self.uses_dropin:
            raise SshJailError('candidate_main is for drop-ins; a managed block is validated as the whole file')
        lines = self.main_text.splitlines()
        patterns = dict(_include_globs(self.main_text))[self.include_line]
        ours = posixpath.basename(self.dropin_path)
        names = {n for n in self.dropins if not n.startswith('.')} - {ours}
        names = sorted(names | ({ours} if candidate_path else set()))
        includes = []
        for pattern in patterns:
            if posixpath.dirname(pattern) != self.dropin_dir:
                includes.append(f'Include {pattern}')
                continue
            for name in names:
                path = posixpath.join(self.dropin_dir, name)
                if fnmatch.fnmatchcase(path, pattern):
                    includes.append(f'Include {candidate_path if name == ours else path}')
        lines[self.include_line] = '\n'.join(includes) if includes else '# (no drop-in)'
        return '\n'.join(lines) + '\n'


def connected_users(environ=None, loginuid_path='/proc/self/loginuid', getpwuid=pwd.getpwuid, connection=ssh_connection):
    """Names of the account Ansible logged in with over SSH (empty when not over SSH).

    become keeps the login uid (pam_loginuid) and sudo sets SUDO_USER; without become USER is it.
    """
    environ = os.environ if environ is None else environ
    if connection() is None:
        return set()
    names = {environ[key] for key in ('SUDO_USER', 'USER', 'LOGNAME') if environ.get(key)}
    try:
        with open(loginuid_path) as handle:
            uid = int(handle.read().strip())
        if uid != UNSET_LOGINUID:
            names.add(getpwuid(uid).pw_name)
    except (OSError, ValueError, KeyError):
        pass
    names.discard('root')  # sudo sets USER=root; root itself is never jailed (check_accounts)
    return names


def check_accounts(spec, getpwnam=pwd.getpwnam, getgrnam=grp.getgrnam):
    """Refuse root and the root group: uid 0 can leave a chroot, and losing root's login hurts."""
    for name in spec.users:
        try:
            uid = getpwnam(name).pw_uid
        except KeyError:
            continue  # sshd matches names; the account may be created later
        if uid == 0:
            raise SshJailError(f'users: {name} has uid 0; root is never jailed (it can leave a chroot)')
    for name in spec.groups:
        try:
            gid = getgrnam(name).gr_gid
        except KeyError:
            continue
        if gid == 0:
            raise SshJailError(f'groups: {name} has gid 0; the root group is never jailed')


def check_lockout(spec, connected, getpwnam=pwd.getpwnam, getgrall=grp.getgrall, getgrgid=grp.getgrgid):
    """Refuse to jail an account Ansible logs in with, directly or through one of its groups."""
    for name in sorted(connected):
        if name in spec.users:
            raise SshJailError(f'refusing to jail user {name}: Ansible is connected as {name} and would lose '
                               'its way in; set allow_lockout=true if you really mean it')
        if not spec.groups:
            continue
        groups = {g.gr_name for g in getgrall() if name in g.gr_mem}
        try:
            groups.add(getgrgid(getpwnam(name).pw_gid).gr_name)
        except KeyError:
            pass
        hit = sorted(groups & set(spec.groups))
        if hit:
            raise SshJailError(f'refusing to jail group {hit[0]}: Ansible is connected as {name}, a member, and would '
                               'lose its way in; set allow_lockout=true if you really mean it')
