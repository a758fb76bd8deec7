"""GET /api/system/stats and GET /api/segments/{id}/forecasts through the real app.

Four hours of simulated readings run through the whole pipeline; every forecast
the pipeline writes is captured on its way into the store, and the forecasts
endpoint must return exactly those of the asked segment, horizon and range.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from trafficcast.api.app import create_app
from trafficcast.api.segment_forecasts_models import PastForecast, SegmentForecasts
from trafficcast.api.system_stats_models import SystemStats
from trafficcast.config import Settings
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR
END_OF_DATA = T0 + 4 * HOUR


@dataclass
class Served:
    app: FastAPI
    client: TestClient
    runtime: Runtime
    events: int
    segment: str
    predictions: list[pa.Table] = field(default_factory=list)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("dashboard-stats")
    sim = Simulator(SimulatorConfig(n_segments=8, seed=5, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, END_OF_DATA), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp))
    runtime.register_segments(data.segments, data.links)
    captured: list[pa.Table] = []
    insert = runtime.store.insert_predictions

    def capture(table: pa.Table) -> None:
        captured.append(table)
        insert(table)

    setattr(runtime.store, "insert_predictions", capture)  # noqa: B010
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    app = create_app(runtime)
    with TestClient(app) as client:
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        segment = str(data.segments.column("segment_id")[0].as_py())
        yield Served(app, client, runtime, data.events.num_rows, segment, captured)


def assert_envelope(r: Any, status: int, field_name: str) -> None:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == ("not_found" if status == 404 else "validation_error")
    assert field_name in [d["field"] for d in body["error"]["details"]], body


# system stats ---------------------------------------------------------------------------


def test_stats_report_the_pipeline_counters(served: Served) -> None:
    rt = served.runtime
    r = served.client.get("/api/system/stats")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {
        "timestamp",
        "role",
        "uptime_seconds",
        "events_per_second",
        "events_total",
        "late_events_total",
        "windows_total",
        "predictions_total",
        "alerts_open",
        "websocket_clients",
        "history",
    }
    # The response model describes the body exactly (the OpenAPI document is fuzzed).
    assert set(body) == set(SystemStats.model_fields)
    SystemStats.model_validate(body)
    assert body["role"] == "all"
    assert body["events_total"] == served.events == rt.bus.published_events
    assert body["windows_total"] == rt.processor.stats.windows_emitted > 0
    assert body["predictions_total"] == rt.processor.stats.predictions > 0
    assert body["predictions_total"] == sum(t.num_rows for t in served.predictions)
    assert body["late_events_total"] == rt.processor.stats.late
    assert 0 < body["uptime_seconds"] < 600
    stamp = datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert abs(stamp.timestamp() - time.time()) < 5
    # The whole replay was accepted within the last minute.
    assert body["events_per_second"] > 0
    assert body["events_per_second"] * 60 >= served.events * 0.9
    open_alerts = served.client.get("/api/alerts", params={"state": "open", "limit": 10_000})
    assert body["alerts_open"] == len(open_alerts.json()["alerts"])


def test_stats_history_has_one_rate_per_sample(served: Served) -> None:
    sampler = served.app.state.throughput
    before = len(served.client.get("/api/system/stats").json()["history"])
    sampler.sample()  # the 10-second tick, without waiting for it
    history = served.client.get("/api/system/stats").json()["history"]
    assert len(history) == before + 1
    times = [datetime.fromisoformat(p["time"].replace("Z", "+00:00")) for p in history]
    assert times == sorted(times)
    assert all(p["events_per_second"] >= 0 for p in history)
    # Every event was accepted between the first sample (app start) and now.
    assert history[0]["events_per_second"] > 0 or len(history) > 1


def test_stats_count_websocket_clients(served: Served) -> None:
    base = served.client.get("/api/system/stats").json()["websocket_clients"]
    with served.client.websocket_connect("/ws/traffic") as ws:
        ws.send_json({"action": "subscribe", "segment_ids": [served.segment]})
        assert ws.receive_json()["type"] == "subscribed"
        during = served.client.get("/api/system/stats").json()["websocket_clients"]
    assert during == base + 1


# segment forecasts ------------------------------------------------------------------------


def expected(served: Served, segment: str, horizon: int, start: int, end: int) -> list[Any]:
    """Every captured forecast issue once (its last write), sorted as the endpoint sorts."""
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for table in served.predictions:
        for row in table.to_pylist():
            if row["segment_id"] != segment or row["horizon_minutes"] != horizon:
                continue
            target = int(row["target_time"].timestamp() * 1000)
            if start <= target < end:
                seen[(int(row["issued_at"].timestamp() * 1000), row["model_version"])] = row
    rows = sorted(
        seen.values(), key=lambda r: (r["target_time"], r["issued_at"], r["model_version"])
    )
    return [
        {
            "issued_at": iso(int(r["issued_at"].timestamp() * 1000)),
            "target_time": iso(int(r["target_time"].timestamp() * 1000)),
            **{
                k: r[k]
                for k in (
                    "predicted_speed",
                    "speed_lower",
                    "speed_upper",
                    "predicted_volume",
                    "volume_lower",
                    "volume_upper",
                    "model_version",
                    "input_fill",
                )
            },
        }
        for r in rows
    ]


def assert_same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert set(g) == set(w)
        for name, value in w.items():
            if isinstance(value, float) and value == value:
                assert g[name] == pytest.approx(value, rel=1e-12), (name, g, w)
            elif isinstance(value, float):  # NaN leaves as null
                assert g[name] is None
            else:
                assert g[name] == value, (name, g, w)


@pytest.mark.parametrize("horizon", [15, 60])
def test_forecasts_of_a_range_match_what_the_pipeline_wrote(served: Served, horizon: int) -> None:
    start, end = T0 + HOUR, T0 + 3 * HOUR
    r = served.client.get(
        f"/api/segments/{served.segment}/forecasts",
        params={"horizon_minutes": horizon, "start_time": iso(start), "end_time": iso(end)},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["segment_id"] == served.segment
    assert body["horizon_minutes"] == horizon
    assert (body["start_time"], body["end_time"]) == (iso(start), iso(end))
    SegmentForecasts.model_validate(body)
    assert set(body) == set(SegmentForecasts.model_fields)
    assert all(set(f) == set(PastForecast.model_fields) for f in body["forecasts"])
    want = expected(served, served.segment, horizon, start, end)
    assert len(want) >= 20  # a forecast every 5 minutes over 2 h
    assert_same(body["forecasts"], want)
    for f in body["forecasts"]:
        issued = datetime.fromisoformat(f["issued_at"].replace("Z", "+00:00"))
        target = datetime.fromisoformat(f["target_time"].replace("Z", "+00:00"))
        assert (target - issued).total_seconds() == horizon * 60


def test_forecasts_default_to_six_hours_up_to_those_in_flight(served: Served) -> None:
    r = served.client.get(f"/api/segments/{served.segment}/forecasts")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["horizon_minutes"] == 15
    clock = served.runtime.store.max_event_ms()
    assert clock is not None
    start, end = clock - 6 * HOUR, clock + 20 * MIN
    assert (body["start_time"], body["end_time"]) == (iso(start), iso(end))
    assert_same(body["forecasts"], expected(served, served.segment, 15, start, end))
    # The newest issue's target lies past the data clock: the line reaches beyond "now".
    newest = datetime.fromisoformat(body["forecasts"][-1]["target_time"].replace("Z", "+00:00"))
    assert newest.timestamp() * 1000 > clock
    # A naive time is UTC; a start alone runs to the data clock's default end.
    r = served.client.get(
        f"/api/segments/{served.segment}/forecasts",
        params={"start_time": datetime.fromtimestamp((clock - HOUR) / 1000, UTC).isoformat()[:19]},
    )
    assert r.status_code == 200, r.text
    assert r.json()["start_time"] == iso(clock - HOUR)
    assert r.json()["end_time"] == iso(end)


def test_forecasts_refuse_bad_input_with_the_envelope(served: Served) -> None:
    url = f"/api/segments/{served.segment}/forecasts"
    get = served.client.get
    for horizon in ("0", "7", "65", "-5", "abc", "15.5", "1e3", ""):
        assert_envelope(get(url, params={"horizon_minutes": horizon}), 422, "horizon_minutes")
    assert_envelope(
        get(url, params={"start_time": iso(T0 + HOUR), "end_time": iso(T0 + HOUR)}),
        422,
        "end_time",
    )
    assert_envelope(
        get(url, params={"start_time": iso(T0 + HOUR), "end_time": iso(T0)}), 422, "end_time"
    )
    assert_envelope(
        get(url, params={"start_time": iso(T0), "end_time": iso(T0 + 8 * 24 * HOUR)}),
        422,
        "start_time",
    )
    # An end alone gets the 6 h before it; a start alone runs to the data clock.
    back = get(url, params={"end_time": iso(T0 - 30 * 24 * HOUR)})
    assert back.status_code == 200, back.text
    assert back.json()["start_time"] == iso(T0 - 30 * 24 * HOUR - 6 * HOUR)
    assert_envelope(get(url, params={"start_time": iso(T0 - 30 * 24 * HOUR)}), 422, "start_time")
    assert_envelope(get(url, params={"start_time": iso(END_OF_DATA + 2 * HOUR)}), 422, "end_time")
    for bad in ("yesterday", "2026-13-01T00:00:00Z", "9" * 40, "' OR 1=1 --"):
        assert_envelope(get(url, params={"start_time": bad}), 422, "start_time")
    for segment in ("nope", "x' OR '1'='1", "ü..segments", "%00", "S" * 128):
        assert_envelope(get(f"/api/segments/{segment}/forecasts"), 404, "segment_id")
    # An encoded slash is a path no route matches: still the envelope.
    routed = get("/api/segments/a%2F..%2Fb/forecasts")
    assert routed.status_code == 404
    assert routed.json()["error"]["code"] == "not_found"
    assert_envelope(get(f"/api/segments/{'S' * 129}/forecasts"), 422, "segment_id")
    # Seven days exactly is allowed, and extreme but valid years are data, not errors.
    ok = get(url, params={"start_time": iso(T0), "end_time": iso(T0 + 7 * 24 * HOUR)})
    assert ok.status_code == 200, ok.text
    far = get(
        url, params={"start_time": "9999-12-24T00:00:00Z", "end_time": "9999-12-31T00:00:00Z"}
    )
    assert far.status_code == 200, far.text
    assert far.json()["forecasts"] == []
    early = get(
        url, params={"start_time": "0001-01-01T00:00:00Z", "end_time": "0001-01-02T00:00:00Z"}
    )
    assert early.status_code == 200, early.text
    assert early.json()["forecasts"] == []
