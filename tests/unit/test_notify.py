"""Notifications' pure parts: the escalation options of a rule, the signed body, the
e-mail text, the backoff schedule and the retry loop's bookkeeping."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from trafficcast.alerts.notify import payload
from trafficcast.alerts.notify.dispatcher import delivery_targets, escalation_due
from trafficcast.alerts.notify.retry import Job, Outcome, RetryPolicy, deliver
from trafficcast.alerts.rules import CongestionRuleConfig, validate


def errors(**changes: object) -> list[str]:
    rule = CongestionRuleConfig(**changes)  # type: ignore[arg-type]
    return [e.field for e in validate(rule, lambda _s: True)]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"escalate_after_minutes": 30, "escalate_to": ("email:boss@example.com",)}, []),
        ({"escalate_to": ("email:boss@example.com",)}, ["escalate_after_minutes"]),
        ({"escalate_after_minutes": 30}, ["escalate_to"]),
        (
            {"escalate_after_minutes": 0, "escalate_to": ("email:a@b.co",)},
            ["escalate_after_minutes"],
        ),
        (
            {"escalate_after_minutes": 10081, "escalate_to": ("email:a@b.co",)},
            ["escalate_after_minutes"],
        ),
        ({"escalate_after_minutes": 5, "escalate_to": ("sms:1",)}, ["escalate_to.0"]),
        ({"escalate_after_minutes": 5, "escalate_to": ("dashboard",)}, ["escalate_to.0"]),
        ({"escalate_after_minutes": 5, "escalate_to": ("email:a@b.co",) * 2}, ["escalate_to.1"]),
    ],
)
def test_escalation_options_are_validated(changes: dict[str, object], fields: list[str]) -> None:
    assert errors(**changes) == fields


def test_escalation_options_survive_the_stored_form() -> None:
    rule = CongestionRuleConfig(escalate_after_minutes=45, escalate_to=("webhook:https://x.io/a",))
    assert CongestionRuleConfig.loads(rule.dumps()) == rule
    body = rule.as_json()
    assert body["escalate_after_minutes"] == 45
    assert body["escalate_to"] == ["webhook:https://x.io/a"]
    # Rules stored before escalation existed still load, without it.
    old = json.loads(CongestionRuleConfig().dumps())
    del old["escalate_after_minutes"], old["escalate_to"]
    assert CongestionRuleConfig.loads(json.dumps(old)) == CongestionRuleConfig()


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    record = {
        "alert_id": "congestion:s1:1",
        "severity": "minor",
        "opened_at": datetime(2026, 1, 5, 8, 0, tzinfo=UTC),
    }
    body = payload.body(record, "congestion", "opened", 1_767_600_060_000)
    doc = json.loads(body)
    assert doc["sent_at"] == "2026-01-05T08:01:00Z"
    assert doc["alert"]["opened_at"] == "2026-01-05T08:00:00Z"
    assert doc["alert"]["resolved_at"] is None  # every field present, null when absent
    assert set(doc["alert"]) == set(payload.ALERT_FIELDS)
    expected = hmac.new(b"k", b"1767600060." + body, hashlib.sha256).hexdigest()
    assert payload.signature("k", 1_767_600_060, body) == "sha256=" + expected
    headers = payload.headers("k", 1_767_600_060, body, "opened")
    assert headers["X-Trafficcast-Signature"] == "sha256=" + expected
    assert headers["X-Trafficcast-Timestamp"] == "1767600060"
    assert "X-Trafficcast-Signature" not in payload.headers("", 1, body, "opened")


def test_an_email_subject_is_one_line_whatever_the_alert_holds() -> None:
    record = {"alert_id": "a", "severity": "major", "alert_type": "congestion"}
    subject, text = payload.email_text(
        {**record, "segment_id": "s1\r\nBcc: evil@example.com"}, "congestion", "escalated"
    )
    assert "\n" not in subject
    assert "\r" not in subject
    assert subject.startswith("[trafficcast] escalated: major congestion on s1")
    assert "alert_id: a" in text.splitlines()


def test_events_targets_and_due_times() -> None:
    assert payload.event_of({"state": "resolved"}) == "resolved"
    assert payload.event_of({"state": "acknowledged"}) == "opened"
    assert delivery_targets(("dashboard", "email:a@b.co", "webhook:http://h/x")) == [
        "email:a@b.co",
        "webhook:http://h/x",
    ]
    assert escalation_due(0, 5 * 60_000, 5)
    assert not escalation_due(0, 5 * 60_000 - 1, 5)


def test_backoff_doubles_up_to_its_cap() -> None:
    p = RetryPolicy(max_attempts=10, backoff_s=0.5, max_backoff_s=3)
    assert [p.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_the_retry_loop_records_each_try_and_stops_when_told() -> None:
    outcomes = iter(
        [Outcome(False, 503, "busy", retry=True), RuntimeError("boom"), Outcome(True, 200)]
    )

    def once() -> Outcome:
        o = next(outcomes)
        if isinstance(o, Exception):
            raise o
        return o

    seen: list[object] = []
    job = Job("a", "congestion", "opened", "webhook:http://h/x")
    done = deliver(job, once, RetryPolicy(max_attempts=5, backoff_s=0), seen.append)
    assert done == seen
    assert [(a.attempt, a.status_code, a.delivered) for a in done] == [
        (1, 503, False),
        (2, None, False),
        (3, 200, True),
    ]
    assert done[1].error == "RuntimeError: boom"
    final = deliver(job, lambda: Outcome(False, 400, "bad"), RetryPolicy(backoff_s=0), seen.append)
    assert len(final) == 1  # not retryable
