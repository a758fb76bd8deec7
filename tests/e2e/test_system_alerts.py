"""System alerts on a running server (alerts/system.py, api/system_monitor.py).

Each condition is caused for real: events stop arriving (ingest stalled), one detector
stops while the others report (a silent detector, for its segment), the database goes
away (a component unhealthy: the alert is pushed live while nothing can be stored, and
written once the database is back); then each clears, and the alert resolves after
the rule's hold. Seen through GET /api/alerts?alert_type=system and a dashboard's
WebSocket.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from trafficcast.alerts.rules import state_key
from trafficcast.alerts.system_rule import SystemRuleConfig
from trafficcast.api.background import BackgroundServer
from trafficcast.api.system_monitor import LEASE_KEY, SystemMonitor
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.store.duckdb_store import DuckDBStore

MIN = 60_000
RULE = SystemRuleConfig(
    ingest_stall_seconds=2,
    silent_detector_minutes=5,
    open_after_seconds=1,
    resolve_after_seconds=1,
)
# Event time: on an hour two hours ago (accepted, not in the future).
BASE = (int(time.time() * 1000) - 2 * 3600_000) // 3600_000 * 3600_000


class Listener(threading.Thread):
    """A dashboard subscribed to everything, keeping the `alert` messages."""

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
                    self.alerts.append(message["data"])


@dataclass
class Served:
    runtime: Runtime
    client: httpx.Client
    listener: Listener


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    runtime = Runtime(Settings(data_dir=tmp_path, system_check_s=0.1))
    runtime.store.set_state(state_key(RULE.rule_id), RULE.dumps())
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        listener = Listener(server.ws_url)
        listener.start()
        assert listener.ready.wait(10)
        try:
            yield Served(runtime, client, listener)
        finally:
            listener.stop.set()
            listener.join(5)


def post(client: httpx.Client, readings: list[tuple[str, int]]) -> None:
    events = [
        {
            "segment_id": segment,
            "timestamp": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime((BASE + minute * MIN) // 1000)
            ),
            "speed": 55.0,
            "volume": 10.0,
        }
        for segment, minute in readings
    ]
    r = client.post("/api/traffic/events/batch", json={"events": events})
    assert r.status_code == 201, r.text


def system_alerts(client: httpx.Client) -> list[dict[str, Any]]:
    r = client.get("/api/alerts", params={"alert_type": "system"})
    assert r.status_code == 200, r.text
    return list(r.json()["alerts"])


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def by_condition(rows: list[dict[str, Any]], condition: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["alert_id"].startswith(f"system:{condition}:")]


def test_a_stall_and_a_silent_detector_open_and_resolve(served: Served) -> None:
    client = served.client
    # Three detectors report; "sys-c" stops after minute 1 while the others go on to 10.
    post(client, [(s, m) for m in range(2) for s in ("sys-a", "sys-b", "sys-c")])
    post(client, [(s, m) for m in range(2, 11) for s in ("sys-a", "sys-b")])
    last_post = time.time()
    assert served.runtime.processor.wait_idle(30)
    silent = wait_for(
        lambda: by_condition(system_alerts(client), "detector_silent"), "a silent detector"
    )
    assert [(a["segment_id"], a["severity"], a["state"]) for a in silent] == [
        ("sys-c", "minor", "open")
    ]
    assert "no reading for 9 min" in silent[0]["message"]

    # Nothing more is sent: after 2 s without events and 1 s of hold, the stall opens.
    stall = wait_for(
        lambda: by_condition(system_alerts(client), "ingest_stalled"), "the ingest stall"
    )
    assert time.time() - last_post >= 3.0
    assert [(a["segment_id"], a["severity"], a["state"]) for a in stall] == [
        (None, "major", "open")
    ]
    # One alert per condition although the monitor checked it many times.
    time.sleep(0.5)
    rows = system_alerts(client)
    assert len(by_condition(rows, "ingest_stalled")) == 1
    assert len(by_condition(rows, "detector_silent")) == 1

    # Events again, "sys-c" among them: both clear and resolve after the hold.
    post(client, [(s, 11) for s in ("sys-a", "sys-b", "sys-c")])
    cleared_at = time.time()

    def resolved() -> list[dict[str, Any]]:
        rows = system_alerts(client)
        return rows if all(r["state"] == "resolved" for r in rows) else []

    rows = wait_for(resolved, "both to resolve")
    assert time.time() - cleared_at >= 1.0
    assert sorted(r["alert_id"] for r in rows) == sorted(
        [stall[0]["alert_id"], silent[0]["alert_id"]]
    )

    # The dashboard saw each open and each resolution, as stored (the push follows the
    # store write, so it may arrive a moment after the rows read above).
    def both_pushed() -> list[tuple[str, str]]:
        seen = [(a["alert_id"], a["state"]) for a in served.listener.alerts]
        done = all((a["alert_id"], "resolved") in seen for a in (stall[0], silent[0]))
        return seen if done else []

    pushed = wait_for(both_pushed, "the resolutions to be pushed")
    for alert in (stall[0], silent[0]):
        assert pushed.index((alert["alert_id"], "open")) < pushed.index(
            (alert["alert_id"], "resolved")
        )


def test_the_database_going_away_is_a_major_alert_stored_once_it_is_back(
    served: Served, tmp_path: Path
) -> None:
    runtime = served.runtime
    # The monitor must have led a whole round (reading the test's rule) before the store
    # goes: a lease renewed twice means one round ended after taking it.
    renewals: set[str | None] = set()

    def led_a_round() -> bool:
        renewals.add(runtime.store.get_state(LEASE_KEY))
        return len(renewals - {None}) >= 2

    wait_for(led_a_round, "the monitor to lead a round")
    closed = DuckDBStore(str(tmp_path / "closed.duckdb"))
    closed.close()
    store, runtime.store = runtime.store, closed
    try:
        opened = wait_for(
            lambda: [
                a
                for a in served.listener.alerts
                if a["alert_id"].startswith("system:component_unhealthy:database:")
            ],
            "the database alert, pushed live",
        )
        assert (opened[0]["severity"], opened[0]["state"]) == ("major", "open")
        assert opened[0]["message"].startswith("database is unhealthy: ")
        assert opened[0]["alert_type"] == "system"
        # Null on the wire is "" (api/alert_push.py): dashboards subscribed to all get it.
        assert opened[0]["segment_id"] == ""
    finally:
        runtime.store = store
    rows = wait_for(
        lambda: [r for r in system_alerts(served.client) if r["state"] == "resolved"],
        "the database alert, stored and resolved",
    )
    assert [(r["alert_id"], r["severity"]) for r in rows] == [(opened[0]["alert_id"], "major")]
    assert rows[0]["message"] == "database is healthy again"


def test_two_monitors_on_one_store_raise_one_alert(served: Served) -> None:
    """A second API process's monitor (same store) neither leads while the first holds
    the lease nor duplicates the alert when it takes over."""
    runtime = served.runtime
    runtime.processor.stop()  # the stream processor is a critical component
    first = wait_for(
        lambda: by_condition(system_alerts(served.client), "component_unhealthy"),
        "the stopped processor's alert",
    )
    assert [(a["alert_id"].split(":")[2], a["severity"]) for a in first] == [
        ("stream_processor", "major")
    ]
    clock = [time.time()]
    other = SystemMonitor(runtime, 0.1, clock=lambda: clock[0], holder="other")
    assert other.check().num_rows == 0
    assert other.engine is None
    clock[0] += 3600  # the first monitor's lease has lapsed from the other's view
    assert other.check().num_rows == 0
    assert other.engine is not None
    clock[0] += 3600
    assert other.check().num_rows == 0
    assert len(by_condition(system_alerts(served.client), "component_unhealthy")) == 1
