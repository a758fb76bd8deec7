"""The store port's contract, run against every adapter.

Each adapter is a factory in STORES and must pass the same tests. The
PostgreSQL one asks for a fresh database (the postgres_database fixture of
tests/services.py) only when its parameter runs, so the DuckDB tests need no server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.alerts.schema import ALERT_RECORD_SCHEMA
from trafficcast.auth.accounts import AccountExists, ApiKeyRecord, UserRecord
from trafficcast.auth.roles import Role, Tier
from trafficcast.domain.fill import stored_predictions, stored_windows
from trafficcast.domain.schema import (
    ACCURACY_SCHEMA,
    ALERT_SCHEMA,
    DAILY_SUMMARY_SCHEMA,
    EVENT_SCHEMA,
    PREDICTION_SCHEMA,
    SEGMENT_SCHEMA,
    STORED_PREDICTION_SCHEMA,
    STORED_WINDOW_SCHEMA,
    TIMESTAMP,
    WINDOW_SCHEMA,
)
from trafficcast.quality.detector_health import DETECTOR_DAY_STATS_SCHEMA
from trafficcast.store.base import (
    STORE_TABLES,
    AccuracyQuery,
    AlertQuery,
    EventQuery,
    Store,
    SummaryQuery,
)
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.store.postgres_store import PostgresStore

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z

STORES: dict[str, Callable[[pytest.FixtureRequest, Path], Store]] = {
    "duckdb": lambda request, tmp: DuckDBStore(tmp / "store.duckdb"),
    "postgres": lambda request, tmp: PostgresStore(request.getfixturevalue("postgres_database")),
}


@pytest.fixture(params=sorted(STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    s = STORES[request.param](request, tmp_path)
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


def test_windows_keep_their_fill_flag_and_a_reading_replaces_a_filled_window(
    store: Store,
) -> None:
    """Each window says how it was filled (domain/fill.py); windows written without a flag
    are observed when they had readings, missing when they had none."""
    filled = stored_windows(windows("a", [T0, T0 + 5 * MIN, T0 + 10 * MIN], [50.0, 40.0, 45.0]))
    filled = filled.set_column(
        filled.schema.get_field_index("fill"),
        "fill",
        pa.array(["imputed_neighbours", "imputed_profile", "missing"]),
    )
    store.insert_windows(filled)
    unflagged = windows("b", [T0, T0 + 5 * MIN], [50.0, 40.0])
    unflagged = unflagged.set_column(
        unflagged.schema.get_field_index("count"), "count", pa.array([3, 0], pa.int64())
    )
    store.insert_windows(unflagged)
    history = store.window_history("a", 5, None, None, 10)
    assert history.column_names == STORED_WINDOW_SCHEMA.names
    assert history.column("fill").to_pylist() == [
        "imputed_neighbours",
        "imputed_profile",
        "missing",
    ]
    between = store.windows_between(5, T0, T0 + 15 * MIN)
    assert between.column_names == STORED_WINDOW_SCHEMA.names
    assert between.column("fill").to_pylist() == [
        "imputed_neighbours",
        "observed",
        "imputed_profile",
        "missing",
        "missing",
    ]
    store.upsert_windows(stored_windows(windows("a", [T0 + 5 * MIN], [38.0])))
    history = store.window_history("a", 5, None, None, 10)
    assert history.column("fill").to_pylist() == ["imputed_neighbours", "observed", "missing"]
    assert history.column("mean_speed").to_pylist() == [50.0, 38.0, 45.0]


def test_window_span_is_first_and_last_start_in_a_half_open_range(store: Store) -> None:
    assert store.window_span(5, T0, T0 + 60 * MIN) is None
    store.insert_windows(windows("a", [T0, T0 + 5 * MIN, T0 + 20 * MIN], [50.0, 40.0, 45.0]))
    store.insert_windows(windows("b", [T0 - 10 * MIN, T0 + 25 * MIN], [50.0, 40.0]))
    assert store.window_span(5, T0 - 60 * MIN, T0 + 60 * MIN) == (T0 - 10 * MIN, T0 + 25 * MIN)
    # [start, end): a window starting at end is out, one starting at start is in.
    assert store.window_span(5, T0, T0 + 25 * MIN) == (T0, T0 + 20 * MIN)
    assert store.window_span(1, T0 - 60 * MIN, T0 + 60 * MIN) is None


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
    assert everything.schema.names == STORED_PREDICTION_SCHEMA.names


def test_forecasts_keep_the_fill_of_the_window_they_were_issued_from(store: Store) -> None:
    def with_fill(table: pa.Table, fills: list[str | None]) -> pa.Table:
        return stored_predictions(table).set_column(
            STORED_PREDICTION_SCHEMA.get_field_index("input_fill"),
            "input_fill",
            pa.array(fills, pa.string()),
        )

    store.insert_predictions(
        pa.concat_tables(
            [
                with_fill(predictions("a", T0, 50.0), ["imputed_neighbours"] * 2),
                with_fill(predictions("c", T0, 50.0), ["imputed_profile"] * 2),
                stored_predictions(predictions("b", T0, 30.0)),  # not recorded: null
            ]
        )
    )
    latest = store.latest_predictions(None, 100)
    assert latest.schema.names == STORED_PREDICTION_SCHEMA.names
    fills = dict(
        zip(
            latest.column("segment_id").to_pylist(),
            latest.column("input_fill").to_pylist(),
            strict=True,
        )
    )
    assert fills == {"a": "imputed_neighbours", "b": None, "c": "imputed_profile"}
    # The detector is back: the next issue is from an observed window.
    store.insert_predictions(with_fill(predictions("a", T0 + 5 * MIN, 55.0), ["observed"] * 2))
    assert store.latest_predictions("a", 10).column("input_fill").to_pylist() == ["observed"] * 2
    assert store.latest_predictions_at(30).column("input_fill").to_pylist() == [
        "observed",
        None,
        "imputed_profile",
    ]
    past = store.forecast_history("a", 15, T0, T0 + HOUR)
    assert past.schema.names == STORED_PREDICTION_SCHEMA.names
    assert past.column("input_fill").to_pylist() == ["imputed_neighbours", "observed"]


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
    # The second window only; the incident opened before the range is not counted.
    later, later_rows = store.summary(SummaryQuery(start_ms=T0 + MIN, end_ms=T0 + 10 * MIN))
    assert (later["total_events"], later["incident_count"]) == (10, 0)
    assert later_rows.column("segment_id").to_pylist() == ["a"]
    assert store.alerts("open", 10).num_rows == 1


def _alerts(rows: list[tuple[str, str, str, int]]) -> pa.Table:
    """(alert_id, alert_type, segment_id, opened_at ms) rows."""
    n = len(rows)
    ids, kinds, segs, opened = (list(c) for c in zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(ids),
            pa.array(kinds),
            pa.array(["major"] * n),
            pa.array(segs),
            pa.array(["open"] * n),
            ts(opened),
            pa.nulls(n, TIMESTAMP),
            pa.array(["x"] * n),
        ],
        schema=ALERT_SCHEMA,
    )


def test_summary_by_day_adds_up_to_the_summary(store: Store) -> None:
    day = 86_400_000
    d0 = T0 - T0 % day  # 2026-01-05T00:00Z
    store.upsert_segments(segments(["a", "b"]))
    store.insert_windows(windows("a", [d0 - 5 * MIN, d0, d0 + 5 * MIN], [60.0, 30.0, 20.0]))
    store.insert_windows(windows("b", [d0 + day - 5 * MIN], [float("nan")], los="F"))
    store.insert_windows(windows("b", [d0 + 2 * day], [40.0], los="E"))
    store.insert_windows(windows("a", [-5 * MIN], [50.0]))  # 1969-12-31: floor, not truncation
    store.upsert_alerts(
        _alerts(
            [
                ("i1", "incident", "b", d0 + 3 * day + 1),  # a day without windows
                ("i2", "incident", "a", d0 + 10),
                ("c1", "congestion", "a", d0 + 10),  # not an incident
            ]
        )
    )
    rows = store.summary_by_day(SummaryQuery()).to_pylist()
    assert store.summary_by_day(SummaryQuery()).schema == DAILY_SUMMARY_SCHEMA
    by_day = {int(r["day"].timestamp() * 1000): r for r in rows}
    assert list(by_day) == [-day, d0 - day, d0, d0 + 2 * day, d0 + 3 * day]
    first = by_day[d0]
    assert (first["total_events"], first["speed_count"], first["incident_count"]) == (30, 3, 1)
    assert np.isnan(first["speed_sum"])  # b's NaN speed is counted and poisons the sum
    assert first["volume_sum"] == pytest.approx(300.0)
    assert first["congestion_hours"] == pytest.approx(5 / 60)
    assert by_day[d0 + 2 * day]["speed_sum"] == pytest.approx(40.0)
    quiet = by_day[d0 + 3 * day]
    assert (quiet["total_events"], quiet["speed_count"], quiet["incident_count"]) == (0, 0, 1)
    assert quiet["speed_sum"] is None

    for query in (
        SummaryQuery(start_ms=d0, end_ms=d0 + 4 * day),
        SummaryQuery(start_ms=d0 + day, end_ms=d0 + 4 * day, segment_ids=("b",)),
        SummaryQuery(segment_ids=("a",)),
    ):
        totals, _ = store.summary(query)
        days = store.summary_by_day(query).to_pylist()
        assert sum(r["total_events"] for r in days) == totals["total_events"]
        assert sum(r["incident_count"] for r in days) == totals["incident_count"]
        assert sum(r["congestion_hours"] for r in days) == pytest.approx(totals["congestion_hours"])
        speed_n = sum(r["speed_count"] for r in days)
        speed = sum(r["speed_sum"] or 0.0 for r in days) / speed_n if speed_n else None
        if totals["avg_speed"] is None or np.isnan(totals["avg_speed"]):
            assert speed is None or np.isnan(speed)
        else:
            assert speed == pytest.approx(totals["avg_speed"])
    assert store.summary_by_day(SummaryQuery(start_ms=d0 + 5 * day)).num_rows == 0


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


# forecast accuracy --------------------------------------------------------------


def scored_window(
    seg: str, end: int, speed: float | None, volume: float | None, updated: int = T0
) -> pa.Table:
    """One 5-minute window ending at `end` (the target_time forecasts name)."""
    return pa.Table.from_arrays(
        [
            pa.array([seg]),
            pa.array([5], pa.int32()),
            ts([end - 5 * MIN]),
            ts([end]),
            pa.array([speed], pa.float64()),
            pa.array([speed], pa.float64()),
            pa.array([volume], pa.float64()),
            pa.array([5.0]),
            pa.array([10], pa.int64()),
            pa.array([1.0]),
            pa.array(["C"]),
            ts([updated]),
        ],
        schema=WINDOW_SCHEMA,
    )


def forecast(
    seg: str,
    target: int,
    horizon: int,
    speed: float,
    band: tuple[float, float] | None = None,
    volume: float | None = None,
    model: str = "m",
) -> pa.Table:
    issued = target - horizon * MIN
    lower, upper = band if band is not None else (None, None)
    return pa.Table.from_arrays(
        [
            pa.array([f"{seg}@{issued}/{model}"]),
            pa.array([seg]),
            ts([issued]),
            pa.array([horizon], pa.int32()),
            ts([target]),
            pa.array([speed], pa.float64()),
            pa.array([lower], pa.float64()),
            pa.array([upper], pa.float64()),
            pa.array([volume], pa.float64()),
            pa.array([None], pa.float64()),
            pa.array([None], pa.float64()),
            pa.array([0.8]),
            pa.array([model]),
        ],
        schema=PREDICTION_SCHEMA,
    )


def load_scored_history(store: Store) -> None:
    """Forecasts of segment "a" with known errors around the 09:00 bucket boundary.

    Bucket 08:00 (T0), model m, horizon 15: errors +10 (actual 40) and -6
    (actual 40, after the window's correction); bucket 09:00: error +10.
    """
    five, fifty_five, sixty = T0 + 5 * MIN, T0 + 55 * MIN, T0 + 60 * MIN
    store.insert_windows(
        pa.concat_tables(
            [
                scored_window("a", five, 40.0, 100.0),
                scored_window("a", fifty_five, 20.0, None),  # corrected below
                scored_window("a", sixty, 50.0, 80.0),
                scored_window("a", T0 + 65 * MIN, None, None),  # no readings: not scored
            ]
        )
    )
    # A late event re-emits the 08:55 window with a corrected speed.
    store.upsert_windows(scored_window("a", fifty_five, 40.0, None, updated=T0 + 61 * MIN))
    first = forecast("a", five, 15, 50.0, band=(45.0, 55.0), volume=90.0)
    store.insert_predictions(
        pa.concat_tables(
            [
                first,
                forecast("a", five, 30, 40.0, band=(35.0, 45.0), volume=100.0),
                forecast("a", fifty_five, 15, 34.0, band=(30.0, 45.0), volume=12.0),
                forecast("a", sixty, 15, 60.0),
                forecast("a", T0 + 65 * MIN, 15, 60.0),
                forecast("a", T0 + 70 * MIN, 15, 60.0),  # its window has not closed
                forecast("a", five, 15, 41.0, model="m2"),
            ]
        )
    )
    store.insert_predictions(first)  # the same issue written again


def test_forecast_accuracy_scores_newest_windows_per_bucket(store: Store) -> None:
    load_scored_history(store)
    table = store.forecast_accuracy(AccuracyQuery(T0, T0 + 2 * 60 * MIN))
    assert table.schema == ACCURACY_SCHEMA
    rows = table.to_pylist()
    keys = [
        (int(r["bucket_start"].timestamp() * 1000), r["model_version"], r["horizon_minutes"])
        for r in rows
    ]
    assert keys == [(T0, "m", 15), (T0, "m", 30), (T0, "m2", 15), (T0 + 60 * MIN, "m", 15)]
    m15, m30, m2, later = rows
    assert m15["n"] == 2  # the issue written twice counts once
    assert m15["speed_mae"] == pytest.approx(8.0)
    assert m15["speed_rmse"] == pytest.approx(np.sqrt((10.0**2 + 6.0**2) / 2))
    assert m15["speed_mape"] == pytest.approx((10 / 40 + 6 / 40) / 2 * 100)
    assert m15["speed_bias"] == pytest.approx(2.0)
    assert m15["speed_coverage"] == pytest.approx(0.5)  # 40 is outside [45, 55], inside [30, 45]
    assert m15["volume_mae"] == pytest.approx(10.0)  # the 08:55 window has no volume
    assert (m30["n"], m30["speed_mae"], m30["speed_bias"]) == (1, 0.0, 0.0)
    assert m30["speed_coverage"] == 1.0
    assert (m2["n"], m2["speed_mae"], m2["speed_bias"]) == (1, pytest.approx(1.0), 1.0)
    assert m2["speed_coverage"] is None  # no band
    assert later["n"] == 1
    assert later["speed_mae"] == pytest.approx(10.0)
    assert later["speed_mape"] == pytest.approx(20.0)
    assert later["speed_coverage"] is None
    assert later["volume_mae"] is None  # no volume forecast


def test_forecast_accuracy_range_is_half_open_on_target_time(store: Store) -> None:
    load_scored_history(store)
    # [08:05, 09:00): 08:05 is in, the 09:00 target is out.
    table = store.forecast_accuracy(AccuracyQuery(T0 + 5 * MIN, T0 + 60 * MIN, model_version="m"))
    rows = table.to_pylist()
    assert [(r["horizon_minutes"], r["n"]) for r in rows] == [(15, 2), (30, 1)]
    # (08:05, 09:00]: only the corrected 08:55 forecast and the 09:00 one.
    table = store.forecast_accuracy(
        AccuracyQuery(T0 + 5 * MIN + 1, T0 + 60 * MIN + 1, model_version="m")
    )
    rows = table.to_pylist()
    assert [r["n"] for r in rows] == [1, 1]
    assert rows[0]["speed_bias"] == pytest.approx(-6.0)
    assert store.forecast_accuracy(AccuracyQuery(T0 + 6 * MIN, T0 + 6 * MIN)).num_rows == 0


def test_forecast_accuracy_filters_and_epoch_aligned_buckets(store: Store) -> None:
    load_scored_history(store)
    store.insert_windows(scored_window("b", T0 + 5 * MIN, 10.0, 5.0))
    store.insert_predictions(forecast("b", T0 + 5 * MIN, 15, 30.0, model="m2"))
    only_m2 = store.forecast_accuracy(
        AccuracyQuery(T0, T0 + 2 * 60 * MIN, model_version="m2")
    ).to_pylist()
    assert [(r["n"], r["speed_mae"]) for r in only_m2] == [(2, pytest.approx(10.5))]
    only_b = store.forecast_accuracy(
        AccuracyQuery(T0, T0 + 2 * 60 * MIN, segment_id="b")
    ).to_pylist()
    assert [(r["model_version"], r["n"], r["speed_bias"]) for r in only_b] == [("m2", 1, 20.0)]
    nothing = store.forecast_accuracy(AccuracyQuery(T0, T0 + 2 * 60 * MIN, model_version="x"))
    assert nothing.num_rows == 0
    assert nothing.schema == ACCURACY_SCHEMA
    # Whole days start at UTC midnight, not at the range start.
    daily = store.forecast_accuracy(
        AccuracyQuery(T0, T0 + 2 * 60 * MIN, bucket_minutes=1440, model_version="m")
    ).to_pylist()
    midnight = T0 - T0 % (1440 * MIN)
    assert [(int(r["bucket_start"].timestamp() * 1000), r["n"]) for r in daily] == [
        (midnight, 3),
        (midnight, 1),
    ]
    assert [r["horizon_minutes"] for r in daily] == [15, 30]
    five_minute = store.forecast_accuracy(
        AccuracyQuery(T0, T0 + 2 * 60 * MIN, bucket_minutes=5, model_version="m")
    )
    starts = five_minute.column("bucket_start").cast(pa.int64()).to_pylist()
    assert starts == [T0 + 5 * MIN, T0 + 5 * MIN, T0 + 55 * MIN, T0 + 60 * MIN]


def test_forecast_history_of_one_segment_and_horizon(store: Store) -> None:
    load_scored_history(store)
    store.insert_predictions(forecast("b", T0 + 5 * MIN, 15, 30.0))
    # The 09:00 issue written again with new values: its newest write is the one kept.
    store.insert_predictions(forecast("a", T0 + 60 * MIN, 15, 61.0))
    table = store.forecast_history("a", 15, T0, T0 + 70 * MIN)
    assert table.schema == STORED_PREDICTION_SCHEMA
    rows = [
        (
            int(r["target_time"].timestamp() * 1000) - T0,
            int(r["issued_at"].timestamp() * 1000) - T0,
            r["model_version"],
            r["predicted_speed"],
            r["speed_lower"],
            r["speed_upper"],
        )
        for r in table.to_pylist()
    ]
    # [08:00, 09:10): the 09:10 target is out; ordered by target, issue, model.
    assert rows == [
        (5 * MIN, -10 * MIN, "m", 50.0, 45.0, 55.0),
        (5 * MIN, -10 * MIN, "m2", 41.0, None, None),
        (55 * MIN, 40 * MIN, "m", 34.0, 30.0, 45.0),
        (60 * MIN, 45 * MIN, "m", 61.0, None, None),
        (65 * MIN, 50 * MIN, "m", 60.0, None, None),
    ]
    assert table.column("prediction_id")[0].as_py() == f"a@{T0 - 10 * MIN}/m"
    assert table.column("predicted_volume").to_pylist()[:2] == [90.0, None]
    assert set(table.column("horizon_minutes").to_pylist()) == {15}
    thirty = store.forecast_history("a", 30, T0, T0 + 70 * MIN)
    assert thirty.column("predicted_speed").to_pylist() == [40.0]
    # Half-open on target_time: [08:05, 08:55) holds only the 08:05 targets.
    assert store.forecast_history("a", 15, T0 + 5 * MIN, T0 + 55 * MIN).num_rows == 2
    assert store.forecast_history("b", 15, T0, T0 + 70 * MIN).num_rows == 1
    assert store.forecast_history("a", 45, T0, T0 + 70 * MIN).num_rows == 0
    nothing = store.forecast_history("zz", 15, T0, T0 + 70 * MIN)
    assert nothing.num_rows == 0
    assert nothing.schema == STORED_PREDICTION_SCHEMA


# keyed writes the scaled-out design relies on ---------------------------------------


def keyed_appends(store: Store) -> bool:
    """Whether write_events and insert_windows are keyed too (PostgreSQL's are).

    DuckDB appends them without a key index (decisions 0001 and 0006): its
    processor dedupes events and knows which windows are new.
    """
    return bool(getattr(store, "idempotent_appends", False))


def test_events_written_twice_are_stored_as_the_adapter_declares(store: Store) -> None:
    batch = events(["r1", "r2", "r3"], ["a", "a", "b"], [T0, T0 + MIN, T0], [1.0, 2.0, 3.0])
    store.write_events(batch)
    # A replay after a crash resends the batch, inside a cycle with one new event.
    with store.transaction():
        store.write_events(
            pa.concat_tables([batch, events(["r4"], ["b"], [T0 + MIN], [4.0]), batch])
        )
    page, total = store.query_events(EventQuery(limit=10))
    if keyed_appends(store):
        assert store.count_events() == total == 4
        assert sorted(page.column("event_id").to_pylist()) == ["r1", "r2", "r3", "r4"]
    else:
        # Appended as given: the processor's duplicate index keeps resends out instead.
        assert store.count_events() == total == 10
        assert sorted(set(page.column("event_id").to_pylist())) == ["r1", "r2", "r3", "r4"]


def test_windows_of_one_key_keep_one_row_with_the_newest_values(store: Store) -> None:
    store.upsert_windows(windows("a", [T0], [50.0]))
    store.upsert_windows(windows("a", [T0], [51.0]))
    assert store.window_history("a", 5, None, None, 10).column("mean_speed").to_pylist() == [51.0]
    store.insert_windows(windows("b", [T0], [30.0]))
    store.upsert_windows(windows("b", [T0], [31.0], los="F"))
    history = store.window_history("b", 5, None, None, 10)
    assert history.column("mean_speed").to_pylist() == [31.0]
    assert history.column("level_of_service").to_pylist() == ["F"]
    assert store.windows_between(5, T0, T0 + 5 * MIN).num_rows == 2
    if keyed_appends(store):
        store.insert_windows(windows("b", [T0], [32.0]))  # a replayed first emission
        # Two versions of one key in one batch (DuckDB keeps both): the later is newer.
        store.upsert_windows(
            pa.concat_tables([windows("a", [T0], [52.0]), windows("a", [T0], [53.0])])
        )
        assert store.windows_between(5, T0, T0 + 5 * MIN).column("mean_speed").to_pylist() == [
            53.0,
            32.0,
        ]


def test_events_since_and_newest_event_of_some_segments(store: Store) -> None:
    store.write_events(
        events(
            ["f1", "f2", "f3", "f4", "f5"],
            ["a", "b", "c", "a", "b"],
            [T0, T0 + MIN, T0 + 2 * MIN, T0 + 3 * MIN, T0 + 9 * MIN],
            [1.0, 2.0, 3.0, 4.0, 5.0],
        )
    )
    some = store.events_since(T0 + MIN, ["a", "c"])
    assert some.schema == EVENT_SCHEMA
    assert sorted(some.column("event_id").to_pylist()) == ["f3", "f4"]
    assert sorted(store.events_since(T0, ["b"]).column("event_id").to_pylist()) == ["f2", "f5"]
    assert store.events_since(T0, []).num_rows == 0
    assert store.events_since(T0, ["nope"]).schema == EVENT_SCHEMA
    assert store.events_since(T0).num_rows == 5
    assert store.max_event_ms(["a", "c"]) == T0 + 3 * MIN
    assert store.max_event_ms(["b"]) == T0 + 9 * MIN
    assert store.max_event_ms() == T0 + 9 * MIN
    assert store.max_event_ms(["nope"]) is None
    assert store.max_event_ms([]) is None


def test_nan_null_and_awkward_text_round_trip(store: Store) -> None:
    raw = events(["q1", "q2"], ["a", "a"], [T0, T0 + 1], [float("nan"), float("inf")])
    raw = raw.set_column(
        raw.schema.get_field_index("volume"), "volume", pa.array([float("nan"), None])
    ).set_column(raw.schema.get_field_index("source"), "source", pa.array(["", 'q"u,o\nte']))
    store.write_events(raw)
    back = store.events_since(T0).sort_by("event_id")
    assert back.column("timestamp").cast(pa.int64()).to_pylist() == [T0, T0 + 1]
    speed = back.column("speed").to_pylist()
    assert np.isnan(speed[0])
    assert speed[1] == float("inf")
    volume = back.column("volume").to_pylist()
    assert np.isnan(volume[0])
    assert volume[1] is None
    assert back.column("occupancy").to_pylist() == [None, None]
    assert back.column("source").to_pylist() == ["", 'q"u,o\nte']
    catalog = segments(["s,1", 'q"2'])
    store.upsert_segments(catalog.set_column(9, "geometry", pa.array([None, ""], pa.string())))
    stored = store.segments()
    assert stored.column("segment_id").to_pylist() == ['q"2', "s,1"]  # byte order
    assert stored.column("geometry").to_pylist() == ["", None]
    assert stored.column("lanes").type == pa.int32()


# alert lifecycle (alerts/schema.py): operators' actions and pipeline writes -----------
def alert_rows(rows: list[tuple[str, str, str, str, str, int, int | None, str]]) -> pa.Table:
    """ALERT_SCHEMA rows: (id, type, severity, segment, state, opened, resolved, message)."""
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(columns[0]),
            pa.array(columns[1]),
            pa.array(columns[2]),
            pa.array(columns[3]),
            pa.array(columns[4]),
            ts(list(columns[5])),
            pa.array(list(columns[6]), pa.int64()).cast(TIMESTAMP),
            pa.array(columns[7]),
        ],
        schema=ALERT_SCHEMA,
    )


def ms(value: object) -> int | None:
    """A timestamp read back from the store as epoch ms."""
    return None if value is None else int(value.timestamp() * 1000)  # type: ignore[attr-defined]


def one(store: Store, alert_id: str) -> dict[str, object]:
    rows = store.alert(alert_id).to_pylist()
    assert len(rows) == 1
    return rows[0]


def test_alert_records_carry_the_operator_columns(store: Store) -> None:
    stored = store.upsert_alerts(
        alert_rows([("c:a:1", "congestion", "major", "a", "open", T0, None, "slow")])
    )
    assert stored.schema == ALERT_RECORD_SCHEMA
    row = stored.to_pylist()[0]
    assert (row["state"], row["acknowledged_at"], row["acknowledged_by"], row["note"]) == (
        "open",
        None,
        None,
        None,
    )
    assert row["updated_at"] is not None
    assert store.alert("nope").num_rows == 0
    assert store.alerts(None, 10).schema == ALERT_RECORD_SCHEMA


def test_acknowledge_then_pipeline_resolve_keeps_the_acknowledgement(store: Store) -> None:
    store.upsert_alerts(alert_rows([("c:a:1", "congestion", "major", "a", "open", T0, None, "m")]))
    first = store.update_alert("c:a:1", "acknowledged", "on it", T0 + MIN, "vera")
    assert first.changed
    assert first.row.to_pylist()[0]["acknowledged_by"] == "vera"
    assert first.row.to_pylist()[0]["state"] == "acknowledged"
    # Acknowledged again: the first time stays, a new note replaces, no note keeps it.
    store.update_alert("c:a:1", "acknowledged", "crew sent", T0 + 2 * MIN, "zoe")
    store.update_alert("c:a:1", "acknowledged", None, T0 + 3 * MIN)
    acked = one(store, "c:a:1")
    assert acked["acknowledged_by"] == "vera"  # the first operator stays
    assert ms(acked["acknowledged_at"]) == T0 + MIN
    assert acked["note"] == "crew sent"
    assert ms(acked["updated_at"]) == T0 + 3 * MIN
    # The pipeline re-writes "open" (a replay): the acknowledgement stands.
    store.upsert_alerts(alert_rows([("c:a:1", "congestion", "major", "a", "open", T0, None, "m")]))
    assert one(store, "c:a:1")["state"] == "acknowledged"
    # The pipeline resolves it: resolved, with the acknowledgement and note kept.
    back = store.upsert_alerts(
        alert_rows([("c:a:1", "congestion", "major", "a", "resolved", T0, T0 + 30 * MIN, "ok")])
    ).to_pylist()[0]
    assert back["state"] == "resolved"
    assert ms(back["resolved_at"]) == T0 + 30 * MIN
    assert ms(back["acknowledged_at"]) == T0 + MIN
    assert back["note"] == "crew sent"
    assert back == one(store, "c:a:1")


def test_a_manual_resolve_is_final(store: Store) -> None:
    store.upsert_alerts(alert_rows([("c:a:1", "congestion", "minor", "a", "open", T0, None, "m")]))
    done = store.update_alert("c:a:1", "resolved", "cleared by hand", T0 + 5 * MIN)
    assert done.changed
    before = one(store, "c:a:1")
    assert ms(before["resolved_at"]) == T0 + 5 * MIN
    # Neither a re-written open nor the pipeline's own resolution changes anything.
    for state, resolved in (("open", None), ("resolved", T0 + 40 * MIN)):
        back = store.upsert_alerts(
            alert_rows([("c:a:1", "congestion", "major", "a", state, T0, resolved, "auto")])
        )
        assert back.to_pylist() == [before]
    # An operator cannot act on it again, and the row is untouched.
    for state in ("acknowledged", "resolved"):
        refused = store.update_alert("c:a:1", state, "again", T0 + 50 * MIN)
        assert not refused.changed
        assert refused.row.to_pylist() == [before]
    unknown = store.update_alert("missing", "acknowledged", None, T0)
    assert (unknown.changed, unknown.row.num_rows) == (False, 0)


def test_one_write_with_an_alert_twice_keeps_its_last_row(store: Store) -> None:
    back = store.upsert_alerts(
        alert_rows(
            [
                ("c:a:1", "congestion", "minor", "a", "open", T0, None, "opened"),
                ("c:b:1", "congestion", "minor", "b", "open", T0, None, "opened"),
                ("c:a:1", "congestion", "minor", "a", "resolved", T0, T0 + 20 * MIN, "closed"),
            ]
        )
    )
    states = {r["alert_id"]: r["state"] for r in back.to_pylist()}
    assert states == {"c:a:1": "resolved", "c:b:1": "open"}


def test_alert_filters_combine_newest_first(store: Store) -> None:
    store.upsert_alerts(
        alert_rows(
            [
                ("c:a:0", "congestion", "minor", "a", "open", T0, None, "m"),
                ("c:a:1", "congestion", "major", "a", "open", T0 + 10 * MIN, None, "m"),
                ("c:b:2", "congestion", "major", "b", "open", T0 + 20 * MIN, None, "m"),
                ("i:b:3", "incident", "major", "b", "open", T0 + 30 * MIN, None, "m"),
                ("c:c:4", "congestion", "minor", "c", "resolved", T0 + 40 * MIN, T0 + HOUR, "m"),
            ]
        )
    )
    store.update_alert("c:a:1", "acknowledged", None, T0 + 50 * MIN)

    def ids(**kw: object) -> list[str]:
        return store.query_alerts(AlertQuery(**kw)).column("alert_id").to_pylist()  # type: ignore[arg-type]

    assert ids() == ["c:c:4", "i:b:3", "c:b:2", "c:a:1", "c:a:0"]
    assert ids(states=("open", "acknowledged")) == ["i:b:3", "c:b:2", "c:a:1", "c:a:0"]
    assert ids(states=("acknowledged",)) == ["c:a:1"]
    assert ids(states=("resolved",)) == ["c:c:4"]
    assert ids(severity="major") == ["i:b:3", "c:b:2", "c:a:1"]
    assert ids(alert_type="incident") == ["i:b:3"]
    assert ids(segment_id="a") == ["c:a:1", "c:a:0"]
    assert ids(since_ms=T0 + 10 * MIN, until_ms=T0 + 30 * MIN) == ["c:b:2", "c:a:1"]
    assert ids(severity="major", alert_type="congestion", segment_id="b") == ["c:b:2"]
    assert ids(limit=2) == ["c:c:4", "i:b:3"]
    assert ids(segment_id="a'; DROP TABLE alerts; --") == []
    assert store.alerts("acknowledged", 10).column("alert_id").to_pylist() == ["c:a:1"]


def test_duckdb_file_from_before_the_alert_lifecycle_is_upgraded(tmp_path: Path) -> None:
    import duckdb

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE alerts (alert_id VARCHAR PRIMARY KEY, alert_type VARCHAR NOT NULL, "
        "severity VARCHAR NOT NULL, segment_id VARCHAR, state VARCHAR NOT NULL, "
        "opened_at TIMESTAMPTZ NOT NULL, resolved_at TIMESTAMPTZ, message VARCHAR)"
    )
    con.execute(
        "INSERT INTO alerts VALUES ('old', 'congestion', 'minor', 'a', 'open', "
        f"epoch_ms({T0}), NULL, 'before')"
    )
    con.close()
    store = DuckDBStore(path)
    try:
        store.init_schema()
        store.init_schema()  # twice: the upgrade is idempotent
        row = one(store, "old")
        assert (row["note"], ms(row["updated_at"])) == (None, T0)
        assert store.update_alert("old", "acknowledged", "seen", T0 + MIN).changed
        assert one(store, "old")["note"] == "seen"
    finally:
        store.close()


def test_postgres_migration_0003_upgrades_and_downgrades_alerts(postgres_database: str) -> None:
    import psycopg
    from alembic import command

    from trafficcast.store import migrate

    migrate.upgrade(postgres_database, "0002")
    with psycopg.connect(postgres_database) as conn:
        conn.execute(
            "INSERT INTO alerts VALUES ('old', 'congestion', 'minor', 'a', 'resolved', "
            "timestamptz 'epoch' + %s * interval '1 millisecond', "
            "timestamptz 'epoch' + %s * interval '1 millisecond', 'before')",
            [T0, T0 + HOUR],
        )
    migrate.upgrade(postgres_database)
    store = PostgresStore(postgres_database)
    try:
        row = one(store, "old")
        assert ms(row["updated_at"]) == T0 + HOUR  # its resolution was its last change
        assert row["acknowledged_at"] is None
    finally:
        store.close()
    command.downgrade(migrate.config(postgres_database), "0002")
    with psycopg.connect(postgres_database) as conn:
        columns = conn.execute(
            "SELECT count(*) FROM information_schema.columns WHERE table_name = 'alerts'"
        ).fetchone()
        assert columns == (8,)


# the traffic map's layers ------------------------------------------------------


def model_predictions(seg: str, issued: int, speed: float, model: str) -> pa.Table:
    table = predictions(seg, issued, speed)
    ids = pa.array([f"{seg}@{issued}/{model}"] * table.num_rows)
    models = pa.array([model] * table.num_rows)
    i, j = (
        table.schema.get_field_index("prediction_id"),
        table.schema.get_field_index("model_version"),
    )
    table = table.set_column(i, table.schema.field(i), ids)
    return table.set_column(j, table.schema.field(j), models)


def test_latest_predictions_at_gives_each_segments_newest_at_one_horizon(store: Store) -> None:
    store.insert_predictions(
        pa.concat_tables(
            [
                predictions("b", T0, 50.0),
                predictions("b", T0 + 5 * MIN, 55.0),
                # Two models' forecasts of one issue: the first model_version wins.
                model_predictions("a", T0, 40.0, "m2"),
                model_predictions("a", T0, 41.0, "m1"),
            ]
        )
    )
    store.insert_predictions(predictions("b", T0 - 5 * MIN, 1.0))  # an older issue, late
    at15 = store.latest_predictions_at(15)
    assert at15.schema.names == STORED_PREDICTION_SCHEMA.names
    assert at15.column("segment_id").to_pylist() == ["a", "b"]
    assert at15.column("predicted_speed").to_pylist() == [41.0, 55.0]
    assert at15.column("model_version").to_pylist() == ["m1", "m"]
    assert at15.column("horizon_minutes").to_pylist() == [15, 15]
    assert at15.column("prediction_id").to_pylist() == [f"a@{T0}/m1", f"b@{T0 + 5 * MIN}/m"]
    targets = at15.column("target_time").cast(TIMESTAMP).cast(pa.int64()).to_pylist()
    assert targets == [T0 + 15 * MIN, T0 + 20 * MIN]
    assert store.latest_predictions_at(30).column("predicted_speed").to_pylist() == [41.0, 55.0]
    assert store.latest_predictions_at(45).num_rows == 0


def test_window_start_range_of_one_window_size(store: Store) -> None:
    assert store.window_start_range(5) is None
    store.insert_windows(windows("a", [T0, T0 + 5 * MIN], [50.0, 40.0]))
    store.insert_windows(windows("b", [T0 - 10 * MIN], [30.0]))
    one_minute = windows("c", [T0 + 30 * MIN], [20.0])
    k = one_minute.schema.get_field_index("window_minutes")
    one_minute = one_minute.set_column(k, one_minute.schema.field(k), pa.array([1], pa.int32()))
    store.insert_windows(one_minute)
    assert store.window_start_range(5) == (T0 - 10 * MIN, T0 + 5 * MIN)
    assert store.window_start_range(1) == (T0 + 30 * MIN, T0 + 30 * MIN)
    assert store.window_start_range(15) is None


# accounts (users and API keys) -------------------------------------------------


def a_user(name: str, role: str = "viewer", **changes: object) -> UserRecord:
    user = UserRecord(
        username=name,
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        role=Role(role),
        tier=Tier.STANDARD,
        disabled=False,
        token_epoch=0,
        created_ms=T0,
        updated_ms=T0,
    )
    return dataclasses.replace(user, **changes)  # type: ignore[arg-type]


def a_key(prefix: str, created_ms: int = T0) -> ApiKeyRecord:
    return ApiKeyRecord(
        prefix, "ab" * 32, f"key {prefix}", Role.API, Tier.PREMIUM, "boss", created_ms
    )


def test_users_are_added_listed_and_replaced_whole(store: Store) -> None:
    store.add_user(a_user("zoe", "admin"))
    store.add_user(a_user("al'; DROP TABLE users; --"))
    assert [u.username for u in store.users()] == ["al'; DROP TABLE users; --", "zoe"]
    with pytest.raises(AccountExists):
        store.add_user(a_user("zoe"))
    changed = a_user(
        "zoe",
        "analyst",
        tier=Tier.PREMIUM,
        disabled=True,
        token_epoch=3,
        updated_ms=T0 + MIN,
        last_login_ms=T0 + HOUR,
        password_hash="new",
    )
    assert store.update_user(changed)
    assert store.users()[1] == changed
    assert not store.update_user(a_user("nobody"))
    assert len(store.users()) == 2


def test_api_keys_are_listed_in_creation_order_and_revoked_once(store: Store) -> None:
    store.add_api_key(a_key("BBBBBBBB", T0 + MIN))
    store.add_api_key(a_key("AAAAAAAA", T0))
    with pytest.raises(AccountExists):
        store.add_api_key(a_key("AAAAAAAA"))
    assert [k.prefix for k in store.api_keys()] == ["AAAAAAAA", "BBBBBBBB"]
    assert store.api_keys()[0] == a_key("AAAAAAAA", T0)
    revoked = store.revoke_api_key("AAAAAAAA", T0 + HOUR)
    assert revoked is not None
    assert revoked.revoked_ms == T0 + HOUR
    assert not revoked.active
    # A second revocation keeps the first time.
    again = store.revoke_api_key("AAAAAAAA", T0 + 2 * HOUR)
    assert again is not None
    assert again.revoked_ms == T0 + HOUR
    assert store.revoke_api_key("CCCCCCCC", T0) is None
    assert [k.active for k in store.api_keys()] == [False, True]


def test_postgres_migration_0004_adds_and_drops_the_account_tables(postgres_database: str) -> None:
    import psycopg
    from alembic import command

    from trafficcast.store import migrate

    migrate.upgrade(postgres_database)
    store = PostgresStore(postgres_database)
    try:
        store.add_user(a_user("zoe", "admin"))
        assert store.users()[0].username == "zoe"
    finally:
        store.close()
    command.downgrade(migrate.config(postgres_database), "0003")
    with psycopg.connect(postgres_database) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_name IN ('users', 'api_keys')"
        ).fetchone()
        assert tables == (0,)


# data quality --------------------------------------------------------------------


def test_detector_day_stats_count_readings_speeds_and_gaps(store: Store) -> None:
    s = 1000
    store.write_events(
        events(
            ["a1", "a2", "a3", "b1", "b2", "b3", "before", "after"],
            ["a", "a", "a", "b", "b", "b", "a", "a"],
            [T0, T0 + 30 * s, T0 + 90 * s, T0, T0 + 30 * s, T0 + 60 * s, T0 - s, T0 + HOUR],
            # b: one speed above the limit, one 0 mph with vehicles (volume is 10): implausible.
            [50.0, 50.0, 55.0, 120.0, 0.0, 60.0, 70.0, 70.0],
        )
    )
    table = store.detector_day_stats(T0, T0 + HOUR, 100.0)
    assert table.schema == DETECTOR_DAY_STATS_SCHEMA
    assert table.to_pylist() == [
        {
            "segment_id": "a",
            "samples": 3,
            "distinct_speeds": 2,
            "implausible": 0,
            "max_gap_ms": 60 * s,
            "first_ms": T0,
            "last_ms": T0 + 90 * s,
        },
        {
            "segment_id": "b",
            "samples": 3,
            "distinct_speeds": 3,
            "implausible": 2,
            "max_gap_ms": 30 * s,
            "first_ms": T0,
            "last_ms": T0 + 60 * s,
        },
    ]
    assert store.detector_day_stats(T0 + 2 * HOUR, T0 + 3 * HOUR, 100.0).num_rows == 0


# notification attempts (alerts/notify) -------------------------------------------------
def test_notification_attempts_are_kept_per_alert_in_order(store: Store) -> None:
    from trafficcast.alerts.notify.attempts import NotificationAttempt

    def attempt(alert_id: str, n: int, at: int, code: int | None, ok: bool) -> NotificationAttempt:
        return NotificationAttempt(
            alert_id=alert_id,
            rule_id="congestion",
            event="opened",
            target="webhook:http://127.0.0.1:9/hook",
            attempt=n,
            at_ms=at,
            duration_ms=12,
            status_code=code,
            error=None if ok else ("connect refused 'é' \n" if code is None else "HTTP 500"),
            delivered=ok,
        )

    a1 = attempt("c:a:1", 1, T0, None, False)
    a2 = attempt("c:a:1", 2, T0 + 1000, 500, False)
    a3 = attempt("c:a:1", 3, T0 + 3000, 200, True)
    other = attempt("c:b:1", 1, T0, 200, True)
    store.add_notification_attempts([a3, other])
    store.add_notification_attempts([a1, a2])
    store.add_notification_attempts([])
    assert store.notification_attempts("c:a:1") == [a1, a2, a3]
    assert store.notification_attempts("c:a:1", limit=2) == [a1, a2]
    assert store.notification_attempts("c:b:1") == [other]
    assert store.notification_attempts("nope") == []


def test_count_forecast_issues_counts_each_issue_once_in_a_half_open_range(store: Store) -> None:
    store.upsert_segments(segments(["a", "b"]))
    store.insert_predictions(predictions("a", T0, 50.0))
    store.insert_predictions(predictions("a", T0, 51.0))  # the same issue written again
    store.insert_predictions(model_predictions("a", T0, 52.0, "other"))  # another model
    store.insert_predictions(predictions("b", T0 + 5 * MIN, 40.0))
    store.insert_predictions(predictions("a", T0 + HOUR, 45.0))  # at the end: outside
    assert store.count_forecast_issues(T0, T0 + HOUR) == 3
    assert store.count_forecast_issues(T0 + MIN, T0 + HOUR + 1) == 2
    assert store.count_forecast_issues(T0, T0 + HOUR, ["b"]) == 1
    assert store.count_forecast_issues(T0, T0 + HOUR, []) == 0
    assert store.count_forecast_issues(T0 + 2 * HOUR, T0 + 3 * HOUR) == 0


def test_forecast_accuracy_of_a_set_of_segments(store: Store) -> None:
    load_scored_history(store)
    store.insert_windows(scored_window("b", T0 + 5 * MIN, 10.0, 5.0))
    store.insert_predictions(forecast("b", T0 + 5 * MIN, 15, 30.0, model="m2"))
    store.insert_windows(scored_window("c", T0 + 5 * MIN, 30.0, 5.0))
    store.insert_predictions(forecast("c", T0 + 5 * MIN, 15, 33.0, model="m2"))
    hours = (T0, T0 + 2 * HOUR)

    def scored(ids: tuple[str, ...] | None) -> list[tuple[str, int, float]]:
        rows = store.forecast_accuracy(AccuracyQuery(*hours, segment_ids=ids)).to_pylist()
        return [(r["model_version"], r["n"], r["speed_bias"]) for r in rows if r["n"]]

    assert scored(("b", "c")) == [("m2", 2, pytest.approx(11.5))]
    assert scored(("c",)) == [("m2", 1, pytest.approx(3.0))]
    assert scored(()) == []
    every = store.forecast_accuracy(AccuracyQuery(*hours)).to_pylist()
    assert sum(r["n"] for r in every) == 7  # a: 5 (m: 4, m2: 1), b and c: 1 each


def test_whole_tables_are_read_in_batches_emptied_and_appended_back(store: Store) -> None:
    """Backup's methods: every table read as stored, in batches; restore appends them back."""
    store.upsert_segments(segments(["a", "b"]))
    store.write_events(events(["e1", "e2", "e3"], ["a", "a", "b"], [T0, T0 + MIN, T0], [1.0] * 3))
    store.insert_windows(windows("a", [T0, T0 + 5 * MIN], [60.0, 30.0]))
    store.insert_predictions(stored_predictions(predictions("a", T0, 50.0)))
    store.set_state("k", "v")
    store.add_user(UserRecord("ann", "h", Role.ADMIN, Tier.STANDARD, False, 0, T0, T0))
    assert set(STORE_TABLES) >= {"events", "predictions", "users", "window_aggregates"}
    before = {}
    for table in STORE_TABLES:
        batches = list(store.read_table(table, 2))
        assert batches
        assert all(b.num_rows <= 2 for b in batches)
        assert len({b.schema for b in batches}) == 1
        rows = pa.Table.from_batches(batches)
        assert rows.num_rows == store.count_rows(table)
        before[table] = rows
    assert before["events"].num_rows == 3
    assert before["users"].num_rows == 1
    assert before["late_events"].num_rows == 0
    assert before["late_events"].num_columns > 0
    for table in STORE_TABLES:
        store.delete_rows(table)
        assert store.count_rows(table) == 0

    # Appended inside a transaction that fails: nothing stays.
    def append_then_fail() -> None:
        with store.transaction():
            store.append_rows("events", before["events"].to_batches()[0])
            raise RuntimeError("abort")

    with pytest.raises(RuntimeError):
        append_then_fail()
    assert store.count_rows("events") == 0
    with store.transaction():
        for table, rows in before.items():
            for batch in rows.to_batches(max_chunksize=2):
                store.append_rows(table, batch)
    for table, rows in before.items():
        again = pa.Table.from_batches(list(store.read_table(table, 1000)))
        assert sort_all(again).equals(sort_all(rows)), table
    assert store.latest_predictions("a", 10).num_rows == 2
    assert [u.username for u in store.users()] == ["ann"]
    assert store.schema_revision()
    with pytest.raises(ValueError, match="unknown table"):
        store.count_rows("events; DROP TABLE users")
    with pytest.raises(ValueError, match="unknown table"):
        next(iter(store.read_table("pg_user", 10)))


def sort_all(table: pa.Table) -> pa.Table:
    keys = [
        (n, "ascending")
        for n, t in zip(table.schema.names, table.schema.types, strict=True)
        if not pa.types.is_list(t)
    ]
    return table.sort_by(keys)
