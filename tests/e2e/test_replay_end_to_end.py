"""The whole embedded pipeline on real data, through the public API.

Two hours of Los-loop readings go in through REST; the window aggregates are
checked against ones computed here straight from the CSV with plain Python,
forecasts must exist for every segment and horizon, REST answers must match
the store, and a WebSocket subscriber must see only its segments.
"""

from __future__ import annotations

import csv
import json
import threading
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from websockets.sync.client import connect

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import load_dataset
from trafficcast.store.base import EventQuery

pytestmark = pytest.mark.slow

LA = ZoneInfo("America/Los_Angeles")
START = datetime(2012, 3, 1, 6, 0, tzinfo=LA)
END = datetime(2012, 3, 1, 8, 0, tzinfo=LA)
WATCHED = ["773869", "767541", "717447"]


def expected_windows(speed_csv: Path) -> dict[tuple[str, int, int], tuple[float, int]]:
    """(sensor, window minutes, window start ms) -> (mean speed, count), from the CSV alone."""
    sums: dict[tuple[str, int, int], list[float]] = defaultdict(list)
    with speed_csv.open() as f:
        reader = csv.reader(f)
        header = next(reader)
        for row in reader:
            t = datetime.fromisoformat(row[0]).replace(tzinfo=LA)
            if not START <= t < END:
                continue
            ms = int(t.timestamp() * 1000)
            for sensor, value in zip(header[1:], row[1:], strict=True):
                v = float(value)
                if v <= 0:
                    continue
                for minutes in (1, 5):
                    size = minutes * 60_000
                    sums[(sensor, minutes, ms - ms % size)].append(v)
    return {k: (sum(v) / len(v), len(v)) for k, v in sums.items()}


class Subscriber(threading.Thread):
    def __init__(self, url: str, segment_ids: list[str]) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.segment_ids = segment_ids
        self.messages: list[dict[str, object]] = []
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with connect(self.url) as ws:
            ws.send(json.dumps({"action": "subscribe", "segment_ids": self.segment_ids}))
            self.messages.append(json.loads(ws.recv(timeout=10)))
            self.ready.set()
            while not self.stop.is_set():
                try:
                    self.messages.append(json.loads(ws.recv(timeout=0.2)))
                except TimeoutError:
                    continue


def test_replay_two_hours_of_los_loop(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "los-loop"
    dataset = load_dataset(
        folder,
        start_ms=int(START.timestamp() * 1000),
        end_ms=int(END.timestamp() * 1000),
    )
    runtime = Runtime(Settings(data_dir=tmp_path))
    runtime.register_segments(dataset.segments, dataset.links)
    n_segments = dataset.segments.num_rows

    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        sub = Subscriber(server.ws_url, WATCHED)
        sub.start()
        assert sub.ready.wait(10)
        assert sub.messages[0] == {"type": "subscribed", "segment_ids": sorted(WATCHED)}

        rows = dataset.events.to_pylist()
        bodies = []
        for row in rows:
            body = {k: row[k] for k in ("event_id", "segment_id", "speed", "source")}
            body["timestamp"] = row["timestamp"].isoformat()
            bodies.append(body)
        for i in range(0, len(bodies), 1000):
            r = client.post("/api/traffic/events/batch", json={"events": bodies[i : i + 1000]})
            assert r.status_code == 201, r.text
            assert r.json()["accepted"] == len(bodies[i : i + 1000])

        # A resent batch (same ids) must not be stored or counted twice.
        r = client.post("/api/traffic/events/batch", json={"events": bodies[-500:]})
        assert r.status_code == 201
        runtime.processor.request_flush()
        assert runtime.processor.wait_idle(60)
        sub.stop.set()
        sub.join(5)

        # 1. windows equal an independent computation from the CSV
        expected = expected_windows(folder / "speed.csv")
        store = runtime.store
        for minutes in (1, 5):
            got = store.windows_between(
                minutes, int(START.timestamp() * 1000), int(END.timestamp() * 1000)
            ).to_pylist()
            want = {k: v for k, v in expected.items() if k[1] == minutes}
            assert len(got) == len(want)
            for w in got:
                key = (w["segment_id"], minutes, int(w["window_start"].timestamp() * 1000))
                mean, count = want[key]
                assert w["count"] == count
                assert w["mean_speed"] == pytest.approx(mean, rel=1e-12)

        # duplicates stored once
        assert store.count_events() == len(bodies)
        assert runtime.processor.stats.duplicates == 500

        # 2. forecasts for every segment and horizon
        latest = store.latest_predictions(None, 100_000)
        assert latest.num_rows == n_segments * 12
        assert sorted(set(latest.column("horizon_minutes").to_pylist())) == list(range(5, 61, 5))
        assert set(latest.column("segment_id").to_pylist()) == set(
            dataset.segments.column("segment_id").to_pylist()
        )
        for p in latest.to_pylist():
            assert p["speed_lower"] <= p["predicted_speed"] <= p["speed_upper"]
            assert 0.0 <= p["confidence"] <= 1.0

        # 3. REST answers match the store
        seg = WATCHED[0]
        page = client.get(
            "/api/traffic/events", params={"segment_id": seg, "limit": 10, "page": 2}
        ).json()
        stored, total = store.query_events(EventQuery(segment_id=seg, limit=10, offset=10))
        assert page["total"] == total == 24
        assert [e["event_id"] for e in page["events"]] == stored.column("event_id").to_pylist()
        assert [e["speed"] for e in page["events"]] == stored.column("speed").to_pylist()
        history = client.get(f"/api/segments/{seg}/history", params={"window_minutes": 5}).json()
        stored_hist = store.window_history(seg, 5, None, None, 288)
        assert [w["mean_speed"] for w in history["windows"]] == stored_hist.column(
            "mean_speed"
        ).to_pylist()
        preds = client.get("/api/predictions/latest", params={"segment_id": seg}).json()
        stored_preds = store.latest_predictions(seg, 100)
        assert [p["predicted_speed"] for p in preds["predictions"]] == stored_preds.column(
            "predicted_speed"
        ).to_pylist()
        summary = client.get("/api/analytics/summary").json()
        assert summary["summary"]["total_events"] == len(bodies)
        assert len(summary["by_segment"]) == n_segments
        generated = client.post(
            "/api/predictions/generate", json={"segment_id": seg, "horizon_minutes": 30}
        ).json()
        assert [p["horizon_minutes"] for p in generated["predictions"]] == [5, 10, 15, 20, 25, 30]

    # 4. the subscriber got its segments' messages, and only those
    kinds = defaultdict(set)
    for m in sub.messages[1:]:
        assert m["segment_id"] in WATCHED, m
        kinds[m["type"]].add(m["segment_id"])
    assert kinds["window"] == set(WATCHED)
    assert kinds["prediction"] == set(WATCHED)
    assert kinds["traffic_event"] <= set(WATCHED)
    assert kinds["traffic_event"]
