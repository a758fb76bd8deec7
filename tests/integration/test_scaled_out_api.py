"""Several API processes in front of one Kafka and one PostgreSQL: every WebSocket
subscriber, on whichever process, receives every update; rate limits are one budget
shared through Redis; /health reports each component and the consumer lag."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from tests.integration.cluster import Cluster, by_minute, simulated
from tests.integration.test_scaled_out_faults import body
from tests.services import Service
from trafficcast.alerts.rules import state_key
from trafficcast.alerts.system_rule import SystemRuleConfig
from trafficcast.config import Settings
from trafficcast.runtime import open_store

pytestmark = pytest.mark.slow


class Listener(threading.Thread):
    """A WebSocket client subscribed to everything, collecting windows by segment."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.subscribed = threading.Event()
        self.windows: set[tuple[str, str]] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        with connect(self.url.replace("http", "ws") + "/ws/traffic") as ws:
            ws.send(json.dumps({"action": "subscribe", "segment_ids": ["*"]}))
            while not self.stop.is_set():
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message["type"] == "subscribed":
                    self.subscribed.set()
                elif message["type"] == "window":
                    data = message["data"]
                    self.windows.add((data["segment_id"], data["window_start"]))


def test_two_api_processes_fan_out_every_update_and_share_rate_limits(
    tmp_path: Path, kafka: Service, postgres_database: str, redis_service: Service
) -> None:
    store = open_store(Settings(database_url=postgres_database))
    store.init_schema()
    store.close()
    cluster = Cluster(
        tmp_path,
        kafka.url,
        postgres_database,
        TRAFFICCAST_REDIS_URL=redis_service.url,
        TRAFFICCAST_RATE_LIMIT_ANONYMOUS_PER_HOUR="5000",
    )
    try:
        cluster.processor()
        cluster.processor()
        _, api_a = cluster.api()
        _, api_b = cluster.api()
        listeners = [Listener(api_a), Listener(api_b)]
        for listener in listeners:
            listener.start()
            assert listener.subscribed.wait(30)
        # Each API process's fan-out consumer must have joined before updates flow.
        for api in (api_a, api_b):
            cluster.wait_for(
                "the fan-out to be assigned",
                lambda api=api: (
                    httpx.get(f"{api}/health", timeout=10).json()["checks"]["live_fanout"]["status"]
                    == "healthy"
                ),
            )
        time.sleep(2)
        _, events = simulated(minutes=12, segments=20)
        for batch in by_minute(events):
            r = httpx.post(f"{api_a}/api/traffic/events/batch", content=body(batch), timeout=30)
            assert r.status_code == 201, r.text

        def both_have_the_same_windows() -> bool:
            a, b = (set(x.windows) for x in listeners)
            return len(a) >= 20 * 10 and a == b

        # Ingest went to process A only; B's subscriber sees the same windows.
        cluster.wait_for("the same windows on both processes", both_have_the_same_windows, 60)

        # B ingested nothing, yet forecasts on demand from the windows it was sent.
        segment = events.column("segment_id")[0].as_py()
        r = httpx.post(
            f"{api_b}/api/predictions/generate",
            json={"segment_id": segment, "horizon_minutes": 30},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert len(r.json()["predictions"]) == 6

        # One budget for both processes: B's count continues where A's stopped. The
        # budget refills one request every 0.72 s, so one request to each could show the
        # same count; ten to B within a few seconds must leave it clearly below A's.
        a = httpx.get(f"{api_a}/api/segments", timeout=10)
        assert a.headers["X-RateLimit-Limit"] == "5000"
        for _ in range(10):
            b = httpx.get(f"{api_b}/api/segments", timeout=10)
        assert (
            int(b.headers["X-RateLimit-Remaining"]) <= int(a.headers["X-RateLimit-Remaining"]) - 4
        )

        # Each API process reports its own ingest; pipeline counters live in the processors.
        stats_a = httpx.get(f"{api_a}/api/system/stats", timeout=10).json()
        stats_b = httpx.get(f"{api_b}/api/system/stats", timeout=10).json()
        assert (stats_a["role"], stats_a["events_total"]) == ("api", events.num_rows)
        assert stats_a["events_per_second"] > 0
        assert stats_b["events_total"] == 0
        for stats in (stats_a, stats_b):
            assert stats["windows_total"] is stats["predictions_total"] is None
            assert stats["late_events_total"] is None
            assert stats["websocket_clients"] == 1

        health = httpx.get(f"{api_b}/health", timeout=10).json()
        checks = health["checks"]
        assert checks["redis"]["status"] == "healthy"
        assert checks["consumers"]["lag_records"] == 0
        assert set(checks["consumers"]["lag_by_partition"]) == {"0", "1", "2", "3"}
        assert checks["database"]["status"] == "healthy"
    finally:
        for listener in locals().get("listeners", []):
            listener.stop.set()
            listener.join(5)
        cluster.stop()


class Webhook:
    """A local stand-in for an operator's webhook receiver, keeping every body."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_a_system_alert_raised_by_an_api_process_reaches_the_webhook(
    tmp_path: Path, kafka: Service, postgres_database: str
) -> None:
    """Scaled out, system alerts are raised by the API process holding the monitor's lease
    (no processor runs the monitor); that process sends them to webhooks too."""
    hook = Webhook()
    store = open_store(Settings(database_url=postgres_database))
    store.init_schema()
    rule = SystemRuleConfig(
        ingest_stall_seconds=2,
        open_after_seconds=1,
        resolve_after_seconds=1,
        notify=("dashboard", f"webhook:{hook.url}"),
    )
    store.set_state(state_key(rule.rule_id), rule.dumps())
    store.close()
    cluster = Cluster(tmp_path, kafka.url, postgres_database, TRAFFICCAST_SYSTEM_CHECK_S="0.2")
    try:
        cluster.processor()
        _, api = cluster.api()
        _, events = simulated(minutes=2, segments=3)
        r = httpx.post(f"{api}/api/traffic/events/batch", content=body(events), timeout=30)
        assert r.status_code == 201, r.text

        def stalled() -> list[dict[str, Any]]:
            return [b for b in hook.received if "ingest_stalled" in json.dumps(b)]

        # No more events: the stall opens its alert after 2 s + 1 s, and the webhook hears it.
        cluster.wait_for("the ingest-stall alert at the webhook", lambda: bool(stalled()), 60)
        sent = stalled()
        assert sent[0]["alert"]["alert_type"] == "system"
        alerts = httpx.get(f"{api}/api/alerts", params={"alert_type": "system"}, timeout=10)
        assert any("ingest_stalled" in a["alert_id"] for a in alerts.json()["alerts"])
    finally:
        cluster.stop()
        hook.server.shutdown()
