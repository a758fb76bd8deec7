"""The store port's contract, run against every adapter.

Each adapter is a factory in STORES; the PostgreSQL adapter joins the list
when it lands, and must pass the same tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.domain.schema import (
    ALERT_SCHEMA,
    EVENT_SCHEMA,
    PREDICTION_SCHEMA,
    SEGMENT_SCHEMA,
    TIMESTAMP,
    WINDOW_SCHEMA,
)
from trafficcast.store.base import EventQuery, Store, SummaryQuery
from trafficcast.store.duckdb_store import DuckDBStore

MIN = 60_000
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z

STORES: dict[str, Callable[[Path], Store]] = {
    "duckdb": lambda tmp: DuckDBStore(tmp / "store.duckdb"),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = STORES[request.param](tmp_path)
    s.init_schema()
    try:
        yield s
    finally:
        s.close()


def ts(values: list[int]) -> pa.Array:
    return pa.array(values, type=pa.int64()).cast(TIMESTAMP)


def events(ids: list[str], segs: list[str], times: list[int], speeds: list[float]) -> pa.Table:
    n = len(ids)
    return pa.Table.from_arrays(
        [
            pa.array(ids),
            pa.array(segs),
            ts(times),
            pa.array(speeds, pa.float64()),
            pa.array([10.0] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([34.0] * n),
            pa.array([-118.0] * n),
            pa.array(["test"] * n),
            pa.array([1.0] * n),
        ],
        schema=EVENT_SCHEMA,
    )


def segments(ids: list[str], free_flow: float = 60.0) -> pa.Table:
    n = len(ids)
    return pa.Table.from_arrays(
        [
            pa.array(ids),
            pa.array([f"Road {i}" for i in ids]),
            pa.array(["R1"] * n),
            pa.array(["N"] * n),
            pa.array([34.0] * n),
            pa.array([-118.0] * n),
            pa.array([free_flow] * n),
            pa.array([0.5] * n),
            pa.array([3] * n, pa.int32()),
            pa.array(["[[-118.0, 34.0], [-118.01, 34.01]]"] * n),
        ],
        schema=SEGMENT_SCHEMA,
    )


def windows(seg: str, starts: list[int], speeds: list[float], los: str = "C") -> pa.Table:
    n = len(starts)
    return pa.Table.from_arrays(
        [
            pa.array([seg] * n),
            pa.array([5] * n, pa.int32()),
            ts(starts),
            ts([s + 5 * MIN for s in starts]),
            pa.array(speeds, pa.float64()),
            pa.array(speeds, pa.float64()),
            pa.array([100.0] * n),
            pa.array([5.0] * n),
            pa.array([10] * n, pa.int64()),
            pa.array([1.0] * n),
            pa.array([los] * n),
            ts([T0] * n),
        ],
        schema=WINDOW_SCHEMA,
    )


def predictions(seg: str, issued: int, speed: float) -> pa.Table:
    horizons = [15, 30]
    n = len(horizons)
    return pa.Table.from_arrays(
        [
            pa.array([f"{seg}@{issued}/m"] * n),
            pa.array([seg] * n),
            ts([issued] * n),
            pa.array(horizons, pa.int32()),
            ts([issued + h * MIN for h in horizons]),
            pa.array([speed] * n),
            pa.array([speed - 5] * n),
            pa.array([speed + 5] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([0.8] * n),
            pa.array(["m"] * n),
        ],
        schema=PREDICTION_SCHEMA,
    )


def test_segments_round_trip_and_upsert(store: Store) -> None:
    store.upsert_segments(segments(["a", "b"]))
    store.upsert_segments(segments(["b"], free_flow=70.0))
    table = store.segments()
    assert table.column("segment_id").to_pylist() == ["a", "b"]
    assert table.column("free_flow_speed").to_pylist() == [60.0, 70.0]
    assert store.segment("b").column("geometry")[0].as_py().startswith("[[")
    assert store.segment("nope").num_rows == 0
    # Auto-registration never overwrites a catalog row.
    store.insert_missing_segments(segments(["a", "c"], free_flow=10.0))
    assert store.segments().column("free_flow_speed").to_pylist() == [60.0, 70.0, 10.0]


def test_events_filters_paging_and_totals(store: Store) -> None:
    store.write_events(
        events(
            [f"e{i}" for i in range(30)],
            ["a" if i % 3 else "b" for i in range(30)],
            [T0 + i * MIN for i in range(30)],
            [float(i) for i in range(30)],
        )
    )
    assert store.count_events() == 30
    page, total = store.query_events(EventQuery(segment_id="a", limit=5, offset=5))
    assert total == 20
    assert page.num_rows == 5
    assert page.schema.names == EVENT_SCHEMA.names
    times = page.column("timestamp").cast(pa.int64()).to_pylist()
    assert times == sorted(times)
    window, total = store.query_events(EventQuery(start_ms=T0 + 10 * MIN, end_ms=T0 + 20 * MIN))
    assert total == 10 == window.num_rows
    empty, total = store.query_events(EventQuery(segment_id="a", limit=5, offset=100))
    assert empty.num_rows == 0
    assert total == 20
    assert store.max_event_ms() == T0 + 29 * MIN
    assert store.events_since(T0 + 25 * MIN).num_rows == 5


def test_hostile_values_are_data(store: Store) -> None:
    sid = "x'; DROP TABLE events; --"
    store.write_events(events(["e1"], [sid], [T0], [50.0]))
    page, total = store.query_events(EventQuery(segment_id=sid))
    assert total == 1
    assert page.column("segment_id")[0].as_py() == sid


def test_late_events_are_stored_once(store: Store) -> None:
    late = events(["l1", "l2"], ["a", "a"], [T0, T0 + MIN], [1.0, 2.0])
    assert store.write_late_events(late, "too late") == 2
    store.write_late_events(late, "too late")  # a resend
    assert store.count_events() == 0  # late events are kept apart from events


def test_latest_readings_keep_the_newest(store: Store) -> None:
    newer = events(["n"], ["a"], [T0 + MIN], [60.0]).select(
        ["segment_id", "timestamp", "speed", "volume", "occupancy", "source"]
    )
    older = events(["o"], ["a"], [T0], [10.0]).select(
        ["segment_id", "timestamp", "speed", "volume", "occupancy", "source"]
    )
    store.upsert_latest_readings(newer)
    store.upsert_latest_readings(older)
    assert store.latest_readings().column("speed").to_pylist() == [60.0]


def test_windows_insert_then_upsert_by_key(store: Store) -> None:
    store.insert_windows(windows("a", [T0, T0 + 5 * MIN], [50.0, 40.0]))
    store.upsert_windows(windows("a", [T0 + 5 * MIN], [42.0]))
    history = store.window_history("a", 5, None, None, 10)
    assert history.column("mean_speed").to_pylist() == [50.0, 42.0]
    assert store.window_history("a", 5, T0 + 5 * MIN, None, 10).num_rows == 1
    assert store.window_history("a", 5, None, None, 1).column("mean_speed").to_pylist() == [42.0]
    assert store.windows_between(5, T0, T0 + 10 * MIN).num_rows == 2


def test_latest_predictions_follow_the_newest_issue(store: Store) -> None:
    store.insert_predictions(
        pa.concat_tables(
            [
                predictions("a", T0, 50.0),
                predictions("a", T0 + 5 * MIN, 55.0),
                predictions("b", T0, 30.0),
            ]
        )
    )
    store.insert_predictions(predictions("a", T0 - 5 * MIN, 1.0))  # an older issue, late
    latest_a = store.latest_predictions("a", 10)
    assert latest_a.column("predicted_speed").to_pylist() == [55.0, 55.0]
    assert latest_a.column("prediction_id")[0].as_py() == f"a@{T0 + 5 * MIN}/m"
    everything = store.latest_predictions(None, 100)
    assert sorted(set(everything.column("segment_id").to_pylist())) == ["a", "b"]
    assert everything.schema.names == PREDICTION_SCHEMA.names


def test_summary_totals_and_per_segment(store: Store) -> None:
    store.upsert_segments(segments(["a", "b"]))
    store.insert_windows(windows("a", [T0, T0 + 5 * MIN], [60.0, 30.0], los="C"))
    store.insert_windows(windows("b", [T0], [12.0], los="F"))
    alert = pa.Table.from_arrays(
        [
            pa.array(["x1"]),
            pa.array(["incident"]),
            pa.array(["major"]),
            pa.array(["b"]),
            pa.array(["open"]),
            ts([T0]),
            pa.nulls(1, TIMESTAMP),
            pa.array(["crash"]),
        ],
        schema=ALERT_SCHEMA,
    )
    store.upsert_alerts(alert)
    totals, by_segment = store.summary(SummaryQuery())
    assert totals["total_events"] == 30
    assert totals["avg_speed"] == pytest.approx(34.0)
    assert totals["congestion_hours"] == pytest.approx(5 / 60)
    assert totals["incident_count"] == 1
    rows = {r["segment_id"]: r for r in by_segment.to_pylist()}
    assert rows["a"]["avg_speed"] == pytest.approx(45.0)
    assert rows["b"]["incidents"] == 1
    assert rows["a"]["traffic_score"] == pytest.approx(75.0)
    only_b, _ = store.summary(SummaryQuery(segment_ids=("b",)))
    assert only_b["total_events"] == 10
    assert store.alerts("open", 10).num_rows == 1


def test_transaction_is_atomic(store: Store) -> None:
    def crash_mid_cycle() -> None:
        with store.transaction():
            store.write_events(events(["t1"], ["a"], [T0], [1.0]))
            raise RuntimeError("crash in the middle of a cycle")

    with pytest.raises(RuntimeError):
        crash_mid_cycle()
    assert store.count_events() == 0
    with store.transaction():
        store.write_events(events(["t1"], ["a"], [T0], [1.0]))
        store.set_state("k", "v")
    assert store.count_events() == 1
    assert store.get_state("k") == "v"


def test_state_round_trip(store: Store) -> None:
    assert store.get_state("max_event_ms") is None
    store.set_state("max_event_ms", "123")
    store.set_state("max_event_ms", "456")
    assert store.get_state("max_event_ms") == "456"
    store.ping()
    assert np.isfinite(float(store.get_state("max_event_ms") or "nan"))
