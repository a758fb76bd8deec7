"""The congestion rule: validation naming each field, its stored form, the processor's
follower of it; the lifecycle's transitions; what is pushed live after a write."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.alerts.follow import RuleFollower, scope_mask
from trafficcast.alerts.records import pushed_records
from trafficcast.alerts.rules import (
    CongestionRuleConfig,
    FieldError,
    RuleInvalid,
    target_error,
    validate,
)
from trafficcast.alerts.schema import (
    ALERT_RECORD_SCHEMA,
    TransitionRefused,
    check_transition,
)
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP

KNOWN = {"s1", "s2"}


def errors(**changes: object) -> list[FieldError]:
    rule = dataclasses.replace(CongestionRuleConfig(), **changes)  # type: ignore[arg-type]
    return validate(rule, KNOWN.__contains__)


def fields(**changes: object) -> list[str]:
    return [e.field for e in errors(**changes)]


def test_the_default_rule_is_valid_and_matches_the_engine_defaults() -> None:
    assert errors() == []
    engine = CongestionRuleConfig().engine_rule()
    assert (engine.open_windows, engine.resolve_windows) == (3, 2)
    assert (engine.open_ratio, engine.resolve_ratio, engine.major_ratio) == (0.5, 0.65, 0.3)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"major_ratio": 0.0}, ["major_ratio"]),
        ({"major_ratio": 0.5}, ["major_ratio"]),  # equal to open: must be below
        ({"open_ratio": 0.7}, ["resolve_ratio"]),  # above resolve
        ({"open_ratio": 0.25}, ["major_ratio"]),  # below major
        ({"resolve_ratio": 1.51}, ["resolve_ratio"]),
        ({"resolve_ratio": float("nan")}, ["resolve_ratio"]),
        ({"open_ratio": float("inf")}, ["open_ratio"]),
        ({"open_minutes": 0}, ["open_minutes"]),
        ({"open_minutes": 12}, ["open_minutes"]),
        ({"resolve_minutes": 1445}, ["resolve_minutes"]),
        ({"open_minutes": 7, "resolve_minutes": -5}, ["open_minutes", "resolve_minutes"]),
        ({"segment_ids": ()}, ["scope.segment_ids"]),
        ({"segment_ids": ("s1", "ghost")}, ["scope.segment_ids.1"]),
        ({"segment_ids": ("s2", "s2")}, ["scope.segment_ids.1"]),
        ({"notify": ("dashboard", "dashboard")}, ["notify.1"]),
        ({"notify": ("pager:123",)}, ["notify.0"]),
        ({"notify": ("dashboard",) * 21}, ["notify"]),
    ],
)
def test_each_problem_names_its_field(changes: dict[str, object], expected: list[str]) -> None:
    assert fields(**changes) == expected


def test_edges_that_are_allowed() -> None:
    assert errors(major_ratio=0.01, open_ratio=0.02, resolve_ratio=1.5) == []
    assert errors(open_minutes=5, resolve_minutes=1440) == []
    assert errors(segment_ids=("s1", "s2"), notify=()) == []


@pytest.mark.parametrize(
    ("target", "ok"),
    [
        ("dashboard", True),
        ("webhook:https://hooks.example.com/traffic?x=1", True),
        ("webhook:http://10.0.0.5:8080/alerts", True),
        ("email:ops@example.com", True),
        ("email:first.last+tag@city.gov.uk", True),
        ("webhook:ftp://example.com/x", False),
        ("webhook:https://", False),
        ("webhook:https://example.com:99999/", False),
        ("webhook:https://exa mple.com/", False),
        ("webhook:javascript:alert(1)", False),
        ("email:not-an-address", False),
        ("email:a@b", False),
        ("email:ops@example.com\r\nBcc: x@y.z", False),
        ("Dashboard", False),
        ("", False),
        ("webhook:https://example.com/" + "a" * 500, False),
    ],
)
def test_notification_targets(target: str, ok: bool) -> None:
    assert (target_error(target) is None) == ok


def test_stored_form_round_trips_and_a_corrupt_one_is_refused() -> None:
    rule = CongestionRuleConfig(
        enabled=False,
        open_ratio=0.45,
        open_minutes=20,
        segment_ids=("s1",),
        notify=("dashboard", "email:ops@example.com"),
    )
    assert CongestionRuleConfig.loads(rule.dumps()) == rule
    body = rule.as_json()
    assert body["rule_id"] == body["alert_type"] == "congestion"
    assert body["scope"] == {"segment_ids": ["s1"]}
    assert CongestionRuleConfig.loads(None) == CongestionRuleConfig()
    bad = CongestionRuleConfig(open_ratio=0.9).dumps()
    with pytest.raises(RuleInvalid, match="resolve_ratio"):
        CongestionRuleConfig.loads(bad)
    with pytest.raises(json.JSONDecodeError):
        CongestionRuleConfig.loads("{not json")
    with pytest.raises(KeyError):
        CongestionRuleConfig.loads("{}")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_follower_rereads_at_its_cadence_and_keeps_the_rule_on_failure() -> None:
    stored: dict[str, str | None] = {"text": None}
    reads = []

    def read() -> str | None:
        reads.append(1)
        if stored["text"] == "boom":
            raise ConnectionError("store down")
        return stored["text"]

    clock = FakeClock()
    follower = RuleFollower(read, interval_s=2.0, clock=clock)
    assert not follower.poll()  # nothing stored: the default, unchanged
    assert follower.rule == CongestionRuleConfig()
    stored["text"] = CongestionRuleConfig(open_ratio=0.4).dumps()
    assert not follower.poll()  # not due yet
    assert len(reads) == 1
    clock.now += 2.0
    assert follower.poll()
    assert follower.rule.open_ratio == 0.4
    clock.now += 2.0
    assert not follower.poll()  # same text: no change
    follower.invalidate()
    stored["text"] = "boom"
    assert not follower.poll()  # the store failed: the rule stays
    assert follower.rule.open_ratio == 0.4
    follower.invalidate()
    stored["text"] = '{"enabled": true}'
    assert not follower.poll()  # corrupt: the rule stays
    assert follower.rule.open_ratio == 0.4


def test_scope_mask_ignores_unknown_ids() -> None:
    index = {"a": 0, "c": 2, "late": 9}
    mask = scope_mask(["c", "ghost", "late"], index.get, 4)
    assert mask.tolist() == [False, False, True, False]


def test_transitions() -> None:
    check_transition("open", "acknowledge")
    check_transition("acknowledged", "acknowledge")
    check_transition("open", "resolve")
    check_transition("acknowledged", "resolve")
    for action in ("acknowledge", "resolve"):
        with pytest.raises(TransitionRefused, match="already resolved"):
            check_transition("resolved", action)  # type: ignore[arg-type]


def change(alert_id: str, state: str, resolved: int | None = None) -> dict[str, object]:
    return {
        "alert_id": alert_id,
        "alert_type": "congestion",
        "severity": "minor",
        "segment_id": "s1",
        "state": state,
        "opened_at": 1000,
        "resolved_at": resolved,
        "message": state,
    }


def table(rows: list[dict[str, object]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays(
        [
            pa.array([r.get(f.name) for r in rows], pa.int64()).cast(TIMESTAMP)
            if f.type == TIMESTAMP
            else pa.array([r.get(f.name) for r in rows], f.type)
            for f in schema
        ],
        schema=schema,
    )


def test_pushed_records_show_each_change_and_end_as_stored() -> None:
    changes = table(
        [change("x", "open"), change("y", "open"), change("x", "resolved", 5000)], ALERT_SCHEMA
    )
    stored = table(
        [
            {
                **change("x", "resolved", 5000),
                "acknowledged_at": 2000,
                "note": "seen",
                "updated_at": 6000,
            },
            {**change("y", "resolved", 3000), "message": "by hand", "updated_at": 4000},
        ],
        ALERT_RECORD_SCHEMA,
    )
    pushed = pushed_records(changes, stored, now_ms=7000).to_pylist()
    assert [(r["alert_id"], r["state"], r["note"]) for r in pushed] == [
        ("x", "open", None),  # the intermediate change, as it was
        ("y", "resolved", None),  # an operator had resolved it: the store's row
        ("x", "resolved", "seen"),  # the acknowledgement kept
    ]
    assert pushed[1]["message"] == "by hand"
    assert int(pushed[0]["updated_at"].timestamp() * 1000) == 7000
    assert pushed_records(changes.slice(0, 0), stored, 0).num_rows == 0
    assert np.all([r["alert_type"] == "congestion" for r in pushed])
