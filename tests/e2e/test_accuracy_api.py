"""Forecast accuracy through the real app.

Four hours of simulated readings run through the whole pipeline; one window is
then corrected by late readings (a re-emission). Every forecast and window
version the pipeline writes is captured on its way into the store, and the
endpoint's figures must equal a plain-Python scoring of those writes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import EVENT_SCHEMA, TIMESTAMP
from trafficcast.forecast.blend import MODEL_VERSION
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR  # a whole hour in January 2026
END_OF_DATA = T0 + 4 * HOUR + 5 * MIN
CORRECTED_END = T0 + 4 * HOUR  # the window [03:55, 04:00) after T0 gets late readings


@dataclass
class Captured:
    """What the pipeline wrote, in write order."""

    predictions: list[pa.Table] = field(default_factory=list)
    windows: list[pa.Table] = field(default_factory=list)


@dataclass
class Served:
    server: BackgroundServer
    captured: Captured
    corrected_segment: str


def _late_readings(segment_id: str, n: int) -> pa.Table:
    times = [CORRECTED_END - MIN - i * 1000 for i in range(n)]
    return pa.Table.from_arrays(
        [
            pa.array([f"late-{i}" for i in range(n)]),
            pa.array([segment_id] * n),
            pa.array(times, pa.int64()).cast(TIMESTAMP),
            pa.array([5.0] * n),
            pa.array([3.0] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array(["late"] * n),
            pa.array([1.0] * n),
        ],
        schema=EVENT_SCHEMA,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("accuracy")
    sim = Simulator(SimulatorConfig(n_segments=12, seed=11, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, END_OF_DATA), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp))
    runtime.register_segments(data.segments, data.links)
    captured = Captured()
    store = runtime.store
    insert_predictions, insert_windows = store.insert_predictions, store.insert_windows

    def capture_predictions(table: pa.Table) -> None:
        captured.predictions.append(table)
        insert_predictions(table)

    def capture_windows(table: pa.Table) -> None:
        # Re-emissions (upsert_windows) also land here, after their delete.
        captured.windows.append(table)
        insert_windows(table)

    setattr(store, "insert_predictions", capture_predictions)  # noqa: B010
    setattr(store, "insert_windows", capture_windows)  # noqa: B010
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    corrected = str(data.segments.column("segment_id")[0].as_py())
    with BackgroundServer(runtime) as server:
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        # Within the allowed lateness: the closed window is re-emitted, corrected.
        runtime.bus.publish(_late_readings(corrected, 30))
        assert runtime.processor.wait_idle(60)
        runtime.processor.request_flush()
        assert runtime.processor.wait_idle(60)
        yield Served(server, captured, corrected)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.server.url, timeout=30) as c:
        yield c


# the independent scoring -------------------------------------------------------------


def _ms(column: pa.ChunkedArray) -> list[int]:
    return [int(v) for v in column.cast(TIMESTAMP).cast(pa.int64()).to_pylist()]


def actuals(captured: Captured) -> dict[tuple[str, int], tuple[float | None, float | None]]:
    """(segment, window end) -> (mean speed, volume) of the last-written 5-minute window."""
    out: dict[tuple[str, int], tuple[float | None, float | None]] = {}
    for table in captured.windows:
        five = table.filter(pc.equal(table.column("window_minutes"), 5))
        for seg, end, speed, volume in zip(
            five.column("segment_id").to_pylist(),
            _ms(five.column("window_end")),
            five.column("mean_speed").to_pylist(),
            five.column("volume").to_pylist(),
            strict=True,
        ):
            out[(seg, end)] = (speed, volume)
    return out


def scored(
    captured: Captured, start: int, end: int, segment_id: str | None = None
) -> list[dict[str, Any]]:
    """Every forecast issue once, with its target's newest actual."""
    seen: dict[tuple[str, int, int, str], dict[str, Any]] = {}
    for table in captured.predictions:
        for row in table.to_pylist():
            key = (
                row["segment_id"],
                int(row["issued_at"].timestamp() * 1000),
                row["horizon_minutes"],
                row["model_version"],
            )
            seen[key] = row
    truth = actuals(captured)
    out = []
    for row in seen.values():
        target = int(row["target_time"].timestamp() * 1000)
        if not start <= target < end or (segment_id and row["segment_id"] != segment_id):
            continue
        speed, volume = truth.get((row["segment_id"], target), (None, None))
        if speed is None or row["predicted_speed"] is None:
            continue
        out.append({**row, "target": target, "actual": speed, "actual_volume": volume})
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def expected_buckets(rows: list[dict[str, Any]], bucket_minutes: int) -> list[dict[str, Any]]:
    size = bucket_minutes * MIN
    groups: dict[tuple[int, str, int], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        groups[(r["target"] - r["target"] % size, r["model_version"], r["horizon_minutes"])].append(
            r
        )
    out = []
    for (bucket, model, horizon), group in sorted(groups.items()):
        errors = [r["predicted_speed"] - r["actual"] for r in group]
        banded = [r for r in group if r["speed_lower"] is not None and r["speed_upper"] is not None]
        volumes = [
            abs(r["predicted_volume"] - r["actual_volume"])
            for r in group
            if r["predicted_volume"] is not None and r["actual_volume"] is not None
        ]
        out.append(
            {
                "bucket_start": iso(bucket),
                "model_version": model,
                "horizon_minutes": horizon,
                "n": len(group),
                "speed_mae": _mean([abs(e) for e in errors]),
                "speed_rmse": math.sqrt(sum(e * e for e in errors) / len(errors)),
                "speed_mape": _mean(
                    [
                        100 * abs(e) / r["actual"]
                        for e, r in zip(errors, group, strict=True)
                        if r["actual"] > 0
                    ]
                ),
                "speed_bias": _mean(errors),
                "speed_coverage": _mean(
                    [float(r["speed_lower"] <= r["actual"] <= r["speed_upper"]) for r in banded]
                ),
                "volume_mae": _mean(volumes),
            }
        )
    return out


def assert_rows_match(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert set(g) == set(w)
        for name, value in w.items():
            if isinstance(value, float):
                assert g[name] == pytest.approx(value, rel=1e-9, abs=1e-9), (name, g, w)
            else:
                assert g[name] == value, (name, g, w)


# the tests -----------------------------------------------------------------------------


def test_buckets_and_horizons_match_an_independent_scoring(
    served: Served, client: httpx.Client
) -> None:
    start, end = T0, T0 + 5 * HOUR
    r = client.get(
        "/api/predictions/accuracy",
        params={"start_time": iso(start), "end_time": iso(end), "bucket_minutes": 60},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["start_time"], body["end_time"], body["bucket_minutes"]) == (
        iso(start),
        iso(end),
        60,
    )
    rows = scored(served.captured, start, end)
    # The corrected window is among the scored targets.
    assert {r["model_version"] for r in rows} == {MODEL_VERSION}
    assert any(
        r["segment_id"] == served.corrected_segment and r["target"] == CORRECTED_END for r in rows
    )
    want = expected_buckets(rows, 60)
    assert [b["bucket_start"] for b in want][-1] == iso(T0 + 4 * HOUR)
    assert_rows_match(body["buckets"], want)

    horizons = sorted({r["horizon_minutes"] for r in rows})
    assert [h["horizon_minutes"] for h in body["by_horizon"]] == horizons == list(range(5, 61, 5))
    for got in body["by_horizon"]:
        h = got["horizon_minutes"]
        mine = [r for r in rows if r["horizon_minutes"] == h]
        errors = [r["predicted_speed"] - r["actual"] for r in mine]
        # n-weighted bucket MAE and MSE are the whole-range figures exactly.
        assert got["n"] == len(mine)
        assert got["speed_mae"] == pytest.approx(sum(abs(e) for e in errors) / len(errors))
        assert got["speed_rmse"] == pytest.approx(
            math.sqrt(sum(e * e for e in errors) / len(errors))
        )
        newest = max(r["target"] - r["target"] % HOUR for r in mine)
        recent = [
            abs(e)
            for e, r in zip(errors, mine, strict=True)
            if r["target"] - r["target"] % HOUR == newest
        ]
        assert got["recent_mae"] == pytest.approx(sum(recent) / len(recent))
        assert got["trend"] == pytest.approx(got["recent_mae"] / got["speed_mae"])
        # The late 5 mph readings land in the newest bucket: its error stands out.
        assert got["trend"] > 1
        buckets = [b for b in want if b["horizon_minutes"] == h]
        coverage = [
            (b["n"], b["speed_coverage"]) for b in buckets if b["speed_coverage"] is not None
        ]
        assert got["speed_coverage"] == pytest.approx(
            sum(n * c for n, c in coverage) / sum(n for n, _ in coverage)
        )
        mape = [(b["n"], b["speed_mape"]) for b in buckets]
        assert got["speed_mape"] == pytest.approx(sum(n * m for n, m in mape) / len(mine))


def test_the_corrected_window_is_scored_with_its_newest_value(
    served: Served, client: httpx.Client
) -> None:
    seg = served.corrected_segment
    versions = [
        v
        for t in served.captured.windows
        for v in t.filter(pc.equal(t.column("window_minutes"), 5)).to_pylist()
        if v["segment_id"] == seg and int(v["window_end"].timestamp() * 1000) == CORRECTED_END
    ]
    assert len(versions) == 2  # first emission, then the late correction
    assert versions[-1]["mean_speed"] < versions[0]["mean_speed"]
    start, end = CORRECTED_END, CORRECTED_END + 5 * MIN
    r = client.get(
        "/api/predictions/accuracy",
        params={
            "start_time": iso(start),
            "end_time": iso(end),
            "bucket_minutes": 5,
            "segment_id": seg,
        },
    )
    assert r.status_code == 200, r.text
    buckets = r.json()["buckets"]
    assert [b["horizon_minutes"] for b in buckets] == list(range(5, 61, 5))
    assert_rows_match(buckets, expected_buckets(scored(served.captured, start, end, seg), 5))
    for b in buckets:
        # The late 5 mph readings pulled the actual down: forecasts now read high.
        assert b["speed_bias"] > 0


def test_default_range_ends_after_the_newest_window(served: Served, client: httpx.Client) -> None:
    body = client.get("/api/predictions/accuracy").json()
    # The newest stored window ends at END_OF_DATA (04:05): its hour is the last bucket.
    assert body["end_time"] == iso(T0 + 5 * HOUR)
    assert body["start_time"] == iso(T0 + 5 * HOUR - 24 * HOUR)
    assert body["bucket_minutes"] == 60
    assert_rows_match(
        body["buckets"],
        expected_buckets(scored(served.captured, T0 - 19 * HOUR, T0 + 5 * HOUR), 60),
    )
    daily = client.get("/api/predictions/accuracy", params={"bucket_minutes": 1440}).json()
    midnight = T0 - T0 % (24 * HOUR)
    assert (daily["start_time"], daily["end_time"]) == (iso(midnight), iso(midnight + 24 * HOUR))
    assert {b["bucket_start"] for b in daily["buckets"]} == {iso(midnight)}


def test_filters(served: Served, client: httpx.Client) -> None:
    params = {"start_time": iso(T0), "end_time": iso(T0 + 5 * HOUR)}
    same = client.get(
        "/api/predictions/accuracy", params={**params, "model_version": MODEL_VERSION}
    ).json()
    everything = client.get("/api/predictions/accuracy", params=params).json()
    # Equal up to summation order (DuckDB aggregates in parallel).
    assert_rows_match(same["buckets"], everything["buckets"])
    none = client.get("/api/predictions/accuracy", params={**params, "model_version": "v0"}).json()
    assert (none["buckets"], none["by_horizon"]) == ([], [])
    seg = served.corrected_segment
    one = client.get("/api/predictions/accuracy", params={**params, "segment_id": seg}).json()
    want = expected_buckets(scored(served.captured, T0, T0 + 5 * HOUR, seg), 60)
    assert_rows_match(one["buckets"], want)


def _envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body["error"])


def test_unknown_segment_is_404(client: httpx.Client) -> None:
    err = _envelope(client.get("/api/predictions/accuracy", params={"segment_id": "nope"}), 404)
    assert err["code"] == "not_found"
    assert err["details"] == [{"field": "segment_id", "reason": "unknown segment"}]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bucket_minutes": 7}, "bucket_minutes"),  # does not divide a day
        ({"bucket_minutes": 2}, "bucket_minutes"),
        ({"bucket_minutes": 2880}, "bucket_minutes"),
        ({"bucket_minutes": "hourly"}, "bucket_minutes"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"start_time": "2026-01-05T10:00:00Z", "end_time": "2026-01-05T09:00:00Z"}, "end_time"),
        ({"start_time": "2020-01-01T00:00:00Z", "bucket_minutes": 5}, "start_time"),
        ({"segment_id": ""}, "segment_id"),
    ],
)
def test_bad_parameters_are_422(client: httpx.Client, params: dict[str, Any], field: str) -> None:
    err = _envelope(client.get("/api/predictions/accuracy", params=params), 422)
    assert err["code"] == "validation_error"
    assert err["details"][0]["field"] == field, err


def test_documented_in_openapi(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    op = spec["paths"]["/api/predictions/accuracy"]["get"]
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ForecastAccuracy")
    assert {"HorizonAccuracy", "AccuracyBucket"} <= set(spec["components"]["schemas"])
    assert {p["name"] for p in op["parameters"]} == {
        "start_time",
        "end_time",
        "bucket_minutes",
        "model_version",
        "segment_id",
    }
