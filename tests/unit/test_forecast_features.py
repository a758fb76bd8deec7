"""Forecast features, profiles and the gradient-boosted model (forecast/features.py,
forecast/profiles.py, forecast/models/gbm.py): exact values on a hand-built panel,
no look-ahead, determinism and save/load."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from trafficcast.domain.time_of_day import SLOTS_PER_DAY, WEEKDAY, WEEKEND
from trafficcast.forecast.features import (
    BASE_FEATURES,
    DAY_STEPS,
    HORIZON_FEATURES,
    INPUT_STEPS,
    WEEK_STEPS,
    FeatureContext,
)
from trafficcast.forecast.models.gbm import GbmParams, GradientBoosting
from trafficcast.forecast.panel import Graph
from trafficcast.forecast.profiles import Profiles

NAN = math.nan
A, B, C, D = 0, 1, 2, 3
T_NOW = 15  # the row the hand-built checks look at
SLOT0 = 100  # slot of row 0
WEEKEND_FROM = 17  # rows from here on are weekend rows
TINY = GbmParams(max_rounds=20, num_leaves=7, min_data_in_leaf=5, workers=1)


def f(name: str) -> int:
    return BASE_FEATURES.index(name)


def h(name: str) -> int:
    return HORIZON_FEATURES.index(name)


def ints(*values: int) -> npt.NDArray[np.int64]:
    return np.array(values, dtype=np.int64)


# --- the hand-built panel -------------------------------------------------------------------
#
# A -> B (weight 2), B -> C (weight 1), A -> C (weight 3); D has no links.
# A[i] = 30 + i, C[i] = 20 + 2 i (no gaps); B has gaps; D only reads in rows 0..3.

B_WINDOW = [50, 52, 48, 55, 60, NAN, 58, 45, NAN, 47, 49, NAN]  # rows 4..15


def hand_values() -> npt.NDArray[np.float32]:
    v = np.full((20, 4), np.nan, dtype=np.float32)
    v[:, A] = 30 + np.arange(20)
    v[:, C] = 20 + 2 * np.arange(20)
    v[:4, B] = 30.0  # older than an hour at row 15
    v[4:16, B] = B_WINDOW
    v[16:, B] = 99.0  # the future
    v[:4, D] = [25, 26, 27, 28]
    return v


def hand_profiles() -> Profiles:
    """A 40, B 40 + slot/10, C 60, D unknown; weekend = weekday + 100."""
    s = np.arange(SLOTS_PER_DAY, dtype=np.float32)
    mean = np.full((2, 4, SLOTS_PER_DAY), np.nan, dtype=np.float32)
    mean[WEEKDAY, A] = 40.0
    mean[WEEKDAY, B] = 40.0 + s / 10
    mean[WEEKDAY, C] = 60.0
    mean[WEEKEND] = mean[WEEKDAY] + 100
    return Profiles(mean, np.ones_like(mean))


def hand_context(values: npt.NDArray[np.float32] | None = None) -> FeatureContext:
    rows = np.arange(40, dtype=np.int64)
    slot = SLOT0 + rows
    day = np.where(rows >= WEEKEND_FROM, WEEKEND, WEEKDAY).astype(np.int64)
    graph = Graph(ints(A, B, A), ints(B, C, C), np.array([2.0, 1.0, 3.0]), 4)
    return FeatureContext(
        hand_values() if values is None else values, slot, day, hand_profiles(), graph
    )


def test_lags_base_and_window_statistics_of_a_segment_with_gaps() -> None:
    x, base = hand_context().base_features(ints(T_NOW))
    b = x[0, B]
    assert base[0, B] == 49.0  # row 15 is missing: the newest reading is row 14
    # lag k is row 15 - k relative to the base: rows 14, 13, 12 (gap), 11, ..., 4.
    expected_lags = [0, -2, NAN, -4, 9, NAN, 11, 6, -1, 3, 1]
    np.testing.assert_array_equal(b[: INPUT_STEPS - 1], np.array(expected_lags, np.float32))
    assert b[f("base")] == 49.0
    assert b[f("age")] == 1.0
    assert b[f("valid")] == 9.0
    assert b[f("mean3")] == pytest.approx((49 + 47) / 2 - 49)  # rows 15 (gap), 14, 13
    valid = [50, 52, 48, 55, 60, 58, 45, 47, 49]
    assert b[f("std")] == pytest.approx(statistics.pstdev(valid), rel=1e-5)
    assert b[f("min")] == 45 - 49
    assert b[f("max")] == 60 - 49
    assert b[f("slot")] == SLOT0 + T_NOW
    assert b[f("segment")] == B


def test_lags_of_a_segment_without_gaps() -> None:
    x, base = hand_context().base_features(ints(T_NOW))
    a = x[0, A]
    assert base[0, A] == 45.0
    np.testing.assert_array_equal(a[: INPUT_STEPS - 1], -np.arange(1, INPUT_STEPS))
    assert a[f("age")] == 0.0
    assert a[f("valid")] == 12.0
    assert a[f("mean3")] == pytest.approx(-1.0)  # (45 + 44 + 43) / 3 - 45
    assert a[f("std")] == pytest.approx(math.sqrt((12**2 - 1) / 12), rel=1e-5)
    assert a[f("min")] == -11.0
    assert a[f("max")] == 0.0


def test_neighbour_levels_are_weighted_means_skipping_gaps() -> None:
    ctx = hand_context()
    x, _ = ctx.base_features(ints(14, T_NOW))
    now, before = x[1], x[0]  # rows 15 and 14
    # B at 15: upstream A = 45, downstream C = 50, base 49.
    assert now[B, f("up_level")] == pytest.approx(45 - 49)
    assert now[B, f("up_change1")] == pytest.approx(45 - 44)
    assert now[B, f("up_change3")] == pytest.approx(45 - 42)
    assert now[B, f("down_level")] == pytest.approx(50 - 49)
    assert now[B, f("down_change1")] == pytest.approx(50 - 48)
    # Usual values now (slot 115, weekday): A 40, C 60.
    assert now[B, f("up_vs_usual")] == pytest.approx(45 - 40)
    assert now[B, f("down_vs_usual")] == pytest.approx(50 - 60)
    # C at 14: upstream B (1) = 49 and A (3) = 44; at 15 B is missing, so A alone.
    assert before[C, f("up_level")] == pytest.approx((1 * 49 + 3 * 44) / 4 - 48)
    assert now[C, f("up_level")] == pytest.approx(45 - 50)
    # A at 14: downstream B (2) = 49 and C (3) = 48; at 15 C alone.
    assert before[A, f("down_level")] == pytest.approx((2 * 49 + 3 * 48) / 5 - 44, rel=1e-5)
    assert now[A, f("down_level")] == pytest.approx(50 - 45)
    assert now[A, f("down_change1")] == pytest.approx(50 - (2 * 49 + 3 * 48) / 5, rel=1e-5)
    # No neighbour on that side: NaN.
    for seg, side in ((A, "up"), (C, "down"), (D, "up"), (D, "down")):
        for name in ("level", "change1", "change3", "vs_usual"):
            assert np.isnan(now[seg, f(f"{side}_{name}")]), (seg, side, name)


def test_profile_features_and_short_history() -> None:
    ctx = hand_context()
    t = ints(T_NOW)
    x, base = ctx.base_features(t)
    b = x[0, B]
    assert b[f("usual_now")] == pytest.approx(40 + 11.5 - 49)  # weekday slot 115
    assert b[f("typical")] == pytest.approx(40 + 14.35 - 49, rel=1e-5)  # mean of 40 + s/10
    assert x[0, A, f("typical")] == pytest.approx(40 - 45)
    assert np.isnan(x[0, D, f("usual_now")])  # no profile
    assert np.isnan(x[0, D, f("typical")])
    # Yesterday and last week are before the history: NaN.
    assert np.isnan(x[0, :, f("vs_yesterday")]).all()
    assert np.isnan(x[0, :, f("vs_last_week")]).all()

    # Horizon 3: row 18 is a weekend row at slot 118.
    hx = ctx.horizon_features(t, 3, base)
    assert hx[0, B, h("usual_then")] == pytest.approx(140 + 11.8 - 49, rel=1e-5)
    assert hx[0, C, h("usual_then")] == pytest.approx(160 - 50)
    assert np.isnan(hx[0, D, h("usual_then")])
    assert np.isnan(hx[0, :, h("yesterday_then")]).all()
    assert np.isnan(hx[0, :, h("last_week_then")]).all()
    # Horizon 1: row 16 is still a weekday row.
    h1 = ctx.horizon_features(t, 1, base)
    assert h1[0, A, h("usual_then")] == pytest.approx(40 - 45)

    # `usual` falls back to the segment's typical level, and stays NaN without a profile.
    usual = ctx.usual(ints(T_NOW, 18))
    assert usual[0, B] == pytest.approx(51.5)
    assert usual[1, B] == pytest.approx(151.8, rel=1e-6)
    assert np.isnan(usual[:, D]).all()


def test_departures_from_the_usual() -> None:
    x, _ = hand_context().base_features(ints(T_NOW, 18))
    now, later = x[0], x[1]
    # dev_mean: the mean of reading - usual over the window's rows, each at its own slot.
    assert now[A, f("dev_mean")] == pytest.approx(np.mean(np.arange(34, 46)) - 40)
    # B read in rows 4-8, 10, 11, 13, 14, where its usual value is 50 + row / 10.
    b_dev = [-0.4, 1.5, -2.6, 4.3, 9.2, 7.0, -6.1, -4.3, -2.4]
    assert now[B, f("dev_mean")] == pytest.approx(sum(b_dev) / 9, rel=1e-5)
    assert now[C, f("dev_mean")] == pytest.approx(np.mean(20 + 2 * np.arange(4, 16)) - 60)
    assert np.isnan(now[D, f("dev_mean")])  # no profile
    # At 18 the window holds two weekend rows (17, 18), whose usual value is 100 higher.
    a_dev = (np.sum(30 + np.arange(7, 19)) - (10 * 40 + 2 * 140)) / 12
    assert later[A, f("dev_mean")] == pytest.approx(a_dev, rel=1e-5)


def test_an_unseen_segment_leaves_the_features_of_known_segments_alone() -> None:
    known = hand_context()
    values = np.concatenate([hand_values(), (10 + 3 * np.arange(20.0))[:, None]], axis=1)
    graph = Graph(ints(A, B, A), ints(B, C, C), np.array([2.0, 1.0, 3.0]), 5)
    codes = np.array([0, 1, 2, 3, np.nan], dtype=np.float32)
    wider = FeatureContext(
        values.astype(np.float32),
        known.slot,
        known.day,
        known.profiles.take(ints(0, 1, 2, 3, -1)),
        graph,
        codes,
    )
    t = ints(14, T_NOW)
    x4, _ = known.base_features(t)
    x5, _ = wider.base_features(t)
    changed = [
        name
        for i, name in enumerate(BASE_FEATURES)
        if not np.array_equal(x4[..., i], x5[:, :4, i], equal_nan=True)
    ]
    assert changed == []


def test_segment_without_a_reading_in_the_last_hour_has_no_base() -> None:
    x, base = hand_context().base_features(ints(14, T_NOW))
    # At 15 the window is rows 4..15 and D last read in row 3.
    assert np.isnan(base[1, D])
    d = x[1, D]
    assert np.isnan(d[: INPUT_STEPS - 1]).all()
    assert d[f("age")] == INPUT_STEPS
    assert d[f("valid")] == 0
    for name in ("base", "mean3", "std", "min", "max", "usual_now"):
        assert np.isnan(d[f(name)]), name
    # At 14 row 3 is the oldest row of the window: base 28, eleven steps old.
    assert base[0, D] == 28.0
    d = x[0, D]
    assert d[f("age")] == INPUT_STEPS - 1
    assert d[f("valid")] == 1
    assert d[f("lag11")] == 0.0
    assert np.isnan(d[f("lag10")])
    assert np.isnan(d[f("mean3")])
    assert d[f("std")] == 0.0


def test_first_rows_see_nothing_before_the_start() -> None:
    x, base = hand_context().base_features(ints(0, 2))
    assert base[0, A] == 30.0
    assert x[0, A, f("valid")] == 1
    assert np.isnan(x[0, A, : INPUT_STEPS - 1]).all()
    assert x[1, A, f("valid")] == 3
    assert x[1, A, f("lag2")] == -2.0
    assert np.isnan(x[1, A, f("lag3")])


def test_yesterday_and_last_week_read_the_right_rows() -> None:
    rng = np.random.default_rng(5)
    steps = WEEK_STEPS + 100
    values = rng.uniform(10, 70, (steps, 2)).astype(np.float32)
    slot = np.arange(steps + 20, dtype=np.int64) % SLOTS_PER_DAY
    day = np.zeros(steps + 20, dtype=np.int64)
    profiles = Profiles.fit(values[:1000], slot[:1000], day[:1000])
    ctx = FeatureContext(values, slot, day, profiles, Graph.empty(2))
    t = WEEK_STEPS + 50
    x, base = ctx.base_features(ints(t))
    np.testing.assert_array_equal(base[0], values[t])
    np.testing.assert_array_equal(x[0, :, f("vs_yesterday")], values[t] - values[t - DAY_STEPS])
    np.testing.assert_array_equal(x[0, :, f("vs_last_week")], values[t] - values[t - WEEK_STEPS])
    hx = ctx.horizon_features(ints(t), 4, base)
    target = t + 4
    np.testing.assert_array_equal(
        hx[0, :, h("yesterday_then")], values[target - DAY_STEPS] - values[t]
    )
    np.testing.assert_array_equal(
        hx[0, :, h("last_week_then")], values[target - WEEK_STEPS] - values[t]
    )


# --- no look-ahead ----------------------------------------------------------------------------


def random_values(
    rng: np.random.Generator, steps: int, n: int, gaps: float = 0.1
) -> npt.NDArray[np.float32]:
    v = rng.uniform(5, 70, (steps, n)).astype(np.float32)
    v[rng.random((steps, n)) < gaps] = np.nan
    return v


def random_graph(rng: np.random.Generator, n: int, links: int) -> Graph:
    src = rng.integers(0, n, links)
    dst = (src + rng.integers(1, n, links)) % n  # never a self-loop
    return Graph(src.astype(np.int64), dst.astype(np.int64), rng.uniform(0.5, 3, links), n)


def scramble_future(
    rng: np.random.Generator, values: npt.NDArray[np.float32], after: int
) -> npt.NDArray[np.float32]:
    """A copy whose rows after `after` are new random values, shuffled."""
    out = values.copy()
    future = random_values(rng, len(values) - after - 1, values.shape[1], gaps=0.3)
    out[after + 1 :] = future[rng.permutation(len(future))]
    return out


def test_features_never_read_the_future() -> None:
    rng = np.random.default_rng(11)
    steps, n = 700, 7
    values = random_values(rng, steps, n)
    slot = np.arange(steps + DAY_STEPS, dtype=np.int64) % SLOTS_PER_DAY
    day = (np.arange(steps + DAY_STEPS) // DAY_STEPS % 7 >= 5).astype(np.int64)
    graph = random_graph(rng, n, 12)
    t_idx = ints(300, 333, 389, 400, 650)
    profiles = Profiles.fit(values[: t_idx.min()], slot[: t_idx.min()], day[: t_idx.min()])
    before = FeatureContext(values, slot, day, profiles, graph)
    changed = scramble_future(rng, values, int(t_idx.max()))
    assert not np.array_equal(changed[651:], values[651:], equal_nan=True)
    after = FeatureContext(changed, slot, day, profiles, graph)

    x1, base1 = before.base_features(t_idx)
    x2, base2 = after.base_features(t_idx)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(base1, base2)
    assert np.isfinite(x1[..., f("vs_yesterday")]).any()  # the yesterday features are live
    for steps_ahead in range(1, 13):
        np.testing.assert_array_equal(
            before.horizon_features(t_idx, steps_ahead, base1),
            after.horizon_features(t_idx, steps_ahead, base2),
        )


# --- the learned model ------------------------------------------------------------------------


def sinusoid_context(seed: int = 3) -> FeatureContext:
    """6 segments in a chain, two days of a daily sinusoid plus noise, a few gaps."""
    rng = np.random.default_rng(seed)
    steps, n = 2 * DAY_STEPS, 6
    rows = np.arange(steps)
    level = rng.uniform(40, 65, n)
    wave = 12 * np.sin(2 * np.pi * rows / DAY_STEPS)
    values = (level[None, :] + wave[:, None] + rng.normal(0, 2, (steps, n))).astype(np.float32)
    values[rng.random((steps, n)) < 0.03] = np.nan
    slot = np.arange(steps + DAY_STEPS, dtype=np.int64) % SLOTS_PER_DAY
    day = np.zeros(steps + DAY_STEPS, dtype=np.int64)
    train_end = 480
    profiles = Profiles.fit(values[:train_end], slot[:train_end], day[:train_end])
    graph = Graph(np.arange(n - 1), np.arange(1, n), np.ones(n - 1), n)
    return FeatureContext(values, slot, day, profiles, graph)


HORIZONS = (1, 6)
TRAIN_T = np.arange(11, 480 - max(HORIZONS), dtype=np.int64)
VALID_T = np.arange(480, 520, dtype=np.int64)
PREDICT_T = ints(500, 530, 540)


def fitted(ctx: FeatureContext, params: GbmParams = TINY) -> GradientBoosting:
    model = GradientBoosting(params)
    model.fit(ctx, TRAIN_T, VALID_T, HORIZONS)
    return model


@pytest.fixture(scope="module")
def gbm() -> tuple[FeatureContext, GradientBoosting]:
    ctx = sinusoid_context()
    return ctx, fitted(ctx)


def test_gbm_forecast_does_not_change_when_the_future_does(
    gbm: tuple[FeatureContext, GradientBoosting],
) -> None:
    ctx, model = gbm
    first = model.predict(ctx, PREDICT_T, HORIZONS)
    assert first.shape == (3, 6, 2)
    assert np.isfinite(first).all()
    rng = np.random.default_rng(99)
    changed = scramble_future(rng, ctx.values, int(PREDICT_T.max()))
    other = FeatureContext(changed, ctx.slot, ctx.day, ctx.profiles, ctx.graph)
    np.testing.assert_array_equal(model.predict(other, PREDICT_T, HORIZONS), first)
    # ...while changing the present does change it.
    present = ctx.values.copy()
    present[PREDICT_T] += 20
    moved = FeatureContext(present, ctx.slot, ctx.day, ctx.profiles, ctx.graph)
    assert not np.allclose(model.predict(moved, PREDICT_T, HORIZONS), first)


def test_gbm_learns_something_better_than_nothing(
    gbm: tuple[FeatureContext, GradientBoosting],
) -> None:
    ctx, model = gbm
    t = np.arange(480, 560, dtype=np.int64)
    pred = model.predict(ctx, t, HORIZONS)
    actual = ctx.values[t + HORIZONS[-1]]
    ok = np.isfinite(actual)
    # Within a few mph of the truth (noise sd 2, wave amplitude 12).
    assert np.abs(pred[..., -1] - actual)[ok].mean() < 4.0


def test_gbm_without_a_base_falls_back_to_the_profile(
    gbm: tuple[FeatureContext, GradientBoosting],
) -> None:
    ctx, model = gbm
    values = ctx.values.copy()
    values[520 - 11 : 521, 2] = np.nan  # segment 2 silent for the last hour at 520
    silent = FeatureContext(values, ctx.slot, ctx.day, ctx.profiles, ctx.graph)
    pred = model.predict(silent, ints(520), HORIZONS)
    expected = [ctx.profiles.mean[WEEKDAY, 2, (520 + k) % SLOTS_PER_DAY] for k in HORIZONS]
    np.testing.assert_allclose(pred[0, 2], expected, rtol=1e-6)


def test_gbm_is_deterministic(gbm: tuple[FeatureContext, GradientBoosting]) -> None:
    ctx, model = gbm
    again = fitted(ctx)
    np.testing.assert_array_equal(
        again.predict(ctx, PREDICT_T, HORIZONS), model.predict(ctx, PREDICT_T, HORIZONS)
    )
    # Training two horizons at once gives the same trees.
    two = fitted(ctx, GbmParams(max_rounds=20, num_leaves=7, min_data_in_leaf=5, workers=2))
    np.testing.assert_array_equal(
        two.predict(ctx, PREDICT_T, HORIZONS), model.predict(ctx, PREDICT_T, HORIZONS)
    )


def test_gbm_save_load_round_trip(
    gbm: tuple[FeatureContext, GradientBoosting], tmp_path: Path
) -> None:
    ctx, model = gbm
    saved = model.save(tmp_path, "speed")
    assert sorted(saved["files"]) == ["1", "6"]
    # The registry keeps the manifest as JSON.
    loaded = GradientBoosting.load(tmp_path, json.loads(json.dumps(saved)))
    assert {**asdict(loaded.params), "exclude": ()} == {**asdict(model.params), "exclude": ()}
    assert tuple(loaded.params.exclude) == model.params.exclude
    assert sorted(loaded.boosters) == [1, 6]
    np.testing.assert_array_equal(
        loaded.predict(ctx, PREDICT_T, HORIZONS), model.predict(ctx, PREDICT_T, HORIZONS)
    )


def test_gbm_params_survive_the_json_manifest(
    gbm: tuple[FeatureContext, GradientBoosting], tmp_path: Path
) -> None:
    _, model = gbm
    saved = json.loads(json.dumps(model.save(tmp_path, "speed")))
    loaded = GradientBoosting.load(tmp_path, saved)
    assert loaded.params == model.params
    assert hash(loaded.params) == hash(model.params)


def test_gbm_unknown_horizon_is_an_error(gbm: tuple[FeatureContext, GradientBoosting]) -> None:
    ctx, model = gbm
    with pytest.raises(KeyError, match="3 steps"):
        model.predict(ctx, PREDICT_T, (1, 3))


# --- profiles ---------------------------------------------------------------------------------


def small_profiles() -> Profiles:
    #            slot  day      A     B
    rows = [
        (0, WEEKDAY, 10.0, NAN),
        (SLOTS_PER_DAY - 1, WEEKDAY, 20.0, 5.0),
        (1, WEEKDAY, 30.0, NAN),
        (100, WEEKEND, 50.0, 7.0),
    ]
    slot = np.array([r[0] for r in rows], dtype=np.int64)
    day = np.array([r[1] for r in rows], dtype=np.int64)
    values = np.array([[r[2], r[3]] for r in rows], dtype=np.float32)
    return Profiles.fit(values, slot, day, smooth=1)


def test_profiles_average_neighbouring_slots_across_midnight() -> None:
    p = small_profiles()
    last = SLOTS_PER_DAY - 1
    assert p.mean.shape == (2, 2, SLOTS_PER_DAY)
    # A on weekdays: row 0 (slot 0) feeds 287, 0, 1; row 1 (slot 287) feeds 286, 287, 0;
    # row 2 (slot 1) feeds 0, 1, 2.
    wd = p.mean[WEEKDAY, 0]
    assert wd[last - 1] == 20.0
    assert wd[last] == 15.0
    assert wd[0] == 20.0
    assert wd[1] == 20.0
    assert wd[2] == 30.0
    np.testing.assert_allclose(
        p.days[WEEKDAY, 0, [last - 1, last, 0, 1, 2]], [1 / 3, 2 / 3, 1, 2 / 3, 1 / 3], rtol=1e-6
    )
    # B's NaN readings count for nothing.
    np.testing.assert_array_equal(p.mean[WEEKDAY, 1, [last - 1, last, 0]], [5.0, 5.0, 5.0])
    np.testing.assert_allclose(p.days[WEEKDAY, 1, [last - 1, last, 0, 1]], [1 / 3] * 3 + [0])


def test_profiles_borrow_the_other_day_type_and_stay_nan_without_history() -> None:
    p = small_profiles()
    # Weekend slots 99..101 come from row 3; weekdays there borrow them.
    np.testing.assert_array_equal(p.mean[WEEKEND, :, 100], [50.0, 7.0])
    np.testing.assert_array_equal(p.mean[WEEKDAY, :, 99], [50.0, 7.0])
    # Weekend slot 0 borrows the weekday value, but its day count stays 0.
    assert p.mean[WEEKEND, 0, 0] == 20.0
    assert p.days[WEEKEND, 0, 0] == 0.0
    # No history at all in slot 150 or B's slot 1.
    assert np.isnan(p.mean[:, :, 150]).all()
    assert np.isnan(p.mean[:, 1, 1]).all()
    # B's typical level: weekday slots 286, 287, 0 at 5 and (borrowed) 99..101 at 7.
    np.testing.assert_allclose(p.segment_level()[1], (3 * 5 + 3 * 7) / 6)
    # at(): rows of (day, slot) by columns.
    out = p.at(ints(WEEKDAY, WEEKEND), ints(1, 100), ints(1, 0))
    np.testing.assert_array_equal(out, [[NAN, 20.0], [7.0, 50.0]])


def test_profiles_take_reorders_and_minus_one_is_unknown() -> None:
    p = small_profiles()
    t = p.take(ints(1, -1, 0))
    assert t.size == 3
    np.testing.assert_array_equal(t.mean[:, 0], p.mean[:, 1])
    np.testing.assert_array_equal(t.mean[:, 2], p.mean[:, 0])
    np.testing.assert_array_equal(t.days[:, 2], p.days[:, 0])
    assert np.isnan(t.mean[:, 1]).all()
    assert (t.days[:, 1] == 0).all()
    assert np.isnan(t.segment_level()[1])
    assert t.segment_level()[2] == p.segment_level()[0]


# --- a training row's profile leaves its own day out ------------------------------------------


def test_profiles_at_training_rows_leave_their_own_day_out() -> None:
    # Three weekdays of one segment reading 10, 20 and 30 all day.
    values = np.repeat([10.0, 20.0, 30.0], SLOTS_PER_DAY)[:, None].astype(np.float32)
    slot = np.tile(np.arange(SLOTS_PER_DAY), 4)  # a fourth day of calendar for targets
    day = np.full(4 * SLOTS_PER_DAY, WEEKDAY)
    profiles = Profiles.fit(values, slot[: len(values)], day[: len(values)])
    graph = Graph.empty(1)
    rows = np.array([5, SLOTS_PER_DAY + 100, 2 * SLOTS_PER_DAY + 287], dtype=np.int64)

    plain = FeatureContext(values, slot, day, profiles, graph)
    np.testing.assert_allclose(plain.usual(rows)[:, 0], [20.0, 20.0, 20.0])

    loo = FeatureContext(values, slot, day, profiles, graph, fit_end=len(values))
    # Day 1 is described by days 2 and 3 only, day 2 by 1 and 3, day 3 by 1 and 2.
    np.testing.assert_allclose(loo.usual(rows)[:, 0], [25.0, 20.0, 15.0])

    # Only the rows the profiles were fitted on are affected.
    partly = FeatureContext(values, slot, day, profiles, graph, fit_end=SLOTS_PER_DAY)
    np.testing.assert_allclose(partly.usual(rows)[:, 0], [25.0, 20.0, 20.0])

    # The horizon features read the same left-out profile at the target row.
    base = np.full((1, 1), 12.0, dtype=np.float32)
    h = loo.horizon_features(np.array([3], dtype=np.int64), 2, base)
    assert h[0, 0, HORIZON_FEATURES.index("usual_then")] == pytest.approx(25.0 - 12.0)
