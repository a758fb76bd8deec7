"""Evaluation details that decide whether a reported figure is honest."""

from __future__ import annotations

import numpy as np

from trafficcast.domain.time_of_day import SLOTS_PER_DAY
from trafficcast.forecast.features import FeatureContext
from trafficcast.forecast.intervals import IntervalCalibration, online_bands
from trafficcast.forecast.panel import Graph
from trafficcast.forecast.profiles import Profiles


def _context(values: np.ndarray) -> FeatureContext:
    t = len(values) + 20
    slot = np.arange(t) % SLOTS_PER_DAY
    day = np.zeros(t, dtype=np.int64)
    profiles = Profiles.fit(values, slot[: len(values)], day[: len(values)])
    return FeatureContext(values, slot, day, profiles, Graph.empty(values.shape[1]))


def test_online_bands_use_only_actuals_that_have_arrived() -> None:
    rng = np.random.default_rng(0)
    values = (50 + rng.normal(0, 5, (200, 3))).astype(np.float32)
    steps = (1, 3)
    test_t = np.arange(100, 180, dtype=np.int64)
    pred = (50 + rng.normal(0, 1, (len(test_t), 3, 2))).astype(np.float32)
    cal = IntervalCalibration(1.0, np.array([-1.0, -1.5]), np.array([1.0, 1.5]))
    lo, hi = online_bands(_context(values), cal, test_t, pred, steps)
    # The bands adapted along the way, and the caller's calibration was not touched.
    assert not np.allclose(lo[-1], lo[0])
    assert cal.lower.tolist() == [-1.0, -1.5]

    # Change every reading after row 140: the bands issued up to row 140 must not move.
    # (Features are not recomputed here: the band scale's input is taken per issue row.)
    changed = values.copy()
    changed[141:] = 0.5 * changed[141:]
    lo2, hi2 = online_bands(_context(changed), cal, test_t, pred, steps)
    upto = int(np.searchsorted(test_t, 140)) + 1
    np.testing.assert_array_equal(lo2[:upto], lo[:upto])
    np.testing.assert_array_equal(hi2[:upto], hi[:upto])
    assert not np.array_equal(lo2[upto + 5 :], lo[upto + 5 :])
