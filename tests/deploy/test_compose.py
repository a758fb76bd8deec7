"""deploy/compose.yaml, through `docker compose config` (parsing, interpolation and
the compose schema; no engine needed) and the facts the stack depends on."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.conftest import DEPLOY, tool

COMPOSE = DEPLOY / "compose.yaml"
TRAFFICCAST_SERVICES = ("migrate", "api", "processor", "forecaster")


def compose(
    env: dict[str, str], *args: str, path: Path = COMPOSE
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("docker-compose")), "-f", str(path), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def stack(compose_env: dict[str, str]) -> dict[str, Any]:
    done = compose(compose_env, "config", "--format", "json")
    assert done.returncode == 0, done.stderr
    model: dict[str, Any] = json.loads(done.stdout)
    return model


def test_the_file_is_valid_compose(compose_env: dict[str, str]) -> None:
    done = compose(compose_env, "config", "--quiet")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_the_stack_has_every_part_issue_8_lists(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert set(services) == {
        "kafka", "postgres", "redis", "migrate", "api", "processor", "forecaster",
        "prometheus", "grafana",
    }  # fmt: skip
    assert services["api"]["deploy"]["replicas"] == 2
    assert services["processor"]["deploy"]["replicas"] == 2
    kafka = services["kafka"]["environment"]
    assert kafka["KAFKA_PROCESS_ROLES"] == "broker,controller"  # KRaft: no ZooKeeper
    assert "zookeeper" not in json.dumps(stack).lower()


def test_trafficcast_containers_share_one_configuration(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name in TRAFFICCAST_SERVICES:
        env = services[name]["environment"]
        assert env["TRAFFICCAST_BUS"].startswith("kafka://kafka:9092"), name
        assert env["TRAFFICCAST_DATABASE_URL"] == (
            "postgresql://trafficcast:pg-secret-for-test@postgres:5432/trafficcast"
        ), name
        assert env["TRAFFICCAST_JWT_SECRET"] == "jwt-secret-for-test-0123456789abcdef", name
        mounts = {(v["source"], v["target"]) for v in services[name]["volumes"]}
        assert ("models", env["TRAFFICCAST_MODELS_DIR"]) in mounts, name


def test_nothing_starts_before_the_schema_is_migrated(stack: dict[str, Any]) -> None:
    services = stack["services"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ("api", "processor", "forecaster"):
        deps = services[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully", name
        for backing in ("kafka", "postgres", "redis"):
            assert deps[backing]["condition"] == "service_healthy", name
    for backing in ("kafka", "postgres", "redis", "api", "processor"):
        assert services[backing]["healthcheck"]["test"], backing


def test_published_ports_stay_on_loopback_by_default(stack: dict[str, Any]) -> None:
    for name, service in stack["services"].items():
        for port in service.get("ports", []):
            assert port["host_ip"] == "127.0.0.1", (name, port)


def test_prometheus_and_grafana_get_the_repository_config(stack: dict[str, Any]) -> None:
    services = stack["services"]
    for name, wanted in (
        ("prometheus", ("prometheus/prometheus.yml", "prometheus/alerts.yml")),
        ("grafana", ("grafana/provisioning", "grafana/dashboards")),
    ):
        sources = {v["source"] for v in services[name]["volumes"] if v["type"] == "bind"}
        for path in wanted:
            assert str(DEPLOY / path) in sources, (name, path)
            assert (DEPLOY / path).exists(), path


@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "TRAFFICCAST_JWT_SECRET"])
def test_a_missing_secret_is_refused_by_name(compose_env: dict[str, str], secret: str) -> None:
    env = {k: v for k, v in compose_env.items() if k != secret}
    done = compose(env, "config", "--quiet")
    assert done.returncode != 0
    assert secret in done.stderr
    assert "deploy/.env" in done.stderr


def test_the_validator_rejects_a_broken_file(compose_env: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace("    restart: unless-stopped", "    restrat: unless-stopped", 1)
    )
    done = compose(compose_env, "config", "--quiet", path=broken)
    assert done.returncode != 0
    assert "restrat" in done.stderr
