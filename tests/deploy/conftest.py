"""The deploy files (deploy/, Dockerfile) and the tools that validate them without a
Docker engine or a cluster: docker compose and promtool, built by
scripts/install-deploy-tools.sh (which scripts/test.sh runs)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
TOOLS = Path(os.environ.get("TRAFFICCAST_TOOLS_DIR", PROJECT_ROOT / ".cache" / "tools")) / "bin"


def tool(name: str) -> Path:
    path = TOOLS / name
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/install-deploy-tools.sh")
    return path


def yaml_documents(path: Path) -> Iterator[dict[str, Any]]:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc is not None:
            yield doc


@pytest.fixture
def compose_env(tmp_path: Path) -> dict[str, str]:
    """The secrets compose demands, as an operator's deploy/.env gives them."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "POSTGRES_PASSWORD": "pg-secret-for-test",
        "TRAFFICCAST_JWT_SECRET": "jwt-secret-for-test-0123456789abcdef",
        "GRAFANA_ADMIN_PASSWORD": "grafana-secret-for-test",
    }
