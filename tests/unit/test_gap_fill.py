"""Filling silent detectors' windows from neighbours and profile, flagged (stream/gap_fill.py)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from scipy import sparse

from trafficcast.domain.fill import FILL_KINDS, fill_names, stored_windows
from trafficcast.domain.schema import LINK_SCHEMA, STORED_WINDOW_SCHEMA, TIMESTAMP, WINDOW_SCHEMA
from trafficcast.forecast.panel import Panel
from trafficcast.stream.gap_fill import (
    MISSING_CODE,
    NEIGHBOURS_CODE,
    PROFILE_CODE,
    SilenceTracker,
    fill_silent,
)

W = 300_000
NAN = np.nan


def chain(n: int) -> sparse.csr_matrix:
    """Segments 0 -> 1 -> ... -> n-1; row k weighs k's upstream and downstream neighbours."""
    src = np.arange(n - 1)
    dst = src + 1
    up = sparse.csr_matrix((np.ones(n - 1), (dst, src)), shape=(n, n))
    down = sparse.csr_matrix((np.ones(n - 1), (src, dst)), shape=(n, n))
    return sparse.csr_matrix(up + down)


def ints(*v: int) -> np.ndarray:
    return np.array(v, dtype=np.int64)


def floats(*v: float) -> np.ndarray:
    return np.array(v, dtype=np.float64)


def test_a_silent_segment_between_live_neighbours_follows_their_drop() -> None:
    # Usual 60 / 40 / 50 mph; the neighbours run at half their usual now.
    usual = floats(60, 40, 50)
    usual_volume = floats(100, 80, 90)
    filled = fill_silent(
        ints(1),
        ints(0, 2),
        floats(30, 25),
        floats(50, 45),
        usual,
        usual_volume,
        chain(3),
    )
    assert filled.fill.tolist() == [NEIGHBOURS_CODE]
    assert filled.speed[0] == 20.0  # half of its own usual 40, not the neighbours' 27.5
    assert filled.volume[0] == 40.0


def test_neighbours_weigh_by_link_weight() -> None:
    m = sparse.csr_matrix(np.array([[0, 3, 1], [0, 0, 0], [0, 0, 0]], dtype=float))
    filled = fill_silent(
        ints(0),
        ints(1, 2),
        floats(60, 20),
        floats(NAN, NAN),
        floats(50, 60, 40),
        floats(NAN, NAN, NAN),
        m,
    )
    # Ratios 1.0 (weight 3) and 0.5 (weight 1): 0.875 of the usual 50.
    assert filled.speed[0] == 43.75
    assert np.isnan(filled.volume[0])  # no volume ratio to apply


def test_without_a_usual_of_its_own_the_neighbours_mean_speed_stands_in() -> None:
    filled = fill_silent(
        ints(1),
        ints(0, 2),
        floats(30, 50),
        floats(10, 10),
        floats(60, NAN, 50),
        floats(NAN, NAN, NAN),
        chain(3),
    )
    assert filled.fill.tolist() == [NEIGHBOURS_CODE]
    assert filled.speed[0] == 40.0
    assert np.isnan(filled.volume[0])


def test_with_no_neighbour_reading_the_profile_fills() -> None:
    usual = floats(60, 40, 50, 55)
    filled = fill_silent(
        ints(1, 3),
        ints(0),  # 0 is not a neighbour of 3, and 1's other neighbour (2) is silent too
        floats(30),
        floats(NAN),
        usual,
        floats(100, 80, 90, 95),
        sparse.csr_matrix(np.array([[0, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 0.0]])),
    )
    assert filled.fill.tolist() == [PROFILE_CODE, PROFILE_CODE]
    assert filled.speed.tolist() == [40.0, 55.0]
    assert filled.volume.tolist() == [80.0, 95.0]


def test_no_graph_falls_back_to_the_profile_and_no_profile_is_missing() -> None:
    filled = fill_silent(
        ints(0, 1),
        ints(2),
        floats(50),
        floats(10),
        floats(60, NAN, 50),
        floats(NAN, NAN, NAN),
        None,
    )
    assert filled.fill.tolist() == [PROFILE_CODE, MISSING_CODE]
    assert filled.speed[0] == 60.0
    assert np.isnan(filled.speed[1])


def test_a_neighbour_with_a_zero_speed_reading_does_not_count() -> None:
    filled = fill_silent(
        ints(1), ints(0), floats(0.0), floats(NAN), floats(60, 40), floats(NAN, NAN), chain(2)
    )
    assert filled.fill.tolist() == [PROFILE_CODE]
    assert filled.speed[0] == 40.0


def test_tracker_expects_recent_readers_only_and_judges_each_window_once() -> None:
    t = SilenceTracker(W, max_gap_ms=2 * W)
    assert t.starts_to_judge(ints(10 * W, 8 * W, 10 * W)).tolist() == [8 * W, 10 * W]
    assert t.judge(10 * W, ints(0, 1, 2)).tolist() == []
    # 2 goes silent at 11W; a batch closing 11W..13W is judged window by window.
    assert t.starts_to_judge(ints(11 * W, 12 * W, 13 * W)).tolist() == [11 * W, 12 * W, 13 * W]
    assert t.judge(11 * W, ints(0, 1)).tolist() == [2]
    assert t.judge(12 * W, ints(0)).tolist() == [1, 2]
    # 2 last read at 10W: after 2 windows of silence it is no longer expected.
    assert t.judge(13 * W, ints(0)).tolist() == [1]
    assert t.starts_to_judge(ints(13 * W)).tolist() == []  # nothing closed since
    # 1 comes back; 3 was never seen, so it is never expected.
    assert t.judge(14 * W, ints(0, 1)).tolist() == []
    assert t.judge(15 * W, ints(0)).tolist() == [1]
    # Windows nobody reported in (a feed gap) are not judged: a jump far ahead judges one.
    assert t.starts_to_judge(ints(1000 * W)).tolist() == [1000 * W]
    assert t.judge(1000 * W, ints(0)).tolist() == []  # 1 last read 200 windows ago


def test_tracker_resumes_after_a_restore() -> None:
    t = SilenceTracker(W, max_gap_ms=6 * W)
    t.seed(ints(0, 1, 1), ints(3 * W, 2 * W, 4 * W))
    t.resume_at(5 * W + 20_000)  # windows ending by the watermark were judged before
    assert t.starts_to_judge(ints(4 * W, 5 * W, 7 * W)).tolist() == [5 * W, 7 * W]
    assert t.judge(5 * W, ints(1)).tolist() == [0]


def test_fill_names_and_tables_written_without_fill() -> None:
    assert fill_names(np.array([0, 3, 1, 2], dtype=np.int8)).to_pylist() == [
        "observed",
        "missing",
        "imputed_neighbours",
        "imputed_profile",
    ]
    assert FILL_KINDS[0] == "observed"
    t = pa.Table.from_arrays(
        [
            pa.array(["a", "b"]),
            pa.array([5, 5], pa.int32()),
            pa.array([0, 0]).cast(TIMESTAMP),
            pa.array([W, W]).cast(TIMESTAMP),
            pa.array([50.0, None]),
            pa.array([50.0, None]),
            pa.array([10.0, None]),
            pa.array([5.0, None]),
            pa.array([3, 0], pa.int64()),
            pa.array([1.0, None]),
            pa.array(["A", None]),
            pa.array([0, 0]).cast(TIMESTAMP),
        ],
        schema=WINDOW_SCHEMA,
    )
    stored = stored_windows(t)
    assert stored.schema == STORED_WINDOW_SCHEMA
    assert stored.column("fill").to_pylist() == ["observed", "missing"]


def test_training_panels_leave_filled_windows_out() -> None:
    t = stored_windows(
        pa.Table.from_arrays(
            [
                pa.array(["a", "a"]),
                pa.array([5, 5], pa.int32()),
                pa.array([0, W]).cast(TIMESTAMP),
                pa.array([W, 2 * W]).cast(TIMESTAMP),
                pa.array([50.0, 20.0]),
                pa.array([50.0, 20.0]),
                pa.array([10.0, 4.0]),
                pa.array([5.0, None]),
                pa.array([3, 0], pa.int64()),
                pa.array([1.0, None]),
                pa.array(["A", "E"]),
                pa.array([0, 0]).cast(TIMESTAMP),
            ],
            schema=WINDOW_SCHEMA,
        )
    )
    t = t.set_column(
        t.schema.get_field_index("fill"), "fill", pa.array(["observed", "imputed_profile"])
    )
    panel = Panel.from_windows(t, LINK_SCHEMA.empty_table(), "UTC")
    assert np.nansum(panel.speed) == 50.0
