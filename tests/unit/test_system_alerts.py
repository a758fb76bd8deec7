"""System alerts: the rule (validation naming each field, stored form) and the engine
(each condition opens after its hold, resolves with hysteresis, one alert per condition
and subject, a silent detector per segment, nothing opened when disabled)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from trafficcast.alerts.rules import FieldError, RuleInvalid, state_key
from trafficcast.alerts.system import (
    HealthCheck,
    SystemAlerts,
    SystemSnapshot,
    alert_id,
    parse_alert_id,
)
from trafficcast.alerts.system_rule import SystemRuleConfig
from trafficcast.alerts.types import SYSTEM
from trafficcast.domain.schema import ALERT_SCHEMA

RULE = SystemRuleConfig(
    ingest_stall_seconds=60,
    max_consumer_lag=100,
    silent_detector_minutes=10,
    open_after_seconds=30,
    resolve_after_seconds=20,
)
HEALTHY = {"database": HealthCheck("healthy", True), "model": HealthCheck("healthy", False)}
T0 = 1_700_000_000_000


def snap(
    t_s: float,
    *,
    last_ingest_s: float | None = None,
    lag: int | None = 0,
    health: dict[str, HealthCheck] | None = None,
    readings: dict[str, int] | None = None,
) -> SystemSnapshot:
    now = T0 + int(t_s * 1000)
    readings = readings or {}
    return SystemSnapshot(
        now_ms=now,
        last_ingest_ms=now if last_ingest_s is None else T0 + int(last_ingest_s * 1000),
        consumer_lag=lag,
        health=HEALTHY if health is None else health,
        segment_ids=np.array(list(readings), dtype=np.str_),
        last_reading_ms=np.array(list(readings.values()), dtype=np.int64),
    )


def run(
    engine: SystemAlerts, snaps: list[SystemSnapshot], rule: SystemRuleConfig = RULE
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for s in snaps:
        table = engine.observe(s, rule)
        assert table.schema == ALERT_SCHEMA
        rows += [{**r, "t": (s.now_ms - T0) / 1000} for r in table.to_pylist()]
    return rows


# the rule ---------------------------------------------------------------------------
def fields(**changes: object) -> list[str]:
    rule = dataclasses.replace(SystemRuleConfig(), **changes)  # type: ignore[arg-type]
    return [e.field for e in rule.validate(lambda _sid: True)]


def test_the_default_rule_is_valid_and_round_trips() -> None:
    rule = SystemRuleConfig()
    assert rule.validate(lambda _sid: True) == []
    assert SystemRuleConfig.loads(rule.dumps()) == rule
    assert SystemRuleConfig.loads(None) == rule
    body = rule.as_json()
    assert body["rule_id"] == body["alert_type"] == SYSTEM == SystemRuleConfig.rule_id
    assert body["health_checks"] is None
    assert state_key(SystemRuleConfig.rule_id) == "alert_rule:system"
    custom = dataclasses.replace(
        RULE,
        health_checks=("database", "feed:simulator"),
        include_degraded=True,
        notify=("dashboard", "webhook:https://ops.example/hook"),
        escalate_after_minutes=15,
        escalate_to=("email:oncall@example.com",),
    )
    assert SystemRuleConfig.from_json(json.loads(custom.dumps())) == custom


@pytest.mark.parametrize(
    ("changes", "bad"),
    [
        ({"ingest_stall_seconds": 0}, ["ingest_stall_seconds"]),
        ({"open_after_seconds": -1}, ["open_after_seconds"]),
        ({"resolve_after_seconds": 86_401}, ["resolve_after_seconds"]),
        ({"silent_detector_minutes": 0}, ["silent_detector_minutes"]),
        ({"max_consumer_lag": 0}, ["max_consumer_lag"]),
        ({"health_checks": ()}, ["health_checks"]),
        ({"health_checks": ("database", "database")}, ["health_checks.1"]),
        ({"health_checks": ("Data base!",)}, ["health_checks.0"]),
        ({"notify": ("dashboard", "pager:x")}, ["notify.1"]),
        ({"escalate_to": ("email:a@example.com",)}, ["escalate_after_minutes"]),
        ({"escalate_after_minutes": 5}, ["escalate_to"]),
        ({"escalate_after_minutes": 5, "escalate_to": ("dashboard",)}, ["escalate_to.0"]),
        (
            {"ingest_stall_seconds": 0, "max_consumer_lag": -5, "notify": ("x",)},
            ["ingest_stall_seconds", "max_consumer_lag", "notify.0"],
        ),
    ],
)
def test_validation_names_each_bad_field(changes: dict[str, object], bad: list[str]) -> None:
    assert fields(**changes) == bad


def test_a_corrupt_stored_rule_is_refused() -> None:
    with pytest.raises(RuleInvalid) as refused:
        SystemRuleConfig.loads(json.dumps({**SystemRuleConfig().as_json(), "max_consumer_lag": 0}))
    assert refused.value.errors == [
        FieldError("max_consumer_lag", "must be 1 to 1000000000000 events")
    ]
    with pytest.raises(json.JSONDecodeError):
        SystemRuleConfig.loads("{not json")
    with pytest.raises(KeyError):  # a stored rule missing a threshold
        SystemRuleConfig.loads(json.dumps({"max_consumer_lag": 5}))


def test_ids_parse_back_also_with_colons_in_the_subject() -> None:
    aid = alert_id("component_unhealthy", "feed:simulator", 123)
    assert parse_alert_id(aid) == (("component_unhealthy", "feed:simulator"), 123)
    assert parse_alert_id("congestion:s1:123") is None
    assert parse_alert_id("system:nonsense:-:1") is None


# the engine ---------------------------------------------------------------------------
def test_ingest_stall_opens_after_its_hold_and_resolves_with_hysteresis() -> None:
    engine = SystemAlerts()
    # Events stop at t=0: the stall starts at 60 s and opens 30 s later.
    times = [0, 50, 70, 85, 95, 100, 110]
    rows = run(engine, [snap(t, last_ingest_s=0) for t in times])
    assert [(r["t"], r["state"]) for r in rows] == [(95, "open")]
    opened = rows[0]
    assert opened["alert_id"] == f"system:ingest_stalled:-:{T0}"  # anchored on the last ingest
    assert opened["severity"] == "major"
    assert opened["segment_id"] is None
    assert opened["opened_at"].timestamp() * 1000 == T0 + 60_000
    assert "no events accepted" in opened["message"]
    # Events again at 120: clear, but it resolves only after 20 s clear; a relapse at
    # 130 (a second stall) keeps the same alert open.
    rows = run(
        engine,
        [snap(120), snap(130, last_ingest_s=-1000), snap(140), snap(155), snap(160)],
    )
    assert [(r["t"], r["state"], r["alert_id"]) for r in rows] == [
        (160, "resolved", opened["alert_id"])
    ]
    assert rows[0]["resolved_at"].timestamp() * 1000 == T0 + 140_000


def test_no_stall_before_any_event_was_accepted() -> None:
    engine = SystemAlerts()
    s = dataclasses.replace(snap(1000), last_ingest_ms=None)
    assert run(engine, [s, dataclasses.replace(snap(2000), last_ingest_ms=None)]) == []


def test_consumer_lag_hovering_at_the_limit_does_not_flap() -> None:
    engine = SystemAlerts()
    lags = [(0, 500), (10, 50), (20, 500), (40, 500), (50, 101), (60, 90), (70, 200), (80, 90)]
    rows = run(engine, [snap(t, lag=lag) for t, lag in lags])
    # 500 at 0 then clear at 10: pending forgotten; held again from 20, opens at 50.
    assert [(r["t"], r["state"], r["severity"]) for r in rows] == [(50, "open", "minor")]
    assert rows[0]["alert_id"] == f"system:consumer_lag:-:{T0 + 20_000}"
    rows = run(engine, [snap(t, lag=90) for t in (90, 95, 100, 101)])
    assert [(r["t"], r["state"]) for r in rows] == [(100, "resolved")]
    # Unknown lag (Kafka unreachable) is no lag alert: the consumers check covers it.
    assert run(SystemAlerts(), [snap(t, lag=None) for t in (0, 100)]) == []


def test_one_alert_per_component_major_only_when_critical_and_unhealthy() -> None:
    engine = SystemAlerts()
    bad = {
        "database": HealthCheck("unhealthy", True, "connection refused"),
        "model": HealthCheck("unhealthy", False),
        "bus": HealthCheck("degraded", False),
    }
    rows = run(engine, [snap(t, health=bad) for t in range(0, 100, 5)])
    assert sorted((r["alert_id"], r["severity"]) for r in rows) == [
        (f"system:component_unhealthy:database:{T0}", "major"),
        (f"system:component_unhealthy:model:{T0}", "minor"),
    ]  # degraded does not count by default; each check once although seen 20 times
    db = next(r for r in rows if "database" in r["alert_id"])
    assert db["message"] == "database is unhealthy: connection refused"
    assert db["segment_id"] is None
    rows = run(engine, [snap(t, health=HEALTHY) for t in (100, 110, 120)])
    assert sorted(r["state"] for r in rows) == ["resolved", "resolved"]


def test_which_checks_count_and_degraded() -> None:
    rule = dataclasses.replace(RULE, health_checks=("bus",), include_degraded=True)
    bad = {"database": HealthCheck("unhealthy", True), "bus": HealthCheck("degraded", False)}
    rows = run(SystemAlerts(), [snap(t, health=bad) for t in (0, 30)], rule)
    assert [(r["alert_id"], r["severity"]) for r in rows] == [
        (f"system:component_unhealthy:bus:{T0}", "minor")
    ]


def test_a_silent_detector_is_one_alert_for_its_segment() -> None:
    engine = SystemAlerts()
    minute = 60_000
    rows: list[dict[str, Any]] = []
    for t in range(0, 120, 10):  # s2 stops at T0; s1 and s3 keep reporting
        now = T0 + t * 1000 + 20 * minute
        readings = {"s1": now, "s2": T0, "s3": now - minute}
        rows += run(engine, [snap(t, readings=readings)])
    assert [(r["t"], r["segment_id"], r["severity"]) for r in rows] == [(30, "s2", "minor")]
    assert rows[0]["alert_id"] == f"system:detector_silent:s2:{T0}"
    assert "no reading for 20 min" in rows[0]["message"]
    # s2 reports again: resolved after the hold.
    back = {"s1": T0 + 30 * minute, "s2": T0 + 30 * minute}
    rows = run(engine, [snap(t, readings=back) for t in (200, 210, 220)])
    assert [(r["t"], r["segment_id"], r["state"]) for r in rows] == [(220, "s2", "resolved")]


def test_every_detector_stopping_is_no_silent_detector() -> None:
    # Nothing reports any more: that is the ingest stall, not n silent detectors.
    readings = {"s1": T0, "s2": T0}
    assert run(SystemAlerts(), [snap(t, readings=readings) for t in range(0, 3000, 100)]) == []


def test_disabled_opens_nothing_but_open_alerts_still_resolve() -> None:
    off = dataclasses.replace(RULE, enabled=False)
    bad = {"database": HealthCheck("unhealthy", True)}
    assert (
        run(SystemAlerts(), [snap(t, health=bad, lag=10**6) for t in range(0, 200, 10)], off) == []
    )
    engine = SystemAlerts()
    assert len(run(engine, [snap(t, health=bad) for t in (0, 30)])) == 1
    rows = run(engine, [snap(t) for t in (40, 60)], off)
    assert [r["state"] for r in rows] == ["resolved"]


def test_adopted_alerts_are_not_opened_twice_and_resolve() -> None:
    first = SystemAlerts()
    bad = {"database": HealthCheck("unhealthy", True)}
    opened = run(first, [snap(t, health=bad) for t in (0, 30)])
    assert len(opened) == 1
    # Another process (or a restart) takes over with what the store holds.
    second = SystemAlerts()
    second.adopt_open(
        [opened[0]["alert_id"], "congestion:s1:5"],
        [T0, T0],
        ["major", "minor"],
    )
    assert run(second, [snap(t, health=bad) for t in (40, 80, 120)]) == []
    rows = run(second, [snap(t) for t in (130, 150)])
    assert [(r["alert_id"], r["state"]) for r in rows] == [(opened[0]["alert_id"], "resolved")]
    assert rows[0]["opened_at"].timestamp() * 1000 == T0
