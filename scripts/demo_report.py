#!/usr/bin/env python3
"""Print the demo's report from the JSON files that extensions/molecule/secure_server/report.yml
wrote for each host: TCP wrappers verdicts and who enforces them, jails, jailed services, and the seeds' own
checks."""
import json
import re
import sys


def human_size(size):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return "%.1f %s" % (size, unit) if unit != "B" else "%d B" % size
        size /= 1024.0


def listed(paths):
    return ", ".join(paths or []) or "none"


def status_field(status, name):
    match = re.search(r"^%s:\s*(.*)$" % name, status, re.M)
    return match.group(1).split() if match else []


def print_enforcement(report, problems):
    """One line per daemon the policy names: what enforces its rules, or nobody (a problem)."""
    print("-- who enforces the rules (serversec.confine.tcpwrap_info) --")
    names = {"libwrap": "libwrap in %(binary)s", "tcpd": "tcpd via %(unit)s", "ip_filter": "IP filter on %(unit)s"}
    for item in report.get("enforcement", []):
        enforced = [names[entry["mechanism"]] % entry for entry in item["enforced_by"]]
        if enforced:
            print("  %-11s %s" % (item["daemon"], ", ".join(enforced)))
        elif not item.get("installed", True):
            # a rule for a daemon the host does not run protects nothing, and exposes nothing either
            print("  %-11s nobody: not installed on this host" % item["daemon"])
        else:
            print("  %-11s NOBODY" % item["daemon"])
            problems.append("nobody enforces the rules of %s (%s)" % (item["daemon"], "; ".join(item["notes"])))


def print_host(report):
    problems = []
    print("=" * 78)
    print("%s (%s)" % (report["host"], report["distribution"]))
    print("-- TCP wrappers verdicts (serversec.confine.tcpwrap_info) --")
    for verdict in report["access"]:
        query = verdict["query"]
        where = "%s:%s" % (verdict["file"], verdict["line"]) if verdict["file"] else "no rule matched"
        print("  %-11s from %-15s %-8s  (%s)" % (query["daemon"], query["address"], verdict["access"], where))
    print_enforcement(report, problems)

    print("-- jails (serversec.confine.chroot_jail) --")
    for result in report["jails"] + report["service_jails"]:
        audit = result.get("audit", {})
        path = result["item"].get("path") or result["invocation"]["module_args"]["path"]
        print("  %-22s %5d files, %10s; setuid: %s; writable: %s; devices: %s" % (
            path, result.get("files", 0), human_size(result.get("size", 0)),
            listed(audit.get("setuid")), listed(audit.get("writable")), listed(audit.get("devices"))))

    print("-- jailed services (serversec.confine.jailed_service) --")
    for pid, roots, status in report["services"]:
        name = pid["item"]["name"]
        text = __import__("base64").b64decode(status["content"]).decode()
        process_root, jail_root, host_root = roots["stdout"].split()
        jail = roots["cmd"][5]
        sees_jail = process_root == jail_root != host_root
        exposure = report["exposure"].get(name, report["exposure"].get(name + "-jailed.service"))
        uid, gid = status_field(text, "Uid")[0], status_field(text, "Gid")[0]
        # The kernel lists the primary group among "Groups"; only the others are supplementary.
        extra_groups = [group for group in status_field(text, "Groups") if group != gid]
        print("  %s: pid %s, uid %s, gid %s, supplementary groups: %s" % (
            name, pid["stdout"], uid, gid, ", ".join(extra_groups) or "none"))
        if uid == "0":
            problems.append("%s runs as root" % name)
        print("    root: %s (%s the jail %s); exposure: %s" % (
            process_root, "is" if sees_jail else "IS NOT", jail, exposure))
        if not sees_jail:
            problems.append("%s does not run inside its jail" % name)

    print("-- seeds' check: SSH banners from client containers --")
    for client, answer in report["ssh"]:
        print("  %-15s %-15s %s" % (client["label"], client["address"], answer))
        if answer.startswith("SSH-") != (client["label"] == "allowed client"):
            problems.append("the %s at %s was answered against the policy: %s" % (client["label"], client["address"], answer))
    problems += print_logins(report.get("logins", []))
    return problems


# What must never show in a jailed login's output: the host's /root marker, and the output of a
# program the user uploaded (uploads are mounted noexec).
MARKER = "host secret outside every jail"
UPLOAD_RAN = "uploaded program ran"


def print_logins(logins):
    problems = []
    print("-- jailed logins from a client container (serversec.confine.ssh_jails) --")
    for login, rc, stdout, stderr in logins:
        print("  %s (exit %s):" % (login["label"], rc))
        for line in (stdout + "\n" + stderr).strip().splitlines():
            print("    | " + line)
        output = stdout + stderr
        if MARKER in output:
            problems.append("%s read the /root marker" % login["label"])
        if UPLOAD_RAN in output:
            problems.append("%s ran an uploaded program" % login["label"])
        if login["user"] == "ann" and login["argv"][0] == "ssh" and "uid=" in output:
            problems.append("ann got a shell")
        if login["argv"][0] == "sftp" and (rc != 0 or "run.sh" not in stdout):
            problems.append("ann could not upload into /upload")
        if login["user"] == "sam" and "uid=" not in stdout:
            problems.append("sam got no shell in his jail")
    return problems


def main():
    problems = []
    for path in sys.argv[1:]:
        with open(path) as handle:
            problems += print_host(json.load(handle))
    if not sys.argv[1:]:
        problems.append("no report was written")
    print("=" * 78)
    for problem in problems:
        print("PROBLEM: " + problem)
    if not problems:
        print("Every check held.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
