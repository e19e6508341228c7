"""chroot_jails, SELinux: with Debian's reference policy, libselinux and semanage installed, the
jail copy of a library and of two daemons gets the label of its host original, the equivalence
<jail> = / makes matchpathcon agree, a wrong label is relabelled, and state=absent removes only
the rule the module added.

The containers' kernel runs no SELinux, so the engine is told that SELinux is enabled
(selinux_probe.py); the policy, matchpathcon, semanage and the security.selinux attributes are
real. Enforcement itself (a daemon refused or allowed) is only checked in the public-CI Fedora job.
"""

import io
import json
import os
import tarfile
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTION = os.path.realpath(os.path.join(HERE, '..', '..', '..', '..'))
# Debian's reference policy and tools; Fedora's targeted policy (the public-CI Fedora job)
APT_PACKAGES = 'selinux-policy-default policycoreutils policycoreutils-python-utils selinux-utils python3-selinux'
DNF_PACKAGES = 'selinux-policy-targeted policycoreutils-python-utils libselinux-utils python3-libselinux'
JAIL = '/srv/jails/selinux'
OTHER = '/srv/jails/not-ours'
STATE = '/var/lib/serversec-confine/selinux-probe'
PROBE = '/tmp/selinux-probe'
# Debian's reference policy labels these so; the jail copies must get the same.
EXPECTED = {'/usr/sbin/lighttpd': 'httpd_exec_t', '/usr/sbin/sshd': 'sshd_exec_t', 'libc.so.6': 'lib_t'}


def probe_tarball():
    """The collection's module_utils and the probe, as ansible_collections/serversec/confine/..."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w:gz') as tar:
        tar.add(os.path.join(COLLECTION, 'plugins', 'module_utils'),
                arcname='ansible_collections/serversec/confine/plugins/module_utils',
                filter=lambda info: None if '__pycache__' in info.name else info)
        tar.add(os.path.join(HERE, 'selinux_probe.py'), arcname='selinux_probe.py')
    return buffer.getvalue()


@pytest.fixture(scope='module')
def probe(host):
    if host.exists('apt-get'):
        install = f'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {APT_PACKAGES}'
        cmd = host.run(install)
        if cmd.rc != 0:
            cmd = host.run(f'apt-get update -qq && {install}')
    else:
        cmd = host.run(f'dnf -y -q install {DNF_PACKAGES}')
    assert cmd.rc == 0, cmd.stderr
    for daemon in EXPECTED:
        if daemon.startswith('/') and not host.file(daemon).exists:
            pytest.skip(f'{daemon} is not installed on this instance')
    with tempfile.NamedTemporaryFile(suffix='.tar.gz') as handle:
        handle.write(probe_tarball())
        handle.flush()
        host.ansible('ansible.builtin.copy', f'src={handle.name} dest={PROBE}.tar.gz mode=0600', check=False)
    assert host.run(f'rm -rf {PROBE} && mkdir -m 0700 {PROBE} && tar -xzf {PROBE}.tar.gz -C {PROBE}').rc == 0

    def run(action):
        cmd = host.run(f'PYTHONPATH={PROBE} python3 {PROBE}/selinux_probe.py {action} {JAIL} {STATE}')
        assert cmd.rc == 0, cmd.stderr
        return json.loads(cmd.stdout)
    return run


def matchpathcon(host, path):
    cmd = host.run(f'matchpathcon -n {path}')
    assert cmd.rc == 0, cmd.stderr
    return cmd.stdout.strip()


def label(host, path):
    return host.run(f"python3 -c 'import os, sys; print(os.getxattr(sys.argv[1], \"security.selinux\", "
                    f"follow_symlinks=False).rstrip(b\"\\0\").decode())' {path}").stdout.strip()


def local_rules(host):
    return host.run('semanage fcontext -l -C').stdout


def test_jail_copies_get_their_host_originals_labels(host, probe):
    assert host.run(f'semanage fcontext -a -e / {OTHER}').rc == 0  # someone else's rule, for the last test
    result = probe('present')
    assert result['selinux'] == {'enabled': True, 'equivalence': 'added', 'relabelled': []}, result
    assert f'{JAIL} = /' in local_rules(host)
    libc = [path for path in result['added'] if path.endswith('/libc.so.6')]
    assert len(libc) == 1
    for path in ('/usr/sbin/lighttpd', '/usr/sbin/sshd', libc[0]):
        original = matchpathcon(host, path)
        assert original.split(':')[2] == EXPECTED[path if path.startswith('/usr/sbin') else 'libc.so.6']
        # the policy (after the equivalence) and the label written on the copy agree with the original
        assert matchpathcon(host, JAIL + path) == original
        assert label(host, JAIL + path) == original


def test_second_run_changes_nothing(probe):
    result = probe('present')
    assert not result['changed'] and result['selinux'] == {'enabled': True, 'equivalence': 'present',
                                                           'relabelled': []}, result


def test_a_wrong_label_is_relabelled(host, probe):
    setfattr = (f"python3 -c 'import os; os.setxattr(\"{JAIL}/usr/sbin/lighttpd\", \"security.selinux\", "
                "b\"system_u:object_r:var_t:s0\\0\")'")
    assert host.run(setfattr).rc == 0
    result = probe('present')
    assert result['changed'] and result['selinux']['relabelled'] == ['/usr/sbin/lighttpd'], result
    assert label(host, f'{JAIL}/usr/sbin/lighttpd') == matchpathcon(host, '/usr/sbin/lighttpd')


def test_absent_removes_only_the_rule_the_module_added(host, probe):
    result = probe('absent')
    assert result['selinux']['equivalence'] == 'removed', result
    rules = local_rules(host)
    assert f'{JAIL} = /' not in rules and f'{OTHER} = /' in rules
    assert not host.file(JAIL).exists
    assert host.run(f'semanage fcontext -d -e / {OTHER}').rc == 0
