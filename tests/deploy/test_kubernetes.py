"""deploy/kubernetes: every manifest against the Kubernetes API schema (strict: an
unknown or misspelt field fails), and the facts an operator relies on."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.deploy.conftest import DEPLOY, yaml_documents

MANIFESTS = DEPLOY / "kubernetes"
# The oldest release still supported upstream when this was written, and the newest
# the validator knows: the manifests must suit both.
VERSIONS = ("1.31", kubernetes_validate.latest_version())


def resources() -> list[tuple[Path, dict[str, Any]]]:
    listed = yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"]
    return [(MANIFESTS / name, doc) for name in listed for doc in yaml_documents(MANIFESTS / name)]


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for _, doc in resources() if doc["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        spec: dict[str, Any] = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        return spec
    spec = doc["spec"]["template"]["spec"]
    return spec


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(yaml.safe_load((MANIFESTS / "kustomization.yaml").read_text())["resources"])
    on_disk = {p.name for p in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == on_disk


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_matches_the_api_schema(version: str) -> None:
    checked = 0
    for path, doc in resources():
        kubernetes_validate.validate(doc, version, strict=True)
        assert doc["metadata"].get("namespace", "trafficcast") == "trafficcast", path
        checked += 1
    assert checked >= 10


def test_the_validator_rejects_a_misspelt_field_and_a_wrong_type() -> None:
    api = by_kind("Deployment")["trafficcast-api"]
    misspelt = copy.deepcopy(api)
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinessProb"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, VERSIONS[-1], strict=True)
    wrong = copy.deepcopy(api)
    wrong["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong, VERSIONS[-1], strict=True)


def test_api_pods_are_probed_on_health() -> None:
    container = pod_spec(by_kind("Deployment")["trafficcast-api"])["containers"][0]
    for probe in ("readinessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/health", probe
        assert container[probe]["httpGet"]["port"] == "http", probe
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000}


def test_both_deployments_autoscale_within_sane_bounds() -> None:
    hpas = by_kind("HorizontalPodAutoscaler")
    deployments = by_kind("Deployment")
    assert set(hpas) == set(deployments) == {"trafficcast-api", "trafficcast-processor"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["name"] == name
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert deployments[name]["spec"]["replicas"] == hpa["spec"]["minReplicas"]
    # A processor per partition at most: more would sit idle in the consumer group.
    partitions = int(
        by_kind("ConfigMap")["trafficcast-config"]["data"]["TRAFFICCAST_BUS"].rsplit("=", 1)[1]
    )
    assert hpas["trafficcast-processor"]["spec"]["maxReplicas"] == partitions


def test_every_pod_runs_unprivileged_with_the_shared_config() -> None:
    for _, doc in resources():
        if doc["kind"] not in ("Deployment", "Job", "CronJob"):
            continue
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, doc["metadata"]["name"]
        for container in spec["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            refs = {next(iter(r.values()))["name"] for r in container["envFrom"]}
            assert refs == {"trafficcast-config", "trafficcast-secrets"}
            assert "memory" in container["resources"]["limits"]
        claims = {v["persistentVolumeClaim"]["claimName"] for v in spec.get("volumes", [])}
        assert claims <= set(by_kind("PersistentVolumeClaim"))


def test_no_secret_values_in_the_manifests() -> None:
    assert not by_kind("Secret")
    config = by_kind("ConfigMap")["trafficcast-config"]["data"]
    assert not any("SECRET" in k or "PASSWORD" in k or "DATABASE_URL" in k for k in config)
