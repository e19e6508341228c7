#!/usr/bin/python
# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r'''
---
module: chroot_jail
short_description: Build and maintain a chroot jail from a list of binaries
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Populates a chroot jail with binaries and their whole dynamic-dependency closure (the ELF
    interpreter, every library the host's dynamic loader reports, and every symlink met on the way,
    recreated so paths and SONAMEs resolve inside the jail), extra files, directories, device
    nodes, minimal C(passwd)/C(group) entries and profiles for what C(ldd) cannot see.
  - Dependencies are listed by running the host's own trusted dynamic loader
    (for example C(/lib64/ld-linux-x86-64.so.2 --list FILE)) with an argument list and a clean
    environment, after reading C(PT_INTERP) from the ELF header. The inspected binary and any
    interpreter it names are never executed. Statically linked binaries need nothing more;
    C(#!) scripts bring their interpreter.
  - The module's state (what it created in the jail, with SHA-256 checksums, the host
    directories it created for the jail root, and the cache of dependency lists) lives on the
    host in O(state_dir), never inside the jail, so nothing running in the jail, even as root, can
    steer what the module copies in or removes. A re-run compares every host file with its jail
    copy (size and mtime first; content only when they differ or when the copy's inode change
    time shows it was modified since the module wrote it), replaces stale copies after host
    upgrades and reports them in RV(updated). O(prune) removes only what the state says the
    module created, and every removal is checked to lie inside the jail and made through
    directory descriptors.
  - Crash-safe. What a run is about to create is recorded in the state before it is created, so
    a run that is killed leaves nothing that a later run, or O(state=absent), does not know about;
    the next run removes the temporary files (C(.NAME.sjtmpXXXXXXXX)) a killed run left. Two runs
    on the same jail take turns on a lock in O(state_dir) (C(flock)); a run that waits more than
    10 minutes fails. Check mode shares the lock and creates nothing, so before the first real run
    it runs unlocked.
  - Earlier versions kept a manifest inside the jail, C(/.serversec-jail.json), where a jailed
    process could edit it. When O(state_dir) holds no state for the jail, that file is migrated;
    only the path and type of each entry are taken (never its checksums or dependency cache), and
    only if every entry is a normalised absolute path inside the jail with a known type; otherwise
    the run fails naming the file and the entry, and changes nothing. After a successful run the
    file is removed from the jail (reported in RV(removed)).
  - Refuses C(/) and any jail whose path or ancestors are symlinks, not owned by root, or group- or
    world-writable (what OpenSSH's C(ChrootDirectory) requires). All writes go through directory
    file descriptors opened with C(O_NOFOLLOW), so nothing is ever written through a symlink;
    files are written to a temporary name in the target directory and renamed into place.
  - All input is validated and the complete plan computed before anything is written; bad input
    (a malformed path, mode, id, name or device, an out-of-range uid or gid) fails naming the
    offending field and leaves the jail unchanged.
  - Host files are read race-free. Each source path is walked one component at a time through
    directory descriptors opened with C(O_NOFOLLOW) (symlinks are read and followed by the module
    itself, never above C(/)), and what is copied, its owner, mode and checksum and the ELF headers
    inspected all come from the one descriptor opened at the end of that walk. The copy opens the
    source again the same way and fails, leaving nothing behind, if it is no longer the file the
    plan saw (another device/inode, or changed since). Sparse files stay sparse.
  - A source whose path passes through a directory that a user other than root owns or can write
    (group- or world-writable, sticky ones such as C(/tmp) included) is refused, naming that
    directory, unless O(allow_user_writable_sources=true); that user could swap what the
    directory holds and make the module copy another file into the jail.
  - On hosts where SELinux is enabled, every entry the module writes in the jail gets the label
    the policy gives its host original (C(matchpathcon) of the same path without the jail
    prefix, so C(lib_t) for a library and C(httpd_exec_t) for lighttpd), set on the file's descriptor
    as it is written, so a jailed daemon runs in its usual domain instead of being refused for the
    jail path's default label. A managed entry whose label differs is relabelled on the next run
    and reported in RV(selinux.relabelled), only if it is the very file the run compared and has no
    other hard link. For a jail root the module created itself it also adds the policy's file-context
    equivalence C(<jail> = /), as C(semanage fcontext -a -e / <jail>) does, when it is missing, so
    C(restorecon) and a full relabel give the same labels; O(state=absent) removes that rule again,
    only if this module added it (recorded in its state). A jail directory that existed before
    (such as C(/var)) gets no such rule, and a warning says so. Where SELinux is disabled or
    libselinux cannot be loaded, nothing of this happens.
options:
  path:
    description:
      - Absolute path of the jail root. Created (root-owned, C(0755)) when missing.
    type: path
    required: true
  state:
    description:
      - C(present) builds or updates the jail.
      - C(absent) removes everything the state says the module created, then the jail root and
        the parent directories the module created for it, if they are empty. Files the module did
        not create are left alone, and so is a jail root the module did not create (including one
        whose state was migrated from an in-jail manifest of an earlier version).
    type: str
    choices: [present, absent]
    default: present
  binaries:
    description:
      - Absolute host paths of programs (or shared libraries) to copy with their dependency
        closure. Setuid/setgid bits are stripped unless I(allow_setuid=true).
      - Taken literally (no C(~) or C($VAR) expansion); spaces, C(;) or C($()) are just characters.
    type: list
    elements: str
    default: []
  files:
    description:
      - Absolute host paths of extra files or directories, copied as they are (directories
        recursively; directories in the jail stay root-owned and not group/world-writable).
      - Host secrets are refused unless O(allow_sensitive_files=true), and FIFOs, sockets and
        device nodes unless O(allow_special_files=true), also when met inside a listed directory.
    type: list
    elements: str
    default: []
  directories:
    description:
      - Directories to create inside the jail, for example log or state directories the jailed
        service may write.
      - A directory writable by anyone but root must not contain anything else the module puts in
        the jail (a jailed user could otherwise replace the programs it runs); that is refused.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path inside the jail.
        type: str
        required: true
      owner:
        description:
          - Owner name (looked up on the host) or numeric uid from V(0) to V(4294967294).
            V(4294967295) is refused, since C(chown) reads it as "leave unchanged".
        type: str
        default: root
      group:
        description: Group name (looked up on the host) or numeric gid from V(0) to V(4294967294).
        type: str
        default: root
      mode:
        description: Octal mode as a string, for example C("0750").
        type: str
        default: '0755'
  devices:
    description:
      - Device nodes to create in the jail's C(/dev), by name (C(null), C(zero), C(full),
        C(random), C(urandom), C(tty), ...), with the host device's own major/minor numbers.
      - An unquoted YAML C(null) parses as a null value; it is taken to mean the C(null) device.
      - A block device (a disk) is refused unless O(allow_block_devices=true).
    type: list
    elements: raw
    default: []
  users:
    description:
      - Users whose minimal C(/etc/passwd) entries (password field C(x), never a hash) are written
        into the jail, looked up on the host. C(root) is always included when I(users) or
        I(groups) is set, and each user's primary group is added to C(/etc/group).
    type: list
    elements: str
    default: []
  groups:
    description:
      - Groups whose entries are written into the jail's C(/etc/group), looked up on the host.
    type: list
    elements: str
    default: []
  profiles:
    description:
      - What the loader cannot see. C(nss) copies the NSS C(files)/C(compat) modules and
        C(nsswitch.conf); C(dns) the NSS C(dns) module, C(libresolv), C(resolv.conf), C(hosts),
        C(services) and friends; C(terminfo) common terminal descriptions; C(timezone)
        C(/etc/localtime) with its zone file; C(locale) the C.UTF-8 locale and C(locale-archive).
      - Files a profile lists that do not exist on the host are skipped.
    type: list
    elements: str
    choices: [nss, dns, terminfo, timezone, locale]
    default: []
  presets:
    description:
      - Bundles named after jailkit's C(jk_init) sections, merged into O(binaries), O(files),
        O(devices), O(profiles), O(users) and O(groups) before the plan is made. They are plain
        data (C(plugins/module_utils/_chroot/presets.py)), the host paths the packages install
        on each distribution family, so every refusal of the module (setuid bits stripped, host
        secrets, special files, sources under user-writable directories) applies to them as to
        the paths a playbook lists.
      - A path or device a preset names that this host lacks (a package not installed, another
        Python version) is left out and reported in RV(presets_skipped); what the playbook lists
        itself must still exist.
      - V(basicshell) C(/bin/sh), bash and jailkit's coreutils (ls, cat, cp, grep, sed, tar, gzip,
        ...) plus C(id), C(/etc/profile), C(/etc/bash.bashrc) (C(/etc/bashrc)), C(/etc/motd),
        C(/etc/issue), C(/dev/null), C(root) in passwd/group; includes V(uidbasics).
        V(editors) vi, vim, nano, joe with their configuration and runtime files; profile
        C(terminfo). V(netutils) wget, curl, lynx, ftp, host, rsync, smbclient and the CA bundle;
        includes V(netbasics), V(ssh), V(sftp), V(scp). V(ssh) the client, C(/etc/ssh/ssh_config)
        (never the host keys), C(/dev/urandom), C(/dev/tty), C(/dev/null). V(sftp) C(sftp-server)
        (C(/usr/lib/openssh) or C(/usr/libexec/openssh)), C(/dev/urandom), C(/dev/null).
        V(scp) scp, C(/dev/urandom), C(/dev/null). V(rsync) rsync. V(ssh), V(sftp), V(scp),
        V(rsync) include V(netbasics) and V(uidbasics). V(git) git, git-shell, the
        upload/receive-pack commands, C(git-remote-http(s)), basename, uname, a pager,
        the templates; includes V(editors). V(perl) perl and its module directories. V(python)
        C(python3) and the standard library of each Python 3 the host holds (jailkit has no such
        section). V(uidbasics) profile C(nss). V(netbasics) profile C(dns). V(logbasics) profile
        C(timezone).
      - Left out of jailkit's sections on purpose, because they are unsafe or do nothing in a
        jail, setuid programs (jailkit's C(ping) section), the log socket its C(jk_socketd)
        daemon serves (V(logbasics)), C(libnss_mdns) (needs the host's avahi socket), C(libnsl)
        and C(/etc/ld.so.conf) (read by C(ldconfig) only). Libraries that Perl and Python
        extension modules load are not followed (list them in O(binaries) when needed). README
        compares each preset with C(jk_init) on Debian.
    type: list
    elements: str
    choices: [basicshell, editors, netutils, ssh, sftp, scp, rsync, git, perl, python, uidbasics, netbasics, logbasics]
    default: []
  preset_family:
    description:
      - Which distribution family's paths O(presets) take. V(auto) reads C(ID) and C(ID_LIKE) of
        C(/etc/os-release) (or C(/usr/lib/os-release)), opened as every source is, V(debian) for
        Debian, Ubuntu and their derivatives, V(redhat) for Fedora, RHEL, CentOS, Rocky,
        AlmaLinux and Oracle Linux. Another distribution fails the run unless a family is given.
      - Not read when O(presets) is empty.
    type: str
    choices: [auto, debian, redhat]
    default: auto
  allow_setuid:
    description:
      - Keep setuid/setgid bits on copied files. By default they are stripped and a warning names
        each file.
    type: bool
    default: false
  prune:
    description:
      - Remove files the module put in the jail earlier that the current options no longer ask for.
        Files the module did not create are never touched.
    type: bool
    default: true
  allow_user_writable_sources:
    description:
      - Accept sources (O(binaries), O(files), the libraries and interpreters found for them and
        the files of O(profiles)) whose path, symlink targets included, passes through a
        directory that a user other than root owns or can write. By default such a source is
        refused, naming the directory, since that user could swap what it holds between the
        module's checks and its copy.
      - Even when accepted, a source is copied from the descriptor the module checked, with the
        owner and mode read from it, and a source replaced during the run fails the run.
      - Never extends to the host's dynamic loader, which runs as root to list libraries; it must
        always be reachable through directories only root can write.
      - On hosts using systemd-resolved, C(/etc/resolv.conf) (profile C(dns)) links into
        C(/run/systemd/resolve), owned by the C(systemd-resolve) user; that needs this option.
    type: bool
    default: false
  allow_sensitive_files:
    description:
      - Copy host secrets knowingly. By default the module refuses, naming the path, to copy
        C(/etc/shadow), C(/etc/gshadow) (and their C(-) backups), C(/etc/security/opasswd),
        SSH host private keys (C(/etc/ssh/ssh_host_*key)) and anything under C(/root).
      - Each path is judged as given, at every symlink on the way and as the real path it
        resolves to, and inside copied directories; a hard link or bind mount of one of these
        files (or of C(/root)) is recognised by its inode. This holds for O(binaries) and their
        libraries too.
      - A jail where C(su) checks passwords needs C(/etc/shadow); that stays possible, but only on purpose.
    type: bool
    default: false
  allow_special_files:
    description:
      - Accept FIFOs, sockets and device nodes found in O(files) (given, or met inside a listed
        directory). By default they are refused, naming the path.
      - When accepted, character device nodes are created with the host's major/minor numbers,
        root-owned (block devices also need O(allow_block_devices=true)); FIFOs and sockets are
        left out of the jail, since a copy would not reach the program that serves them.
    type: bool
    default: false
  allow_block_devices:
    description:
      - Create block device nodes (disks and partitions, which give raw access to file systems
        from inside the jail), from O(devices) or from O(files) with O(allow_special_files=true).
        By default they are refused, naming the device.
    type: bool
    default: false
  state_dir:
    description:
      - Host directory holding the module's state for each jail (C(NAME.HASH.json)) and the lock
        files (C(NAME.HASH.lock)), named from the jail's path.
      - Created root-owned with mode C(0700) when missing (outside check mode). It and every
        ancestor must be owned by root and not group- or world-writable, and it must be neither
        inside the jail nor contain it; anything else is refused.
      - Keep it on persistent storage; without its state the module no longer knows what it
        created in a jail.
    type: path
    default: /var/lib/serversec-confine/jails
  base:
    description:
      - Path of another jail managed by this module (its state must be in O(state_dir)), kept as
        a clean shared copy of the programs and libraries of many jails, as the chroot guides
        advise. The base is built and refreshed by its own C(chroot_jail) task, which must run
        before the jails that use it; give it the union of what those jails need. A jail never
        writes into its base; it only reads it, under a shared lock on the base's state.
      - Each regular file the jail needs is hard-linked from the base when the base holds it for
        the very same host file (same source, size, modification and change time), as the
        inode the base's own run wrote or verified, with the owner and mode this jail wants and
        the checksum the base's state records. The base is a jail too, so its entry is reached
        through descriptors without following links, hashed unless its change time and inode
        are the recorded ones, and the descriptor that was checked is what gets linked.
        Anything else is copied from the host as without a base; so is everything on another
        file system than the base (hard links cannot cross them).
      - After a host upgrade, run the base's task first; each jail then replaces its stale copy
        with a link to the base's new file and lists it in RV(updated) and RV(base.linked). A
        jail refreshed before its base gets a copy, and shares the base's file again on a later
        run once the base holds it.
      - Drift is judged per jail against the host, as without a base. A drifted entry is always
        replaced by a new inode (relinked from a sound base, else copied); the module never
        writes into a shared inode, and a jail's run never changes the base.
      - Hard-linked copies share one inode. Until the next run of each jail, a root process in
        one jail can change what the base and every jail sharing a file get - its content, its
        mode (a setuid bit) or an extended attribute (a file capability such as C(cap_setuid+ep),
        an ACL). Every jail's next run, the base's own included, detects each of these and
        replaces the file with a new inode; an entry carrying an extended attribute other than its
        SELinux label is never linked. The base's files are root-owned, so an unprivileged
        process cannot change them, and services started by M(serversec.confine.jailed_service)
        see their jail read-only (C(ProtectSystem=strict); only their writable directories are
        not). Use O(base) only for jails whose processes never run as root; otherwise mount the
        jails read-only, or leave O(base) unset.
      - Leaving O(base) unset isolates a jail that had one; each file still shared (any managed
        file with other names than the module made) is replaced by a copy of its own and listed
        in RV(updated).
      - Refused, naming it, when it is the jail, lies inside it or contains it, has no state in
        O(state_dir), or itself uses a base (no chains). O(state=absent) of a jail removes only
        the jail's links; the base keeps its files.
    type: path
attributes:
  check_mode:
    support: full
    description: Reports what would be added, updated and removed without writing anything.
  diff_mode:
    support: full
    description: Lists the jail paths added, updated, removed and relabelled.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with glibc (Debian/Ubuntu multiarch and Fedora/EL C(/usr/lib64) layouts).
notes:
  - Must run as root (it creates root-owned files, device nodes and changes ownership).
  - Libraries that programs load with C(dlopen()) (NSS modules, PAM modules, plugins) are invisible
    to the loader; use I(profiles), or list them in I(binaries) to get their dependencies too.
  - SELinux needs libselinux (what C(ansible.builtin.copy) and C(file) use for labels) and, for the
    equivalence rule, C(semanage) (C(policycoreutils-python-utils)). Without C(semanage) the jail is
    still labelled and one warning says that a relabel would undo it; with SELinux enabled but
    libselinux missing one warning says the jail keeps its default labels. Nothing else is said.
  - Labels are written as C(matchpathcon) gives them; on a host running C(mcstrans) they may be
    translated names that the kernel refuses, which fails the run naming the path.
seealso:
  - name: OpenSSH ChrootDirectory
    description: The ownership rules this module enforces on the jail path.
    link: https://man.openbsd.org/sshd_config#ChrootDirectory
'''

EXAMPLES = r'''
- name: Jail for an interactive shell with coreutils
  serversec.confine.chroot_jail:
    path: /srv/jails/shell
    binaries: [/bin/bash, /bin/ls, /bin/cat, /usr/bin/id]
    devices: ['null', zero, urandom]
    users: [nobody]
    groups: [nogroup]
    profiles: [nss, terminfo]

- name: Jail for lighttpd, writable log directory for its user
  serversec.confine.chroot_jail:
    path: /srv/jails/web
    binaries: [/usr/sbin/lighttpd]
    files: [/etc/mime.types]
    directories:
      - path: /var/log/lighttpd
        owner: www-data
        group: www-data
        mode: "0750"
    devices: ['null', urandom]
    users: [www-data]
    profiles: [nss, dns, timezone]
  register: web_jail

- name: An SFTP and rsync jail from presets, as jailkit's jk_init -j /srv/jails/files sftp rsync
  serversec.confine.chroot_jail:
    path: /srv/jails/files
    presets: [sftp, rsync]
    users: [alice]
  register: files_jail

- name: Show what the presets named that this host lacks
  ansible.builtin.debug:
    var: files_jail.presets_skipped

- name: Show stale copies replaced after a host upgrade
  ansible.builtin.debug:
    var: web_jail.updated

- name: Remove what the module put in the jail
  serversec.confine.chroot_jail:
    path: /srv/jails/web
    state: absent

- name: A clean base holding what the jails below need (run it first)
  serversec.confine.chroot_jail:
    path: /srv/jails/base
    binaries: [/bin/bash, /bin/ls, /usr/bin/rsync]

- name: Jails whose programs and libraries are hard-linked from the base
  serversec.confine.chroot_jail:
    path: "/srv/jails/{{ item }}"
    base: /srv/jails/base
    binaries: [/bin/bash, /usr/bin/rsync]
  loop: [alice, bob]
'''

RETURN = r'''
added:
  description: Jail paths created by this run (or that would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/bash, /lib64, /usr/lib/x86_64-linux-gnu/libc.so.6]
updated:
  description:
    - Jail paths replaced because the host file, symlink target, owner or mode changed, a regular
      file gained an extended attribute other than its SELinux label (a file capability, an ACL),
      or has other names than the module made (such as a link to a base no longer named).
  returned: always
  type: list
  elements: str
  sample: [/usr/lib/x86_64-linux-gnu/libssl.so.3]
removed:
  description:
    - Jail paths the module created earlier and removed (O(prune) or O(state=absent)), including
      temporary files a killed run left and the in-jail manifest of earlier versions.
    - With O(state=absent), C(/) stands for the jail root and the parent directories the module
      created for it are listed by their host path.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/wget]
audit:
  description: Security-relevant content of the whole jail after the run.
  returned: always
  type: dict
  contains:
    setuid:
      description: Files with the setuid or setgid bit.
      type: list
      elements: str
      sample: []
    writable:
      description: Paths (not symlinks) owned by a user other than root or writable by group or others.
      type: list
      elements: str
      sample: [/var/log/lighttpd]
    devices:
      description: Device nodes.
      type: list
      elements: str
      sample: [/dev/null, /dev/urandom]
  sample: {setuid: [], writable: [/var/log/lighttpd], devices: [/dev/null]}
presets_skipped:
  description:
    - Host paths (and C(/dev/NAME) devices) that O(presets) name but this host lacks, left out of
      the jail; empty with O(state=absent) or without presets.
  returned: always
  type: list
  elements: str
  sample: [/usr/bin/joe, /etc/joe, /usr/lib/python3.12]
files:
  description: Number of regular files the module manages in the jail (with I(state=present)).
  returned: always
  type: int
  sample: 42
size:
  description: Total size in bytes of those files.
  returned: always
  type: int
  sample: 9437184
base:
  description: What the jail took from its O(base).
  returned: when O(base) is set and O(state=present)
  type: dict
  contains:
    path:
      description: The base jail.
      type: str
      sample: /srv/jails/base
    linked:
      description:
        - Jail paths this run hard-linked from the base (empty in check mode). Paths in
          RV(added) or RV(updated) but not here were copied from the host.
      type: list
      elements: str
      sample: [/usr/lib/x86_64-linux-gnu/libc.so.6]
  sample: {path: /srv/jails/base, linked: [/usr/bin/rsync]}
selinux:
  description: What the module did about SELinux labels in the jail.
  returned: always
  type: dict
  contains:
    enabled:
      description: SELinux is enabled and libselinux loaded, so the jail's labels are managed.
      type: bool
      sample: true
    equivalence:
      description:
        - The file-context equivalence C(<jail> = /). V(added) by this run (or would be, in check mode),
          V(present) already, V(removed) by O(state=absent) (only the one this module added), or
          null where labels are not managed or the rule cannot or must not be added (a jail directory
          the module did not create; a warning says why).
      type: str
      sample: present
    relabelled:
      description: Managed jail paths found with another label than their host original's, relabelled (or that would be).
      type: list
      elements: str
      sample: [/usr/sbin/lighttpd]
  sample: {enabled: true, equivalence: added, relabelled: []}
'''

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.serversec.confine.plugins.module_utils._chroot.converge import (  # noqa: E402
    converge,
    remove_jail,
)
from ansible_collections.serversec.confine.plugins.module_utils._chroot.spec import (  # noqa: E402
    FAMILIES,
    LIST_KEYS,
    PRESET_NAMES,
    PROFILES,
    JailError,
    JailSpec,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            binaries=dict(type='list', elements='str', default=[]),
            files=dict(type='list', elements='str', default=[]),
            directories=dict(type='list', elements='dict', default=[], options=dict(
                path=dict(type='str', required=True),
                owner=dict(type='str', default='root'),
                group=dict(type='str', default='root'),
                mode=dict(type='str', default='0755'),
            )),
            devices=dict(type='list', elements='raw', default=[]),
            users=dict(type='list', elements='str', default=[]),
            groups=dict(type='list', elements='str', default=[]),
            profiles=dict(type='list', elements='str', default=[], choices=sorted(PROFILES)),
            presets=dict(type='list', elements='str', default=[], choices=list(PRESET_NAMES)),
            preset_family=dict(type='str', choices=['auto'] + list(FAMILIES), default='auto'),
            allow_setuid=dict(type='bool', default=False),
            prune=dict(type='bool', default=True),
            allow_user_writable_sources=dict(type='bool', default=False),
            allow_sensitive_files=dict(type='bool', default=False),
            allow_special_files=dict(type='bool', default=False),
            allow_block_devices=dict(type='bool', default=False),
            state_dir=dict(type='path', default='/var/lib/serversec-confine/jails'),
            base=dict(type='path'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    presets_skipped = []
    try:
        if params['state'] == 'absent':
            result = remove_jail(params['path'], params['state_dir'], check_mode=module.check_mode)
        else:
            # YAML reads an unquoted `null` as None (ansible-core 2.19 turns it into '')
            devices = ['null' if device in (None, '') else device for device in params['devices']]
            options = dict(params, devices=devices)
            if params['presets']:
                # binaries, files, devices, profiles, users, groups with the presets merged in; their
                # data is loaded only for a jail that names one (every module run compiles what it loads)
                from ansible_collections.serversec.confine.plugins.module_utils._chroot.presets import apply_presets
                lists, presets_skipped = apply_presets(options)
            else:
                lists = {key: options[key] for key in LIST_KEYS}
            spec = JailSpec(
                params['path'], directories=params['directories'], **lists,
                allow_setuid=params['allow_setuid'], prune=params['prune'],
                allow_user_writable_sources=params['allow_user_writable_sources'],
                allow_sensitive_files=params['allow_sensitive_files'],
                allow_special_files=params['allow_special_files'],
                allow_block_devices=params['allow_block_devices'])
            result = converge(spec, params['state_dir'], check_mode=module.check_mode, base=params['base'])
    except JailError as exc:
        module.fail_json(msg=str(exc), path=params['path'])
    except OSError as exc:
        module.fail_json(msg=f'{exc.filename or params["path"]}: {exc.strerror or exc}', path=params['path'])

    for warning in result.warnings:
        module.warn(warning)
    output = result.as_dict()
    output['presets_skipped'] = presets_skipped
    if module._diff:
        output['diff'] = {
            'before_header': params['path'] + ' (jail)',
            'after_header': params['path'] + ' (jail)',
            'prepared': result.diff(),
        }
    module.exit_json(**output)


if __name__ == '__main__':
    main()
