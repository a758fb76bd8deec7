"""GET /api/quality/detectors on a real server: each fault pattern gets its reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pyarrow as pa
import pytest

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import EVENT_SCHEMA, SEGMENT_SCHEMA, TIMESTAMP
from trafficcast.runtime import Runtime

pytestmark = pytest.mark.slow

TZ = ZoneInfo("America/Los_Angeles")
STEP = 30_000
PATTERNS = ("good", "stuck", "silent", "gappy", "sparse", "wild")


def readings(segment: str, times: np.ndarray, speeds: np.ndarray) -> pa.Table:
    n = len(times)
    return pa.Table.from_arrays(
        [
            pa.array([f"{segment}-{t}" for t in times]),
            pa.array([segment] * n),
            pa.array(times, pa.int64()).cast(TIMESTAMP),
            pa.array(speeds, pa.float64()),
            pa.array(np.full(n, 12.0)),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array(["test"] * n),
            pa.array(np.ones(n)),
        ],
        schema=EVENT_SCHEMA,
    )


def day_bounds(day: date) -> tuple[int, int]:
    start = datetime(day.year, day.month, day.day, tzinfo=TZ)
    end = start + timedelta(days=1)  # wall-clock day; 23 or 25 h across DST changes
    end = datetime(end.year, end.month, end.day, tzinfo=TZ)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, date]]:
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("quality"), timezone=str(TZ)))
    segments = pa.Table.from_pylist(
        [{"segment_id": s, "name": f"detector {s}", "free_flow_speed": 65.0} for s in PATTERNS],
        schema=SEGMENT_SCHEMA,
    )
    runtime.register_segments(segments)
    day = datetime.now(TZ).date() - timedelta(days=2)
    start, end = day_bounds(day)
    every = np.arange(start, end, STEP)
    rng = np.random.default_rng(3)
    speeds = rng.uniform(40, 70, len(every)).round(1)
    wild = speeds.copy()
    wild[::5] = 140.0  # 20 % impossible
    gap = (every < start + 6 * 3_600_000) | (every >= start + 8 * 3_600_000)  # 2 h missing
    for seg, times, values in (
        ("good", every, speeds),
        ("stuck", every, np.full(len(every), 55.0)),
        ("gappy", every[gap], speeds[gap]),
        ("sparse", every[::4], speeds[::4]),
        ("wild", every, wild),
    ):
        runtime.store.write_events(readings(seg, times, values))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        yield client, day


def test_each_detector_gets_its_reason(served: tuple[httpx.Client, date]) -> None:
    client, day = served
    r = client.get("/api/quality/detectors", params={"date": day.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    reasons = {d["segment_id"]: d["reason"] for d in body["detectors"]}
    assert reasons == {
        "good": "ok",
        "stuck": "stuck",
        "silent": "no_data",
        "gappy": "intermittent",
        "sparse": "insufficient_data",
        "wild": "implausible",
    }
    start, end = day_bounds(day)
    expected = (end - start) // STEP
    by_id = {d["segment_id"]: d for d in body["detectors"]}
    assert by_id["good"]["expected"] == expected
    assert by_id["good"]["samples"] == expected
    assert by_id["sparse"]["share"] == pytest.approx(0.25, abs=0.001)
    assert by_id["good"]["name"] == "detector good"
    assert (body["good"], body["bad"]) == (1, 5)
    assert body["by_reason"]["no_data"] == 1
    assert body["by_reason"]["ok"] == 1
    bad = client.get("/api/quality/detectors", params={"date": day.isoformat(), "status": "bad"})
    assert sorted(d["segment_id"] for d in bad.json()["detectors"]) == sorted(
        set(PATTERNS) - {"good"}
    )


def test_bad_dates_are_refused_with_the_field(served: tuple[httpx.Client, date]) -> None:
    client, day = served
    for value in ("tomorrow", "2026-02-30", (day + timedelta(days=30)).isoformat(), "1999-12-31"):
        r = client.get("/api/quality/detectors", params={"date": value})
        assert r.status_code == 422, value
        assert r.json()["error"]["details"][0]["field"] == "date"
    assert client.get("/api/quality/detectors", params={"status": "odd"}).status_code == 422


def test_today_is_the_default(served: tuple[httpx.Client, date]) -> None:
    client, _ = served
    body = client.get("/api/quality/detectors").json()
    assert body["date"] == datetime.now(TZ).date().isoformat()
    assert body["by_reason"]["no_data"] == len(PATTERNS)  # nothing was sent today
