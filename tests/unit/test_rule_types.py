"""Every alert rule type (alerts/registry.py): defaults valid, each bad field named,
stored form round-trips, the followers and the rule book, and the API models derived
from the fields."""

from __future__ import annotations

import dataclasses
import json

import pytest
from pydantic import ValidationError

from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.follow import Follower, RuleBook
from trafficcast.alerts.incident_rule import IncidentRuleConfig
from trafficcast.alerts.incidents import IncidentRule
from trafficcast.alerts.predicted_rule import PredictedRuleConfig
from trafficcast.alerts.registry import BY_ALERT_TYPE, RULE_IDS, RULES
from trafficcast.alerts.rules import CongestionRuleConfig, RuleInvalid, state_key
from trafficcast.api.alerts_models import RULE_MODELS, RuleList


def fields_of(rule: object, **changes: object) -> list[str]:
    changed = dataclasses.replace(rule, **changes)  # type: ignore[type-var]
    return [e.field for e in changed.validate({"s1"}.__contains__)]


def test_the_registry_lists_every_rule_type_once() -> None:
    assert RULE_IDS == (
        "congestion",
        "incident",
        "predicted_congestion",
        "forecast_accuracy",
        "system",
    )
    assert BY_ALERT_TYPE["predicted_congestion"] is PredictedRuleConfig
    for rule_id, config in RULES.items():
        default = config.loads(None)
        assert default.rule_id == rule_id
        assert default.validate(lambda _s: False) == [], rule_id
        assert config.loads(default.dumps()) == default


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"drop_ratio": 0.0}, ["drop_ratio", "clear_ratio"]),
        ({"drop_ratio": 1.0}, ["drop_ratio", "major_ratio"]),
        ({"major_ratio": 0.25}, ["major_ratio"]),  # equal to drop: must be above
        ({"major_ratio": 1.2}, ["major_ratio"]),
        ({"clear_ratio": 0.25}, ["clear_ratio"]),
        ({"clear_ratio": 0.0}, ["clear_ratio"]),
        ({"drop_ratio": float("nan")}, ["drop_ratio"]),
        ({"open_windows": 0}, ["open_windows"]),
        ({"clear_windows": 289}, ["clear_windows"]),
        ({"segment_ids": ("ghost",)}, ["scope.segment_ids.0"]),
        ({"notify": ("sms:1",)}, ["notify.0"]),
        ({"escalate_after_minutes": 5}, ["escalate_to"]),
    ],
)
def test_incident_rule_names_each_bad_field(
    changes: dict[str, object], expected: list[str]
) -> None:
    assert fields_of(IncidentRuleConfig(), **changes) == expected


def test_incident_rule_applies_its_thresholds_on_the_processors_base() -> None:
    base = IncidentRule(spread_factor=4.0, min_quality=0.5)
    rule = IncidentRuleConfig(drop_ratio=0.3, clear_windows=3, enabled=False).engine_rule(base)
    assert (rule.drop_ratio, rule.clear_windows, rule.enabled) == (0.3, 3, False)
    assert (rule.spread_factor, rule.min_quality) == (4.0, 0.5)  # kept from the base
    d = IncidentRule()
    assert IncidentRuleConfig().engine_rule(d) == d  # defaults agree with the engine's


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"open_ratio": 0.7}, ["resolve_ratio"]),
        ({"major_ratio": 0.6}, ["major_ratio"]),
        ({"resolve_ratio": float("inf")}, ["resolve_ratio"]),
        ({"max_horizon_minutes": 0}, ["max_horizon_minutes"]),
        ({"max_horizon_minutes": 62}, ["max_horizon_minutes"]),
        ({"open_cycles": 0}, ["open_cycles"]),
        ({"resolve_cycles": 13}, ["resolve_cycles"]),
        ({"segment_ids": ()}, ["scope.segment_ids"]),
        ({"escalate_after_minutes": 10, "escalate_to": ("dashboard",)}, ["escalate_to.0"]),
    ],
)
def test_predicted_rule_names_each_bad_field(
    changes: dict[str, object], expected: list[str]
) -> None:
    assert fields_of(PredictedRuleConfig(), **changes) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"mae_mph": 0.0}, ["mae_mph"]),
        ({"mae_mph": float("nan")}, ["mae_mph"]),
        ({"reference_ratio": 0.5}, ["reference_ratio"]),
        ({"reference_ratio": None}, []),
        ({"resolve_share": 1.0}, ["resolve_share"]),
        ({"major_factor": 1.0}, ["major_factor"]),
        ({"hold_minutes": 7}, ["hold_minutes"]),
        ({"resolve_minutes": 0}, ["resolve_minutes"]),
        ({"notify": ("dashboard", "dashboard")}, ["notify.1"]),
    ],
)
def test_accuracy_rule_names_each_bad_field(
    changes: dict[str, object], expected: list[str]
) -> None:
    assert fields_of(AccuracyRuleConfig(), **changes) == expected


def test_stored_forms_round_trip_and_a_corrupt_one_is_refused() -> None:
    rule = PredictedRuleConfig(open_ratio=0.4, segment_ids=("s1",), notify=("email:a@b.co",))
    body = rule.as_json()
    assert body["scope"] == {"segment_ids": ["s1"]}
    assert "segment_ids" not in body
    assert PredictedRuleConfig.loads(rule.dumps()) == rule
    acc = AccuracyRuleConfig(reference_ratio=None)
    assert "scope" not in acc.as_json()  # network-level: no scope
    assert AccuracyRuleConfig.loads(acc.dumps()) == acc
    with pytest.raises(RuleInvalid):
        IncidentRuleConfig.loads(IncidentRuleConfig(drop_ratio=2.0).dumps())
    with pytest.raises(KeyError):
        IncidentRuleConfig.loads("{}")
    # Stored before escalation existed: the optional fields take their defaults.
    old = json.loads(IncidentRuleConfig().dumps())
    del old["escalate_to"], old["escalate_after_minutes"], old["notify"]
    assert IncidentRuleConfig.loads(json.dumps(old)).escalate_to == ()


def test_a_follower_reports_whether_a_rule_is_stored() -> None:
    stored: dict[str, str] = {}
    f = Follower(IncidentRuleConfig, lambda: stored.get("x"), interval_s=0)
    assert not f.poll()
    assert not f.stored
    stored["x"] = IncidentRuleConfig().dumps()
    assert f.poll()
    assert f.stored
    assert f.rule == IncidentRuleConfig()


def test_the_rule_book_finds_each_alerts_rule_by_type() -> None:
    state = {state_key("incident"): IncidentRuleConfig(notify=("email:x@y.io",)).dumps()}
    book = RuleBook(RULES, state.get, interval_s=0)
    incident = book.for_alert_type("incident")
    assert incident is not None
    assert incident.notify == ("email:x@y.io",)
    assert book.for_alert_type("congestion") == CongestionRuleConfig()
    assert book.for_alert_type("nonsense") is None


def test_api_models_are_derived_from_the_fields() -> None:
    model_in, model_out = RULE_MODELS["predicted_congestion"]
    body = PredictedRuleConfig().as_json()
    assert model_out(**body).model_dump() == body
    assert model_in(**body).model_dump()["scope"] == {"segment_ids": None}
    with pytest.raises(ValidationError):
        model_in(**{**body, "open_cycles": "2"})  # strict: no strings for numbers
    with pytest.raises(ValidationError):
        model_in(**{**body, "surprise": 1})
    missing = {k: v for k, v in body.items() if k != "max_horizon_minutes"}
    with pytest.raises(ValidationError):
        model_in(**missing)  # thresholds are required: a PUT replaces the rule
    listed = RuleList(rules=[c.loads(None).as_json() for c in RULES.values()])
    assert [type(r).__name__ for r in listed.rules] == [  # type: ignore[attr-defined]
        "CongestionRuleOut",
        "IncidentRuleOut",
        "PredictedCongestionRuleOut",
        "ForecastAccuracyRuleOut",
        "SystemRuleOut",
    ]
