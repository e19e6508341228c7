"""The attacks of issue 9 fail: converge ran them and kept the evidence, these tests judge it.

Each promise is its own test so every hole shows. Refusals are matched loosely, on the key
words (the directory, the group names, the setting), never on whole sentences.
"""

import json
import os
import re

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "..", "vars", "attacks.yml")) as handle:
    VARS = yaml.safe_load(handle)
EVIDENCE = VARS["jail_attacks_evidence"]
CASES = {case["id"]: case for case in VARS["jail_attacks_service_cases"]}
REFUSED = sorted(case_id for case_id, case in CASES.items() if "match" in case)
ACCEPTED = sorted(case_id for case_id, case in CASES.items() if "match" not in case)
VICTIMS = VARS["jail_attacks_prune_victims"] + VARS["jail_attacks_absent_victims"]
# Ansible's answer to an option the module does not know: the feature is missing.
UNKNOWN_OPTION = "Unsupported parameters"


def leaks(host, secret):
    """Copies of secret 1 (the vault's) or 2 (mallory's shadow hash) the scans found in a jail."""
    found = host.file(f"{EVIDENCE}/leaks.jsonl")
    hits = [json.loads(line) for line in found.content_string.splitlines()] if found.exists else []
    # the same copy is found by every later scan: report each path once, with the first scan
    first = {}
    for hit in hits:
        if hit["secret"] == secret:
            first.setdefault(hit["path"], hit)
    return list(first.values())


def evidence(host, name):
    return json.loads(host.file(f"{EVIDENCE}/{name}.json").content_string)


def crashed(result):
    """A traceback instead of a clear error (ansible-core 2.19 reports it as "Module failed: ...",
    earlier versions as "MODULE FAILURE" with the traceback in module_stderr)."""
    msg = result.get("msg", "")
    return "module_stderr" in result or "MODULE FAILURE" in msg or "Module failed:" in msg


def refused(result, *patterns):
    """The run failed with a clear message matching every pattern; returns what is wrong, or ''."""
    msg = result.get("msg", "")
    if not result.get("failed"):
        return "it was accepted"
    if crashed(result):
        return f"it crashed: {msg} {result.get('module_stderr', '')}"
    if UNKNOWN_OPTION in msg:
        return f"an option is missing: {msg}"
    missing = [pattern for pattern in patterns if not re.search(pattern, msg, re.IGNORECASE)]
    return f"the message does not name {missing}: {msg}" if missing else ""


def proc_status(host, pid):
    status = {}
    for line in host.file(f"/proc/{pid}/status").content_string.splitlines():
        key, _sep, value = line.partition(":")
        status[key] = value.strip()
    return status


# 1. The swap race ------------------------------------------------------------------------

def test_the_swapper_really_raced(host):
    swaps = evidence(host, "race")["swaps"]
    assert swaps and swaps[0] > 1000, f"the racing user made only {swaps} swaps"


def test_source_under_a_user_owned_directory_is_refused_by_default(host):
    result = evidence(host, "race")["refusal"]
    problem = refused(result, re.escape(VARS["jail_attacks_user_dir"]))
    assert not problem, problem


def race_runs(host, optin):
    """Results of the runs during the race, by default or with the opt-in; item is [round, opt-in]."""
    runs = [run for run in evidence(host, "race")["runs"] if run["item"][1] == optin]
    assert len(runs) == VARS["jail_attacks_race_rounds"]
    return runs


def test_default_runs_during_the_race_are_all_refused(host):
    user_dir = re.escape(VARS["jail_attacks_user_dir"])
    problems = [f"round {run['item'][0]}: {refused(run, user_dir)}" for run in race_runs(host, False) if refused(run, user_dir)]
    assert not problems, "\n".join(problems)


def test_opt_in_runs_during_the_race_succeed_or_fail_cleanly(host):
    problems = [f"round {run['item'][0]}: {run.get('msg')} {run.get('module_stderr', '')}" for run in race_runs(host, True)
                if crashed(run) or UNKNOWN_OPTION in run.get("msg", "")]
    assert not problems, "\n".join(problems)


def test_the_secret_never_entered_a_jail(host):
    # converge scanned every jail after every run; scan them all once more now
    final = host.run(f"/usr/bin/python3 /usr/local/sbin/serversec-scan verify {EVIDENCE}/needles /srv/jails")
    assert final.rc == 0, final.stderr
    race = leaks(host, 1)
    assert not race, "root-only content copied into a jail (uid, mode of the copy):\n" + "\n".join(map(str, race))


def test_opt_in_copies_the_report_with_owner_and_mode_of_the_source(host):
    control = evidence(host, "race")["control"]
    assert not control.get("failed"), control.get("msg")
    jail = VARS["jail_attacks_race_optin_jail"] + "-control"
    jail_dir = host.file(jail + VARS["jail_attacks_source"])
    assert jail_dir.is_directory and not jail_dir.is_symlink
    copy = host.file(jail + VARS["jail_attacks_source"] + "/report.txt")
    assert copy.content_string == VARS["jail_attacks_report"]
    assert (copy.user, copy.mode) == (VARS["jail_attacks_user"], 0o644)


# 2. State tampered from inside the jail --------------------------------------------------

@pytest.mark.parametrize("victim", VICTIMS, ids=[victim["entry"] for victim in VICTIMS])
def test_victims_outside_the_jail_survive(host, victim):
    found = host.file(victim["path"])
    assert found.exists, f"{victim['path']} was removed through the jail's manifest entry {victim['entry']}"
    if victim["type"] == "file":
        assert found.content_string == "victim, outside every jail\n"
    else:
        assert found.is_directory


def test_shadow_never_entered_the_tampered_jail(host):
    found = leaks(host, 2)
    assert not found, "/etc/shadow's content copied into the jail:\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("run", ["prune", "garbage", "deep", "absent"])
def test_tampered_state_gives_no_traceback(host, run):
    result = evidence(host, "tamper")[run]
    assert not crashed(result), f"{result.get('msg')} {result.get('module_stderr', '')}"


def test_module_state_lives_outside_every_jail(host):
    state_dir = host.file(VARS["jail_attacks_state_dir"])
    assert state_dir.is_directory and not state_dir.is_symlink, f"{state_dir.path} is missing"
    assert (state_dir.uid, state_dir.mode) == (0, 0o700)
    real = host.check_output(f"realpath {state_dir.path}")
    assert not real.startswith("/srv/jails/")
    assert host.check_output(f"find {state_dir.path} -type f | wc -l") != "0", "the module recorded no state"
    # a jail no one tampered with holds no state of the module
    assert not host.file(VARS["jail_attacks_service_jail"] + "/.serversec-jail.json").exists


# 3 and 4. Groups and loosening settings --------------------------------------------------

def service_run(host, case_id):
    return next(run for run in evidence(host, "service")["runs"] if run["item"]["id"] == case_id)


@pytest.mark.parametrize("case_id", REFUSED)
def test_jailed_service_refuses(host, case_id):
    problem = refused(service_run(host, case_id), *CASES[case_id]["match"])
    assert not problem, problem
    # converge removes only the units it accepted: a refused one must never have been written
    assert not host.file(f"/etc/systemd/system/attack-{case_id}.service").exists, f"attack-{case_id}.service was written"


@pytest.mark.parametrize("case_id", ACCEPTED)
def test_jailed_service_accepts_what_the_play_allows(host, case_id):
    run = service_run(host, case_id)
    assert not run.get("failed"), run.get("msg")
    assert run["unit_path"] == f"/etc/systemd/system/attack-{case_id}.service"


def test_no_attack_daemon_runs_with_groups_but_its_own(host):
    units = host.check_output("systemctl list-units --plain --no-legend --state=running 'attack-*.service'")
    running = [line.split()[0] for line in units.splitlines() if line.strip()]
    assert "attack-clean.service" in running
    for unit in running:
        pid = int(host.check_output(f"systemctl show -p MainPID --value {unit}"))
        status = proc_status(host, pid)
        gid = status["Gid"].split()[0]
        # Linux lists the process's own group among its groups; nothing else may be there.
        assert set(status["Groups"].split()) <= {gid}, f"{unit} runs with Groups: {status['Groups']}"
