"""Traffic-engineering measures on small inputs computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.analytics.calendar import local_bucket_edges
from trafficcast.analytics.csv_export import cell
from trafficcast.analytics.measures import (
    MeasureConfig,
    Sums,
    bottleneck_windows,
    measures_at,
    window_measures,
)
from trafficcast.analytics.report import performance_report
from trafficcast.domain.schema import LINK_SCHEMA, SEGMENT_SCHEMA, TIMESTAMP, WINDOW_SCHEMA
from trafficcast.store.duckdb_store import DuckDBStore

CONFIG = MeasureConfig()
NAN = float("nan")


def _ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def test_vmt_vht_delay_tti_congestion_and_los_by_hand() -> None:
    # 2-mile segment, free flow 60 mph: 100 veh at 50 mph, 30 veh at 20 mph,
    # a window without a speed and one without a volume at 30 mph.
    speed = np.array([50.0, 20.0, NAN, 30.0])
    volume = np.array([100.0, 30.0, 10.0, NAN])
    m = window_measures(speed, volume, np.full(4, 2.0), np.full(4, 60.0), CONFIG)
    sums = Sums.zeros((1,), 2)
    sums.add(np.zeros(4, np.int64), m)
    got = measures_at(sums, (0,), CONFIG)

    assert got.windows == 3  # the window without a speed does not count
    assert got.vmt == pytest.approx(200 + 60)
    assert got.vht == pytest.approx(200 / 50 + 60 / 20)  # 4 + 3
    # 35 mph: only the 20 mph window is slower: 3 - 60/35.
    assert got.delay[35.0] == pytest.approx(3 - 60 / 35)
    # 60 mph: both: (4 - 200/60) + (3 - 60/60).
    assert got.delay[60.0] == pytest.approx(4 - 200 / 60 + 2)
    # VMT-weighted free-flow / speed: (200 * 60/50 + 60 * 60/20) / 260.
    assert got.travel_time_index == pytest.approx((240 + 180) / 260)
    assert got.mean_speed == pytest.approx(260 / 7)
    # Below 35 mph: the 20 and the 30 mph windows, 5 minutes each.
    assert got.congestion_hours == pytest.approx(10 / 60)
    # 50/60 = 0.83 -> B, 20/60 = 0.33 -> E, 30/60 = 0.5 -> D (not above 0.50).
    hours = {g: h for g, h in got.los_hours.items() if h}
    assert hours == pytest.approx({"B": 5 / 60, "D": 5 / 60, "E": 5 / 60})


def test_no_delay_at_or_above_the_reference_and_configurable_references() -> None:
    config = MeasureConfig(reference_speeds=(45.0,))
    m = window_measures(
        np.array([45.0, 70.0]), np.array([10.0, 10.0]), np.ones(2), np.ones(2) * 65, config
    )
    assert m.delay.shape == (1, 2)
    assert np.all(m.delay == 0)
    assert not m.congested.any()


def test_missing_length_adds_no_vmt_but_counts_congestion() -> None:
    m = window_measures(
        np.array([10.0]), np.array([50.0]), np.array([NAN]), np.array([NAN]), CONFIG
    )
    assert m.vmt[0] == 0
    assert m.vht[0] == 0
    assert m.congested[0]
    assert m.grade[0] == 5  # 10 / 65 default free flow -> F


def _grid(up: list[float], down: list[float]) -> np.ndarray:  # type: ignore[type-arg]
    return np.array([up, down], dtype=np.float64)


UP, DOWN = np.array([0]), np.array([1])


def test_a_sustained_drop_is_a_bottleneck() -> None:
    # Upstream congested (25 mph), downstream 30 mph faster, for 4 windows.
    grid = _grid([60, 25, 25, 25, 25, 60], [62, 55, 56, 57, 58, 61])
    count, drop = bottleneck_windows(grid, UP, DOWN, CONFIG)
    assert count.tolist() == [4]
    assert drop[0] == pytest.approx(30 + 31 + 32 + 33)


def test_a_short_or_broken_drop_is_not_a_bottleneck() -> None:
    # Two windows, a gap (missing window), two windows: no run reaches 3.
    grid = _grid([25, 25, NAN, 25, 25, 60], [55, 55, 55, 55, 55, 60])
    assert bottleneck_windows(grid, UP, DOWN, CONFIG)[0].tolist() == [0]
    # Slow downstream, fast upstream is the tail of a queue, not its head.
    grid = _grid([60, 60, 60, 60], [25, 25, 25, 25])
    assert bottleneck_windows(grid, UP, DOWN, CONFIG)[0].tolist() == [0]
    # A drop of 19 mph is not enough.
    grid = _grid([25, 25, 25, 25], [44, 44, 44, 44])
    assert bottleneck_windows(grid, UP, DOWN, CONFIG)[0].tolist() == [0]


def test_local_buckets_follow_the_network_time_zone() -> None:
    edges = local_bucket_edges(
        _ms(2026, 3, 7, 12), _ms(2026, 3, 10), "day", "America/Los_Angeles", 10
    )
    # Midnights in Los Angeles: UTC-8 before the DST change on 2026-03-08, UTC-7 after.
    assert edges[0] == _ms(2026, 3, 7, 8)
    assert edges[1] == _ms(2026, 3, 8, 8)
    assert edges[2] == _ms(2026, 3, 9, 7)  # a 23-hour day
    week = local_bucket_edges(_ms(2026, 3, 4), _ms(2026, 3, 5), "week", "America/Los_Angeles", 3)
    assert week == [_ms(2026, 3, 2, 8), _ms(2026, 3, 9, 7)]  # Monday to Monday


def test_csv_cells_defuse_formulas() -> None:
    assert cell("=SUM(A1)") == "'=SUM(A1)"
    assert cell("-1+2") == "'-1+2"
    assert cell("@x") == "'@x"
    assert cell("I-405 N") == "I-405 N"
    assert cell(-1.5) == "-1.5"
    assert cell(None) == ""
    assert cell(NAN) == ""


def _windows(rows: list[tuple[str, int, float, float]]) -> pa.Table:
    seg, start, speed, volume = (list(c) for c in zip(*rows, strict=True))
    n = len(rows)
    ts = pa.array(np.asarray(start, np.int64)).cast(TIMESTAMP)
    end = pa.array(np.asarray(start, np.int64) + 300_000).cast(TIMESTAMP)
    return pa.Table.from_arrays(
        [
            pa.array(seg),
            pa.array([5] * n, pa.int32()),
            ts,
            end,
            pa.array(speed),
            pa.array(speed),
            pa.array(volume),
            pa.array([NAN] * n),
            pa.array([10] * n, pa.int64()),
            pa.array([1.0] * n),
            pa.array(["A"] * n),
            end,
        ],
        schema=WINDOW_SCHEMA,
    )


def test_report_buckets_rank_and_finds_recurring_bottlenecks(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "s.duckdb")
    store.init_schema()
    store.upsert_segments(
        pa.Table.from_pylist(
            [
                {"segment_id": "u", "name": "=up", "free_flow_speed": 60.0, "length_miles": 1.0},
                {"segment_id": "d", "name": "down", "free_flow_speed": 60.0, "length_miles": 2.0},
            ],
            schema=SEGMENT_SCHEMA,
        )
    )
    store.upsert_links(
        pa.Table.from_pylist(
            [{"from_segment": "u", "to_segment": "d", "weight": 1.0}], schema=LINK_SCHEMA
        )
    )
    rows = []
    for day in (5, 6, 7):
        # 17:00-17:20 Los Angeles time = 01:00Z the next day: upstream at 20, downstream 50.
        t = _ms(2026, 1, day + 1, 1)
        for k in range(4):
            rows += [("u", t + k * 300_000, 20.0, 10.0), ("d", t + k * 300_000, 50.0, 10.0)]
    store.insert_windows(_windows(rows))
    report = performance_report(
        store, _ms(2026, 1, 5, 8), _ms(2026, 1, 8, 8), "day", "America/Los_Angeles"
    )
    assert [p.start_ms for p in report.periods] == [_ms(2026, 1, d, 8) for d in (5, 6, 7)]
    for p in report.periods:  # each local day holds its evening's windows
        assert p.measures.vmt == pytest.approx(4 * 10 * 1 + 4 * 10 * 2)
    # Upstream: 120 VMT at 20 mph = 6 VHT, delay at 35 = 6 - 120/35; downstream none at 35.
    assert [s.segment_id for s in report.segments] == ["u", "d"]
    assert report.segments[0].measures.delay[35.0] == pytest.approx(6 - 120 / 35)
    assert report.segments[1].measures.delay[35.0] == 0
    assert report.segments[0].level_of_service == "E"  # 20/60
    (b,) = report.bottlenecks
    assert (b.upstream_segment_id, b.segment_id, b.active_days) == ("u", "d", 3)
    assert b.active_hours == pytest.approx(3 * 4 * 5 / 60)
    assert b.mean_drop_mph == pytest.approx(30)
    store.close()
