"""The live forecaster's recent 5-minute history (forecast/history.py)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.features import INPUT_STEPS, WEEK_STEPS
from trafficcast.forecast.history import HISTORY_STEPS, RecentHistory

STEP = 300_000
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z, on the 5-minute grid
NAN = math.nan


def ints(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def arr(*values: float) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def observe(
    h: RecentHistory, segs: list[int], steps: list[int], speeds: list[float], volumes: list[float]
) -> None:
    """Windows starting `steps` 5-minute steps after T0."""
    h.observe(
        np.array(segs, dtype=np.int64),
        T0 + np.array(steps, dtype=np.int64) * STEP,
        np.array(speeds, dtype=np.float64),
        np.array(volumes, dtype=np.float64),
    )


def column(h: RecentHistory, seg: int) -> list[float]:
    return [float(v) for v in h.speed[:, seg]]


def same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(
        (math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True)
    )


def test_default_block_is_a_week_and_an_hour() -> None:
    assert HISTORY_STEPS == WEEK_STEPS + INPUT_STEPS == 2028
    h = RecentHistory()
    assert h.speed.shape == (HISTORY_STEPS, 0)
    assert h.last_start_ms == -1


def test_first_windows_fill_the_newest_row() -> None:
    h = RecentHistory(steps=5)
    h.observe(ints(), ints(), arr(), arr())  # nothing: still empty
    assert h.size == 0
    assert h.last_start_ms == -1
    observe(h, [0, 1], [0, 0], [50.0, 60.0], [10.0, 20.0])
    assert h.size == 2
    assert h.last_start_ms == T0
    assert h.first_start_ms == T0 - 4 * STEP
    assert h.row_of(T0) == 4
    assert h.row_of(T0 - 4 * STEP) == 0
    assert same(column(h, 0), [NAN, NAN, NAN, NAN, 50.0])
    assert same(column(h, 1), [NAN, NAN, NAN, NAN, 60.0])
    assert h.volume[4].tolist() == [10.0, 20.0]
    assert np.isnan(h.volume[:4]).all()


def test_rows_shift_as_windows_close_and_old_rows_drop() -> None:
    h = RecentHistory(steps=5)
    observe(h, [0, 1], [0, 0], [50.0, 60.0], [10.0, 20.0])
    observe(h, [0], [1], [51.0], [11.0])
    assert h.last_start_ms == T0 + STEP
    assert same(column(h, 0), [NAN, NAN, NAN, 50.0, 51.0])
    assert same(column(h, 1), [NAN, NAN, NAN, 60.0, NAN])  # no window for 1 yet
    assert same([float(v) for v in h.volume[:, 0]], [NAN, NAN, NAN, 10.0, 11.0])
    # A jump of two steps leaves a gap row.
    observe(h, [1], [3], [62.0], [22.0])
    assert same(column(h, 0), [NAN, 50.0, 51.0, NAN, NAN])
    assert same(column(h, 1), [NAN, 60.0, NAN, NAN, 62.0])
    # One more step: the row of T0 is the oldest; the next one drops it.
    observe(h, [0], [4], [54.0], [14.0])
    assert same(column(h, 0), [50.0, 51.0, NAN, NAN, 54.0])
    assert h.first_start_ms == T0
    observe(h, [0], [5], [55.0], [15.0])
    assert same(column(h, 0), [51.0, NAN, NAN, 54.0, 55.0])
    assert same(column(h, 1), [NAN, NAN, 62.0, NAN, NAN])
    assert h.first_start_ms == T0 + STEP


def test_a_batch_with_several_windows_advances_to_the_newest() -> None:
    h = RecentHistory(steps=5)
    observe(h, [0, 1, 0], [2, 0, 1], [52.0, 60.0, 51.0], [1.0, 2.0, 3.0])
    assert h.last_start_ms == T0 + 2 * STEP
    assert same(column(h, 0), [NAN, NAN, NAN, 51.0, 52.0])
    assert same(column(h, 1), [NAN, NAN, 60.0, NAN, NAN])


def test_a_jump_longer_than_the_block_clears_it() -> None:
    h = RecentHistory(steps=5)
    observe(h, [0, 1], [0, 0], [50.0, 60.0], [10.0, 20.0])
    observe(h, [1], [5], [65.0], [25.0])  # exactly a block later
    assert same(column(h, 0), [NAN] * 5)
    assert same(column(h, 1), [NAN] * 4 + [65.0])
    assert np.isnan(h.volume[:, 0]).all()
    observe(h, [0], [40], [70.0], [30.0])
    assert same(column(h, 0), [NAN] * 4 + [70.0])
    assert np.isnan(h.speed[:, 1]).all()


def test_late_corrections_overwrite_rows_in_the_block_only() -> None:
    h = RecentHistory(steps=5)
    for i in range(5):
        observe(h, [0, 1], [i, i], [50.0 + i, 60.0 + i], [10.0 + i, 20.0 + i])
    assert same(column(h, 0), [50.0, 51.0, 52.0, 53.0, 54.0])
    # The window of step 1 is re-emitted for segment 1: it is still in the block.
    observe(h, [1], [1], [99.0], [77.0])
    assert h.last_start_ms == T0 + 4 * STEP  # a correction does not advance
    assert same(column(h, 1), [60.0, 99.0, 62.0, 63.0, 64.0])
    assert h.volume[1, 1] == 77.0
    assert same(column(h, 0), [50.0, 51.0, 52.0, 53.0, 54.0])
    # A window older than the block is ignored, alone or in a batch with a newer one.
    speed, volume = h.speed.copy(), h.volume.copy()
    observe(h, [0], [-1], [1.0], [1.0])
    np.testing.assert_array_equal(h.speed, speed)
    np.testing.assert_array_equal(h.volume, volume)
    observe(h, [0, 1], [0, 5], [1.0, 65.0], [1.0, 25.0])  # step 0 falls out as 5 arrives
    assert same(column(h, 0), [51.0, 52.0, 53.0, 54.0, NAN])
    assert same(column(h, 1), [99.0, 62.0, 63.0, 64.0, 65.0])


def test_non_positive_readings_are_missing() -> None:
    h = RecentHistory(steps=3)
    observe(h, [0, 1, 2], [0, 0, 0], [0.0, -3.0, 40.0], [5.0, 0.0, NAN])
    assert same(column(h, 0), [NAN, NAN, NAN])
    assert same(column(h, 1), [NAN, NAN, NAN])
    assert h.speed[2, 2] == 40.0
    assert h.volume[2, 0] == 5.0
    assert np.isnan(h.volume[2, 1:]).all()
    # A correction to a non-positive value blanks the earlier reading.
    observe(h, [2], [0], [0.0], [3.0])
    assert np.isnan(h.speed[2, 2])
    assert h.volume[2, 2] == 3.0


def test_new_segments_grow_the_columns() -> None:
    h = RecentHistory(steps=4)
    observe(h, [0], [0], [50.0], [10.0])
    observe(h, [0], [1], [51.0], [11.0])
    assert h.size == 1
    observe(h, [3], [2], [30.0], [3.0])
    assert h.size == 4
    assert h.speed.shape == h.volume.shape == (4, 4)
    assert same(column(h, 0), [NAN, 50.0, 51.0, NAN])
    for seg in (1, 2):
        assert np.isnan(h.speed[:, seg]).all()
        assert np.isnan(h.volume[:, seg]).all()
    assert same(column(h, 3), [NAN, NAN, NAN, 30.0])
    # A late window for a new segment grows it too, and lands in its row.
    observe(h, [5], [1], [44.0], [4.0])
    assert h.size == 6
    assert same(column(h, 5), [NAN, NAN, 44.0, NAN])
    assert h.last_start_ms == T0 + 2 * STEP
