# Copyright (c) 2026, serversec maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""jailed_service's analysis records: a run that changes nothing skips systemd-analyze, and a
record that is stale, forged, planted or malformed is never trusted (the unit is analysed)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import shutil
import stat

import pytest
from ansible_collections.serversec.confine.plugins.module_utils import _analysis_record, _systemd_installed
from ansible_collections.serversec.confine.tests.unit.plugins.modules import test_jailed_service as jailed_tests
from ansible_collections.serversec.confine.tests.unit.plugins.modules.test_jailed_service import (
    EXPECTED_UNIT,
    SECURITY_BAD,
    params,
)

host = jailed_tests.host
run = jailed_tests.run
BOTH = ['verify', 'security']
OTHER_UID = 4242


def record_file(records, unit='web.service'):
    """Where the record of ``unit`` lives: ``STEM.HASH.json``, HASH from the SHA-256 of the name."""
    return records / f"{unit}.{hashlib.sha256(unit.encode()).hexdigest()[:24]}.json"


def read_record(host):
    return json.loads(record_file(host['records']).read_text())


def write_record(host, data, unit='web.service'):
    path = record_file(host['records'], unit)
    path.write_text(json.dumps(data))
    path.chmod(0o600)
    return path


def analysed_again(host, run, args=None, **kwargs):
    """Run once more after a first run; True when that run called systemd-analyze."""
    host['systemd'].analyses.clear()
    result = run(args or params(host), **kwargs)
    assert result.get('failed') is not True, result.get('msg')
    assert result['exposure_cached'] is (host['systemd'].analyses == [])
    return host['systemd'].analyses == BOTH


@pytest.fixture
def installed(host, run):
    """A first run: the unit is installed, analysed once and recorded."""
    result = run(params(host))
    assert result['exposure_cached'] is False
    assert host['systemd'].analyses == BOTH
    return result


def test_first_run_records_the_analysis(host, installed):
    st = os.stat(host['analyzer'])
    text = EXPECTED_UNIT.format(jail=host['jail'])
    assert read_record(host) == {
        'version': 2, 'unit': 'web.service', 'sha256': hashlib.sha256(text.encode()).hexdigest(),
        'analyzer': {'path': str(host['analyzer']), 'dev': st.st_dev, 'ino': st.st_ino, 'size': st.st_size,
                     'mtime_ns': st.st_mtime_ns, 'ctime_ns': st.st_ctime_ns},
        'dropins': {'unit_path': None, 'files': []},
        'exposure': 1.4, 'rating': 'OK', 'verify_warnings': []}
    assert stat.S_IMODE(os.stat(record_file(host['records'])).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(host['records']).st_mode) == 0o700
    assert os.listdir(host['records']) == [record_file(host['records']).name]


@pytest.mark.parametrize('check', [False, True])
def test_no_change_run_does_not_call_systemd_analyze(host, run, installed, check):
    result = run(params(host), check=check)
    assert host['systemd'].analyses == BOTH  # the first run's only
    assert (result['changed'], result['exposure_cached']) == (False, True)
    assert (result['exposure'], result['exposure_rating'], result['verify_warnings']) == (1.4, 'OK', [])


def test_verify_warnings_come_back_from_the_record(host, run):
    host['systemd'].verify = (0, 'web.service: unit lighttpd-setup.service not found\n', '')
    run(params(host))
    host['systemd'].verify = (0, '', '')
    result = run(params(host))
    assert result['exposure_cached'] is True
    assert result['verify_warnings'] == ['web.service: unit lighttpd-setup.service not found']


def test_max_exposure_is_enforced_from_the_record(host, run):
    host['systemd'].security = (0, SECURITY_BAD, '')
    run(params(host))
    host['systemd'].analyses.clear()
    result = run(params(host, max_exposure=2.0))
    assert host['systemd'].analyses == []
    assert result['exposure_cached'] is True
    assert result['msg'] == 'web.service: exposure 9.6 (UNSAFE) is higher than max_exposure 2.0; the unit was not installed'


def test_changed_unit_text_is_analysed(host, run, installed):
    assert analysed_again(host, run, params(host, environment={'LANG': 'C.UTF-8'}))


def test_record_of_other_text_is_not_trusted(host, run, installed):
    # The unit file already holds the new text (say, a run whose record could not be written):
    # the record of the old text must not answer for it.
    changed = params(host, environment={'LANG': 'C.UTF-8'})
    run(changed, check=True)
    text = run(changed, check=True)['unit']
    with open(host['unit_file'], 'w') as handle:
        handle.write(text)
    assert text != installed['unit']
    assert analysed_again(host, run, changed)
    assert read_record(host)['sha256'] == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize('upgrade', ['rewritten', 'touched', 'replaced'])
def test_changed_systemd_analyze_is_analysed(host, run, installed, upgrade):
    analyzer = host['analyzer']
    if upgrade == 'rewritten':
        analyzer.write_text('a newer systemd-analyze')
    elif upgrade == 'touched':
        st = os.stat(analyzer)
        os.utime(analyzer, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    else:
        shutil.copy2(analyzer, f'{analyzer}.new')
        os.rename(f'{analyzer}.new', analyzer)
    assert analysed_again(host, run)
    assert read_record(host)['analyzer']['mtime_ns'] == os.stat(analyzer).st_mtime_ns
    assert not analysed_again(host, run)


@pytest.mark.parametrize('owner, mode', [
    (OTHER_UID, 0o600),  # a user's file
    (0, 0o620),          # group-writable
    (0, 0o602),          # world-writable
])
def test_record_not_root_only_is_not_trusted(host, run, installed, owner, mode):
    path = record_file(host['records'])
    os.chown(path, owner, -1)
    path.chmod(mode)
    assert analysed_again(host, run)
    # Analysed and written again, by root alone.
    assert (os.stat(path).st_uid, stat.S_IMODE(os.stat(path).st_mode)) == (0, 0o600)


@pytest.mark.parametrize('which, owner, mode', [
    ('records', OTHER_UID, 0o700),
    ('records', 0, 0o720),
    ('records', 0, 0o707),
    ('records', 0, 0o702),
    ('parent', OTHER_UID, 0o755),
    ('parent', 0, 0o777),
])
def test_record_in_directory_others_can_change_is_not_trusted(host, run, installed, module_warnings, which, owner, mode):
    directory = host['records'] if which == 'records' else host['records'].parent
    os.chown(directory, owner, -1)
    directory.chmod(mode)
    assert analysed_again(host, run)
    assert len(module_warnings) == 1
    assert module_warnings[0].startswith(f"{host['records']}: ")
    assert module_warnings[0].endswith('; the next run analyses the unit again')


def test_record_behind_a_symbolic_link_is_not_trusted(host, run, installed, tmp_path, monkeypatch, module_warnings):
    planted = tmp_path / 'lib' / 'planted'
    planted.mkdir(mode=0o700)
    os.rename(record_file(host['records']), record_file(planted))
    os.symlink(record_file(planted), record_file(host['records']))
    assert analysed_again(host, run)
    assert not os.path.islink(record_file(host['records']))
    # The directory itself reached through a link.
    os.symlink(host['records'], tmp_path / 'lib' / 'link')
    monkeypatch.setattr(_analysis_record, 'RECORD_DIR', str(tmp_path / 'lib' / 'link'))
    assert analysed_again(host, run)
    assert module_warnings == [f"{tmp_path / 'lib' / 'link'}: the analysis record directory component "
                               f"{tmp_path / 'lib' / 'link'} is a symlink; use the real path; "
                               'the next run analyses the unit again']


@pytest.mark.parametrize('change', [
    'not json', pytest.param(b'\xff{}', id='not utf-8'), pytest.param('[' * 100000, id='nested too deep'), '[]',
    '{"version": 2}', 'version=1', 'exposure="1.4"', 'exposure=true', 'exposure=-1', 'exposure=NaN', 'exposure=10.5',
    'exposure=null', 'rating=3', 'rating="O K"', 'rating=""', 'verify_warnings="x"',
    'verify_warnings=[1]', 'unit=null', 'sha256=null', 'analyzer=null', 'analyzer={}', 'analyzer.ino=0',
    'dropins=null', 'dropins={}',
])
def test_malformed_record_is_analysed_again(host, run, installed, change):
    if isinstance(change, str) and '=' in change:
        field, value = change.split('=', 1)
        data = read_record(host)
        target, key = (data['analyzer'], 'ino') if field == 'analyzer.ino' else (data, field)
        target[key] = json.loads(value)
        write_record(host, data)
    else:
        record_file(host['records']).write_bytes(change if isinstance(change, bytes) else change.encode())
    assert analysed_again(host, run)


def test_record_of_another_unit_is_not_trusted(host, run, installed):
    # The other unit's text and the same systemd-analyze: only the unit named differs.
    api = params(host, name='api.service')
    text = run(api, check=True)['unit']
    with open(os.path.join(host['unit_dir'], 'api.service'), 'w') as handle:
        handle.write(text)
    planted = dict(read_record(host), sha256=hashlib.sha256(text.encode()).hexdigest())
    write_record(host, planted, unit='api.service')
    assert analysed_again(host, run, api)
    assert read_record(host)['unit'] == 'web.service'


def test_check_mode_writes_no_record(host, run):
    result = run(params(host), check=True)
    assert (result['changed'], result['exposure_cached']) == (True, False)
    assert not os.path.exists(host['records'])


def test_check_mode_keeps_a_stale_record(host, run, installed):
    before = record_file(host['records']).read_bytes()
    run(params(host, environment={'A': '1'}), check=True)
    assert record_file(host['records']).read_bytes() == before


@pytest.mark.parametrize('check', [False, True])
def test_absent_removes_the_record(host, run, installed, check):
    run({'name': 'web.service', 'state': 'absent', 'unit_dir': host['unit_dir']}, check=check)
    assert os.path.exists(record_file(host['records'])) is check


def test_unit_file_edited_on_the_host_is_analysed(host, run, installed):
    # The record matches the candidate, but the file on disk is someone else's text.
    with open(host['unit_file'], 'a') as handle:
        handle.write('ExecStartPre=/bin/true\n')
    host['systemd'].analyses.clear()
    result = run(params(host))
    assert (result['changed'], result['exposure_cached']) == (True, False)
    assert host['systemd'].analyses == BOTH


# Drop-ins: systemd-analyze applies those on the unit search path to the candidate too, so one
# added, changed or removed after the record changes the score (F5: 8.2 became 9.2).
WEAKEN = '[Service]\nProtectSystem=no\n'


def dropin(host, directory='etc/systemd/system/web.service.d', name='weaken.conf', text=WEAKEN):
    path = host['unit_root'] / directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_dropin_reuses_the_record(host, run, installed):
    (host['unit_root'] / 'etc' / 'systemd' / 'system' / 'other.service.d').mkdir(parents=True)
    dropin(host, 'etc/systemd/system/other.service.d')  # another unit's
    dropin(host, 'etc/systemd/system/web.service.d', 'notes.txt')  # not a *.conf
    assert not analysed_again(host, run)


@pytest.mark.parametrize('directory', [
    'etc/systemd/system/web.service.d', 'run/systemd/system/web.service.d', 'run/systemd/transient/web.service.d',
    'etc/systemd/system.control/web.service.d', 'run/systemd/generator.late/web.service.d',
    'usr/local/lib/systemd/system/web.service.d', 'usr/lib/systemd/system/web.service.d',
    'lib/systemd/system/web.service.d',
    'usr/lib/systemd/system/service.d',  # every service's
])
def test_dropin_added_after_the_record_is_analysed(host, run, installed, directory):
    path = dropin(host, directory)
    assert analysed_again(host, run)
    st = os.stat(path)
    assert read_record(host)['dropins'] == {'unit_path': None, 'files': [[
        f'/{directory}/weaken.conf', 27, st.st_mtime_ns, st.st_ctime_ns,
        '8671330ac4f918cd10b8c338e5c76005b149afc4533c5092833d81a1d1e4e908']]}
    assert not analysed_again(host, run)


@pytest.mark.parametrize('unit, expected', [
    ('web.service', ['web.service.d', 'service.d']),
    ('a-b-c.service', ['a-b-c.service.d', 'a-b-.service.d', 'a-.service.d', 'service.d']),
    ('a-b@x-y.service', ['a-b@x-y.service.d', 'a-b@.service.d', 'a-.service.d', 'service.d']),
    ('web@.service', ['web@.service.d', 'service.d']),
])
def test_dropin_directories_of_a_unit(unit, expected):
    assert _systemd_installed.dropin_dir_names(unit) == expected


@pytest.mark.parametrize('unit, directory', [
    ('web-api.service', 'etc/systemd/system/web-.service.d'),
    ('web-api-v2.service', 'etc/systemd/system/web-api-.service.d'),
    ('web-api-v2.service', 'lib/systemd/system/web-.service.d'),
    ('web@blue.service', 'etc/systemd/system/web@.service.d'),
    ('web-x@blue.service', 'etc/systemd/system/web-.service.d'),
])
def test_prefix_and_template_dropins_are_analysed(host, run, unit, directory):
    args = params(host, name=unit)
    run(args)
    dropin(host, directory)
    assert analysed_again(host, run, args)


@pytest.mark.parametrize('change', ['rewritten', 'same size', 'touched', 'removed', 'renamed'])
def test_dropin_changed_after_the_record_is_analysed(host, run, change):
    path = dropin(host)
    run(params(host))
    if change == 'rewritten':
        path.write_text(WEAKEN + 'PrivateTmp=no\n')
    elif change == 'same size':
        path.write_text(WEAKEN.replace('no', 'on'))
    elif change == 'touched':
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    elif change == 'removed':
        path.unlink()
    else:
        path.rename(path.with_name('zz-weaken.conf'))
    assert analysed_again(host, run)


def test_systemd_unit_path_is_part_of_the_record(host, run, installed, monkeypatch, tmp_path):
    extra = host['unit_root'] / 'srv' / 'units'
    extra.mkdir(parents=True)
    monkeypatch.setenv('SYSTEMD_UNIT_PATH', '/srv/units:')
    assert analysed_again(host, run)
    assert read_record(host)['dropins'] == {'unit_path': '/srv/units:', 'files': []}
    assert not analysed_again(host, run)
    # A drop-in in a directory only SYSTEMD_UNIT_PATH names.
    dropin(host, 'srv/units/web.service.d')
    assert analysed_again(host, run)


@pytest.mark.parametrize('kind', ['fifo', 'symlink loop', 'file', 'relative unit path', 'conf is a symlink loop'])
def test_unreadable_dropins_are_never_trusted(host, run, installed, monkeypatch, module_warnings, kind):
    system = host['unit_root'] / 'etc' / 'systemd' / 'system'
    system.mkdir(parents=True)
    target = system / 'web.service.d'
    if kind == 'fifo':
        os.mkfifo(target)
    elif kind == 'symlink loop':
        os.symlink('web.service.d', target)
    elif kind == 'file':
        target.write_text('')
    elif kind == 'relative unit path':
        monkeypatch.setenv('SYSTEMD_UNIT_PATH', 'units')
    else:
        target.mkdir()
        os.symlink('loop.conf', target / 'loop.conf')
    assert analysed_again(host, run)
    assert analysed_again(host, run)  # and never recorded as trusted
    assert module_warnings == []
