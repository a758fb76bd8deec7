"""Alert notifications against real local stand-ins: an HTTP server that checks the
signature (webhooks), aiosmtpd (e-mail), and the whole path from slow readings
through the stream processor to a webhook."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.incident_rule import IncidentRuleConfig
from trafficcast.alerts.notify import payload
from trafficcast.alerts.notify.dispatcher import Dispatcher, NotifyConfig
from trafficcast.alerts.notify.email import SmtpConfig
from trafficcast.alerts.notify.retry import RetryPolicy
from trafficcast.alerts.rules import CongestionRuleConfig, state_key
from trafficcast.api.background import BackgroundServer, free_port
from trafficcast.config import Settings
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store.base import AlertQuery
from trafficcast.store.duckdb_store import DuckDBStore

SECRET = "s3cret-for-tests"
MIN = 60_000


# stand-ins -------------------------------------------------------------------------------
class Hooks:
    """A webhook receiver. Each path answers from its script of statuses (the last one
    repeats); every request is kept with whether its signature and timestamp checked out."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[int]] = {}
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                ok = payload.verify(
                    SECRET,
                    self.headers.get(payload.TIMESTAMP_HEADER, ""),
                    self.headers.get(payload.SIGNATURE_HEADER, ""),
                    body,
                    int(time.time()),
                )
                with hooks.lock:
                    script = hooks.scripts.get(self.path, [200])
                    seen = sum(1 for r in hooks.received if r["path"] == self.path)
                    status = script[min(seen, len(script) - 1)]
                    hooks.received.append(
                        {"path": self.path, "signed": ok, "body": json.loads(body), "raw": body}
                    )
                self.send_response(status if ok else 401)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def on(self, path: str) -> list[dict[str, Any]]:
        with self.lock:
            return [r for r in self.received if r["path"] == path]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    h = Hooks()
    h.thread.start()
    try:
        yield h
    finally:
        h.server.shutdown()
        h.server.server_close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, Message]] = []

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        self.messages.append((envelope, message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


# helpers --------------------------------------------------------------------------------
def config(**changes: Any) -> NotifyConfig:
    base: dict[str, Any] = {
        "webhook_secret": SECRET,
        "timeout_s": 2.0,
        "policy": RetryPolicy(max_attempts=3, backoff_s=0.05),
        "escalation_check_s": 3600.0,
    }
    return NotifyConfig(**(base | changes))


def seed_open(
    store: DuckDBStore,
    alert_id: str,
    segment: str | None,
    opened_ms: int,
    alert_type: str = "congestion",
) -> dict[str, Any]:
    store.upsert_alerts(
        pa.Table.from_arrays(
            [
                pa.array([alert_id]),
                pa.array([alert_type]),
                pa.array(["major"]),
                pa.array([segment], pa.string()),
                pa.array(["open"]),
                pa.array([opened_ms], pa.int64()).cast(TIMESTAMP),
                pa.nulls(1, TIMESTAMP),
                pa.array(["speed 12 mph, 20 % of free flow"]),
            ],
            schema=ALERT_SCHEMA,
        )
    )
    row: dict[str, Any] = store.alert(alert_id).to_pylist()[0]
    return row


def save_rule(store: DuckDBStore, rule: CongestionRuleConfig) -> None:
    store.set_state(state_key("congestion"), rule.dumps())


def wait_for(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "store.duckdb")
    s.init_schema()
    try:
        yield s
    finally:
        s.close()


# webhooks ---------------------------------------------------------------------------------
def test_a_flaky_webhook_gets_a_signed_body_and_three_recorded_attempts(
    hooks: Hooks, store: DuckDBStore
) -> None:
    hooks.scripts["/flaky"] = [500, 500, 200]
    record = seed_open(store, "congestion:s1:1", "s1", 1_767_600_000_000)
    d = Dispatcher(store, lambda _key: None, config())
    try:
        assert d.send(record, "congestion", "opened", f"webhook:{hooks.url}/flaky")
    finally:
        d.stop()
    got = hooks.on("/flaky")
    assert len(got) == 3
    assert all(r["signed"] for r in got)
    assert len({r["raw"] for r in got}) == 1  # the same body each time, re-signed
    body = got[-1]["body"]
    assert body["event"] == "opened"
    assert body["rule_id"] == "congestion"
    assert body["alert"]["alert_id"] == "congestion:s1:1"
    assert body["alert"]["severity"] == "major"
    assert body["alert"]["segment_id"] == "s1"
    assert body["alert"]["opened_at"] == "2026-01-05T08:00:00Z"
    attempts = store.notification_attempts("congestion:s1:1")
    assert [(a.attempt, a.status_code, a.delivered) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert str(attempts[0].error).startswith("HTTP 500")
    assert attempts[-1].error is None
    assert all(a.target == f"webhook:{hooks.url}/flaky" for a in attempts)
    # Backoff: 0.05 s then 0.1 s between the tries.
    assert attempts[2].at_ms - attempts[0].at_ms >= 140
    assert (d.stats.delivered, d.stats.attempts) == (1, 3)


def test_a_dead_webhook_stops_at_the_retry_limit_and_a_4xx_is_not_retried(
    hooks: Hooks, store: DuckDBStore
) -> None:
    hooks.scripts["/down"] = [503]
    hooks.scripts["/gone"] = [410]
    record = seed_open(store, "c:1", "s1", 1_767_600_000_000)
    d = Dispatcher(store, lambda _key: None, config())
    try:
        assert not d.send(record, "congestion", "opened", f"webhook:{hooks.url}/down")
        assert not d.send(record, "congestion", "resolved", f"webhook:{hooks.url}/gone")
        # Nothing listening: a connection error, retried, recorded without a status.
        assert not d.send(record, "congestion", "opened", "webhook:http://127.0.0.1:9/none")
    finally:
        d.stop()
    assert len(hooks.on("/down")) == 3
    assert len(hooks.on("/gone")) == 1
    attempts = store.notification_attempts("c:1")
    by_target: dict[str, list[tuple[int, int | None]]] = {}
    for a in attempts:
        by_target.setdefault(a.target.rsplit("/", 1)[-1], []).append((a.attempt, a.status_code))
    assert by_target == {
        "down": [(1, 503), (2, 503), (3, 503)],
        "gone": [(1, 410)],
        "none": [(1, None), (2, None), (3, None)],
    }
    assert not any(a.delivered for a in attempts)
    assert all(a.error for a in attempts)
    assert d.stats.failed == 3


def test_an_unsigned_or_tampered_body_fails_verification() -> None:
    body = payload.body({"alert_id": "a"}, "congestion", "opened", 0)
    now = int(time.time())
    good = payload.signature(SECRET, now, body)
    assert payload.verify(SECRET, str(now), good, body, now)
    assert not payload.verify(SECRET, str(now), good, body + b" ", now)
    assert not payload.verify("other", str(now), good, body, now)
    stale = payload.signature(SECRET, now - 600, body)  # a replay ten minutes on
    assert not payload.verify(SECRET, str(now - 600), stale, body, now)
    assert not payload.verify(SECRET, "soon", good, body, now)


# e-mail ------------------------------------------------------------------------------------
def test_an_alert_email_reaches_the_smtp_server_with_its_fields(
    smtp: tuple[Inbox, int], store: DuckDBStore
) -> None:
    inbox, port = smtp
    record = seed_open(store, "congestion:s7:1", "s7", 1_767_600_000_000)
    mail = SmtpConfig(host="127.0.0.1", port=port, sender="alerts@trafficcast.test", starttls=False)
    d = Dispatcher(store, lambda _key: None, config(smtp=mail))
    try:
        assert d.send(record, "congestion", "opened", "email:ops@example.com")
    finally:
        d.stop()
    assert len(inbox.messages) == 1
    envelope, msg = inbox.messages[0]
    assert envelope.rcpt_tos == ["ops@example.com"]
    assert envelope.mail_from == "alerts@trafficcast.test"
    assert msg["Subject"] == "[trafficcast] opened: major congestion on s7"
    text = msg.get_payload(decode=True)
    assert isinstance(text, bytes)
    lines = text.decode().splitlines()
    for line in (
        "alert_id: congestion:s7:1",
        "severity: major",
        "state: open",
        "segment_id: s7",
        "opened_at: 2026-01-05T08:00:00Z",
        "message: speed 12 mph, 20 % of free flow",
    ):
        assert line in lines
    [attempt] = store.notification_attempts("congestion:s7:1")
    assert (attempt.target, attempt.status_code, attempt.delivered) == (
        "email:ops@example.com",
        250,
        True,
    )


def test_email_without_smtp_or_to_a_dead_server_is_recorded_as_failed(
    store: DuckDBStore,
) -> None:
    record = seed_open(store, "c:2", "s1", 1_767_600_000_000)
    dead = SmtpConfig(host="127.0.0.1", port=9, starttls=False, timeout_s=1)
    for smtp_config in (SmtpConfig(host=""), dead):
        d = Dispatcher(store, lambda _key: None, config(smtp=smtp_config))
        try:
            assert not d.send(record, "congestion", "opened", "email:ops@example.com")
        finally:
            d.stop()
    attempts = store.notification_attempts("c:2")
    # Not configured: final at once. Connection refused: retried to the limit.
    assert [a.attempt for a in attempts] == [1, 1, 2, 3]
    assert "TRAFFICCAST_SMTP_HOST" in str(attempts[0].error)


# escalation --------------------------------------------------------------------------------
def test_escalation_fires_once_for_an_unacknowledged_alert_only(
    hooks: Hooks, store: DuckDBStore
) -> None:
    now = int(time.time() * 1000)
    save_rule(
        store,
        CongestionRuleConfig(
            notify=("dashboard",),
            escalate_after_minutes=5,
            escalate_to=(f"webhook:{hooks.url}/oncall",),
        ),
    )
    seed_open(store, "c:ignored", "s1", now - 10 * MIN)
    seed_open(store, "c:acked", "s2", now - 10 * MIN)
    seed_open(store, "c:young", "s3", now - 2 * MIN)
    store.update_alert("c:acked", "acknowledged", None, now, "vera")
    d = Dispatcher(store, store.get_state, config(escalation_check_s=0.1))
    d.start()
    try:
        wait_for(lambda: hooks.on("/oncall"), "the escalation")
        time.sleep(0.5)  # several more checks: none may send it again
    finally:
        d.stop()
    got = hooks.on("/oncall")
    assert [r["body"]["alert"]["alert_id"] for r in got] == ["c:ignored"]
    assert got[0]["body"]["event"] == "escalated"
    assert got[0]["signed"]
    assert [a.event for a in store.notification_attempts("c:ignored")] == ["escalated"]
    assert store.notification_attempts("c:acked") == []
    # A new dispatcher (a restart) knows from the store that it was escalated.
    again = Dispatcher(store, store.get_state, config())
    try:
        again.escalate()
    finally:
        again.stop()
    assert len(hooks.on("/oncall")) == 1


# the hot path's side ------------------------------------------------------------------------
def test_submit_never_blocks_and_counts_what_it_drops(store: DuckDBStore) -> None:
    d = Dispatcher(store, lambda _key: None, config(queue_size=1))  # not started: nothing drains
    rows = store.alerts(None, 10)  # empty tables are ignored
    d.submit(rows)
    seed_open(store, "c:3", "s1", 1_767_600_000_000)
    one = store.alert("c:3")
    t0 = time.perf_counter()
    for _ in range(100):
        d.submit(one)
    assert time.perf_counter() - t0 < 0.5
    assert d.stats.dropped == 99
    d.stop()


# end to end ---------------------------------------------------------------------------------
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


def test_an_alert_the_processor_opens_reaches_the_webhook_and_is_listed(
    hooks: Hooks, tmp_path: Path
) -> None:
    hooks.scripts["/ops"] = [500, 200]
    settings = Settings(
        data_dir=tmp_path, webhook_secret=SECRET, notify_backoff_s=0.05, escalation_check_s=3600
    )
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=3, seed=4, dropout_probability=0.0))
    runtime.register_segments(sim.segments, sim.links)
    segment = sim.segments.column("segment_id")[0].as_py()
    free_flow = sim.segments.column("free_flow_speed")[0].as_py()
    now = int(time.time() * 1000)
    base = now - now % (5 * MIN) - 100 * MIN
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        rule = {
            "enabled": True,
            "open_ratio": 0.5,
            "open_minutes": 5,
            "resolve_ratio": 0.65,
            "resolve_minutes": 5,
            "major_ratio": 0.3,
            "notify": ["dashboard", f"webhook:{hooks.url}/ops"],
        }
        r = c.put("/api/alerts/rules/congestion", json=rule)
        assert r.status_code == 200, r.text
        assert r.json()["escalate_after_minutes"] is None
        events = readings(segment, 0, 12, 0.2 * free_flow, base)
        r = c.post("/api/traffic/events/batch", json={"events": events})
        assert r.status_code == 201, r.text
        got = wait_for(lambda: [x for x in hooks.on("/ops") if x["signed"]][1:], "the webhook")
        body = got[0]["body"]
        assert body["event"] == "opened"
        assert body["alert"]["segment_id"] == segment
        assert body["alert"]["state"] == "open"
        alert_id = body["alert"]["alert_id"]
        stored = c.get(f"/api/alerts/{alert_id}").json()
        assert body["alert"]["opened_at"] == stored["opened_at"]
        listed = wait_for(
            lambda: (
                len((a := c.get(f"/api/alerts/{alert_id}/notifications")).json()["attempts"]) == 2
                and a
            ),
            "both attempts to be listed",
        )
        assert listed.status_code == 200
        attempts = listed.json()["attempts"]
        assert [(a["attempt"], a["status_code"], a["delivered"]) for a in attempts] == [
            (1, 500, False),
            (2, 200, True),
        ]
        assert attempts[0]["target"] == f"webhook:{hooks.url}/ops"
        assert attempts[0]["event"] == "opened"
        assert attempts[0]["at"].endswith("Z")
        # Unknown alerts: the notifications route answers 404 in the error envelope.
        missing = c.get("/api/alerts/congestion:nope:1/notifications")
        assert missing.status_code == 404
        assert missing.json()["error"]["details"][0]["field"] == "alert_id"
        # An operator acknowledging it: the receiver hears who did, once.
        r = c.post(f"/api/alerts/{alert_id}/acknowledge", json={"note": "crew sent"})
        assert r.status_code == 200, r.text
        acked = wait_for(
            lambda: [x for x in hooks.on("/ops") if x["body"]["event"] == "acknowledged"],
            "the acknowledgement",
        )
        assert acked[0]["signed"]
        assert acked[0]["body"]["alert"]["state"] == "acknowledged"
        assert acked[0]["body"]["alert"]["acknowledged_by"] == "anonymous"
        assert acked[0]["body"]["alert"]["note"] == "crew sent"
        again = c.post(f"/api/alerts/{alert_id}/acknowledge", json={})
        assert again.status_code == 200  # acknowledging twice changes nothing, sends nothing
        # Recovery resolves it; the resolution goes out too.
        fast = readings(segment, 12, 24, free_flow, base)
        assert c.post("/api/traffic/events/batch", json={"events": fast}).status_code == 201
        resolved = wait_for(
            lambda: [x for x in hooks.on("/ops") if x["body"]["event"] == "resolved"],
            "the resolution",
        )
        assert resolved[0]["body"]["alert"]["alert_id"] == alert_id
        assert resolved[0]["body"]["alert"]["resolved_at"] is not None
        assert len([x for x in hooks.on("/ops") if x["body"]["event"] == "acknowledged"]) == 1
        metrics = c.get("/metrics").text
        assert "trafficcast_notifications_dropped_total 0.0" in metrics
        assert 'trafficcast_notifications_total{outcome="delivered"}' in metrics


def test_an_operator_resolving_an_alert_is_notified_once(hooks: Hooks, tmp_path: Path) -> None:
    """Resolved by hand through the API: the rule's webhook hears `resolved` with the note;
    a second resolve is refused (409) and sends nothing."""
    runtime = Runtime(Settings(data_dir=tmp_path, webhook_secret=SECRET))
    save_rule(
        runtime.store,  # type: ignore[arg-type]
        CongestionRuleConfig(notify=("dashboard", f"webhook:{hooks.url}/ops")),
    )
    seed_open(runtime.store, "congestion:s1:1", "s1", int(time.time() * 1000) - 60_000)  # type: ignore[arg-type]
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        r = c.post("/api/alerts/congestion:s1:1/resolve", json={"note": "cleared by crew"})
        assert r.status_code == 200, r.text
        got = wait_for(lambda: hooks.on("/ops"), "the resolution")
        assert got[0]["signed"]
        assert got[0]["body"]["event"] == "resolved"
        assert got[0]["body"]["rule_id"] == "congestion"
        assert got[0]["body"]["alert"]["note"] == "cleared by crew"
        assert got[0]["body"]["alert"]["state"] == "resolved"
        assert c.post("/api/alerts/congestion:s1:1/resolve", json={}).status_code == 409
        attempts = wait_for(
            lambda: c.get("/api/alerts/congestion:s1:1/notifications").json()["attempts"],
            "the attempt to be listed",
        )
        assert [a["event"] for a in attempts] == ["resolved"]
    assert len(hooks.on("/ops")) == 1


# every rule type ----------------------------------------------------------------------------
def test_each_alert_goes_to_its_own_rules_targets_and_escalation(
    hooks: Hooks, store: DuckDBStore
) -> None:
    """The rule is looked up by the alert's type: an incident alert goes to the incident
    rule's webhook and escalates by its escalation; a forecast-accuracy alert (no
    segment) to its rule's; a congestion alert to nobody (its rule: dashboard only)."""
    now = int(time.time() * 1000)
    store.set_state(
        state_key("incident"),
        IncidentRuleConfig(
            notify=("dashboard", f"webhook:{hooks.url}/incident"),
            escalate_after_minutes=5,
            escalate_to=(f"webhook:{hooks.url}/incident-oncall",),
        ).dumps(),
    )
    store.set_state(
        state_key("forecast_accuracy"),
        AccuracyRuleConfig(notify=(f"webhook:{hooks.url}/accuracy",)).dumps(),
    )
    seed_open(store, "c:1", "s1", now - 10 * MIN)
    seed_open(store, "incident:s2:1", "s2", now - 10 * MIN, "incident")
    seed_open(store, "forecast_accuracy:30min:1", None, now - MIN, "forecast_accuracy")
    d = Dispatcher(store, store.get_state, config(escalation_check_s=0.1))
    d.start()
    try:
        d.submit(store.query_alerts(AlertQuery(limit=10)))
        wait_for(lambda: hooks.on("/incident-oncall"), "the incident's escalation")
        wait_for(lambda: hooks.on("/accuracy"), "the accuracy alert")
        assert d.wait_idle(10)
        time.sleep(0.3)  # more escalation checks: none may send anything else
    finally:
        d.stop()
    incident = hooks.on("/incident")
    assert [(r["body"]["rule_id"], r["body"]["event"]) for r in incident] == [
        ("incident", "opened")
    ]
    assert incident[0]["body"]["alert"]["alert_id"] == "incident:s2:1"
    oncall = hooks.on("/incident-oncall")
    assert [r["body"]["alert"]["alert_id"] for r in oncall] == ["incident:s2:1"]
    assert oncall[0]["body"]["event"] == "escalated"
    accuracy = hooks.on("/accuracy")
    assert [r["body"]["rule_id"] for r in accuracy] == ["forecast_accuracy"]
    assert accuracy[0]["body"]["alert"]["segment_id"] is None
    assert len(hooks.received) == 3  # nothing for the congestion alert
    assert store.notification_attempts("c:1") == []
    assert [a.rule_id for a in store.notification_attempts("incident:s2:1")] == [
        "incident",
        "incident",
    ]
