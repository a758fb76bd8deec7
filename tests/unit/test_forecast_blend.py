"""The blend forecaster, live scoring, time-of-day slots and level of service."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from trafficcast.domain.level_of_service import (
    DEFAULT_FREE_FLOW_MPH,
    level_of_service,
)
from trafficcast.domain.time_of_day import SLOTS_PER_DAY, WEEKDAY, WEEKEND, slots
from trafficcast.forecast.blend import Z80, BlendForecaster
from trafficcast.forecast.forecasts import Forecasts
from trafficcast.forecast.live_scoring import LiveScorer

MIN = 60_000
T0 = 1_705_305_600_000  # 2024-01-15T08:00Z = Monday 00:00 in Los Angeles
HORIZONS = (15, 30, 45, 60)
NOW_SLOT = 100


def arr(*values: float) -> npt.NDArray[np.float64]:
    return np.array(values, dtype=np.float64)


def ints(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


def observe(
    f: BlendForecaster,
    seg: int,
    end_ms: int,
    slot: int,
    speed: float,
    volume: float = math.nan,
    day: int = WEEKDAY,
) -> None:
    f.observe(ints(seg), ints(end_ms), ints(slot), ints(day), arr(speed), arr(volume))


def forecast(f: BlendForecaster, segs: list[int], issued_ms: int = T0) -> Forecasts:
    """Forecast from the window starting at NOW_SLOT; targets are h/5 slots later."""
    n = len(segs)
    h = f.horizons_min
    now_slot = np.full(n, NOW_SLOT, dtype=np.int64)
    now_day = np.full(n, WEEKDAY, dtype=np.int64)
    t_slot = np.broadcast_to(NOW_SLOT + h // 5, (n, len(h))).copy()
    t_day = np.full((n, len(h)), WEEKDAY, dtype=np.int64)
    return f.forecast(np.array(segs, dtype=np.int64), issued_ms, now_slot, now_day, t_slot, t_day)


def learned(last: float = 40.0) -> BlendForecaster:
    """Segment 0: usually 60 mph now and 30 mph in the next hour; today it is `last`."""
    f = BlendForecaster(HORIZONS, tau_min=25.0)
    day_before = T0 - 24 * 60 * MIN
    observe(f, 0, day_before, NOW_SLOT, 60.0, volume=100.0)
    for h in HORIZONS:
        observe(f, 0, day_before + h * MIN, NOW_SLOT + h // 5, 30.0, volume=20.0)
    observe(f, 0, T0, NOW_SLOT, last, volume=80.0)
    return f


# --- BlendForecaster ---


def test_without_profile_forecast_is_last_value() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 47.5, volume=12.0)
    observe(f, 1, T0, NOW_SLOT, 20.0)
    out = forecast(f, [0, 1])
    assert out.speed.shape == (2, 4)
    np.testing.assert_allclose(out.speed[0], 47.5)
    np.testing.assert_allclose(out.speed[1], 20.0)
    np.testing.assert_allclose(out.volume[0], 12.0)
    assert out.horizons_min.tolist() == list(HORIZONS)
    assert out.target_ms.tolist() == [[T0 + h * MIN for h in HORIZONS]] * 2
    assert out.issued_ms == T0
    assert out.model_version == "blend-v1"


def test_with_profile_forecast_moves_toward_target_profile() -> None:
    f = learned(last=40.0)
    out = forecast(f, [0])
    # Profile now: running mean of 60 and 40 = 50; profile at each target: 30.
    expected = [30.0 + (40.0 - 50.0) * math.exp(-h / 25.0) for h in HORIZONS]
    np.testing.assert_allclose(out.speed[0], expected, rtol=1e-6)
    distance = np.abs(out.speed[0] - 30.0)
    assert np.all(np.diff(distance) < 0)  # closer to the usual value as h grows
    assert abs(out.speed[0, -1] - 30.0) < abs(40.0 - 30.0)


def test_forecast_never_negative() -> None:
    f = learned(last=0.5)  # far below the usual: the departure would push it below 0
    f.speed_profile.mean[0, WEEKDAY, NOW_SLOT] = 90.0
    out = forecast(f, [0])
    assert (out.speed >= 0).all()
    assert (out.speed_lower >= 0).all()


def test_profile_is_a_running_mean_then_ewma() -> None:
    f = BlendForecaster(HORIZONS)
    for i, v in enumerate([10.0, 20.0, 30.0, 40.0, 50.0]):
        observe(f, 0, T0 + i * 24 * 60 * MIN, NOW_SLOT, v)
    mean, n = f.speed_profile.at(ints(0), ints(WEEKDAY), ints(NOW_SLOT))
    assert n[0] == 5
    assert mean[0] == pytest.approx(30.0, rel=1e-5)
    observe(f, 0, T0 + 5 * 24 * 60 * MIN, NOW_SLOT, 130.0)  # alpha floor 0.2 from now on
    mean, _ = f.speed_profile.at(ints(0), ints(WEEKDAY), ints(NOW_SLOT))
    assert mean[0] == pytest.approx(30.0 + 0.2 * 100.0, rel=1e-5)
    # Weekend profile untouched.
    _, n_weekend = f.speed_profile.at(ints(0), ints(WEEKEND), ints(NOW_SLOT))
    assert n_weekend[0] == 0


def test_bands_contain_forecast_and_widen_with_horizon() -> None:
    for f in (learned(), BlendForecaster(HORIZONS)):
        if f.size == 0:
            observe(f, 0, T0, NOW_SLOT, 55.0, volume=40.0)
        out = forecast(f, [0])
        assert (out.speed_lower <= out.speed).all()
        assert (out.speed <= out.speed_upper).all()
        assert (out.speed_lower < out.speed_upper).all()
        width = out.speed_upper - out.speed_lower
        assert np.all(np.diff(width[0]) > 0)
        assert (out.volume_lower <= out.volume).all()
        assert (out.volume <= out.volume_upper).all()
        vwidth = (out.volume_upper - out.volume_lower) / out.volume
        assert np.all(np.diff(vwidth[0]) > 0)


def test_band_half_width_matches_prior_error() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 60.0)
    out = forecast(f, [0])
    expected_half = Z80 * (2.0 + 0.05 * np.array(HORIZONS)) / 0.7979
    np.testing.assert_allclose(out.speed_upper[0] - out.speed[0], expected_half)


def test_confidence_in_unit_interval() -> None:
    f = learned()
    observe(f, 1, T0, NOW_SLOT, 3.0)  # slow, no history: wide relative band
    observe(f, 2, T0, NOW_SLOT, 70.0)
    out = forecast(f, [0, 1, 2, 3])  # segment 3 never observed
    assert ((out.confidence >= 0) & (out.confidence <= 1)).all()
    assert np.isnan(out.speed[3]).all()
    assert (out.confidence[3] == 0).all()
    # More profile history and a narrower relative band give more confidence.
    assert (out.confidence[0] > out.confidence[1]).all()
    assert (out.confidence[2] > out.confidence[1]).all()


def test_volume_nan_stays_nan_without_volume() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0)  # no volume
    out = forecast(f, [0])
    assert np.isnan(out.volume).all()
    assert np.isnan(out.volume_lower).all()
    assert np.isnan(out.volume_upper).all()
    assert np.isfinite(out.speed).all()


def test_late_reemission_does_not_replace_last_value() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0 + 10 * MIN, NOW_SLOT + 1, 50.0, volume=10.0)
    observe(f, 0, T0 + 5 * MIN, NOW_SLOT, 20.0, volume=99.0)  # older window, arriving late
    assert f.last_speed[0] == 50.0
    assert f.last_volume[0] == 10.0
    assert f.last_end_ms[0] == T0 + 10 * MIN
    # A forecast from slots without profile history is the newest value.
    out = f.forecast(
        ints(0), T0, ints(200), ints(WEEKEND), np.full((1, 4), 210), np.ones((1, 4), np.int64)
    )
    np.testing.assert_allclose(out.speed[0], 50.0)
    # An equal or newer window does replace it.
    observe(f, 0, T0 + 10 * MIN, NOW_SLOT + 1, 45.0)
    assert f.last_speed[0] == 45.0


def test_observe_empty_and_grow() -> None:
    f = BlendForecaster(HORIZONS)
    f.observe(ints(), ints(), ints(), ints(), arr(), arr())
    assert f.size == 0
    observe(f, 5, T0, NOW_SLOT, 30.0)
    assert f.size == 6
    assert np.isnan(f.last_speed[:5]).all()


def test_custom_horizons_interpolate_error() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0)
    h = ints(5, 15, 20, 60)
    out = f.forecast(
        ints(0),
        T0,
        ints(NOW_SLOT),
        ints(WEEKDAY),
        (NOW_SLOT + h // 5)[None, :],
        np.zeros((1, 4), np.int64),
        horizons_min=h,
    )
    assert out.horizons_min.tolist() == [5, 15, 20, 60]
    assert out.target_ms.tolist() == [[T0 + m * MIN for m in (5, 15, 20, 60)]]
    half = out.speed_upper[0] - out.speed[0]
    prior = 2.0 + 0.05 * np.array([15.0, 15.0, 20.0, 60.0])  # clamped below 15, linear between
    np.testing.assert_allclose(half, Z80 * prior / 0.7979)


def test_calibrate_changes_band_width() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0, volume=100.0)
    before = forecast(f, [0])
    f.calibrate(arr(10.0, math.nan, 1.0, math.nan), arr(0.5, math.nan, math.nan, math.nan))
    after = forecast(f, [0])
    width_before = before.speed_upper - before.speed_lower
    width_after = after.speed_upper - after.speed_lower
    assert width_after[0, 0] > width_before[0, 0]  # calibrated wider
    assert width_after[0, 1] == pytest.approx(width_before[0, 1])  # NaN keeps the prior
    assert width_after[0, 2] < width_before[0, 2]  # calibrated narrower
    assert width_after[0, 0] == pytest.approx(2 * Z80 * 10.0 / 0.7979)
    vwidth_before = before.volume_upper - before.volume_lower
    vwidth_after = after.volume_upper - after.volume_lower
    assert vwidth_after[0, 0] > vwidth_before[0, 0]
    assert vwidth_after[0, 3] == pytest.approx(vwidth_before[0, 3])
    np.testing.assert_array_equal(after.speed, before.speed)  # only the band moves


# --- LiveScorer ---


def test_live_scorer_scores_when_target_window_arrives() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0, volume=100.0)
    observe(f, 1, T0, NOW_SLOT, 30.0, volume=10.0)
    scorer = LiveScorer(f.horizons_min)
    forecasts = forecast(f, [0, 1])
    scorer.record(forecasts)
    assert np.isnan(scorer.speed_mae).all()

    # A window that is no forecast's target scores nothing.
    assert scorer.observe(ints(0, 1), ints(T0 + 5 * MIN, T0 + 5 * MIN), arr(1, 1), arr(1, 1)) == 0

    # The 15-minute target closes: 45 vs 50 and 36 vs 30 -> MAE (5 + 6) / 2.
    target = T0 + 15 * MIN
    n = scorer.observe(ints(0, 1), ints(target, target), arr(45.0, 36.0), arr(80.0, 12.0))
    assert n == 2
    assert scorer.speed_mae[0] == pytest.approx(5.5)
    assert np.isnan(scorer.speed_mae[1:]).all()
    assert scorer.scored.tolist() == [2, 0, 0, 0]
    # Volume error relative to the actual: (20/80 + 2/12) / 2.
    assert scorer.volume_rel_mae[0] == pytest.approx((20 / 80 + 2 / 12) / 2)

    # Each forecast is scored once.
    assert scorer.observe(ints(0, 1), ints(target, target), arr(0.0, 0.0), arr(0, 0)) == 0
    assert scorer.speed_mae[0] == pytest.approx(5.5)

    # The 30-minute target, for segment 0 only; later scores blend in with weight 0.05.
    scorer.record(forecast(f, [0], issued_ms=T0 + 15 * MIN))  # its 15-min target: T0+30min
    t30 = T0 + 30 * MIN
    assert scorer.observe(ints(0), ints(t30), arr(54.0), arr(math.nan)) == 2
    assert scorer.speed_mae[1] == pytest.approx(4.0)  # first score for 30 min
    assert scorer.speed_mae[0] == pytest.approx(0.95 * 5.5 + 0.05 * 4.0)
    assert scorer.scored.tolist() == [3, 1, 0, 0]


def test_live_scorer_mae_matches_hand_computation_many_segments() -> None:
    rng = np.random.default_rng(3)
    f = BlendForecaster(HORIZONS)
    n = 50
    last = rng.uniform(20, 70, n)
    f.observe(
        np.arange(n),
        np.full(n, T0),
        np.full(n, NOW_SLOT),
        np.zeros(n, np.int64),
        last,
        np.full(n, math.nan),
    )
    scorer = LiveScorer(f.horizons_min)
    out = forecast(f, list(range(n)))
    scorer.record(out)
    actual = rng.uniform(20, 70, n)
    seen = rng.permutation(n)[:30]  # only some segments report the target window
    target = T0 + 60 * MIN
    scored = scorer.observe(seen, np.full(30, target), actual[seen], np.full(30, math.nan))
    assert scored == 30
    expected = np.abs(out.speed[seen, 3] - actual[seen]).mean()
    assert scorer.speed_mae[3] == pytest.approx(expected)
    assert np.isnan(scorer.volume_rel_mae).all()  # no volume: nothing to score


def test_live_scorer_feeds_calibration() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0)
    scorer = LiveScorer(f.horizons_min)
    scorer.record(forecast(f, [0]))
    scorer.observe(ints(0), ints(T0 + 15 * MIN), arr(20.0), arr(math.nan))
    before = forecast(f, [0])
    f.calibrate(scorer.speed_mae, scorer.volume_rel_mae)
    after = forecast(f, [0])
    assert (after.speed_upper - after.speed)[0, 0] == pytest.approx(Z80 * 30.0 / 0.7979)
    assert (after.speed_upper - after.speed)[0, 1] == pytest.approx(
        (before.speed_upper - before.speed)[0, 1]
    )


def test_live_scorer_expire() -> None:
    f = BlendForecaster(HORIZONS)
    observe(f, 0, T0, NOW_SLOT, 50.0)
    scorer = LiveScorer(f.horizons_min)
    scorer.record(forecast(f, [0]))
    scorer.expire(T0 + 31 * MIN)  # forgets the 15- and 30-minute targets
    assert scorer.observe(ints(0), ints(T0 + 15 * MIN), arr(1.0), arr(1.0)) == 0
    assert scorer.observe(ints(0), ints(T0 + 45 * MIN), arr(1.0), arr(1.0)) == 1


# --- time-of-day slots ---


def test_slots_use_local_time_and_weekends() -> None:
    ts = ints(
        T0,  # Monday 00:00 PST
        T0 - 5 * MIN,  # Sunday 23:55 PST
        T0 + 8 * 60 * MIN + 7 * MIN,  # Monday 08:07 PST
        T0 + 5 * 24 * 60 * MIN + 17 * 60 * MIN,  # Saturday 17:00
    )
    slot, day = slots(ts, "America/Los_Angeles")
    assert slot.tolist() == [0, SLOTS_PER_DAY - 1, 8 * 12 + 1, 17 * 12]
    assert day.tolist() == [WEEKDAY, WEEKEND, WEEKDAY, WEEKEND]
    slot_utc, day_utc = slots(ts, "UTC")
    assert slot_utc.tolist() == [8 * 12, 7 * 12 + 11, 16 * 12 + 1, 1 * 12]
    assert day_utc.tolist() == [WEEKDAY, WEEKDAY, WEEKDAY, WEEKEND]  # Sat 17:00 PST = Sun 01:00Z


def test_slots_follow_daylight_saving_time() -> None:
    # 2024-03-11 08:00 local is 16:00Z in winter time but 15:00Z after the change.
    slot, day = slots(ints(1_710_169_200_000), "America/Los_Angeles")  # 2024-03-11T15:00Z
    assert slot.tolist() == [8 * 12]
    assert day.tolist() == [WEEKDAY]


def test_slots_keep_shape() -> None:
    ts = np.array([[T0, T0 + 5 * MIN, T0 + 10 * MIN], [T0, T0, T0]], dtype=np.int64)
    slot, day = slots(ts, "America/Los_Angeles")
    assert slot.shape == (2, 3)
    assert day.shape == (2, 3)
    assert slot[0].tolist() == [0, 1, 2]


# --- level of service ---


@pytest.mark.parametrize(
    ("speed", "grade"),
    [
        (100.0, "A"),
        (85.01, "A"),
        (85.0, "B"),
        (67.01, "B"),
        (67.0, "C"),
        (50.01, "C"),
        (50.0, "D"),
        (40.01, "D"),
        (40.0, "E"),
        (30.01, "E"),
        (30.0, "F"),
        (0.0, "F"),
    ],
)
def test_level_of_service_boundaries(speed: float, grade: str) -> None:
    assert level_of_service(arr(speed), arr(100.0)).tolist() == [grade]


def test_level_of_service_default_free_flow() -> None:
    ff = DEFAULT_FREE_FLOW_MPH
    grades = level_of_service(arr(0.86 * ff, 0.84 * ff, 0.86 * ff), arr(math.nan, 0.0, -5.0))
    assert grades.tolist() == ["A", "B", "A"]


def test_grades_across_the_range() -> None:
    grades = level_of_service(arr(90, 70, 55, 45, 35, 10), arr(100, 100, 100, 100, 100, 100))
    assert grades.tolist() == ["A", "B", "C", "D", "E", "F"]


def _scored_batch(scorer: LiveScorer, issued: int, error: float) -> None:
    """One close: a 15-minute forecast of 50 mph issued at `issued`, scored off by `error`."""
    h = scorer.horizons_min
    n = len(h)
    target = issued + h * MIN
    forecasts = Forecasts(
        segment=ints(0),
        issued_ms=issued,
        horizons_min=h,
        target_ms=target[None, :],
        speed=np.full((1, n), 50.0),
        speed_lower=np.full((1, n), 40.0),
        speed_upper=np.full((1, n), 60.0),
        volume=np.full((1, n), math.nan),
        volume_lower=np.full((1, n), math.nan),
        volume_upper=np.full((1, n), math.nan),
        confidence=np.full((1, n), 0.5),
        model_version="test",
    )
    scorer.record(forecasts)
    scorer.observe(ints(0), ints(int(target[0])), arr(50.0 + error), arr(math.nan))


def test_live_scorer_trend_shows_a_sustained_rise() -> None:
    scorer = LiveScorer(np.array([15], dtype=np.int64))
    issued = T0
    for _ in range(23):
        _scored_batch(scorer, issued, 2.0)
        issued += 5 * MIN
    assert scorer.trend() == {15: None}  # under two hours of scores: no trend yet
    for _ in range(40):
        _scored_batch(scorer, issued, 2.0)
        issued += 5 * MIN
    assert scorer.trend()[15] == pytest.approx(1.0)  # steady error: ratio 1
    for _ in range(30):  # error doubles and stays up
        _scored_batch(scorer, issued, 4.0)
        issued += 5 * MIN
    rising = scorer.trend()[15]
    assert rising is not None
    # The recent EWMA has nearly caught up with 4; the long-run mean is (63*2 + 30*4)/93.
    assert rising == pytest.approx(scorer.speed_mae[0] / ((63 * 2 + 30 * 4) / 93), rel=1e-3)
    assert rising > 1.3  # clearly above the steady 1.0
