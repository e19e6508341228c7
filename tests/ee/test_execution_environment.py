"""The collection goes into an execution environment with its needs (`make ee-test`).

ansible-builder (pinned in requirements/ee.txt, in .venvs/builder) creates the build context of
extensions/ee/execution-environment.yml with the collection taken from this checkout's tarball;
then the context's own introspection script (what the image build runs after installing the
collections) reads the installed collection's meta/execution-environment.yml. No image is
built: no registry is reachable here.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILDER = ROOT / ".venvs" / "builder" / "bin" / "ansible-builder"
GALAXY = Path(sys.executable).parent / "ansible-galaxy"

# Golden: what meta/bindep.txt and meta/ee-requirements.txt declare.
SYSTEM_NEEDS = ["openssh-clients [platform:rpm]", "openssh-client [platform:dpkg]", "tcpd [platform:dpkg]"]


def run(*command, **kwargs):
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    run(GALAXY, "collection", "build", "--output-path", out, ROOT)
    (built,) = out.glob("serversec-confine-*.tar.gz")
    return built


@pytest.fixture(scope="module")
def context(tmp_path_factory, tarball):
    """The build context of the shipped definition, with the collection from the tarball."""
    if not BUILDER.exists():
        pytest.fail("ansible-builder is missing: run `make ee-test` (it builds .venvs/builder)")
    work = tmp_path_factory.mktemp("ee")
    definition = yaml.safe_load((ROOT / "extensions" / "ee" / "execution-environment.yml").read_text())
    shutil.copy(tarball, work / tarball.name)
    (work / "requirements.yml").write_text(yaml.safe_dump(
        {"collections": [{"name": f"collections/{tarball.name}", "type": "file"}]}))
    definition["additional_build_files"] = [{"src": tarball.name, "dest": "collections"}]
    (work / "execution-environment.yml").write_text(yaml.safe_dump(definition))
    run(BUILDER, "create", "-f", work / "execution-environment.yml", "-c", work / "context",
        "--output-filename", "Containerfile", cwd=work)
    return work / "context"


def test_definition_is_ansible_builder_v3():
    definition = yaml.safe_load((ROOT / "extensions" / "ee" / "execution-environment.yml").read_text())
    assert definition["version"] == 3
    assert definition["dependencies"]["galaxy"] == "requirements.yml"
    galaxy = yaml.safe_load((ROOT / "extensions" / "ee" / "requirements.yml").read_text())
    assert [c["name"] for c in galaxy["collections"]] == ["serversec.confine"]


def test_context_installs_the_collection_from_its_tarball(context, tarball):
    assert (context / "_build" / "collections" / tarball.name).is_file()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert requirements["collections"][0]["name"] == f"collections/{tarball.name}"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "ansible-core>=2.16,<2.20" in containerfile
    # The build installs what introspection finds in the installed collections.
    assert "introspect" in containerfile
    assert "assemble" in containerfile


def test_introspection_finds_the_collection_system_and_python_needs(context, tarball, tmp_path):
    """The context's introspect.py on the installed collection: the system needs of
    meta/bindep.txt, and no Python package (meta/ee-requirements.txt lists none)."""
    installed = tmp_path / "collections"
    # Only the install directory counts: `make` points ANSIBLE_COLLECTIONS_PATH at this checkout,
    # where ansible-galaxy would find the collection "already installed" and install nothing.
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(installed))
    run(GALAXY, "collection", "install", "--offline", "-p", installed, tarball, env=env)
    script = context / "_build" / "scripts" / "introspect.py"
    pip, bindep = tmp_path / "requirements.txt", tmp_path / "bindep.txt"
    result = run(BUILDER.parent / "python", script, "introspect", installed,
                 "--write-pip", pip, "--write-bindep", bindep, env=dict(os.environ))
    found = yaml.safe_load(result.stdout.split("---", 1)[-1]) if "---" in result.stdout else yaml.safe_load(result.stdout)
    assert found["system"] == [f"{need}  # from collection serversec.confine" for need in SYSTEM_NEEDS]
    assert found["python"] == []
    assert bindep.read_text().splitlines() == found["system"]
    assert not pip.exists()
