#!/usr/bin/env python3
"""Fleet benchmark: playbooks/secure_server.yml on N hosts at once (N = 1, 4, 8, 16 by default).

For each N it starts N Debian 12 stand-in hosts running sshd (scripts/fleet_hosts.py) and:
  1. times the first run of the playbook over SSH (key login as an unprivileged user, sudo,
     pipelining and ControlPersist from the project's ansible.cfg), as users run it;
  2. times no-change runs, alternating in every round, over SSH and over `docker exec`:
     - "today": the collection, playbook, policy and config (no ansible.cfg) of BEFORE_REF, on
       N hosts of its own (two versions of the engine must not share a host's state);
     - "now": the playbook and ansible.cfg of this checkout (its fact cache filled by step 1);
     - "same scope": now's playbook without the SSH logins (ssh_jails_list empty), which "today"
       did not jail: the same work as today's run, for a like-for-like ratio;
     - baselines: plays of as many `ansible.builtin.ping` tasks (with become) as today's and
       now's runs make module runs per host: what the same number of trivial modules costs;
     and checks that every no-change run reports changed=0 on every host;
  3. counts module runs and connection round trips per host in one -vvv run of each variant,
     and with --profile times each task of same-scope no-change runs over SSH (profile_tasks);
  4. runs tests/e2e/lockout_guard.yml over SSH on every host: denying sshd to the controller's
     own address is refused and the connection survives.
Medians of the rounds are printed as Markdown tables for README.md.
"""
import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import fleet_hosts  # noqa: E402

# The playbook and policy before issue 13 (the "today" of the goal).
BEFORE_REF = "4fbba65"
# Extra variables of the "same scope" side: no SSH logins jailed, as in BEFORE_REF's playbook.
SAME_SCOPE = {"ssh_jails_list": []}
WORK = ROOT / ".build" / "bench"
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
# -vvv lines of a connection operation: "<host> EXEC ..." (docker), "<host> SSH: EXEC ...", "<host> PUT ...".
TASK_TIME = re.compile(r"^(\S.*?) -+ (\d+\.\d+)s$", re.M)
OPERATION = re.compile(r"^<([^>]+)> (?:SSH: )?(EXEC|PUT|FETCH) (.*)$", re.M)


def export_before(ref):
    """Today's collection (git archive of ref) as a collections root under WORK/before, its
    playbooks/, and its (absent) ansible.cfg."""
    before = WORK / "before"
    subprocess.run(["rm", "-rf", str(before)], check=True)
    collection = before / "ansible_collections" / "serversec" / "confine"
    collection.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "galaxy.yml", "meta", "plugins", "roles", "playbooks"],
                             cwd=ROOT, check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(collection)], input=archive.stdout, check=True)
    config = WORK / "before.cfg"
    config.write_text("# %s had no ansible.cfg: Ansible's defaults (no pipelining, 5 forks).\n[defaults]\n" % ref)
    return collection / "playbooks", config, before


def ping_play(count):
    path = WORK / ("ping-%d.yml" % count)
    tasks = "".join("    - name: Ping %d\n      ansible.builtin.ping:\n" % (i + 1) for i in range(count))
    path.write_text("---\n- name: Baseline, %d trivial module runs\n  hosts: secure_servers\n  become: true\n"
                    "  gather_facts: false\n  tasks:\n%s" % (count, tasks))
    return path


def run(playbook, inventory, config, verbose=False, extra=None, collections=None, callback=None):
    command = ["ansible-playbook", "-i", str(inventory), str(playbook)] + (["-vvv"] if verbose else [])
    if extra:
        command += ["-e", json.dumps(extra)]
    # now's ansible.cfg caches facts: in a directory of this benchmark's, emptied for every N.
    env = fleet_hosts.ansible_env(config, fact_cache=WORK / "facts", collections=collections)
    if callback:
        env["ANSIBLE_CALLBACKS_ENABLED"] = callback
    started = time.monotonic()
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.monotonic() - started, result


def recap(output):
    return {host: (int(changed), int(unreachable), int(failed)) for host, _ok, changed, unreachable, failed
            in RECAP.findall(output)}


def operations(output):
    """(module runs, connection round trips) per host, from -vvv output. A module run is an EXEC
    of the Python interpreter (with pipelining the module comes on its stdin; without it, the
    AnsiballZ file put in a temporary directory). Interpreter discovery, a shell probe naming the
    candidate interpreters ("echo FOUND; command -v python3.13; ..."), is not a module run."""
    runs, trips = {}, {}
    for host, kind, rest in OPERATION.findall(output):
        trips[host] = trips.get(host, 0) + 1
        if kind == "EXEC" and "python" in rest and "echo FOUND" not in rest:
            runs[host] = runs.get(host, 0) + 1
    return runs, trips


def profile_tasks(side, inventory, runs):
    """``[(median seconds, task)]`` of ``runs`` no-change runs timed per task by
    ansible.posix.profile_tasks (its summary lines: "role : task ------- 1.05s"), slowest first."""
    playbook, config, extra, collections = side
    seen = {}
    for _ in range(runs):
        _seconds, result = run(playbook, inventory, config, extra=extra, collections=collections,
                               callback="ansible.posix.profile_tasks")
        for task, seconds in TASK_TIME.findall(result.stdout):
            seen.setdefault(task, []).append(float(seconds))
    return sorted(((median(values), task) for task, values in seen.items()), reverse=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def bench_count(count, rounds, key, before, failures, light=False, profile_runs=0):
    before_playbooks, before_config, before_collections = before
    now_config = ROOT / "ansible.cfg"
    subprocess.run(["rm", "-rf", str(WORK / "facts")], check=True)
    # Today's side gets hosts of its own: its engine keeps state its own way.
    names = fleet_hosts.start(count if light else 2 * count, key)
    try:
        inventories = {}
        for transport in ("ssh", "docker"):
            for side, hosts, group_vars in (
                    ("today", names[count:], before_playbooks / "inventory" / "group_vars"),
                    ("now", names[:count], ROOT / "playbooks" / "inventory" / "group_vars")):
                inventories[transport, side] = fleet_hosts.write_inventory(
                    WORK / ("inv-%d-%s-%s" % (count, transport, side)), hosts, transport, key, group_vars)
            inventories[transport, "same"] = inventories[transport, "now"]
        # side: (playbook, config, extra variables, collections root)
        sides = {"today": (before_playbooks / "secure_server.yml", before_config, None, before_collections),
                 "now": (ROOT / "playbooks" / "secure_server.yml", now_config, None, None),
                 "same": (ROOT / "playbooks" / "secure_server.yml", now_config, SAME_SCOPE, None)}

        first, result = run(sides["now"][0], inventories["ssh", "now"], now_config)
        (WORK / ("fleet-%d-first.log" % count)).write_text(result.stdout + result.stderr)
        if result.returncode:
            failures.append("N=%d: first run failed (log fleet-%d-first.log)" % (count, count))
            return None
        if not light:
            _seconds, result = run(sides["today"][0], inventories["ssh", "today"], before_config,
                                   collections=before_collections)
            (WORK / ("fleet-%d-first-today.log" % count)).write_text(result.stdout + result.stderr)
            if result.returncode:
                failures.append("N=%d: today's first run failed (log fleet-%d-first-today.log)" % (count, count))
                return None

        # Module runs and round trips per host, one -vvv no-change run of each side and transport.
        counts = {}
        transports = ("ssh",) if light else ("ssh", "docker")
        if light:  # only now, over SSH
            sides = {"now": sides["now"]}
        for transport in transports:
            for side, (playbook, config, extra, collections) in sides.items():
                _seconds, result = run(playbook, inventories[transport, side], config, verbose=True, extra=extra,
                                       collections=collections)
                (WORK / ("fleet-%d-%s-%s-vvv.log" % (count, transport, side))).write_text(result.stdout)
                runs, trips = operations(result.stdout)
                counts[transport, side] = (median(list(runs.values())), median(list(trips.values())))
        pings = {side: ping_play(int(counts[transports[-1], side][0])) for side in sides}

        variants = []
        for transport in transports:
            for side, (playbook, config, extra, collections) in sides.items():
                variants.append((transport, side, playbook, config, True, extra, collections))
                variants.append((transport, "ping-" + side, pings[side], config, False, None, None))
        times = {(transport, label): [] for transport, label, _p, _c, _x, _e, _l in variants}
        for round_index in range(rounds):
            # Rotate the order every round, so that no variant always runs first or last.
            shift = round_index % len(variants)
            for transport, label, playbook, config, clean, extra, collections in variants[shift:] + variants[:shift]:
                inventory = inventories[transport, label.replace("ping-", "")]
                seconds, result = run(playbook, inventory, config, extra=extra, collections=collections)
                times[transport, label].append(seconds)
                hosts = recap(result.stdout)
                dirty = sorted(h for h, (changed, unreachable, failed) in hosts.items()
                               if (clean and changed) or unreachable or failed)
                if result.returncode or len(hosts) != count or dirty:
                    log = WORK / ("fleet-%d-%s-%s-failed.log" % (count, transport, label))
                    log.write_text(result.stdout + result.stderr)
                    failures.append("N=%d %s %s: rc=%d, hosts not clean: %s (log %s)"
                                    % (count, transport, label, result.returncode, dirty, log.name))

        profile = profile_tasks(sides["same" if "same" in sides else "now"], inventories["ssh", "now"],
                                profile_runs) if profile_runs else []

        _seconds, result = run(ROOT / "tests" / "e2e" / "lockout_guard.yml", inventories["ssh", "now"], now_config)
        (WORK / ("fleet-%d-lockout.log" % count)).write_text(result.stdout + result.stderr)
        lockout = "yes" if result.returncode == 0 and len(recap(result.stdout)) == count else "NO"
        if lockout != "yes":
            failures.append("N=%d: lockout-guard check failed (log fleet-%d-lockout.log)" % (count, count))
        return {"first": first, "counts": counts, "pings": {side: int(counts[transports[-1], side][0]) for side in sides},
                "times": {key_: median(values) for key_, values in times.items()}, "lockout": lockout,
                "profile": profile}
    finally:
        fleet_hosts.stop(names)


def print_tables(results):
    print("\nNo-change run of secure_server.yml, wall clock, median of the alternating rounds "
          "(today = the %s collection and playbook, no ansible.cfg, on hosts of its own; now = this checkout; same scope = now without the "
          "SSH logins today's playbook did not jail):\n" % BEFORE_REF)
    print("| transport | N | rounds | today (s) | now (s) | now / today | same scope (s) | same scope / today | "
          "pings x today's runs (s) | pings x now's runs (s) | pings x same scope's runs (s) | "
          "module runs / host, today -> now -> same scope | round trips / host, today -> now -> same scope |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for transport in ("ssh", "docker"):
        for count, r in results.items():
            if (transport, "today") not in r["times"]:
                continue
            t, c, p = r["times"], r["counts"], r["pings"]
            today, now, same = t[transport, "today"], t[transport, "now"], t[transport, "same"]
            print("| %s | %d | %d | %.1f | %.1f | %.0f%% | %.1f | %.0f%% | %.1f (%d) | %.1f (%d) | %.1f (%d) | %g -> %g -> %g | %g -> %g -> %g |"
                  % (transport, count, r["rounds"], today, now, 100 * now / today, same, 100 * same / today,
                     t[transport, "ping-today"], p["today"], t[transport, "ping-now"], p["now"],
                     t[transport, "ping-same"], p["same"],
                     c[transport, "today"][0], c[transport, "now"][0], c[transport, "same"][0],
                     c[transport, "today"][1], c[transport, "now"][1], c[transport, "same"][1]))
    print("\nFirst run over SSH (now), and the lockout-guard check over SSH:\n")
    print("| N | first run (s) | per host (s) | no-change over SSH (s) | per host (s) | lockout refused, connection kept |")
    print("| ---: | ---: | ---: | ---: | ---: | --- |")
    for count, r in results.items():
        now = r["times"]["ssh", "now"]
        print("| %d | %.1f | %.1f | %.1f | %.1f | %s |" % (count, r["first"], r["first"] / count, now, now / count,
                                                          r["lockout"]))
    for count, r in results.items():
        if r["profile"]:
            print("\nWhere a same-scope no-change run over SSH spends its time at N=%d (profile_tasks, median "
                  "seconds per task; %.1f s in all):\n" % (count, sum(seconds for seconds, _task in r["profile"])))
            print("| task | s |\n| --- | ---: |")
            for seconds, task in r["profile"]:
                print("| %s | %.2f |" % (task, seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("counts", nargs="*", type=int, default=[1, 4, 8, 16])
    parser.add_argument("--rounds", type=int, default=3, help="alternating no-change rounds at N=1 (default 3)")
    parser.add_argument("--fleet-rounds", type=int, default=1, help="alternating no-change rounds at N>1 (default 1)")
    parser.add_argument("--light", action="store_true",
                        help="only this checkout's playbook and its ping baseline, over SSH")
    parser.add_argument("--profile", type=int, default=0, metavar="RUNS",
                        help="also time each task of RUNS same-scope no-change runs over SSH (profile_tasks)")
    parser.add_argument("--before", default=BEFORE_REF, help="git ref of today's playbook (default %(default)s)")
    args = parser.parse_args()

    WORK.mkdir(parents=True, exist_ok=True)
    lock = fleet_hosts.molecule_run.take_turn()  # noqa: F841 - held until exit
    before = export_before(args.before)
    key = fleet_hosts.ssh_key(WORK)
    results, failures = {}, []
    for count in args.counts:
        started = time.monotonic()
        rounds = args.rounds if count == 1 else args.fleet_rounds
        result = bench_count(count, rounds, key, before, failures, light=args.light, profile_runs=args.profile)
        if result:
            result["rounds"] = rounds
            results[count] = result
            with open(WORK / "fleet-results.json", "a") as handle:
                handle.write(json.dumps({"N": count, "first": result["first"], "lockout": result["lockout"],
                                         "times": {"/".join(k): v for k, v in result["times"].items()},
                                         "counts": {"/".join(k): v for k, v in result["counts"].items()}}) + "\n")
        print("==> N=%d done in %.0f s" % (count, time.monotonic() - started), file=sys.stderr, flush=True)
    fleet_hosts.stop([])
    print_tables(results)
    for failure in failures:
        print("FAILED " + failure, file=sys.stderr)
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
