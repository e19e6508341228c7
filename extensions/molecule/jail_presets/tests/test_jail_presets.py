"""jail_presets: each command of vars/presets.yml, run as nobody in the jail chroot_jail built from
the preset and in the one jk_init built from jailkit's section of the same name.

The preset's jail must run every command; jailkit's must run exactly those the table says it
runs (``jailkit: true``), so a section that starts working, or stops, is noticed.
"""

import pathlib

import pytest
import yaml

TABLE = yaml.safe_load((pathlib.Path(__file__).parent.parent / "vars" / "presets.yml").read_text())["jail_presets_table"]
NOBODY = "--userspec=65534:65534"


def label(row):
    return f"{row['preset']}: {' '.join(row['command'][-2:])}"


def run(host, jail, row):
    command = " ".join(quote(arg) for arg in ["chroot", NOBODY, jail] + row["command"])
    # an empty stdin (the host's /dev/null, opened outside the jail): a server reads end-of-file and exits 0
    return host.run(command + (" </dev/null" if row.get("stdin") is not None else ""))


def quote(arg):
    return "'" + arg.replace("'", "'\\''") + "'"


@pytest.mark.parametrize("row", TABLE, ids=label)
def test_preset_jail_runs_the_command(host, row):
    result = run(host, f"/srv/jails/{row['preset']}", row)
    assert result.rc == 0, (result.stdout, result.stderr)


@pytest.mark.parametrize("row", TABLE, ids=label)
def test_jailkit_section_runs_it_only_where_the_table_says(host, row):
    result = run(host, f"/srv/jk/{row['preset']}", row)
    if row["jailkit"]:
        assert result.rc == 0, (result.stdout, result.stderr)
    else:
        assert result.rc != 0, f"jailkit's {row['preset']} now runs it: {row['why']} no longer holds"


def test_preset_jails_run_as_nobody_without_setuid_files(host):
    found = host.run("find /srv/jails -xdev -perm /6000 -type f")
    assert found.rc == 0 and found.stdout == ""
