"""GET /api/analytics/trend through the real app and store.

Windows, incidents and events spread over ten weeks are written to the store;
every day, week and month bucket the endpoint answers must equal what
/api/analytics/summary answers over that bucket's range.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pyarrow as pa
import pytest

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import ALERT_SCHEMA, EVENT_SCHEMA, TIMESTAMP, WINDOW_SCHEMA
from trafficcast.runtime import Runtime

pytestmark = pytest.mark.slow

DAY = 86_400_000
HOUR = 3_600_000
T0 = int(datetime(2026, 1, 10, tzinfo=UTC).timestamp() * 1000)  # a Saturday
DAYS = 70
SEGMENTS = ("a", "b", "c", "d")
NEWEST_EVENT = T0 + (DAYS - 1) * DAY + 13 * HOUR  # 2026-03-20T13:00Z, a Friday
NAN_DAY = T0 + 20 * DAY  # one window of "a" has a NaN speed: that day's average is unknown
FIELDS = ("total_events", "avg_speed", "avg_volume", "congestion_hours", "incident_count")


def _ts(values: list[int] | np.ndarray[Any, Any]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64)).cast(TIMESTAMP)


def _windows(rng: np.random.Generator) -> pa.Table:
    # Every 2 hours, skipping some days entirely, so empty buckets exist too.
    starts = np.arange(T0, T0 + DAYS * DAY, 2 * HOUR, dtype=np.int64)
    starts = starts[((starts - T0) // DAY) % 9 != 4]
    seg = np.repeat(np.array(SEGMENTS), len(starts))
    start = np.tile(starts, len(SEGMENTS))
    n = len(start)
    speed = rng.uniform(5, 70, n)
    speed[(seg == "a") & (start == NAN_DAY + 2 * HOUR)] = np.nan
    los = np.array(list("ABCDEF"))[rng.integers(0, 6, n)]
    return pa.Table.from_arrays(
        [
            pa.array(seg),
            pa.array(np.full(n, 5, np.int32)),
            _ts(start),
            _ts(start + 300_000),
            pa.array(speed),
            pa.array(speed),
            pa.array(rng.uniform(0, 120, n)),
            pa.array(rng.uniform(0, 40, n)),
            pa.array(rng.integers(1, 40, n)),
            pa.array(np.ones(n)),
            pa.array(los),
            _ts(start + 300_000),
        ],
        schema=WINDOW_SCHEMA,
    )


def _alerts(rng: np.random.Generator) -> pa.Table:
    n = 60
    opened = T0 + rng.integers(0, DAYS * DAY, n)
    kinds = ["incident" if i % 3 else "congestion" for i in range(n)]
    return pa.Table.from_arrays(
        [
            pa.array([f"al{i}" for i in range(n)]),
            pa.array(kinds),
            pa.array(["major"] * n),
            pa.array([SEGMENTS[i % len(SEGMENTS)] for i in range(n)]),
            pa.array(["open"] * n),
            _ts(opened),
            pa.nulls(n, TIMESTAMP),
            pa.array(["test"] * n),
        ],
        schema=ALERT_SCHEMA,
    )


def _event(ms: int) -> pa.Table:
    return pa.Table.from_arrays(
        [
            pa.array(["e1"]),
            pa.array(["a"]),
            _ts([ms]),
            pa.array([50.0]),
            pa.array([5.0]),
            pa.array([10.0]),
            pa.array([34.0]),
            pa.array([-118.0]),
            pa.array(["test"]),
            pa.array([1.0]),
        ],
        schema=EVENT_SCHEMA,
    )


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("trend")))
    rng = np.random.default_rng(5)
    runtime.store.insert_windows(_windows(rng))
    runtime.store.upsert_alerts(_alerts(rng))
    runtime.store.write_events(_event(NEWEST_EVENT))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def _summary(client: httpx.Client, start: str, end: str, ids: str | None = None) -> dict[str, Any]:
    params = {"start_date": start, "end_date": end} | ({"segment_ids": ids} if ids else {})
    response = client.get("/api/analytics/summary", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json()["summary"])


def _same(bucket: dict[str, Any], summary: dict[str, Any]) -> None:
    for name in FIELDS:
        want, got = summary[name], bucket[name]
        if want is None:
            assert got is None, (name, bucket, summary)
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (name, bucket, summary)


@pytest.mark.parametrize(
    ("period", "start", "end", "count"),
    [
        ("day", "2026-01-10", "2026-03-21", 70),
        ("week", "2026-01-10", "2026-03-21", 11),  # widened to Monday 2026-01-05 .. 2026-03-23
        ("month", "2026-01-10", "2026-03-21", 3),
    ],
)
def test_every_bucket_equals_the_summary_over_its_range(
    client: httpx.Client, period: str, start: str, end: str, count: int
) -> None:
    body = client.get(
        "/api/analytics/trend", params={"period": period, "start_date": start, "end_date": end}
    ).json()
    buckets = body["buckets"]
    assert body["period"] == period
    assert len(buckets) == count
    assert body["start_date"] == buckets[0]["start"]
    assert body["end_date"] == buckets[-1]["end"]
    assert all(a["end"] == b["start"] for a, b in itertools.pairwise(buckets))
    for bucket in buckets:
        _same(bucket, _summary(client, bucket["start"], bucket["end"]))
    whole = _summary(client, body["start_date"], body["end_date"])
    assert sum(b["total_events"] for b in buckets) == whole["total_events"] > 0
    assert sum(b["incident_count"] for b in buckets) == whole["incident_count"] > 0


def test_calendar_edges_and_the_unknown_and_empty_buckets(client: httpx.Client) -> None:
    weeks = client.get(
        "/api/analytics/trend",
        params={"period": "week", "start_date": "2026-01-10", "end_date": "2026-01-20T06:00:00Z"},
    ).json()
    assert [b["start"] for b in weeks["buckets"]] == [
        "2026-01-05T00:00:00Z",
        "2026-01-12T00:00:00Z",
        "2026-01-19T00:00:00Z",
    ]
    months = client.get(
        "/api/analytics/trend",
        params={"period": "month", "start_date": "2026-02-15", "end_date": "2026-03-02"},
    ).json()
    assert [(b["start"], b["end"]) for b in months["buckets"]] == [
        ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        ("2026-03-01T00:00:00Z", "2026-04-01T00:00:00Z"),
    ]
    days = client.get(
        "/api/analytics/trend",
        params={"period": "day", "start_date": "2026-01-13", "end_date": "2026-01-16"},
    ).json()["buckets"]
    # Day 4 after T0 (2026-01-14) has no windows: zero events, unknown averages.
    empty = days[1]
    assert empty["start"] == "2026-01-14T00:00:00Z"
    assert (empty["total_events"], empty["avg_speed"], empty["congestion_hours"]) == (0, None, 0.0)
    nan_day = client.get(
        "/api/analytics/trend",
        params={"period": "day", "start_date": "2026-01-30", "end_date": "2026-01-31"},
    ).json()["buckets"][0]
    assert nan_day["avg_speed"] is None
    assert nan_day["total_events"] > 0
    assert nan_day["avg_volume"] is not None


def test_segment_filter_matches_the_summary_filter(client: httpx.Client) -> None:
    body = client.get(
        "/api/analytics/trend",
        params=[
            ("period", "week"),
            ("start_date", "2026-01-12"),
            ("end_date", "2026-02-09"),
            ("segment_ids", "b, c"),
            ("segment_ids", "c"),
        ],
    ).json()
    assert len(body["buckets"]) == 4
    for bucket in body["buckets"]:
        _same(bucket, _summary(client, bucket["start"], bucket["end"], "b,c"))
    nobody = client.get(
        "/api/analytics/trend", params={"period": "week", "segment_ids": "zz"}
    ).json()
    assert all(b["total_events"] == 0 for b in nobody["buckets"])


@pytest.mark.parametrize(
    ("period", "first", "last_end", "count"),
    [
        ("day", "2026-03-07T00:00:00Z", "2026-03-21T00:00:00Z", 14),
        ("week", "2025-12-29T00:00:00Z", "2026-03-23T00:00:00Z", 12),
        ("month", "2025-04-01T00:00:00Z", "2026-04-01T00:00:00Z", 12),
    ],
)
def test_default_range_ends_with_the_newest_data(
    client: httpx.Client, period: str, first: str, last_end: str, count: int
) -> None:
    body = client.get("/api/analytics/trend", params={"period": period}).json()
    assert (body["start_date"], body["end_date"], len(body["buckets"])) == (first, last_end, count)
    only_start = client.get(
        "/api/analytics/trend", params={"period": period, "start_date": first}
    ).json()
    assert only_start["end_date"] == last_end
    only_end = client.get(
        "/api/analytics/trend", params={"period": period, "end_date": last_end}
    ).json()
    assert only_end["start_date"] == first


def _error(response: httpx.Response, field: str) -> str:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == "validation_error"
    assert [d["field"] for d in body["error"]["details"]] == [field], body
    return str(body["error"]["message"])


def test_bad_input_names_the_field(client: httpx.Client) -> None:
    get = client.get
    _error(get("/api/analytics/trend", params={"period": "year"}), "period")
    _error(get("/api/analytics/trend", params={"period": ""}), "period")
    _error(get("/api/analytics/trend", params={"start_date": "yesterday"}), "start_date")
    _error(get("/api/analytics/trend", params={"end_date": "2026-13-01"}), "end_date")
    message = _error(
        get(
            "/api/analytics/trend",
            params={"start_date": "2026-02-01", "end_date": "2026-01-01"},
        ),
        "end_date",
    )
    assert "end_date" in message
    _error(
        get("/api/analytics/trend", params={"start_date": "2026-02-01", "end_date": "2026-02-01"}),
        "end_date",
    )
    # 400 buckets is the cap: 401 days is refused, 400 answered.
    assert "400" in _error(
        get("/api/analytics/trend", params={"start_date": "2025-01-01", "end_date": "2026-02-06"}),
        "start_date",
    )
    ok = get("/api/analytics/trend", params={"start_date": "2025-01-01", "end_date": "2026-02-05"})
    assert ok.status_code == 200
    assert len(ok.json()["buckets"]) == 400
    _error(get("/api/analytics/trend", params={"start_date": "0001-01-01"}), "start_date")
    _error(
        get("/api/analytics/trend", params={"period": "month", "start_date": "1000-01-01"}),
        "start_date",
    )
    # Buckets must end by 9999-12-31, the last day an ISO date names.
    far = get(
        "/api/analytics/trend",
        params={"period": "month", "start_date": "9999-11-01", "end_date": "9999-11-30"},
    )
    assert far.status_code == 200
    assert far.json()["end_date"] == "9999-12-01T00:00:00Z"
    _error(
        get(
            "/api/analytics/trend",
            params={"period": "month", "start_date": "9999-12-01", "end_date": "9999-12-02"},
        ),
        "end_date",
    )
    _error(
        get("/api/analytics/trend", params={"start_date": "9999-12-31T23:00:00-05:00"}),
        "start_date",
    )
    _error(get("/api/analytics/trend", params={"segment_ids": "x" * 129}), "segment_ids")
    hostile = get(
        "/api/analytics/trend",
        params={"segment_ids": "x'; DROP TABLE alerts; --", "period": "week"},
    )
    assert hostile.status_code == 200
    assert get("/api/analytics/summary").json()["summary"]["incident_count"] > 0


def test_openapi_documents_the_endpoint(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    operation = spec["paths"]["/api/analytics/trend"]["get"]
    assert {p["name"] for p in operation["parameters"]} == {
        "period",
        "start_date",
        "end_date",
        "segment_ids",
    }
    assert "422" in operation["responses"]


def test_summary_totals_only_leaves_out_the_segment_rows(client: httpx.Client) -> None:
    params = {"start_date": "2026-01-12", "end_date": "2026-02-09"}
    full = client.get("/api/analytics/summary", params=params).json()
    totals = client.get("/api/analytics/summary", params={**params, "by_segment": "false"}).json()
    assert full["by_segment"]
    assert totals["by_segment"] == []
    assert totals["summary"] == full["summary"]
    bad = client.get("/api/analytics/summary", params={**params, "by_segment": "maybe"})
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "by_segment"
