"""The Dockerfile's inputs exist and reach the build, and every command a container
runs (compose, Kubernetes) is one the real `trafficcast` command line accepts."""

from __future__ import annotations

import fnmatch
import re
import shlex
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import PROJECT_ROOT
from tests.deploy.conftest import DEPLOY, yaml_documents
from trafficcast.cli import app

DOCKERFILE = PROJECT_ROOT / "Dockerfile"


def ignored(path: str) -> bool:
    patterns = [
        line.strip()
        for line in (PROJECT_ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns)


def container_commands() -> list[tuple[str, list[str]]]:
    """(where, argv after `trafficcast`) for every trafficcast container."""
    found: list[tuple[str, list[str]]] = []
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for name, service in compose["services"].items():
        if not str(service.get("image", "")).startswith("${TRAFFICCAST_IMAGE"):
            continue
        command = service["command"]
        if service.get("entrypoint"):  # a shell loop around trafficcast
            # Each ${VAR:-default} as its default, as the shell would expand it.
            script = re.sub(r"\$\$\{\w+:-([^}]*)\}", r"\1", command[0])
            for line in re.findall(r"trafficcast ([^|;\n]+)", script):
                found.append((f"compose {name}", shlex.split(line)))
        else:
            found.append((f"compose {name}", command))
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        for doc in yaml_documents(path):
            for container in _containers(doc):
                found.append((f"{path.name} {container['name']}", container["args"]))
    return found


def _containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = doc.get("spec", {})
    template = spec.get("jobTemplate", {}).get("spec", spec).get("template")
    return list(template["spec"]["containers"]) if template else []


def test_every_copied_path_exists_and_is_not_ignored() -> None:
    copies = re.findall(r"^COPY (?!--from)(.+)$", DOCKERFILE.read_text(), re.MULTILINE)
    sources = [s for line in copies for s in line.split()[:-1]]
    assert {"pyproject.toml", "README.md", "src/", "web/"} <= set(sources)
    for source in sources:
        assert (PROJECT_ROOT / source).exists(), source
        assert not ignored(source.rstrip("/")), source
    # What the build must not carry: local state and the host's build output.
    for path in (".venv", ".git", "data", "src/trafficcast/web", "web/node_modules"):
        assert ignored(path), path


def test_the_image_runs_the_cli_as_an_unprivileged_user() -> None:
    text = DOCKERFILE.read_text()
    assert 'ENTRYPOINT ["trafficcast"]' in text
    assert re.search(r"^USER 10001$", text, re.MULTILINE)
    assert "useradd --system --uid 10001" in text
    # The web build uses the scripts of web/package.json's toolchain.
    assert "npm ci" in text
    assert "vite build" in text


@pytest.mark.parametrize(("where", "argv"), container_commands(), ids=lambda v: str(v))
def test_each_container_command_is_accepted_by_the_cli(where: str, argv: list[str]) -> None:
    # --help after the arguments: an unknown command or option still fails first.
    done = CliRunner().invoke(app, [*argv, "--help"])
    assert done.exit_code == 0, f"{where}: {argv}\n{done.output}"


def test_a_misspelt_option_would_be_caught() -> None:
    done = CliRunner().invoke(app, ["process", "--metrics-prot", "9100", "--help"])
    assert done.exit_code == 2
    assert "metrics-prot" in done.output
