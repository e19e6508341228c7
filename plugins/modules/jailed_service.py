# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Ansible modules keep their imports after DOCUMENTATION, EXAMPLES and RETURN.
# ruff: noqa: E402

# ansible-test sanity requires these two lines in every plugin file.
from __future__ import absolute_import, division, print_function  # noqa: UP010

__metaclass__ = type  # noqa: UP001

DOCUMENTATION = r"""
---
module: jailed_service
short_description: Run a daemon in a chroot jail as an unprivileged user under a hardened systemd unit
version_added: 0.1.0
author:
  - serversec maintainers (@serversec)
description:
  - Writes a systemd service unit that starts O(command) inside the chroot jail O(jail)
    (C(RootDirectory=)) as the unprivileged O(user), and enables, starts, stops or removes it.
  - systemd resolves the user on the host before it enters the jail, so the daemon never runs
    as root inside the jail, unless O(privilege_drop) says knowingly that it starts as root and
    switches itself to an unprivileged user. systemd also gives the daemon every host group whose member list
    names the user (C(initgroups)), whatever C(SupplementaryGroups=) says; such a user is
    refused unless its groups are listed in O(allow_supplementary_groups).
  - "Hardening is on by default: C(NoNewPrivileges=yes), an empty C(CapabilityBoundingSet=)
    except for O(capabilities), C(PrivateTmp), C(PrivateDevices), C(PrivateMounts), C(PrivateIPC),
    C(ProtectSystem=strict), C(ProtectHome), C(ProtectKernelTunables), C(ProtectKernelModules),
    C(ProtectKernelLogs), C(ProtectControlGroups), C(ProtectClock), C(ProtectHostname),
    C(ProtectProc=invisible), C(RestrictNamespaces), C(RestrictSUIDSGID), C(RestrictRealtime),
    C(RemoveIPC), C(LockPersonality), C(MemoryDenyWriteExecute), C(RestrictAddressFamilies),
    C(SystemCallFilter=@system-service), C(SystemCallArchitectures=native), C(UMask=0077),
    and C(NoExecPaths=) over O(read_write) and the destinations of O(bind)."
  - C(PrivateUsers=) is not set, because it fails with status 217/USER in containers and on
    hosts that restrict user namespaces; set it with O(extra_properties) where it works.
  - The journal's sockets (C(/dev/log), C(/run/systemd/journal/socket),
    C(/run/systemd/journal/stdout)) are bound read-only into the jail so the daemon's logs
    reach the journal.
  - The candidate unit is checked with C(systemd-analyze verify) before it is installed
    (its false "is not executable" message for programs inside the jail is ignored), and
    scored with C(systemd-analyze security --offline=true); the module checks itself that the
    program exists and is executable inside the jail, without running it.
  - The unit file is replaced atomically, C(systemctl daemon-reload) runs only when it changed,
    and a running service is restarted only when its unit changed. RV(predates_jail) tells whether
    it runs copies its jail has since replaced; restart it then (O(state=restarted)), as the
    C(serversec.confine.jailed_services) role does when the jail changed.
  - Build the jail first, for example with M(serversec.confine.chroot_jail).
options:
  name:
    description:
      - Name of the unit. C(.service) is appended when it is missing, as C(systemctl) does;
        a name ending in another unit type (such as C(.socket)) is refused.
    type: str
    required: true
  jail:
    description:
      - Root directory of the jail on the host. It must exist.
      - As for M(serversec.confine.chroot_jail), the jail and every directory above it must be
        root-owned, not group- or world-writable and not a symbolic link (give the real path),
        because systemd follows the jail path at every start, so a user who can change a directory on it
        could swap the jail for a tree of their own. The module fails otherwise, before anything
        is written, even in check mode.
      - Required unless O(state=absent).
    type: path
  command:
    description:
      - Argument list of the daemon, as seen inside the jail. The first element is the
        absolute path of the program inside the jail; it must exist there and be executable.
      - Each element is quoted for systemd, so spaces, C(%), C($) and C(;) reach the daemon
        unchanged. No shell is involved. Tabs and newlines are passed; other control
        characters are refused.
      - The daemon must stay in the foreground (for example C(lighttpd -D) or
        C(rsync --daemon --no-detach)) unless O(type=forking).
      - Required unless O(state=absent).
    type: list
    elements: str
  user:
    description:
      - Host user the daemon runs as. It must exist on the host; C(root) and uid 0 are refused,
        because a process running as root can break out of a chroot jail.
      - Required unless O(state=absent) or O(privilege_drop) is given; not used with O(privilege_drop).
    type: str
  group:
    description:
      - Host group the daemon runs as. It must exist; C(root) and gid 0 are refused.
      - Defaults to the primary group of O(user). Not used with O(privilege_drop).
    type: str
  privilege_drop:
    description:
      - Opt-in mode for a daemon that starts as root inside the jail and switches itself to an
        unprivileged user, as nginx's master process, vsftpd or C(named -u) do. The daemon's own
        configuration must name the same user (for example nginx's C(user) directive), and the
        jail's C(/etc/passwd) and C(/etc/group) must give it the host's uid and gid (the
        O(serversec.confine.chroot_jail#module:users) option of M(serversec.confine.chroot_jail)
        copies them).
      - The unit has no C(User=), so systemd starts the daemon as root inside the jail. Its whole
        capability bounding set is C(CAP_SETUID), C(CAP_SETGID) and C(CAP_NET_BIND_SERVICE), with
        C(CAP_CHOWN) only when O(privilege_drop.chown=true); nothing is ambient.
        C(CAP_SYS_CHROOT), C(CAP_SYS_ADMIN) and C(CAP_SYS_PTRACE), the ways out of a chroot for
        uid 0, are never in it. C(NoNewPrivileges=yes) and every other hardening setting stay on, and
        C(process_vm_readv)/C(process_vm_writev) are denied (with C(CAP_SETUID) the master could
        become another user and write into that user's processes outside the jail).
      - O(user), O(group), O(capabilities), O(allow_capabilities) and O(type=oneshot) are refused
        with it, and O(max_exposure) is at most V(2.5) (its default in this mode).
      - After each start or restart, the module reads the identities of the unit's processes from
        C(/proc/PID/status). Every process must run either as root (the master) or as
        O(privilege_drop.user) and O(privilege_drop.group) in all of its real, effective, saved
        and file system ids, with no supplementary group beyond the accepted ones
        (O(allow_supplementary_groups)) and without C(CAP_SETUID) or C(CAP_SETGID) in its permitted
        set (kept across the switch, they make it root again), and at least one as that user. Otherwise the module
        stops the service and fails, naming the processes it found (it waits up to 5 seconds
        for the workers).
      - "What remains of root: the master can signal other processes of uid 0 on the host, and
        (with C(CAP_SETUID)) become any uid; C(ProtectSystem=strict) keeps the jail read-only
        except O(read_write). Prefer a daemon that runs as O(user) from the start where it can."
    type: dict
    suboptions:
      user:
        description:
          - Host user the daemon switches to. It must exist on the host; C(root) and uid 0 are
            refused, and its supplementary groups follow the rules of O(user) and
            O(allow_supplementary_groups).
        type: str
        required: true
      group:
        description:
          - Host group the daemon switches to; gid 0 is refused. Defaults to the primary group of
            O(privilege_drop.user).
        type: str
      chown:
        description:
          - Add C(CAP_CHOWN) to the bounding set, for a master that hands files or directories
            to the user (nginx does it for its temporary directories when they are not owned by
            the user yet).
        type: bool
        default: false
  allow_supplementary_groups:
    description:
      - Host groups that O(user) is a member of and that the daemon may therefore hold.
      - systemd applies every membership of the user in the host group database; a user who
        is a member of any group not listed here (other than the group the daemon runs as) is
        refused, naming the groups. Membership of a group with gid 0 is always refused.
    type: list
    elements: str
    default: []
  description:
    description:
      - C(Description=) of the unit. Defaults to the program and the jail.
      - Text with a newline or another control character, or ending in a backslash (which
        systemd reads as a line continuation), is refused.
    type: str
  state:
    description:
      - V(started) installs the unit and starts the service (restarting it when the unit changed).
      - V(stopped) installs the unit and stops the service.
      - V(restarted) installs the unit and always restarts the service.
      - V(present) installs the unit and leaves the service as it is, except that a running
        service is restarted when its unit changed.
      - V(absent) stops and disables the service and removes the unit.
    type: str
    choices: [started, stopped, restarted, present, absent]
    default: started
  enabled:
    description:
      - Whether the service starts at boot (C(WantedBy=multi-user.target)).
      - Ignored when O(state=absent).
    type: bool
    default: true
  environment:
    description:
      - Environment variables of the daemon (C(Environment=)). Values may hold tabs and
        newlines; other control characters are refused.
    type: dict
    default: {}
  working_directory:
    description:
      - Working directory of the daemon, an absolute path inside the jail.
    type: str
    default: /
  capabilities:
    description:
      - Capabilities the daemon keeps, for example V(CAP_NET_BIND_SERVICE) to bind a port below
        1024 without root. They are its whole bounding set and are granted as ambient
        capabilities; every other capability is dropped.
      - "Accepted without opt-in, because none reaches a file, a process or a user beyond the
        jail: V(CAP_NET_BIND_SERVICE) (ports below 1024), V(CAP_NET_BROADCAST) (broadcast and
        multicast on the daemon's own sockets), V(CAP_IPC_LOCK) (locking the daemon's own memory,
        bounded by C(MemoryMax=)) and V(CAP_AUDIT_WRITE) (sending records to the audit log)."
      - Any other capability reaches beyond the jail or the service user (for example
        V(CAP_NET_ADMIN), V(CAP_KILL), V(CAP_CHOWN), V(CAP_NET_RAW)) and is refused by name unless
        it is also listed in O(allow_capabilities).
      - "Never accepted, because they undo the jail: V(CAP_SYS_ADMIN), V(CAP_SYS_MODULE),
        V(CAP_SYS_PTRACE), V(CAP_SYS_RAWIO), V(CAP_SYS_CHROOT), V(CAP_DAC_READ_SEARCH),
        V(CAP_DAC_OVERRIDE), V(CAP_SETUID), V(CAP_SETGID), V(CAP_SETPCAP), V(CAP_BPF),
        V(CAP_MAC_ADMIN), V(CAP_MAC_OVERRIDE), V(CAP_SYS_BOOT)."
    type: list
    elements: str
    default: []
  allow_capabilities:
    description:
      - Capabilities beyond the four accepted without opt-in that O(capabilities) may list,
        accepted knowingly. Listing one here grants nothing by itself.
      - The capabilities that undo the jail are refused here too (see O(capabilities)).
    type: list
    elements: str
    default: []
  bind_read_only:
    description:
      - Host paths bound read-only into the jail (C(BindReadOnlyPaths=)), each V(SOURCE) or
        V(SOURCE:DESTINATION) with DESTINATION inside the jail.
      - The sources refused for O(bind) are refused here too, except that with O(privilege_drop)
        a source owned by root is accepted read-only when everyone may read it and all it holds.
      - With O(privilege_drop) a read-only source, and everything below it (up to 10000 entries), must
        hold nothing that only its owner or group may read, unless privilege_drop's user owns it, and
        no socket or device node, since the master, root in the jail, could read or connect to it (such
        as C(/etc/shadow), C(/run/user/0) or C(/var/lib/private)). Symbolic links in it are followed
        in the jail, not on the host.
    type: list
    elements: str
    default: []
  bind:
    description:
      - Host paths bound read-write into the jail (C(BindPaths=)), each V(SOURCE) or
        V(SOURCE:DESTINATION) with DESTINATION inside the jail.
      - C(/) is always refused. These sources are refused unless O(allow_sensitive_binds=true),
        and so is a source that is a symbolic link to one, naming the field, the entry and why.
      - A source that is, or lies above, the host's C(/etc), C(/root), C(/home), C(/boot),
        C(/proc), C(/sys), C(/dev), C(/run/systemd) or a container runtime socket (C(/run/docker.sock),
        C(/run/containerd/containerd.sock), C(/run/podman/podman.sock), C(/run/crio/crio.sock)
        and their C(/var/run) forms).
      - Any source under C(/proc) or C(/sys) (the host's kernel interfaces, where C(ProtectKernelTunables=)
        guards only the jail's own C(/proc/sys)), or whose path passes through them (their links lead
        into other processes' views of the host), or under C(/run/systemd) (systemd's control
        sockets; a read-only bind does not stop a connection), except the journal's sockets and
        C(/run/systemd/resolve) with its C(stub-resolv.conf) and C(resolv.conf).
      - With O(privilege_drop), whose master is root in the jail and can become any user, also a
        source that is, lies above or below C(/run/dbus) (the system bus, whose policy limits only
        an unprivileged daemon) or C(/run/user) (the users' own service managers), any source that
        is a socket (in O(bind_read_only) too, since root can connect to it and is privileged to
        most daemons), and any O(bind) source not owned by privilege_drop's user (while that user
        does not exist yet, in check mode, any O(bind) source owned by root), which the master
        could change.
      - systemd looks the source up each time the unit starts. A source whose path passes
        through a directory that a non-root user owns or can write is refused, naming that
        directory, unless O(allow_user_writable_sources=true), because that user could swap the path
        for a symbolic link to anything on the host after the module has run.
      - A source inside the jail O(jail), or inside any jail that M(serversec.confine.chroot_jail)
        recorded in its default state directory C(/var/lib/serversec-confine/jails), is always
        refused, naming the jail, and so is a source that is or holds such a jail (the daemon
        would reach that jail's programs through the bind), and a source
        that is a symbolic link into one; uid 0 in that jail could replace it with a symbolic link
        to C(/etc), C(/root) or C(/), which systemd would follow at the next start. When that
        state directory, or a directory above it, is not root's alone (or is reached through a
        symbolic link), the module fails rather than trust its records.
      - A source that does not exist yet is a missing prerequisite (only a warning in check mode).
      - The destinations are also written as C(NoExecPaths=), as for O(read_write), unless
        O(allow_exec_in_read_write=true).
    type: list
    elements: str
    default: []
  allow_sensitive_binds:
    description:
      - Accept knowingly the O(bind) and O(bind_read_only) sources refused as sensitive (see
        O(bind)), that is those that expose the host's C(/etc), C(/root), C(/home), C(/boot), C(/proc),
        C(/sys), C(/dev), systemd's or the system bus's sockets or a container runtime socket,
        and with O(privilege_drop) the sources under C(/etc), C(/root) or C(/boot), sockets and
        root-owned read-write sources. C(/) and a source inside, equal to or above a jail are
        refused even then.
    type: bool
    default: false
  allow_user_writable_sources:
    description:
      - Accept O(bind) and O(bind_read_only) sources, and O(read_write) paths, whose path passes
        through a directory that a non-root user owns or can write (a sticky directory such as
        C(/tmp) included). Such a user could replace the path with a symbolic link before the
        unit next starts. The same option of M(serversec.confine.chroot_jail) governs what is
        copied into the jail.
    type: bool
    default: false
  read_write:
    description:
      - Paths inside the jail the daemon may write, for example its log or state directory;
        C(ProtectSystem=strict) makes everything else read-only.
      - Written as C(ReadWritePaths=) with the jail as prefix, because systemd looks these paths
        up on the host even with C(RootDirectory=). They must exist, for example created with
        the O(serversec.confine.chroot_jail#module:directories) option of M(serversec.confine.chroot_jail).
      - They are also written as C(NoExecPaths=), so what the daemon can write, it cannot execute.
        A path that holds the daemon's program or libraries therefore stops it from starting;
        see O(allow_exec_in_read_write).
      - A path that goes through a symbolic link in the jail, or through a directory that a
        non-root user owns or can write (other than the path itself), is refused unless
        O(allow_user_writable_sources=true).
    type: list
    elements: str
    default: []
  allow_exec_in_read_write:
    description:
      - Let the daemon execute files in the O(read_write) paths and in the destinations of O(bind)
        (no C(NoExecPaths=)).
      - Leave it off unless the daemon really runs programs from where it writes; a daemon that
        can write and then execute what it wrote can be made to run an attacker's code.
    type: bool
    default: false
  bind_journal:
    description:
      - Bind the journal's sockets read-only into the jail so syslog and journal messages
        reach the journal. Standard output and error reach it either way.
    type: bool
    default: true
  type:
    description:
      - C(Type=) of the service.
    type: str
    choices: [simple, exec, forking, oneshot, notify, dbus, idle]
    default: exec
  restart:
    description:
      - C(Restart=) policy of the service.
    type: str
    choices: ['no', always, on-success, on-failure, on-abnormal, on-abort, on-watchdog]
    default: on-failure
  extra_properties:
    description:
      - Further C([Service]) settings, name to value. A boolean becomes C(yes)/C(no); a list
        gives one line per element (for example several C(IPAddressAllow=)).
      - Only these settings are accepted; none of them can run a program, change the user,
        groups or capabilities, or reach a path, a device or a namespace.
      - Resource limits C(LimitNOFILE), C(LimitNPROC), C(LimitCORE) (a number, V(infinity) or
        V(SOFT:HARD)), C(MemoryMax), C(MemoryHigh), C(TasksMax), C(CPUQuota), C(CPUWeight),
        C(IOWeight); C(Nice) from 0 to 19 and C(OOMScoreAdjust) from 0 to 1000, because a
        higher priority would weigh on the rest of the host.
      - Timing C(TimeoutSec), C(TimeoutStartSec), C(TimeoutStopSec), C(RestartSec),
        C(WatchdogSec), C(KillSignal).
      - Logging C(StandardOutput) and C(StandardError) (only V(journal) or V(null), because
        file targets are opened by root outside the jail), C(SyslogIdentifier), C(LogLevelMax).
      - C(UMask), which replaces the default V(0077); only a mask that keeps every bit of
        V(0077) (group and others get nothing), such as V(0077) or V(0277), is accepted.
      - Confinement that can only be tightened C(PrivateUsers=yes), C(PrivateNetwork=yes),
        C(ProcSubset=pid), C(IPAddressDeny), C(IPAddressAllow).
      - Any other setting is refused by name, among them every C(Exec*) command (whose
        C(+), C(!) and C(!!) prefixes run as root), C(RootDirectoryStartOnly),
        C(PermissionsStartOnly), C(SupplementaryGroups), C(DynamicUser), paths, binds, devices,
        namespaces and the hardening defaults. Settings that other options control (C(User),
        C(RootDirectory), C(ExecStart), C(CapabilityBoundingSet) and so on) name that option.
    type: dict
    default: {}
  memory_deny_write_execute:
    description:
      - Set C(MemoryDenyWriteExecute=yes). Turn it off for daemons with a JIT.
    type: bool
    default: true
  restrict_address_families:
    description:
      - Socket address families the daemon may use (C(RestrictAddressFamilies=)), or V(none)
        alone to deny all.
    type: list
    elements: str
    default: [AF_UNIX, AF_INET, AF_INET6]
  unit_dir:
    description:
      - Directory the unit file is written to.
    type: path
    default: /etc/systemd/system
  max_exposure:
    description:
      - Fail, before anything is written, when the C(systemd-analyze security) exposure score
        of the unit is higher than this (0.0 is best, 10.0 worst).
      - With O(privilege_drop) it defaults to V(2.5), and a higher value is refused.
    type: float
  tcpwrap_daemon:
    description:
      - Enforce the TCP wrappers policy of C(/etc/hosts.allow) and C(/etc/hosts.deny) for this
        daemon name in the kernel, as C(IPAddressAllow=) and C(IPAddressDeny=any) in the unit,
        compiled as M(serversec.confine.tcpwrap_filter) does (a client the policy denies gets
        no TCP connection). A rule that cannot be compiled is refused with its file and line.
      - Cannot be combined with C(IPAddressAllow) or C(IPAddressDeny) in O(extra_properties).
      - The filter holds the policy of the last run; run the task again after the policy changes.
    type: str
notes:
  - Needs systemd as PID 1 and C(systemd-analyze) 250 or newer on the managed host.
  - The result of the last analysis of each unit is kept in
    C(/var/lib/serversec-confine/units) (root-owned, mode 0700; one file per unit, mode 0600).
    A run whose unit file already holds exactly the candidate text takes the score and the
    verify warnings from that record instead of running C(systemd-analyze) again
    (RV(exposure_cached)), and O(max_exposure) is checked against it. The record is trusted only
    for the same unit name, the same unit text (SHA-256), the same C(systemd-analyze) binary
    (real path, device, inode, size and times, which a package upgrade changes) and the same
    drop-ins, since C(systemd-analyze) applies to the candidate every C(*.conf) in the drop-in
    directories of the unit on the system unit search path (C(NAME.d), the template's, each
    dash prefix such as C(web-.service.d) and C(service.d), in C(/etc/systemd/system),
    C(/run/systemd/system), C(/usr/lib/systemd/system) and the other search path directories),
    so the record names each of them (path, size, times and SHA-256) and the value of
    C(SYSTEMD_UNIT_PATH); a drop-in added, changed or removed since, for example by
    C(systemctl edit), or one that cannot be read, means the unit is analysed again. The record
    is trusted only when it and every directory above it are root's alone and no symbolic link
    leads to it; anything
    else, a malformed record included, is analysed again. Check mode reads the record but never
    writes it; O(state=absent) removes it.
  - In check mode a jail, user, group or program that does not exist yet only gives a
    warning, since an earlier task of the same play may create it.
  - "Linux always lists the daemon's own group among the process's groups
    (C(Groups:) in C(/proc/PID/status)); other groups are those accepted with
    O(allow_supplementary_groups)."
seealso:
  - module: serversec.confine.chroot_jail
  - name: systemd.exec(5)
    description: Execution environment settings of systemd units.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.exec.html
attributes:
  check_mode:
    support: full
    description: Reports the unit it would write and the changes it would make.
  diff_mode:
    support: full
    description: Shows the unit file before and after.
  platform:
    support: full
    platforms: posix
    description: Linux hosts with systemd.
"""

EXAMPLES = r"""
- name: Run lighttpd jailed in /srv/jails/web as www-jail on port 8080
  serversec.confine.jailed_service:
    name: web
    jail: /srv/jails/web
    command: [/usr/sbin/lighttpd, -D, -f, /etc/lighttpd/lighttpd.conf]
    user: www-jail
    max_exposure: 2.0
  register: web

- name: Show the exposure score
  ansible.builtin.debug:
    msg: "{{ web.exposure }}"

- name: Run rsync as a daemon on port 873, which needs CAP_NET_BIND_SERVICE
  serversec.confine.jailed_service:
    name: rsyncd-jail.service
    jail: /srv/jails/rsync
    command: [/usr/bin/rsync, --daemon, --no-detach, --config, /etc/rsyncd.conf]
    user: rsync-jail
    capabilities: [CAP_NET_BIND_SERVICE]
    read_write: [/var/log/rsync]

- name: Run nginx jailed; its master starts as root and its workers run as www-data
  serversec.confine.jailed_service:
    name: nginx-jail
    jail: /srv/jails/nginx
    command: [/usr/sbin/nginx, -c, /etc/nginx/jailed.conf, -g, "daemon off;"]
    privilege_drop:
      user: www-data
    read_write: [/var/lib/nginx]

- name: Remove the jailed web server
  serversec.confine.jailed_service:
    name: web.service
    state: absent
"""

RETURN = r"""
name:
  description: Name of the unit, with C(.service) appended when O(name) lacked it.
  returned: when O(name) is valid
  type: str
  sample: web.service
unit_path:
  description: Path of the unit file.
  returned: always
  type: str
  sample: /etc/systemd/system/web.service
unit:
  description: Text of the unit file as written (or as it would be written in check mode).
  returned: when O(state) is not V(absent)
  type: str
  sample: "[Unit]\nDescription=web\n\n[Service]\nType=exec\n..."
exposure:
  description:
    - Overall exposure level of the unit by C(systemd-analyze security), from 0.0 (best) to 10.0.
  returned: when O(state) is not V(absent)
  type: float
  sample: 1.2
exposure_rating:
  description: Rating that goes with RV(exposure), such as C(OK), C(MEDIUM), C(EXPOSED) or C(UNSAFE).
  returned: when O(state) is not V(absent)
  type: str
  sample: OK
verify_warnings:
  description: Messages of C(systemd-analyze verify) that did not stop the installation.
  returned: when O(state) is not V(absent)
  type: list
  elements: str
  sample: []
exposure_cached:
  description:
    - Whether RV(exposure), RV(exposure_rating) and RV(verify_warnings) come from the record of
      the last analysis of this very unit text (the unit file already held it) rather than from
      running C(systemd-analyze) in this run.
  returned: when O(state) is not V(absent)
  type: bool
  sample: true
predates_jail:
  description:
    - Whether the service's main process started before M(serversec.confine.chroot_jail) last
      wrote a host file into its jail (the newest inode change time its state records), so the
      daemon still runs the old copies until it is restarted. Read after this run's steps (in check
      mode, of the process running now).
    - V(null) when no main process runs or the jail has no state in chroot_jail's default
      C(state_dir) (C(/var/lib/serversec-confine/jails)).
  returned: when O(state) is not V(absent)
  type: bool
  sample: false
processes:
  description:
    - The unit's processes after a start or restart with O(privilege_drop), each with C(pid),
      C(uids) and C(gids) (real, effective, saved, file system) and C(groups).
  returned: when O(privilege_drop) is set and the service was started or restarted
  type: list
  elements: dict
  sample: [{pid: 812, uids: [0, 0, 0, 0], gids: [0, 0, 0, 0], groups: []},
           {pid: 813, uids: [33, 33, 33, 33], gids: [33, 33, 33, 33], groups: [33]}]
ip_filter:
  description:
    - The filter compiled for O(tcpwrap_daemon) (keys C(daemon), C(ip_address_allow),
      C(ip_address_deny), C(rules), C(filter_warnings)), as M(serversec.confine.tcpwrap_filter)
      returns them.
  returned: when O(tcpwrap_daemon) is set and O(state) is not V(absent)
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.serversec.confine.plugins.module_utils._jailed_service import JailedService
from ansible_collections.serversec.confine.plugins.module_utils._systemd_unit import ServiceError

STATES = ['started', 'stopped', 'restarted', 'present', 'absent']


def main():
    module = AnsibleModule(
        argument_spec={
            'name': {'type': 'str', 'required': True},
            'jail': {'type': 'path'},
            'command': {'type': 'list', 'elements': 'str'},
            'user': {'type': 'str'},
            'group': {'type': 'str'},
            'privilege_drop': {'type': 'dict', 'options': {
                'user': {'type': 'str', 'required': True},
                'group': {'type': 'str'},
                'chown': {'type': 'bool', 'default': False},
            }},
            'allow_supplementary_groups': {'type': 'list', 'elements': 'str', 'default': []},
            'description': {'type': 'str'},
            'state': {'type': 'str', 'default': 'started', 'choices': STATES},
            'enabled': {'type': 'bool', 'default': True},
            'environment': {'type': 'dict', 'default': {}},
            'working_directory': {'type': 'str', 'default': '/'},
            'capabilities': {'type': 'list', 'elements': 'str', 'default': []},
            'allow_capabilities': {'type': 'list', 'elements': 'str', 'default': []},
            'bind_read_only': {'type': 'list', 'elements': 'str', 'default': []},
            'bind': {'type': 'list', 'elements': 'str', 'default': []},
            'allow_sensitive_binds': {'type': 'bool', 'default': False},
            'allow_user_writable_sources': {'type': 'bool', 'default': False},
            'read_write': {'type': 'list', 'elements': 'str', 'default': []},
            'allow_exec_in_read_write': {'type': 'bool', 'default': False},
            'bind_journal': {'type': 'bool', 'default': True},
            'type': {'type': 'str', 'default': 'exec',
                     'choices': ['simple', 'exec', 'forking', 'oneshot', 'notify', 'dbus', 'idle']},
            'restart': {'type': 'str', 'default': 'on-failure',
                        'choices': ['no', 'always', 'on-success', 'on-failure', 'on-abnormal', 'on-abort',
                                    'on-watchdog']},
            'extra_properties': {'type': 'dict', 'default': {}},
            'memory_deny_write_execute': {'type': 'bool', 'default': True},
            'restrict_address_families': {'type': 'list', 'elements': 'str',
                                          'default': ['AF_UNIX', 'AF_INET', 'AF_INET6']},
            'unit_dir': {'type': 'path', 'default': '/etc/systemd/system'},
            'max_exposure': {'type': 'float'},
            'tcpwrap_daemon': {'type': 'str'},
        },
        required_if=[('state', state, ('jail', 'command')) for state in STATES if state != 'absent']
        + [('state', state, ('user', 'privilege_drop'), True) for state in STATES if state != 'absent'],
        supports_check_mode=True,
    )
    service = JailedService(module)
    try:
        result = service.execute()
    except ServiceError as exc:
        module.fail_json(msg=str(exc), **dict(service.result, **exc.details))
    module.exit_json(**result)


if __name__ == '__main__':
    main()
