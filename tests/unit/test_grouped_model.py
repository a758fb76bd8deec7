"""A grouped forecaster (one model per segment group) trains, registers, loads and serves:
each live segment gets exactly its group's model's forecast on its group's own panel."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tests.unit.test_live_model import (
    HORIZONS,
    IDS,
    LINKS,
    TINY,
    live_history,
    panel_forecast,
    synthetic_panel,
)
from trafficcast.forecast.grouped_live import GroupedLiveModel
from trafficcast.forecast.grouped_model import GroupedModel, load_registered
from trafficcast.forecast.grouped_registration import register_grouped
from trafficcast.forecast.grouped_training import GroupSummary, train_grouped
from trafficcast.forecast.live_scoring import ScoredBands
from trafficcast.forecast.panel import STEP_MS, Panel
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.forecast.segment_groups import SegmentGroups, plan_groups
from trafficcast.forecast.serving import serving_model
from trafficcast.forecast.training import ALL_STEPS, Split, TrainConfig

CONFIG = TrainConfig(candidates=("persistence", "gbm"), gbm=TINY)


@pytest.fixture(scope="module")
def panel() -> Panel:
    return synthetic_panel()


@pytest.fixture(scope="module")
def trained(panel: Panel) -> tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split]:
    plan = plan_groups(panel.graph, 2)
    split = Split.fractions(panel.steps, 0.1, 0.1)
    model, summaries = train_grouped(panel, plan, CONFIG, split)
    return model, summaries, plan, split


def test_groups_hold_stretches_of_road(
    trained: tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split],
) -> None:
    model, summaries, plan, _ = trained
    # a->b->c->d (and a->c) is one road; cut into two runs of a breadth-first walk.
    assert [m.segment_ids.to_pylist() for m in model.members] == [["a", "b"], ["c", "d"]]
    assert plan.cut_links == 2  # b->c and a->c
    assert [s.segments for s in summaries] == [2, 2]
    assert model.names == ["group-000", "group-001"]


def forecast(live: GroupedLiveModel, panel: Panel, catalog: list[str]):  # type: ignore[no-untyped-def]
    return live.forecast(
        live_history(panel, catalog),
        np.arange(len(catalog), dtype=np.int64),
        panel.start_ms + panel.steps * STEP_MS,
        HORIZONS,
        pa.array(catalog, type=pa.string()),
        LINKS,
    )


@pytest.mark.parametrize(
    "catalog", [IDS, ["c", "z", "a", "d", "b", "y"]], ids=["same-order", "reordered-unseen"]
)
def test_each_segment_is_forecast_by_its_groups_model_on_its_groups_panel(
    trained: tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split],
    panel: Panel,
    catalog: list[str],
) -> None:
    model, _, plan, _ = trained
    out = forecast(GroupedLiveModel(model, "g1", "UTC"), panel, catalog)
    assert out.model_version == "g1"
    n = len(ALL_STEPS)
    for g, member in enumerate(model.members):
        sub = panel.columns(plan.columns(g))
        speed, volume = panel_forecast(member, sub, "speed"), panel_forecast(member, sub, "volume")
        for m, sid in enumerate(member.segment_ids.to_pylist()):
            j = catalog.index(sid)
            np.testing.assert_allclose(out.speed[j, :n], speed.value[0, m], atol=1e-4)
            np.testing.assert_allclose(out.speed_upper[j, :n], speed.upper[0, m], atol=1e-4)
            np.testing.assert_allclose(out.volume[j, :n], volume.value[0, m], atol=1e-4)
    if "z" in catalog:  # never trained on: the largest member forecasts it
        assert np.isfinite(out.speed[catalog.index("z"), :n]).all()
        y = catalog.index("y")  # never reported: nothing to forecast from
        assert np.isnan(out.speed[y]).all()
        assert (out.confidence[y] == 0).all()
    assert np.isnan(out.speed[:, n]).all()  # 65 minutes: not a trained horizon


def test_bands_adapt_per_group(
    trained: tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split], panel: Panel
) -> None:
    model, _, _, _ = trained
    live = GroupedLiveModel(copy.deepcopy(model), "g1", "UTC")
    forecast(live, panel, IDS)  # learns which column belongs to which member
    cal = [m.model.quantities["speed"].calibration for m in live.members]
    before = [c.lower.copy() for c in cal]
    columns = np.array([2, 3])  # c and d: the second group's
    live.adapt(
        [
            ScoredBands(
                "g1", 15, "speed", np.full(2, 10.0), np.full(2, 60.0), np.full(2, 70.0), columns
            )
        ]
    )
    j = ALL_STEPS.index(3)
    assert cal[1].lower[j] < before[1][j]  # every actual below the band: widened
    np.testing.assert_array_equal(cal[0].lower, before[0])  # the other group untouched


def test_registered_grouped_model_loads_and_serves_the_same(
    trained: tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split],
    panel: Panel,
    tmp_path: Path,
) -> None:
    model, summaries, plan, split = trained
    registry = ModelRegistry(tmp_path)
    record = register_grouped(
        registry,
        model,
        summaries,
        source="test",
        start_ms=panel.start_ms,
        split=split,
        seed=0,
        train_seconds=1.0,
        cut_links=plan.cut_links,
        promote=True,
    )
    meta = record.metadata
    assert record.version.startswith("grouped-")
    assert meta["kind"] == "grouped"
    assert meta["grouping"] == {"groups": 2, "cut_links": 2}
    assert [g["chosen"]["speed"] for g in meta["groups"]] == [
        s.quantities["speed"].chosen for s in summaries
    ]
    assert meta["training_window"]["segments"] == 4
    assert set(meta["validation"]["speed"]["mae"]) == {str(5 * h) for h in ALL_STEPS}
    assert set(meta["test"]["speed"]["baselines"]) == {"persistence", "profile"}
    loaded = load_registered(record.path)
    assert isinstance(loaded, GroupedModel)
    assert loaded.metadata["version"] == record.version
    live = serving_model(record.path, record.version, "UTC")
    assert isinstance(live, GroupedLiveModel)
    want = forecast(GroupedLiveModel(model, record.version, "UTC"), panel, IDS)
    got = forecast(live, panel, IDS)
    np.testing.assert_allclose(got.speed, want.speed, atol=1e-5)
    np.testing.assert_allclose(got.volume_upper, want.volume_upper, atol=1e-5)


def test_network_scores_are_the_groups_sums_not_their_mean(
    trained: tuple[GroupedModel, list[GroupSummary], SegmentGroups, Split],
    panel: Panel,
    tmp_path: Path,
) -> None:
    """The registered network MAE equals the MAE over every segment's validation errors."""
    model, summaries, plan, split = trained
    record = register_grouped(
        ModelRegistry(tmp_path),
        model,
        summaries,
        source="test",
        start_ms=panel.start_ms,
        split=split,
        seed=0,
        train_seconds=1.0,
        cut_links=plan.cut_links,
        promote=False,
    )
    from trafficcast.forecast import metrics
    from trafficcast.forecast.registration import forecast_rows
    from trafficcast.forecast.training import context

    h = 3  # 15 minutes
    actual, predicted = [], []
    for g, member in enumerate(model.members):
        ctx = context(panel.columns(plan.columns(g)), "speed", split.train_end)
        rows = forecast_rows(split.train_end, split.valid_end, ALL_STEPS)
        pred = member.quantities["speed"].model.predict(ctx, rows, ALL_STEPS)
        actual.append(ctx.values[rows + h].ravel())
        predicted.append(pred[..., ALL_STEPS.index(h)].ravel())
    want = metrics.mae(np.concatenate(actual), np.concatenate(predicted))
    assert record.metadata["validation"]["speed"]["mae"]["15"] == pytest.approx(want, rel=1e-9)
    per_group = [g["validation"]["speed"]["mae"]["15"] for g in record.metadata["groups"]]
    assert min(per_group) <= want <= max(per_group)
