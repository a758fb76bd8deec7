"""The alert API through the real app: the lifecycle an operator drives, the history's
filters, the congestion rule, and the stream processor honouring all three."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
from websockets.sync.client import connect

from trafficcast.alerts.rules import state_key
from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig

MIN = 60_000
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z


class Listener(threading.Thread):
    """A dashboard's WebSocket: subscribed to everything, keeps the `alert` messages."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.alerts: list[dict[str, Any]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with connect(self.url) as ws:
            ws.send(json.dumps({"action": "subscribe"}))
            json.loads(ws.recv(timeout=10))
            self.ready.set()
            while not self.stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.2))
                except TimeoutError:
                    continue
                if message.get("type") == "alert":
                    self.alerts.append(message)


@dataclass
class Served:
    runtime: Runtime
    client: httpx.Client
    server: BackgroundServer
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
        yield Served(runtime, client, server, ids, free_flow)


def seed(runtime: Runtime, rows: list[tuple[str, str, str, str, int]]) -> None:
    """Pipeline alerts: (alert_id, type, severity, segment, opened minute after T0), open."""
    n = len(rows)
    runtime.store.upsert_alerts(
        pa.Table.from_arrays(
            [
                pa.array([r[0] for r in rows]),
                pa.array([r[1] for r in rows]),
                pa.array([r[2] for r in rows]),
                pa.array([r[3] for r in rows]),
                pa.array(["open"] * n),
                pa.array([T0 + r[4] * MIN for r in rows], pa.int64()).cast(TIMESTAMP),
                pa.nulls(n, TIMESTAMP),
                pa.array(["slow"] * n),
            ],
            schema=ALERT_SCHEMA,
        )
    )


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def assert_envelope(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"]
    if field is not None:
        assert field in [d["field"] for d in body["error"]["details"]], body


# lifecycle --------------------------------------------------------------------------
def test_acknowledge_and_resolve_change_the_alert_and_reach_every_dashboard(
    served: Served,
) -> None:
    seed(served.runtime, [("c:1", "congestion", "major", served.segments[0], 0)])
    listener = Listener(served.server.ws_url)
    listener.start()
    assert listener.ready.wait(10)
    c = served.client
    try:
        acked = c.post("/api/alerts/c:1/acknowledge", json={"note": "crew on the way"})
        assert acked.status_code == 200, acked.text
        body = acked.json()
        assert body["state"] == "acknowledged"
        assert body["note"] == "crew on the way"
        assert body["acknowledged_at"] is not None
        assert body["acknowledged_by"] == "anonymous"  # the suite runs as the anonymous admin
        pushed = wait_for(lambda: listener.alerts, "the acknowledgement pushed")
        assert pushed[0]["segment_id"] == served.segments[0]
        assert pushed[0]["data"] == body
        # Again without a body: still acknowledged, first time and note kept.
        again = c.post("/api/alerts/c:1/acknowledge").json()
        assert (again["acknowledged_at"], again["note"]) == (body["acknowledged_at"], body["note"])
        resolved = c.post("/api/alerts/c:1/resolve", json={"note": "cleared"}).json()
        assert (resolved["state"], resolved["note"]) == ("resolved", "cleared")
        assert resolved["resolved_at"] is not None
        wait_for(lambda: len(listener.alerts) == 3, "the resolution pushed")
        assert listener.alerts[-1]["data"]["state"] == "resolved"
        assert c.get("/api/alerts/c:1").json() == resolved
        for action in ("acknowledge", "resolve"):
            refused = c.post(f"/api/alerts/c:1/{action}", json={"note": "late"})
            assert_envelope(refused, 409, "state")
        assert c.get("/api/alerts/c:1").json()["note"] == "cleared"
        assert len(listener.alerts) == 3  # a refused action pushes nothing
    finally:
        listener.stop.set()
        listener.join(5)


def test_unknown_alerts_and_bad_bodies_are_refused(served: Served) -> None:
    seed(served.runtime, [("c:2", "congestion", "minor", served.segments[1], 0)])
    c = served.client
    assert_envelope(c.post("/api/alerts/nope/acknowledge"), 404, "alert_id")
    assert_envelope(c.post("/api/alerts/nope/resolve", json={}), 404, "alert_id")
    assert_envelope(c.get("/api/alerts/nope"), 404, "alert_id")
    assert_envelope(c.post("/api/alerts/no%00pe/acknowledge"), 404, "alert_id")
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", json={"note": "x" * 501}), 422, "note")
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", json={"note": 5}), 422, "note")
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", json={"note": "a\x00b"}), 422, "note")
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", json={"who": "me"}), 422, "who")
    surrogate = b'{"note": "a\\ud800b"}'
    assert_envelope(
        c.post(
            "/api/alerts/c:2/acknowledge",
            content=surrogate,
            headers={"content-type": "application/json"},
        ),
        422,
        "note",
    )
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", json=["note"]), 422)
    assert_envelope(
        c.post(
            "/api/alerts/c:2/acknowledge",
            content=b"{not json",
            headers={"content-type": "application/json"},
        ),
        422,
    )
    assert_envelope(c.put("/api/alerts/c:2"), 405)
    # Huge bodies are refused before they are read: declared, or streamed without a length.
    huge = b'{"note": "' + b"x" * 20_000 + b'"}'
    headers = {"content-type": "application/json"}
    assert_envelope(c.post("/api/alerts/c:2/acknowledge", content=huge, headers=headers), 413)
    streamed = c.post(
        "/api/alerts/c:2/resolve", content=iter([huge[:10_000], huge[10_000:]]), headers=headers
    )
    assert_envelope(streamed, 413)
    big_rule = b'{"notify": ["' + b"y" * 3_000_000 + b'"]}'
    assert_envelope(c.put("/api/alerts/rules/congestion", content=big_rule, headers=headers), 413)
    # None of that touched it; a 500-character note is fine.
    assert c.get("/api/alerts/c:2").json()["state"] == "open"
    ok = c.post("/api/alerts/c:2/acknowledge", json={"note": "é" * 500})
    assert ok.status_code == 200, ok.text


def test_an_id_with_slashes_and_odd_characters_is_addressable(served: Served) -> None:
    seed(served.runtime, [("congestion:a/b c:1", "congestion", "minor", "a/b c", 0)])
    c = served.client
    quoted = "congestion:a%2Fb%20c:1"
    r = c.post("/api/alerts/congestion:a/b c:1/acknowledge")
    assert r.status_code == 200, r.text
    assert c.get(f"/api/alerts/{quoted}").json()["state"] == "acknowledged"


# history filters ------------------------------------------------------------------------
def test_filters_narrow_the_history_newest_first(served: Served) -> None:
    a, b = served.segments[:2]
    seed(
        served.runtime,
        [
            ("c:a:0", "congestion", "minor", a, 0),
            ("c:a:10", "congestion", "major", a, 10),
            ("c:b:20", "congestion", "major", b, 20),
            ("i:b:30", "incident", "minor", b, 30),
        ],
    )
    c = served.client
    c.post("/api/alerts/c:a:10/acknowledge")
    c.post("/api/alerts/c:a:0/resolve")

    def ids(**params: object) -> list[str]:
        r = c.get("/api/alerts", params=params)
        assert r.status_code == 200, r.text
        return [row["alert_id"] for row in r.json()["alerts"]]

    assert ids() == ["i:b:30", "c:b:20", "c:a:10", "c:a:0"]
    assert ids(state="active") == ["i:b:30", "c:b:20", "c:a:10"]
    assert ids(state="open") == ["i:b:30", "c:b:20"]
    assert ids(state="acknowledged") == ["c:a:10"]
    assert ids(state="resolved") == ["c:a:0"]
    assert ids(severity="major") == ["c:b:20", "c:a:10"]
    assert ids(alert_type="incident") == ["i:b:30"]
    assert ids(segment_id=a) == ["c:a:10", "c:a:0"]
    assert ids(since="2026-01-05T08:10:00Z", until="2026-01-05T08:30:00Z") == ["c:b:20", "c:a:10"]
    assert ids(since="2026-01-05T08:10:00") == ["i:b:30", "c:b:20", "c:a:10"]  # UTC
    assert ids(state="active", severity="major", segment_id=b) == ["c:b:20"]
    assert ids(limit=1) == ["i:b:30"]
    assert ids(segment_id="' OR 1=1 --") == []
    row = c.get("/api/alerts", params={"state": "acknowledged"}).json()["alerts"][0]
    assert set(row) == {
        "alert_id",
        "alert_type",
        "severity",
        "segment_id",
        "state",
        "opened_at",
        "resolved_at",
        "message",
        "acknowledged_at",
        "acknowledged_by",
        "note",
        "updated_at",
    }
    for params, field in (
        ({"state": "closed"}, "state"),
        ({"severity": "MAJOR; drop"}, "severity"),
        ({"alert_type": "x" * 40}, "alert_type"),
        ({"segment_id": "a\x00"}, "segment_id"),
        ({"segment_id": ""}, "segment_id"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-05T09:00:00Z", "until": "2026-01-05T08:00:00Z"}, "until"),
        ({"limit": 0}, "limit"),
        ({"limit": 10_001}, "limit"),
    ):
        assert_envelope(c.get("/api/alerts", params=params), 422, field)


# the rule -------------------------------------------------------------------------------
RULE = {
    "enabled": True,
    "open_ratio": 0.45,
    "open_minutes": 10,
    "resolve_ratio": 0.7,
    "resolve_minutes": 15,
    "major_ratio": 0.2,
    "scope": {"segment_ids": None},
    "notify": ["dashboard", "webhook:https://hooks.example.com/x", "email:ops@example.com"],
}


def test_rules_default_validate_and_persist(served: Served, tmp_path: Path) -> None:
    c = served.client
    rules = c.get("/api/alerts/rules").json()["rules"]
    assert [r["rule_id"] for r in rules] == [
        "congestion",
        "incident",
        "predicted_congestion",
        "forecast_accuracy",
        "system",
    ]
    assert rules[0] == c.get("/api/alerts/rules/congestion").json()
    assert rules[0] == {
        "rule_id": "congestion",
        "alert_type": "congestion",
        "enabled": True,
        "open_ratio": 0.5,
        "open_minutes": 15,
        "resolve_ratio": 0.65,
        "resolve_minutes": 10,
        "major_ratio": 0.3,
        "scope": {"segment_ids": None},
        "notify": ["dashboard"],
        "escalate_after_minutes": None,
        "escalate_to": [],
    }
    saved = c.put("/api/alerts/rules/congestion", json=RULE)
    assert saved.status_code == 200, saved.text
    no_escalation = {"escalate_after_minutes": None, "escalate_to": []}
    expected = {"rule_id": "congestion", "alert_type": "congestion", **no_escalation, **RULE}
    assert saved.json() == expected
    assert c.get("/api/alerts/rules").json()["rules"][0] == expected
    stored = served.runtime.store.get_state(state_key("congestion"))
    assert stored is not None
    assert json.loads(stored)["open_ratio"] == 0.45
    in_scope = {**RULE, "scope": {"segment_ids": served.segments[:2]}}
    assert c.put("/api/alerts/rules/congestion", json=in_scope).json()["scope"] == {
        "segment_ids": served.segments[:2]
    }

    def refused(body: object, status: int, field: str | None = None) -> None:
        assert_envelope(c.put("/api/alerts/rules/congestion", json=body), status, field)

    refused({**RULE, "major_ratio": 0.5}, 422, "major_ratio")
    refused({**RULE, "resolve_ratio": 0.4}, 422, "resolve_ratio")
    refused({**RULE, "resolve_ratio": 2}, 422, "resolve_ratio")
    refused({**RULE, "open_minutes": 12}, 422, "open_minutes")
    refused({**RULE, "open_minutes": 15.5}, 422, "open_minutes")
    refused({**RULE, "resolve_minutes": 0}, 422, "resolve_minutes")
    refused({**RULE, "open_ratio": "0.5"}, 422, "open_ratio")
    refused({**RULE, "open_ratio": True}, 422, "open_ratio")
    refused({**RULE, "enabled": "yes"}, 422, "enabled")
    refused({**RULE, "scope": {"segment_ids": ["ghost"]}}, 422, "scope.segment_ids.0")
    refused({**RULE, "scope": {"segment_ids": []}}, 422, "scope.segment_ids")
    refused({**RULE, "scope": {"segment_ids": ["x" * 200]}}, 422, "scope.segment_ids.0")
    refused({**RULE, "notify": ["sms:555"]}, 422, "notify.0")
    refused({**RULE, "notify": ["dashboard", "webhook:ftp://x"]}, 422, "notify.1")
    refused({**RULE, "notify": ["email:a@b.c\r\nBcc:x@y.z"]}, 422, "notify.0")
    refused({**RULE, "rule_id": "other"}, 422, "rule_id")
    refused({**RULE, "alert_type": "incident"}, 422, "alert_type")
    refused({**RULE, "surprise": 1}, 422, "surprise")
    refused({**RULE, "escalate_to": ["email:boss@example.com"]}, 422, "escalate_after_minutes")
    refused({**RULE, "escalate_after_minutes": 30}, 422, "escalate_to")
    refused(
        {**RULE, "escalate_after_minutes": 1.5, "escalate_to": ["email:a@b.co"]},
        422,
        "escalate_after_minutes",
    )
    refused({k: v for k, v in RULE.items() if k != "enabled"}, 422, "enabled")
    refused([RULE], 422)
    assert_envelope(c.put("/api/alerts/rules/nosuch", json=RULE), 404, "rule_id")
    assert_envelope(c.get("/api/alerts/rules/nosuch"), 404, "rule_id")
    # The refused ones changed nothing.
    assert c.get("/api/alerts/rules/congestion").json()["scope"] == {
        "segment_ids": served.segments[:2]
    }
    escalating = {**RULE, "escalate_after_minutes": 30, "escalate_to": ["email:boss@example.com"]}
    assert c.put("/api/alerts/rules/congestion", json=escalating).json()["escalate_to"] == [
        "email:boss@example.com"
    ]


def test_the_rule_survives_a_restart(tmp_path: Path) -> None:
    first = Runtime(Settings(data_dir=tmp_path))
    sim = Simulator(SimulatorConfig(n_segments=3, seed=4))
    first.register_segments(sim.segments, sim.links)
    with BackgroundServer(first) as server:
        r = httpx.put(f"{server.url}/api/alerts/rules/congestion", json=RULE)
        assert r.status_code == 200, r.text
    again = Runtime(Settings(data_dir=tmp_path))
    with BackgroundServer(again) as server:
        rule = httpx.get(f"{server.url}/api/alerts/rules/congestion").json()
        assert rule["open_ratio"] == 0.45
        again.processor.alert_rules.poll()
        assert again.processor.alert_rules.rule.open_minutes == 10


# the processor honours operators and the rule --------------------------------------------
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
    # In time order: the processor's clock advances through a batch, so a later reading
    # of one segment ahead of an earlier one of another would make that one late.
    events = sorted(events, key=lambda e: str(e["timestamp"]))
    r = served.client.post("/api/traffic/events/batch", json={"events": events})
    assert r.status_code == 201, r.text


def alerts_of(served: Served, segment: str) -> list[dict[str, Any]]:
    # Congestion alerts only: the same crawl raises a predicted_congestion alert first.
    r = served.client.get("/api/alerts", params={"segment_id": segment, "alert_type": "congestion"})
    return list(r.json()["alerts"])


def test_the_processor_keeps_acknowledgements_and_manual_resolutions(served: Served) -> None:
    now = int(time.time() * 1000)
    base = now - now % (5 * MIN) - 100 * MIN
    acked, by_hand = served.segments[:2]
    slow = {s: 0.2 * served.free_flow[s] for s in (acked, by_hand)}
    fast = {s: served.free_flow[s] for s in (acked, by_hand)}
    listener = Listener(served.server.ws_url)
    listener.start()
    assert listener.ready.wait(10)
    try:
        # 25 minutes of crawling on both: four windows close, each opens an alert.
        post(served, [e for s in (acked, by_hand) for e in readings(s, 0, 25, slow[s], base)])
        first = wait_for(
            lambda: (
                [alerts_of(served, s) for s in (acked, by_hand)]
                if all(alerts_of(served, s) for s in (acked, by_hand))
                else None
            ),
            "both alerts to open",
        )
        a_id, h_id = first[0][0]["alert_id"], first[1][0]["alert_id"]
        assert first[0][0]["opened_at"] == time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime(base / 1000)
        )
        assert first[0][0]["severity"] == "major"  # 20 % of free flow
        assert served.client.post(
            f"/api/alerts/{a_id}/acknowledge", json={"note": "crew"}
        ).is_success
        manual = served.client.post(f"/api/alerts/{h_id}/resolve", json={"note": "by hand"}).json()
        # One recovers, the other crawls on for 20 more minutes.
        post(
            served,
            readings(acked, 25, 45, fast[acked], base)
            + readings(by_hand, 25, 45, slow[by_hand], base),
        )
        done = wait_for(
            lambda: (rows := alerts_of(served, acked)) and rows[0]["state"] == "resolved" and rows,
            "the processor to resolve the acknowledged alert",
        )
        assert len(done) == 1
        assert done[0]["note"] == "crew"
        assert done[0]["acknowledged_at"] is not None
        assert done[0]["message"].startswith("speed back above")
        # The dashboards see the acknowledgement kept (the push follows the store write,
        # and reaches this listener's thread a moment later).
        wait_for(
            lambda: (
                (pushed := [m["data"] for m in listener.alerts if m["data"]["alert_id"] == a_id])
                and pushed[-1] == done[0]
            ),
            "the stored record to be pushed",
        )
        # The manually resolved one was not reopened for the same congestion...
        assert alerts_of(served, by_hand) == [manual]
        # ...and when it clears, the processor's own resolution changes nothing.
        post(
            served,
            readings(by_hand, 45, 60, fast[by_hand], base)
            + readings(acked, 45, 60, fast[acked], base),
        )
        wait_for(
            lambda: (
                served.runtime.store.max_event_ms() == base + 59 * MIN
                and served.runtime.processor.wait_idle(5)
            ),
            "the last readings to be processed",
        )
        assert served.runtime.processor.congestion.open_since_ms.max() == 0
        assert alerts_of(served, by_hand) == [manual]
    finally:
        listener.stop.set()
        listener.join(5)


def test_the_processor_applies_a_changed_rule_from_the_next_window(served: Served) -> None:
    now = int(time.time() * 1000)
    base = now - now % (5 * MIN) - 100 * MIN
    inside, outside, third = served.segments[2:5]
    c = served.client
    # Only `inside` may alert, after one 5-minute window below 45 % of free flow.
    # Only the dashboard: RULE's webhook and e-mail targets would really be delivered.
    rule = {
        **RULE,
        "open_minutes": 5,
        "scope": {"segment_ids": [inside, third]},
        "notify": ["dashboard"],
    }
    assert c.put("/api/alerts/rules/congestion", json=rule).status_code == 200
    half = {s: 0.4 * served.free_flow[s] for s in (inside, outside, third)}
    post(served, [e for s in (inside, outside) for e in readings(s, 0, 6, half[s], base)])
    opened = wait_for(lambda: alerts_of(served, inside), "the in-scope alert")
    assert opened[0]["severity"] == "minor"  # 40 % is above major_ratio 20 %
    assert alerts_of(served, outside) == []
    # Disabled: no new alert anywhere.
    assert c.put("/api/alerts/rules/congestion", json={**rule, "enabled": False}).is_success
    post(served, readings(third, 6, 20, half[third], base))
    wait_for(
        lambda: (
            served.runtime.store.max_event_ms() == base + 19 * MIN
            and served.runtime.processor.wait_idle(5)
        ),
        "the readings to be processed",
    )
    assert alerts_of(served, third) == []


def test_a_restarted_processor_carries_on_the_open_alerts(tmp_path: Path) -> None:
    """Stored active alerts are adopted at restore: no duplicate while the congestion
    lasts, and the same alert resolves when it clears."""
    sim = Simulator(SimulatorConfig(n_segments=3, seed=4))
    segment = sim.segments.column("segment_id").to_pylist()[0]
    free_flow = sim.segments.column("free_flow_speed").to_pylist()[0]

    def feed(runtime: Runtime, start: int, end: int, speed: float) -> None:
        from trafficcast.domain.schema import EVENT_SCHEMA

        n = end - start
        runtime.processor.process(
            pa.Table.from_arrays(
                [
                    pa.array([f"r{m}" for m in range(start, end)]),
                    pa.array([segment] * n),
                    pa.array([T0 + m * MIN for m in range(start, end)], pa.int64()).cast(TIMESTAMP),
                    pa.array([speed] * n, pa.float64()),
                    pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.float64()),
                    pa.nulls(n, pa.float64()),
                    pa.array(["t"] * n),
                    pa.array([1.0] * n),
                ],
                schema=EVENT_SCHEMA,
            )
        )
        runtime.processor.checkpoint()

    first = Runtime(Settings(data_dir=tmp_path))
    first.register_segments(sim.segments, sim.links)
    feed(first, 0, 21, 0.2 * free_flow)
    opened = first.store.alerts("open", 10).column("alert_id").to_pylist()
    assert len(opened) == 1
    first.stop()

    again = Runtime(Settings(data_dir=tmp_path))
    feed(again, 21, 40, 0.2 * free_flow)  # still crawling: nothing new
    # (The crawl's predicted_congestion alert resolved when the congestion alert opened.)
    assert again.store.alerts("open", 10).column("alert_id").to_pylist() == opened
    assert len(again.store.alerts(None, 10)) == 2
    feed(again, 40, 56, free_flow)
    rows = [r for r in again.store.alerts(None, 10).to_pylist() if r["alert_type"] == "congestion"]
    assert [(r["alert_id"], r["state"]) for r in rows] == [(opened[0], "resolved")]
    again.stop()
