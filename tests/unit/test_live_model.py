"""A registered model serving the stream (forecast/live.py): the live forecast from the
recent history equals the model's own forecast on the panel, whatever the catalog order."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pytest

from trafficcast.domain.schema import LINK_SCHEMA
from trafficcast.domain.time_of_day import SLOTS_PER_DAY, WEEKDAY, WEEKEND
from trafficcast.forecast.bundle import QuantityForecast, QuantityModel, TrainedModel
from trafficcast.forecast.features import FeatureContext
from trafficcast.forecast.forecasts import Forecasts
from trafficcast.forecast.history import RecentHistory
from trafficcast.forecast.intervals import IntervalCalibration
from trafficcast.forecast.live import LiveModel, merge
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS, Graph, Panel
from trafficcast.forecast.profiles import Profiles
from trafficcast.forecast.training import ALL_STEPS, TrainConfig, train

START = 1_705_276_800_000  # 2024-01-15T00:00Z, a Monday
IDS = ["a", "b", "c", "d"]
STEPS = 2 * 288
HORIZONS = np.array([*(5 * k for k in ALL_STEPS), 65], dtype=np.int64)  # 65 min: not trained
TINY = GbmParams(max_rounds=20, num_leaves=7, min_data_in_leaf=5, workers=1)
NAN = math.nan


def links_table(pairs: list[tuple[str, str, float]]) -> pa.Table:
    src, dst, weight = zip(*pairs, strict=True)
    return pa.Table.from_arrays(
        [pa.array(src), pa.array(dst), pa.array(weight, pa.float64())], schema=LINK_SCHEMA
    )


LINKS = links_table([("a", "b", 1.0), ("b", "c", 2.0), ("c", "d", 1.0), ("a", "c", 0.5)])


def daily(
    rng: np.random.Generator, level: npt.NDArray[np.float64], amplitude: float, noise: float
) -> npt.NDArray[np.float32]:
    rows = np.arange(STEPS)
    wave = amplitude * np.sin(2 * np.pi * rows / 288)
    v = level[None, :] + wave[:, None] + rng.normal(0, noise, (STEPS, len(level)))
    v[rng.random(v.shape) < 0.03] = np.nan
    return np.clip(v, 1.0, None).astype(np.float32)


def synthetic_panel() -> Panel:
    rng = np.random.default_rng(21)
    speed = daily(rng, rng.uniform(40, 65, 4), 12.0, 3.0)
    volume = daily(rng, rng.uniform(60, 120, 4), 30.0, 8.0)
    ids = pa.array(IDS, type=pa.string())
    return Panel(ids, START, speed, volume, Graph.from_links(LINKS, ids), "UTC")


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic_panel()


@pytest.fixture(scope="module")
def model(panel: Panel) -> TrainedModel:
    trained, _ = train(panel, TrainConfig(candidates=("persistence", "gbm"), gbm=TINY))
    return trained


def panel_forecast(model: TrainedModel, panel: Panel, quantity: str) -> QuantityForecast:
    """The model's own forecast from the panel's last row."""
    slot, day = panel.calendar()
    qm = model.quantities[quantity]
    ctx = FeatureContext(panel.target(quantity), slot, day, qm.profiles, panel.graph)
    return qm.forecast(ctx, np.array([panel.steps - 1], dtype=np.int64), model.steps)


def extra_segment(panel: Panel) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """History of "z", a segment the model never saw: like "a", a little slower and busier."""
    assert panel.volume is not None
    return panel.speed[:, 0] * 0.9 + 2, panel.volume[:, 0] * 1.1


def live_history(
    panel: Panel,
    catalog: list[str],
    z: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]] | None = None,
) -> RecentHistory:
    """The panel replayed window by window into a history laid out in `catalog` order.

    Catalog ids without readings ("y") are never observed; "z" reads `z` (speed, volume).
    """
    z_speed, z_volume = z or extra_segment(panel)
    assert panel.volume is not None
    history = RecentHistory()
    observed = [j for j, sid in enumerate(catalog) if sid != "y"]
    for i in range(panel.steps):
        speed, volume = [], []
        for j in observed:
            sid = catalog[j]
            if sid == "z":
                speed.append(z_speed[i])
                volume.append(z_volume[i])
            else:
                speed.append(panel.speed[i, IDS.index(sid)])
                volume.append(panel.volume[i, IDS.index(sid)])
        history.observe(
            np.array(observed, dtype=np.int64),
            np.full(len(observed), panel.start_ms + i * STEP_MS, dtype=np.int64),
            np.array(speed, dtype=np.float64),
            np.array(volume, dtype=np.float64),
        )
    return history


def live_forecast(
    model: TrainedModel, panel: Panel, catalog: list[str], history: RecentHistory | None = None
) -> Forecasts:
    history = history or live_history(panel, catalog)
    issued = panel.start_ms + panel.steps * STEP_MS  # the end of the panel's last window
    live = LiveModel(model, "v1", "UTC")
    return live.forecast(
        history,
        np.arange(len(catalog), dtype=np.int64),
        issued,
        HORIZONS,
        pa.array(catalog, type=pa.string()),
        LINKS,
    )


def test_training_chose_the_learned_model(model: TrainedModel) -> None:
    assert model.kind == "gbm"
    assert model.steps == ALL_STEPS
    assert set(model.quantities) == {"speed", "volume"}
    assert model.segment_ids.to_pylist() == IDS


@pytest.mark.parametrize(
    "catalog",
    [
        IDS,
        ["c", "y", "a", "d", "b"],  # reordered; "y" is a catalog column that never reported
        ["c", "a", "d", "b", "y"],  # ...and one beyond the history's columns
        ["c", "z", "a", "d", "b", "y"],  # with a segment the model never saw, like "a"
    ],
    ids=["same-order", "reordered", "reordered-silent-last", "reordered-with-unseen-segment"],
)
def test_live_forecast_equals_the_models_forecast_on_the_panel(
    model: TrainedModel, panel: Panel, catalog: list[str]
) -> None:
    out = live_forecast(model, panel, catalog)
    n, trained = len(catalog), len(ALL_STEPS)
    assert out.speed.shape == (n, len(HORIZONS))
    assert out.model_version == "v1"
    issued = panel.start_ms + panel.steps * STEP_MS
    assert out.issued_ms == issued
    np.testing.assert_array_equal(out.target_ms, np.tile(issued + HORIZONS * 60_000, (n, 1)))
    speed, volume = panel_forecast(model, panel, "speed"), panel_forecast(model, panel, "volume")
    assert np.isfinite(speed.value).all()
    for j, sid in enumerate(catalog):
        if sid not in IDS:
            continue
        m = IDS.index(sid)
        for got, want in (
            (out.speed, speed.value),
            (out.speed_lower, speed.lower),
            (out.speed_upper, speed.upper),
            (out.confidence, speed.confidence),
            (out.volume, volume.value),
            (out.volume_lower, volume.lower),
            (out.volume_upper, volume.upper),
        ):
            np.testing.assert_allclose(got[j, :trained], want[0, m], atol=1e-4, err_msg=sid)
    # A horizon the model was not trained for is left to the caller.
    assert np.isnan(out.speed[:, trained]).all()
    assert np.isnan(out.volume[:, trained]).all()
    assert np.isnan(out.speed_lower[:, trained]).all()
    assert (out.confidence[:, trained] == 0).all()


def test_a_segment_the_model_never_saw_gets_a_learned_forecast(
    model: TrainedModel, panel: Panel
) -> None:
    catalog = ["c", "z", "a", "d", "b", "y"]
    out = live_forecast(model, panel, catalog)
    trained = len(ALL_STEPS)
    z = catalog.index("z")
    assert np.isfinite(out.speed[z, :trained]).all()
    assert np.isfinite(out.volume[z, :trained]).all()
    assert (out.speed_lower[z, :trained] <= out.speed[z, :trained]).all()
    assert (out.speed[z, :trained] <= out.speed_upper[z, :trained]).all()
    assert ((out.confidence[z, :trained] > 0) & (out.confidence[z, :trained] <= 1)).all()
    # Not persistence: the trees move the forecast away from the last reading.
    z_speed, _ = extra_segment(panel)
    last = z_speed[np.isfinite(z_speed)][-1]
    assert np.abs(out.speed[z, :trained] - last).max() > 0.01
    # A catalog segment with no history at all has no learned forecast.
    y = catalog.index("y")
    assert np.isnan(out.speed[y]).all()
    assert np.isnan(out.volume[y]).all()
    assert (out.confidence[y] == 0).all()


def test_forecast_for_a_subset_of_segments_in_any_order(model: TrainedModel, panel: Panel) -> None:
    catalog = ["c", "z", "a", "d", "b"]
    history = live_history(panel, catalog)
    issued = panel.start_ms + panel.steps * STEP_MS
    live = LiveModel(model, "v1", "UTC")
    ids = pa.array(catalog, type=pa.string())
    full = live.forecast(history, np.arange(5, dtype=np.int64), issued, HORIZONS, ids, LINKS)
    some = live.forecast(history, np.array([4, 0], dtype=np.int64), issued, HORIZONS, ids, LINKS)
    np.testing.assert_array_equal(some.segment, [4, 0])
    np.testing.assert_array_equal(some.speed, full.speed[[4, 0]])
    np.testing.assert_array_equal(some.volume_upper, full.volume_upper[[4, 0]])


def test_forecast_for_some_horizons_matches_those_of_the_full_forecast(
    model: TrainedModel, panel: Panel
) -> None:
    # On-demand requests ask for fewer horizons than the model has: each horizon keeps its
    # own band calibration, not the first ones'.
    catalog = ["a", "b", "c", "d"]
    history = live_history(panel, catalog)
    issued = panel.start_ms + panel.steps * STEP_MS
    live = LiveModel(model, "v1", "UTC")
    ids = pa.array(catalog, type=pa.string())
    seg = np.arange(4, dtype=np.int64)
    full = live.forecast(history, seg, issued, np.arange(5, 61, 5, dtype=np.int64), ids, LINKS)
    some = live.forecast(history, seg, issued, np.array([15, 60], dtype=np.int64), ids, LINKS)
    for field in ("speed", "speed_lower", "speed_upper", "volume_lower", "confidence"):
        np.testing.assert_allclose(
            getattr(some, field), getattr(full, field)[:, [2, 11]], rtol=1e-6, err_msg=field
        )


def test_a_quantity_the_model_lacks_is_nan(model: TrainedModel, panel: Panel) -> None:
    speed_only = TrainedModel(
        model.kind, model.steps, model.segment_ids, {"speed": model.quantities["speed"]}
    )
    out = live_forecast(speed_only, panel, IDS)
    assert np.isfinite(out.speed[:, : len(ALL_STEPS)]).all()
    assert np.isnan(out.volume).all()
    assert np.isnan(out.volume_lower).all()
    assert np.isnan(out.volume_upper).all()


def test_issued_outside_the_history_gives_no_forecast(model: TrainedModel, panel: Panel) -> None:
    history = live_history(panel, IDS)
    live = LiveModel(model, "v1", "UTC")
    ids = pa.array(IDS, type=pa.string())
    seg = np.arange(4, dtype=np.int64)
    later = panel.start_ms + (panel.steps + 3) * STEP_MS  # no window closed there yet
    out = live.forecast(history, seg, later, HORIZONS, ids, LINKS)
    assert np.isnan(out.speed).all()
    assert (out.confidence == 0).all()
    # An earlier row of the history is fine: the model forecasts from it.
    earlier = panel.start_ms + (panel.steps - 5) * STEP_MS
    out = live.forecast(history, seg, earlier, HORIZONS, ids, LINKS)
    assert np.isfinite(out.speed[:, : len(ALL_STEPS)]).all()


def test_saved_and_loaded_model_forecasts_the_same(
    model: TrainedModel, panel: Panel, tmp_path: Path
) -> None:
    manifest = json.loads(json.dumps(model.save(tmp_path)))
    loaded = TrainedModel.load(tmp_path, model.kind, manifest)
    assert loaded.segment_ids.to_pylist() == IDS
    history = live_history(panel, IDS)
    a = live_forecast(model, panel, IDS, history)
    b = live_forecast(loaded, panel, IDS, history)
    np.testing.assert_array_equal(a.speed, b.speed)
    np.testing.assert_array_equal(a.speed_upper, b.speed_upper)
    np.testing.assert_array_equal(a.volume, b.volume)


# --- what the live model hands the point model ----------------------------------------------

Echoed = Callable[[FeatureContext, npt.NDArray[np.int64], Sequence[int]], npt.NDArray[np.float32]]


class Echo:
    """A point model that forecasts what it is given, to see the live layout from inside."""

    kind = "echo"

    def __init__(self, fn: Echoed) -> None:
        self.fn = fn

    def fit(self, *args: Any, **kwargs: Any) -> None:
        pass

    def predict(
        self, ctx: FeatureContext, t_idx: npt.NDArray[np.int64], steps: Sequence[int]
    ) -> npt.NDArray[np.float32]:
        return self.fn(ctx, t_idx, steps)

    def save(self, folder: Path, prefix: str) -> dict[str, Any]:
        return {}


def echo_model(speed: Echoed, volume: Echoed) -> TrainedModel:
    """Model columns a, b, c, d; profile levels 10, 20, 30, 40; horizons of 1..3 steps."""
    mean = np.zeros((2, 4, SLOTS_PER_DAY), dtype=np.float32)
    mean[:] = (10.0 * np.arange(1, 5))[None, :, None]
    profiles = Profiles(mean, np.ones_like(mean))
    calibration = IntervalCalibration(1.0, np.full(3, -1.0), np.full(3, 1.0))
    return TrainedModel(
        "echo",
        (1, 2, 3),
        pa.array(IDS, type=pa.string()),
        {
            "speed": QuantityModel(Echo(speed), calibration, profiles),
            "volume": QuantityModel(Echo(volume), calibration, profiles),
        },
    )


def codes(ctx: FeatureContext, t: npt.NDArray[np.int64], steps: Sequence[int]) -> Any:
    """1000 * the model column of each live column, + the horizon."""
    c = np.asarray(ctx.codes, dtype=np.float32)
    return (c[None, :, None] * 1000 + np.array(steps)[None, None, :]).astype(np.float32)


def levels(ctx: FeatureContext, t: npt.NDArray[np.int64], steps: Sequence[int]) -> Any:
    """The profile level of each live column, for every horizon."""
    level = ctx.profiles.segment_level()
    return np.repeat(np.broadcast_to(level, (len(t), len(level)))[..., None], len(steps), -1)


def readings(ctx: FeatureContext, t: npt.NDArray[np.int64], steps: Sequence[int]) -> Any:
    """The newest row's reading of each live column, for every horizon."""
    return np.repeat(ctx.values[t][..., None], len(steps), axis=-1)


def calendar(ctx: FeatureContext, t: npt.NDArray[np.int64], steps: Sequence[int]) -> Any:
    """The target row's slot + 1000 * its day type (the same for every column)."""
    target = t[:, None] + np.array(steps)[None, :]
    code = (ctx.slot[target] + 1000 * ctx.day[target]).astype(np.float32)
    return np.repeat(code[:, None, :], ctx.size, axis=1)


SUNDAY_2350_PST = 1_705_305_000_000  # 2024-01-15T07:50Z: Sunday 23:50 in Los Angeles


def echo_forecast(
    model: TrainedModel, catalog: list[str], rows: int = 10, timezone: str = "UTC"
) -> Forecasts:
    """Rows of readings 100 * row + catalog column (none for "y"); the last at Sunday 23:50."""
    start = SUNDAY_2350_PST - (rows - 1) * STEP_MS
    history = RecentHistory(steps=40)
    cols = np.array([j for j, sid in enumerate(catalog) if sid != "y"], dtype=np.int64)
    for i in range(rows):
        history.observe(
            cols,
            np.full(len(cols), start + i * STEP_MS, dtype=np.int64),
            (100.0 * i + cols).astype(np.float64),
            np.ones(len(cols)),
        )
    live = LiveModel(model, "echo-1", timezone)
    return live.forecast(
        history,
        np.arange(len(catalog), dtype=np.int64),
        SUNDAY_2350_PST + STEP_MS,
        np.array([5, 10, 15], dtype=np.int64),
        pa.array(catalog, type=pa.string()),
        LINKS,
    )


def test_live_columns_carry_the_models_identity_and_profiles() -> None:
    catalog = ["c", "z", "a", "d", "b", "y"]
    out = echo_forecast(echo_model(codes, levels), catalog)
    expected = [[2000 + k for k in (1, 2, 3)], [NAN] * 3, [1, 2, 3], [3001, 3002, 3003]]
    expected += [[1001, 1002, 1003], [NAN] * 3]
    np.testing.assert_array_equal(out.speed, expected)
    # Profiles follow the ids; the unseen "z" has none, "y" is beyond the history.
    np.testing.assert_array_equal(out.volume[:, 0], [30.0, NAN, 10.0, 40.0, 20.0, NAN])


def test_live_model_reads_the_newest_row_and_the_local_calendar() -> None:
    catalog = ["b", "y", "a"]
    out = echo_forecast(echo_model(readings, calendar), catalog, timezone="America/Los_Angeles")
    # The newest row is row 9: 900 + catalog column; "y" (column 1) never reported.
    np.testing.assert_array_equal(out.speed[:, 0], [900.0, NAN, 902.0])
    # Targets after Sunday 23:50 local: 23:55 (weekend), Monday 00:00 and 00:05 (weekdays).
    weekend, weekday = 1000 * WEEKEND, 1000 * WEEKDAY
    np.testing.assert_array_equal(out.volume[0], [weekend + 287, weekday + 0, weekday + 1])
    utc = echo_forecast(echo_model(readings, calendar), catalog, timezone="UTC")
    np.testing.assert_array_equal(utc.volume[0], [weekday + 7 * 12 + 11, 8 * 12, 8 * 12 + 1])


# --- merge ------------------------------------------------------------------------------------


def forecasts(
    speed: list[list[float]], volume: list[list[float]], conf: float, version: str
) -> Forecasts:
    s, v = np.array(speed), np.array(volume)
    return Forecasts(
        segment=np.arange(len(s), dtype=np.int64),
        issued_ms=START,
        horizons_min=np.array([15, 30], dtype=np.int64),
        target_ms=np.array([[START + 15 * 60_000, START + 30 * 60_000]] * len(s)),
        speed=s,
        speed_lower=s - 1,
        speed_upper=s + 1,
        volume=v,
        volume_lower=v - 2,
        volume_upper=v + 2,
        confidence=np.where(np.isfinite(s), conf, 0.0),
        model_version=version,
    )


def test_merge_takes_the_fallback_where_the_primary_is_nan() -> None:
    primary = forecasts([[50.0, NAN], [NAN, NAN]], [[NAN, 9.0], [7.0, NAN]], 0.9, "v1")
    fallback = forecasts([[40.0, 41.0], [42.0, 43.0]], [[1.0, 2.0], [3.0, 4.0]], 0.5, "blend")
    out = merge(primary, fallback)
    np.testing.assert_array_equal(out.speed, [[50.0, 41.0], [42.0, 43.0]])
    np.testing.assert_array_equal(out.speed_lower, [[49.0, 40.0], [41.0, 42.0]])
    np.testing.assert_array_equal(out.speed_upper, [[51.0, 42.0], [43.0, 44.0]])
    np.testing.assert_array_equal(out.confidence, [[0.9, 0.5], [0.5, 0.5]])
    # Volume is picked on its own: a speed from one side and a volume from the other.
    np.testing.assert_array_equal(out.volume, [[1.0, 9.0], [7.0, 4.0]])
    np.testing.assert_array_equal(out.volume_lower, [[-1.0, 7.0], [5.0, 2.0]])
    np.testing.assert_array_equal(out.volume_upper, [[3.0, 11.0], [9.0, 6.0]])
    assert out.model_version == "v1"
    np.testing.assert_array_equal(out.target_ms, primary.target_ms)


def test_merge_fills_the_live_models_gaps(model: TrainedModel, panel: Panel) -> None:
    catalog = ["c", "z", "a", "d", "b", "y"]
    learned = live_forecast(model, panel, catalog)
    shape = learned.speed.shape
    fallback = Forecasts(
        segment=learned.segment,
        issued_ms=learned.issued_ms,
        horizons_min=learned.horizons_min,
        target_ms=learned.target_ms,
        speed=np.full(shape, 33.0),
        speed_lower=np.full(shape, 30.0),
        speed_upper=np.full(shape, 36.0),
        volume=np.full(shape, 70.0),
        volume_lower=np.full(shape, 60.0),
        volume_upper=np.full(shape, 80.0),
        confidence=np.full(shape, 0.25),
        model_version="blend-v1",
    )
    out = merge(learned, fallback)
    trained = len(ALL_STEPS)
    y = catalog.index("y")
    assert np.isfinite(out.speed).all()
    assert (out.speed[:, trained] == 33.0).all()  # 65 minutes: from the fallback
    assert (out.speed[y] == 33.0).all()
    assert (out.confidence[y] == 0.25).all()
    assert (out.volume[y] == 70.0).all()
    keep = np.ones(len(catalog), dtype=bool)
    keep[y] = False
    np.testing.assert_array_equal(out.speed[keep, :trained], learned.speed[keep, :trained])
    np.testing.assert_array_equal(
        out.confidence[keep, :trained], learned.confidence[keep, :trained]
    )
    assert out.model_version == "v1"


def test_live_bands_follow_the_misses_of_this_models_forecasts_only(model: TrainedModel) -> None:
    import copy

    from trafficcast.forecast.live_scoring import ScoredBands

    live = LiveModel(copy.deepcopy(model), "v1", "UTC")
    speed = live.model.quantities["speed"].calibration
    before_lower, before_upper = speed.lower.copy(), speed.upper.copy()
    actual = np.full(10, 50.0)
    low_band = (np.full(10, 60.0), np.full(10, 70.0))  # every actual falls below
    columns = np.arange(10)
    live.adapt(
        [
            # Another model's bands, and a horizon this one lacks: both ignored.
            ScoredBands("v0", 15, "speed", actual, *low_band, columns),
            ScoredBands("v1", 65, "speed", actual, *low_band, columns),
            ScoredBands("v1", 15, "speed", actual, *low_band, columns),
        ]
    )
    j = live.model.steps.index(3)  # 15 minutes
    assert speed.lower[j] < before_lower[j]  # widened downward
    assert speed.upper[j] < before_upper[j]  # nothing above: narrowed
    others = [i for i in range(len(live.model.steps)) if i != j]
    np.testing.assert_array_equal(speed.lower[others], before_lower[others])
    # The trained model the registry loaded is left as it was.
    assert model.quantities["speed"].calibration.lower[j] == before_lower[j]
