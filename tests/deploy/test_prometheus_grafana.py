"""Prometheus config and alert rules through promtool (syntax, PromQL, and the rules'
own unit tests), and the provisioned Grafana dashboard's structure and queries."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.conftest import DEPLOY, tool

PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"


def promtool(*args: str, cwd: Path = PROMETHEUS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("promtool")), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def dashboards() -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))]


def panel_queries() -> list[tuple[str, str]]:
    return [
        (panel["title"], target["expr"])
        for dashboard in dashboards()
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_the_config_is_valid_with_its_rule_file(tmp_path: Path) -> None:
    # The config names the rule file where compose mounts it; check both as mounted.
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    config["rule_files"] = [str(tmp_path / "alerts.yml")]
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    done = promtool("check", "config", str(tmp_path / "prometheus.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_both_trafficcast_jobs_are_scraped() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["trafficcast-api"]["dns_sd_configs"][0] == {
        "names": ["api"],
        "type": "A",
        "port": 8000,
    }
    assert jobs["trafficcast-processor"]["dns_sd_configs"][0]["port"] == 9100


def test_the_alert_rules_are_valid_and_documented() -> None:
    done = promtool("check", "rules", "alerts.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    rules = [
        r
        for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
        for r in g["rules"]
    ]
    assert len(rules) >= 10
    operations = (DEPLOY.parent / "docs" / "operations.md").read_text()
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]
        assert rule["alert"].removeprefix("Trafficcast") in operations, rule["alert"]


def test_the_alert_rules_pass_their_unit_tests() -> None:
    done = promtool("test", "rules", "alerts.test.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_catches_a_wrong_expectation(tmp_path: Path) -> None:
    """The unit tests can fail: the same tests with one expected label changed do."""
    shutil.copy(PROMETHEUS / "alerts.yml", tmp_path / "alerts.yml")
    tests = (PROMETHEUS / "alerts.test.yml").read_text()
    (tmp_path / "alerts.test.yml").write_text(
        tests.replace('instance: "api-1:8000"}', 'instance: "api-2:8000"}')
    )
    done = promtool("test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert done.returncode != 0
    assert "TrafficcastApiDown" in done.stdout + done.stderr


def test_grafana_provisioning_points_at_the_dashboards_and_prometheus() -> None:
    source = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    (datasource,) = source["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    provider = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "trafficcast.yaml").read_text()
    )
    # compose mounts deploy/grafana/dashboards there.
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    for dashboard in dashboards():
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids)), dashboard["title"]
        for panel in dashboard["panels"]:
            if "targets" in panel:
                assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
        _assert_no_overlap(dashboard["panels"])


def _assert_no_overlap(panels: list[dict[str, Any]]) -> None:
    taken: dict[tuple[int, int], str] = {}
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] + g["w"] <= 24, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in taken, f"{panel['title']} overlaps {taken[(x, y)]}"
                taken[(x, y)] = panel["title"]


def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool has no bare query checker: each query becomes a recording rule."""
    queries = panel_queries()
    assert len(queries) >= 12
    rules = [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(queries)
    ]
    (tmp_path / "queries.yml").write_text(
        yaml.safe_dump({"groups": [{"name": "q", "rules": rules}]})
    )
    done = promtool("check", "rules", str(tmp_path / "queries.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "bad.yml").write_text(
        yaml.safe_dump(
            {"groups": [{"name": "q", "rules": [{"record": "x:y", "expr": "sum(rate(x[5m])"}]}]}
        )
    )
    assert promtool("check", "rules", str(tmp_path / "bad.yml")).returncode != 0
