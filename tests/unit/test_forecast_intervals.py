"""Forecast intervals (forecast/intervals.py) and error measures (forecast/metrics.py)."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from trafficcast.forecast import metrics
from trafficcast.forecast.intervals import IntervalCalibration, confidence, local_scale

NAN = math.nan
Z90 = 1.2815516  # standard normal 90th percentile
FLOOR = 2.25  # median of uniform(0.5, 4.0)


def arr(*values: float) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def draws(
    rng: np.random.Generator, rows: int, skewed: bool = False
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(actual, predicted, std) for rows x 5 segments x 3 horizons.

    The error is local_scale(std, FLOOR) * (horizon + 1) * noise: standard normal noise,
    or 1 - Exp(1) (falls far, recovers little) when `skewed`.
    """
    std = rng.uniform(0.5, 4.0, (rows, 5))
    predicted = rng.uniform(20, 70, (rows, 5, 3))
    if skewed:
        noise = 1.0 - rng.exponential(1.0, (rows, 5, 3))
    else:
        noise = rng.standard_normal((rows, 5, 3))
    scale = np.sqrt(std**2 + FLOOR**2)[..., None] * np.arange(1, 4)
    return predicted + scale * noise, predicted, std


def inside(
    actual: npt.NDArray[np.float64], lo: npt.NDArray[np.float64], hi: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Share of actuals inside the band, per horizon."""
    share: npt.NDArray[np.float64] = ((actual >= lo) & (actual <= hi)).mean(axis=(0, 1))
    return share


def test_local_scale() -> None:
    np.testing.assert_allclose(local_scale(arr(3.0, 0.0, NAN), 4.0), [5.0, 4.0, math.sqrt(32)])


def test_calibration_covers_80_percent_of_fresh_draws() -> None:
    rng = np.random.default_rng(7)
    cal = IntervalCalibration.fit(*draws(rng, 4000))
    assert cal.floor == pytest.approx(FLOOR, abs=0.05)
    # Scaled residuals are standard normal times the horizon factor.
    np.testing.assert_allclose(cal.lower, -Z90 * np.arange(1, 4), rtol=0.05)
    np.testing.assert_allclose(cal.upper, Z90 * np.arange(1, 4), rtol=0.05)

    actual, predicted, std = draws(rng, 4000)
    lo, hi = cal.apply(predicted, std)
    assert lo.shape == hi.shape == predicted.shape
    share = inside(actual, lo, hi)
    assert ((share > 0.78) & (share < 0.82)).all(), share
    # Scaled by the local spread, the band also covers calm and unsettled rows alike.
    calm = std < 1.0
    rough = std > 3.5
    for rows in (calm, rough):
        share_rows = ((actual >= lo) & (actual <= hi))[rows].mean()
        assert 0.77 < share_rows < 0.83, share_rows
    # ...and is wider where the recent spread is larger.
    width = (hi - lo)[..., 0]
    assert width[rough].mean() > width[calm].mean() * 1.3


def test_asymmetric_residuals_give_asymmetric_bands() -> None:
    rng = np.random.default_rng(8)
    cal = IntervalCalibration.fit(*draws(rng, 4000, skewed=True))
    # Quantiles of 1 - Exp(1): q10 = 1 - ln 10, q90 = 1 - ln(10 / 9).
    np.testing.assert_allclose(cal.lower, (1 - math.log(10)) * np.arange(1, 4), rtol=0.05)
    np.testing.assert_allclose(cal.upper, (1 - math.log(10 / 9)) * np.arange(1, 4), rtol=0.05)
    actual, predicted, std = draws(rng, 4000, skewed=True)
    lo, hi = cal.apply(predicted, std)
    assert ((predicted - lo) > 1.2 * (hi - predicted)).all()
    share = inside(actual, lo, hi)
    assert ((share > 0.78) & (share < 0.82)).all(), share


def test_calibration_skips_missing_values_and_empty_horizons() -> None:
    actual = np.array([[[1.0, NAN]], [[3.0, NAN]], [[NAN, NAN]]])  # (3 rows, 1 seg, 2 horizons)
    predicted = np.zeros_like(actual)
    std = np.array([[0.0], [0.0], [0.0]])
    cal = IntervalCalibration.fit(actual, predicted, std)
    assert cal.floor == pytest.approx(1e-3)  # median spread 0, floored
    # Residuals 1 and 3 scaled by 1e-3: quantiles interpolate between 1000 and 3000.
    np.testing.assert_allclose(cal.lower, [1200.0, 0.0])
    np.testing.assert_allclose(cal.upper, [2800.0, 0.0])


def test_apply_uses_the_floor_and_clips_at_zero() -> None:
    cal = IntervalCalibration(floor=1.0, lower=arr(-2.0), upper=arr(3.0))
    predicted = np.array([[0.5], [10.0], [10.0]])
    lo, hi = cal.apply(predicted, arr(0.0, 3.0, NAN))
    # Scales 1, sqrt(10) and (NaN spread -> the floor) sqrt(2).
    np.testing.assert_allclose(lo[:, 0], [0.0, 10 - 2 * math.sqrt(10), 10 - 2 * math.sqrt(2)])
    np.testing.assert_allclose(hi[:, 0], [3.5, 10 + 3 * math.sqrt(10), 10 + 3 * math.sqrt(2)])
    # A band entirely below zero collapses onto zero.
    below = IntervalCalibration(floor=1.0, lower=arr(-5.0), upper=arr(-2.0))
    lo, hi = below.apply(np.array([[1.0]]), arr(0.0))
    assert lo[0, 0] == 0.0
    assert hi[0, 0] == 0.0


def test_calibration_json_round_trip() -> None:
    cal = IntervalCalibration(floor=1.5, lower=arr(-1.0, -2.0), upper=arr(0.5, 1.0))
    back = IntervalCalibration.from_json(cal.to_json())
    assert back.floor == 1.5
    np.testing.assert_array_equal(back.lower, cal.lower)
    np.testing.assert_array_equal(back.upper, cal.upper)


def test_confidence() -> None:
    np.testing.assert_allclose(confidence(arr(60.0), arr(57.0), arr(63.0)), [1 / 1.1])
    np.testing.assert_allclose(confidence(arr(20.0), arr(10.0), arr(30.0)), [0.5])
    # Forecasts under 1 count as 1: a 2-wide band around 0.5 gives 1 / 3.
    np.testing.assert_allclose(confidence(arr(0.5), arr(0.0), arr(2.0)), [1 / 3])
    assert confidence(arr(50.0), arr(50.0), arr(50.0)).tolist() == [1.0]
    # Unknown forecast or band: no confidence.
    out = confidence(arr(NAN, 50.0, 50.0), arr(1.0, NAN, 40.0), arr(2.0, 60.0, NAN))
    assert out.tolist() == [0.0, 0.0, 0.0]
    # In [0, 1] and decreasing in the band width.
    widths = np.linspace(0, 200, 41)
    c = confidence(np.full(41, 40.0), 40.0 - widths / 2, 40.0 + widths / 2)
    assert ((c >= 0) & (c <= 1)).all()
    assert (np.diff(c) < 0).all()


# --- metrics ----------------------------------------------------------------------------------

ACTUAL = arr(10.0, NAN, 20.0, 0.0, 40.0)
PREDICTED = arr(12.0, 5.0, 15.0, 3.0, NAN)  # scored pairs: (10, 12), (20, 15), (0, 3)


def test_mae_rmse_skip_missing_pairs() -> None:
    assert metrics.mae(ACTUAL, PREDICTED) == pytest.approx((2 + 5 + 3) / 3)
    assert metrics.rmse(ACTUAL, PREDICTED) == pytest.approx(math.sqrt((4 + 25 + 9) / 3))


def test_mape_skips_zero_actuals() -> None:
    assert metrics.mape(ACTUAL, PREDICTED) == pytest.approx((2 / 10 + 5 / 20) / 2 * 100)
    assert math.isnan(metrics.mape(arr(0.0, 0.0), arr(1.0, 2.0)))


def test_accuracy() -> None:
    expected = 1 - math.sqrt(4 + 25 + 9) / math.sqrt(100 + 400 + 0)
    assert metrics.accuracy(ACTUAL, PREDICTED) == pytest.approx(expected)
    assert metrics.accuracy(arr(3.0, 4.0), arr(3.0, 4.0)) == 1.0


def test_metrics_work_on_matrices() -> None:
    actual = np.array([[1.0, NAN], [3.0, 5.0]])
    predicted = np.array([[2.0, 9.0], [3.0, 1.0]])
    assert metrics.mae(actual, predicted) == pytest.approx((1 + 0 + 4) / 3)


def test_metrics_with_nothing_to_score_are_nan() -> None:
    nothing = arr(NAN, NAN)
    for measure in (metrics.mae, metrics.rmse, metrics.mape, metrics.accuracy):
        assert math.isnan(measure(nothing, arr(1.0, 2.0))), measure
        assert math.isnan(measure(arr(1.0, 2.0), nothing)), measure
        assert math.isnan(measure(arr(), arr())), measure


def test_coverage() -> None:
    actual = arr(10.0, NAN, 20.0, 5.0, 7.0)
    lower = arr(9.0, 0.0, 21.0, NAN, 7.0)
    upper = arr(11.0, 1.0, 25.0, 6.0, 8.0)
    # Scored: 10 in [9, 11], 20 not in [21, 25], 7 on the edge of [7, 8].
    assert metrics.coverage(actual, lower, upper) == pytest.approx(2 / 3)
    assert math.isnan(metrics.coverage(arr(NAN), arr(1.0), arr(2.0)))


# --- bands that follow their live misses ---------------------------------------------------------


def test_adapt_widens_the_side_that_misses_too_often_and_narrows_the_other() -> None:
    cal = IntervalCalibration(1.0, arr(-1.0, -1.0), arr(1.0, 1.0))
    actual = np.arange(100.0)
    # Horizon 0: 30 % below the band, none above. Steps are rate x calibrated width (2).
    cal.adapt(0, actual, np.full(100, 30.0), np.full(100, 1000.0), rate=1.0)
    assert cal.lower[0] == pytest.approx(-1.0 - 2 * (0.30 - 0.10))
    assert cal.upper[0] == pytest.approx(1.0 + 2 * (0.0 - 0.10))
    # The same misses seen with a delay of 4 closes move a quarter as far; and the step
    # stays sized by the calibrated width, not the width the band has drifted to.
    cal.adapt(0, actual, np.full(100, 30.0), np.full(100, 1000.0), delay=4, rate=1.0)
    assert cal.lower[0] == pytest.approx(-1.0 - 2 * 0.20 - 2 * 0.20 / 4)
    # Horizon 1 untouched; a band missing exactly 10 % on each side does not move.
    assert (cal.lower[1], cal.upper[1]) == (-1.0, 1.0)
    cal.adapt(1, actual, np.full(100, 10.0), np.full(100, 89.5), rate=1.0)
    assert (cal.lower[1], cal.upper[1]) == pytest.approx((-1.0, 1.0))


def test_adapt_ignores_missing_actuals_and_bands() -> None:
    cal = IntervalCalibration(1.0, arr(-1.0), arr(1.0))
    cal.adapt(0, arr(NAN, 5.0, 5.0), arr(0.0, NAN, 0.0), arr(1.0, 1.0, NAN))
    assert (cal.lower[0], cal.upper[0]) == (-1.0, 1.0)  # no pair had all three
    copy = cal.copy()
    cal.adapt(0, arr(5.0), arr(0.0), arr(1.0))  # above
    assert copy.upper[0] == 1.0 < cal.upper[0]  # the copy is independent


def test_adapted_bands_reach_nominal_coverage_after_a_shift() -> None:
    # Calibrated on errors of scale 1, then the errors double: fixed bands cover far less than
    # 80 %; adapted ones get back to it.
    rng = np.random.default_rng(3)
    val = rng.normal(0.0, 1.0, (2000, 1, 1))
    cal = IntervalCalibration.fit(val, np.zeros_like(val), np.ones((2000, 1)), feature="std")
    fixed = cal.copy()
    hits_fixed: list[float] = []
    hits_adapted: list[float] = []
    for _ in range(400):
        actual = rng.normal(50.0, 2.0, 50)  # a speed around 50: bands are clipped at 0
        pred = np.full((50, 1), 50.0)
        signal = np.ones(50)
        lo, hi = cal.apply(pred, signal)
        flo, fhi = fixed.apply(pred, signal)
        hits_adapted.append(float(((actual >= lo[:, 0]) & (actual <= hi[:, 0])).mean()))
        hits_fixed.append(float(((actual >= flo[:, 0]) & (actual <= fhi[:, 0])).mean()))
        cal.adapt(0, actual, lo[:, 0], hi[:, 0])
    assert np.mean(hits_fixed[200:]) < 0.55
    assert np.mean(hits_adapted[200:]) == pytest.approx(0.80, abs=0.03)
