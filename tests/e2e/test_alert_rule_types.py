"""Every alert rule type through the real app (GET/PUT per rule, envelopes, roles), the
processor applying the stored incident and predicted-congestion rules, and a
predicted_congestion alert raised by the pipeline and read through GET /api/alerts."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.incident_rule import IncidentRuleConfig
from trafficcast.alerts.rules import state_key
from trafficcast.api.app import create_app
from trafficcast.api.background import BackgroundServer
from trafficcast.auth import service
from trafficcast.auth.roles import Role
from trafficcast.config import Settings
from trafficcast.domain.schema import EVENT_SCHEMA
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store.base import AlertQuery

MIN = 60_000


@dataclass
class Served:
    runtime: Runtime
    client: httpx.Client
    segments: list[str]
    free_flow: dict[str, float]


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    runtime = Runtime(Settings(data_dir=tmp_path))
    sim = Simulator(SimulatorConfig(n_segments=6, seed=4, dropout_probability=0.0))
    runtime.register_segments(sim.segments, sim.links)
    ids = sim.segments.column("segment_id").to_pylist()
    free_flow = dict(zip(ids, sim.segments.column("free_flow_speed").to_pylist(), strict=True))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        yield Served(runtime, client, ids, free_flow)


def assert_envelope(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    if field is not None:
        assert field in [d["field"] for d in body["error"]["details"]], body


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


INCIDENT = {
    "enabled": True,
    "drop_ratio": 0.3,
    "major_ratio": 0.6,
    "clear_ratio": 0.1,
    "clear_windows": 3,
    "open_windows": 2,
    "notify": ["dashboard", "webhook:https://hooks.example.com/i"],
}
PREDICTED = {
    "enabled": True,
    "open_ratio": 0.5,
    "open_cycles": 2,
    "resolve_ratio": 0.65,
    "resolve_cycles": 2,
    "major_ratio": 0.3,
    "max_horizon_minutes": 60,
}
ACCURACY = {
    "enabled": True,
    "mae_mph": 9.0,
    "reference_ratio": None,
    "hold_minutes": 20,
    "resolve_share": 0.7,
    "resolve_minutes": 10,
    "major_factor": 2.0,
    "escalate_after_minutes": 30,
    "escalate_to": ["email:oncall@example.com"],
}

SYSTEM = {
    "enabled": True,
    "ingest_stall_seconds": 600,
    "max_consumer_lag": 50_000,
    "silent_detector_minutes": 20,
    "health_checks": ["database", "stream_processor"],
    "include_degraded": True,
    "open_after_seconds": 30,
    "resolve_after_seconds": 120,
    "notify": ["dashboard", "webhook:https://ops.example.com/hook"],
}


def test_each_rule_is_listed_read_replaced_and_kept(served: Served) -> None:
    c = served.client
    listed = {r["rule_id"]: r for r in c.get("/api/alerts/rules").json()["rules"]}
    assert set(listed) == {
        "congestion",
        "incident",
        "predicted_congestion",
        "forecast_accuracy",
        "system",
    }
    for rule_id, rule in listed.items():
        assert c.get(f"/api/alerts/rules/{rule_id}").json() == rule
    assert listed["incident"] == IncidentRuleConfig().as_json()
    assert "scope" not in listed["forecast_accuracy"]

    for rule_id, body in (
        ("incident", INCIDENT),
        ("predicted_congestion", {**PREDICTED, "scope": {"segment_ids": served.segments[:1]}}),
        ("forecast_accuracy", ACCURACY),
        ("system", SYSTEM),
    ):
        saved = c.put(f"/api/alerts/rules/{rule_id}", json=body)
        assert saved.status_code == 200, saved.text
        out = saved.json()
        assert out["rule_id"] == out["alert_type"] == rule_id
        assert {k: out[k] for k in body} == body
        assert c.get(f"/api/alerts/rules/{rule_id}").json() == out
        assert served.runtime.store.get_state(state_key(rule_id)) is not None
    # Congestion untouched by the others.
    assert c.get("/api/alerts/rules/congestion").json() == listed["congestion"]


def test_bad_rules_are_refused_naming_the_field(served: Served) -> None:
    c = served.client

    def refused(rule_id: str, body: object, field: str | None, status: int = 422) -> None:
        assert_envelope(c.put(f"/api/alerts/rules/{rule_id}", json=body), status, field)

    refused("incident", {**INCIDENT, "clear_ratio": 0.5}, "clear_ratio")
    refused("incident", {**INCIDENT, "major_ratio": 0.2}, "major_ratio")
    refused("incident", {**INCIDENT, "open_windows": 0}, "open_windows")
    refused("incident", {**INCIDENT, "drop_ratio": "0.3"}, "drop_ratio")
    refused("incident", {**INCIDENT, "scope": {"segment_ids": ["ghost"]}}, "scope.segment_ids.0")
    refused("incident", {**INCIDENT, "alert_type": "congestion"}, "alert_type")
    refused("incident", {**INCIDENT, "open_minutes": 15}, "open_minutes")  # not its field
    refused("system", {**SYSTEM, "ingest_stall_seconds": 0}, "ingest_stall_seconds")
    refused("system", {**SYSTEM, "health_checks": ["data base"]}, "health_checks.0")
    refused("system", {**SYSTEM, "health_checks": []}, "health_checks")
    refused("system", {**SYSTEM, "max_consumer_lag": 1.5}, "max_consumer_lag")
    refused("predicted_congestion", {**PREDICTED, "max_horizon_minutes": 7}, "max_horizon_minutes")
    refused("predicted_congestion", {**PREDICTED, "open_cycles": 1.5}, "open_cycles")
    refused("predicted_congestion", {**PREDICTED, "rule_id": "incident"}, "rule_id")
    missing = {k: v for k, v in PREDICTED.items() if k != "resolve_cycles"}
    refused("predicted_congestion", missing, "resolve_cycles")
    refused("forecast_accuracy", {**ACCURACY, "mae_mph": -1.0}, "mae_mph")
    refused("forecast_accuracy", {**ACCURACY, "escalate_to": []}, "escalate_to")
    refused("forecast_accuracy", {**ACCURACY, "scope": {"segment_ids": None}}, "scope")
    refused("forecast_accuracy", [ACCURACY], None)
    refused("nosuch", ACCURACY, "rule_id", 404)
    assert_envelope(c.get("/api/alerts/rules/nosuch"), 404, "rule_id")
    # Nothing refused was stored.
    for rule_id in ("incident", "predicted_congestion", "forecast_accuracy"):
        assert served.runtime.store.get_state(state_key(rule_id)) is None


def test_readers_read_the_rules_and_only_admins_change_them(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        anonymous_role="",
        rate_limit_anonymous_per_hour=0,
        rate_limit_authenticated_per_hour=0,
    )
    runtime = Runtime(settings)
    password = "rules password 123"
    for role in ("viewer", "admin"):
        service.create_user(runtime.store, role, password, Role(role))
    try:
        with TestClient(create_app(runtime)) as client:
            headers = {}
            for role in ("viewer", "admin"):
                r = client.post("/auth/login", json={"username": role, "password": password})
                headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
            path = "/api/alerts/rules/predicted_congestion"
            assert client.get(path).status_code == 401
            assert client.get(path, headers=headers["viewer"]).status_code == 200
            assert client.get("/api/alerts/rules", headers=headers["viewer"]).status_code == 200
            assert client.put(path, json=PREDICTED, headers=headers["viewer"]).status_code == 403
            assert client.put(path, json=PREDICTED, headers=headers["admin"]).status_code == 200
    finally:
        runtime.stop()


def readings(segment: str, start_min: int, end_min: int, speed: float, base: int) -> list[dict]:
    return [
        {
            "event_id": f"{segment}-{m}",
            "segment_id": segment,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((base + m * MIN) / 1000)),
            "speed": speed,
            "source": "test",
        }
        for m in range(start_min, end_min)
    ]


def post(served: Served, events: list[dict]) -> None:
    events = sorted(events, key=lambda e: str(e["timestamp"]))
    r = served.client.post("/api/traffic/events/batch", json={"events": events})
    assert r.status_code == 201, r.text


def predicted(served: Served, **params: str) -> list[dict[str, Any]]:
    r = served.client.get("/api/alerts", params={"alert_type": "predicted_congestion", **params})
    assert r.status_code == 200, r.text
    return list(r.json()["alerts"])


def test_the_pipeline_raises_a_predicted_congestion_alert_in_scope(served: Served) -> None:
    """Two segments start crawling; the stored predicted rule covers only the first. Its
    forecasts fall below half of free flow in two issues: one alert, read through the
    API, which resolves when the congestion alert opens. The stored incident rule is
    applied by the processor too."""
    c = served.client
    inside, outside = served.segments[:2]
    rule = {**PREDICTED, "scope": {"segment_ids": [inside]}}
    assert c.put("/api/alerts/rules/predicted_congestion", json=rule).status_code == 200
    assert c.put("/api/alerts/rules/incident", json=INCIDENT).status_code == 200
    now = int(time.time() * 1000)
    base = now - now % (5 * MIN) - 100 * MIN
    slow = {s: 0.2 * served.free_flow[s] for s in (inside, outside)}
    # 11 minutes of crawling: the windows ending at 5 and 10 close, two forecast issues.
    post(served, [e for s in (inside, outside) for e in readings(s, 0, 11, slow[s], base)])
    (alert,) = wait_for(lambda: predicted(served, state="open"), "the predicted alert")
    assert alert["segment_id"] == inside
    assert alert["severity"] == "major"  # forecast at about 20 % of free flow
    assert alert["alert_id"] == f"predicted_congestion:{inside}:{base + 5 * MIN}"
    assert alert["message"].startswith("forecast ")
    assert " mph (" in alert["message"]
    assert " of free flow) in " in alert["message"]
    assert predicted(served, segment_id=outside) == []  # out of the rule's scope
    p = served.runtime.processor
    assert p.predicted.rule.open_cycles == 2
    assert (p.incidents.rule.drop_ratio, p.incidents.rule.open_windows) == (0.3, 2)
    assert p.incidents.rule.spread_factor == p.config.incident_rule.spread_factor
    # The crawl goes on: the congestion alert opens at 15 minutes and takes over.
    post(served, [e for s in (inside, outside) for e in readings(s, 11, 21, slow[s], base)])
    done = wait_for(
        lambda: [a for a in predicted(served) if a["state"] == "resolved"], "the resolution"
    )
    assert [a["alert_id"] for a in done] == [alert["alert_id"]]
    assert "congestion arrived" in done[0]["message"]
    congestion = c.get("/api/alerts", params={"alert_type": "congestion", "state": "open"})
    assert {a["segment_id"] for a in congestion.json()["alerts"]} == {inside, outside}
    assert predicted(served, segment_id=outside) == []


def test_the_pipeline_raises_forecast_accuracy_alerts_and_adopts_them(tmp_path: Path) -> None:
    """Speeds that swing every 5 minutes defeat every forecast: with a tight stored bound,
    network-level accuracy alerts open per horizon, and a restarted processor carries
    them on instead of opening duplicates."""
    t0 = 1_767_600_000_000
    runtime = Runtime(Settings(data_dir=tmp_path))
    rule = AccuracyRuleConfig(mae_mph=5.0, reference_ratio=None, hold_minutes=15)
    runtime.store.set_state(state_key("forecast_accuracy"), rule.dumps())
    minutes = 180
    rows = [
        (f"S{s}-{m}", f"S{s}", t0 + m * MIN, 62.0 if (m // 5) % 2 else 15.0)
        for m in range(minutes)
        for s in range(3)
    ]
    n = len(rows)
    table = pa.table(
        {
            "event_id": [r[0] for r in rows],
            "segment_id": [r[1] for r in rows],
            "timestamp": pa.array([r[2] for r in rows]).cast(pa.timestamp("ms", tz="UTC")),
            "speed": [r[3] for r in rows],
            "volume": [None] * n,
            "occupancy": [None] * n,
            "latitude": [None] * n,
            "longitude": [None] * n,
            "source": ["t"] * n,
            "quality_score": [1.0] * n,
        }
    ).cast(EVENT_SCHEMA)
    runtime.processor.process(table)
    runtime.processor.flush()
    found = runtime.store.query_alerts(AlertQuery(alert_type="forecast_accuracy", limit=100))
    alerts = found.to_pylist()
    assert alerts, "no accuracy alert"
    assert all(a["segment_id"] is None and a["state"] == "open" for a in alerts)
    horizons = sorted(int(a["alert_id"].split(":")[1][:-3]) for a in alerts)
    assert len(horizons) == len(set(horizons))  # one alert per horizon
    assert all("-min forecasts: live MAE" in a["message"] for a in alerts)
    runtime.stop()

    again = Runtime(Settings(data_dir=tmp_path))
    adopted = again.processor.accuracy
    for h in horizons:
        (j,) = np.flatnonzero(adopted.horizons_min == h)
        assert adopted.open_since_ms[j] > 0
    again.stop()
