"""Put a freshly trained model into the registry with the record of how it came to be.

The metadata answers, without loading the model: what it was trained on (window,
source, seed, parameters), how it was chosen (every candidate's validation MAE),
how good it is (validation and held-out test error per horizon, interval coverage)
and which files hold it (the manifest `TrainedModel.load` reads back).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.error_sums import ErrorSums
from trafficcast.forecast.features import FEATURES, FeatureContext
from trafficcast.forecast.intervals import IntervalCalibration, online_bands
from trafficcast.forecast.models.base import PointModel
from trafficcast.forecast.models.gbm import GradientBoosting
from trafficcast.forecast.panel import STEP_MINUTES, STEP_MS, Panel
from trafficcast.forecast.registry import ModelRecord, ModelRegistry, RegistryError
from trafficcast.forecast.training import (
    BASELINES,
    QuantityResult,
    Split,
    TrainConfig,
    TrainingError,
    horizons_minutes,
    make_model,
)
from trafficcast.live.messages import iso


def by_horizon(values: Mapping[int, float]) -> dict[str, float]:
    """{step: value} as {"minutes": value}, leaving out what is not a finite number.

    model.json is strict JSON, so a horizon that could not be scored is absent, not NaN.
    """
    return {
        str(step * STEP_MINUTES): float(v) for step, v in sorted(values.items()) if math.isfinite(v)
    }


def score_sums(
    ctx: FeatureContext,
    model: PointModel,
    t_idx: npt.NDArray[np.int64],
    steps: Sequence[int],
    calibration: IntervalCalibration | None = None,
    adaptive: bool = False,
    pred: npt.NDArray[np.float32] | None = None,
) -> ErrorSums:
    """The error sums of `model` forecasting from rows `t_idx`, per horizon; with a
    calibration also of its 80 % interval — `adaptive`: with the bands following their
    misses as they do live (rows must then be consecutive). `pred`: the model's
    forecasts from those rows when already made."""
    if pred is None:
        pred = model.predict(ctx, t_idx, steps)
    actual = np.stack([ctx.values[t_idx + h] for h in steps], axis=-1)
    lo = hi = None
    if calibration is not None:
        if adaptive:
            lo, hi = online_bands(ctx, calibration, t_idx, pred, tuple(steps))
        else:
            x, _ = ctx.base_features(t_idx)
            lo, hi = calibration.apply(pred, calibration.signal(x))
    return ErrorSums.of(actual, pred, steps, lo, hi)


def forecast_rows(start: int, stop: int, steps: Sequence[int]) -> npt.NDArray[np.int64]:
    """The "now" rows in [start, stop) whose every target still lies before `stop`."""
    return np.arange(start, stop - max(steps), dtype=np.int64)


def validation_sums(result: QuantityResult, split: Split, steps: Sequence[int]) -> ErrorSums:
    """The chosen model on the validation rows training chose and calibrated it on.

    Coverage here is in-sample for the calibration, so close to 80 % by construction;
    the test coverage is the honest one.
    """
    rows = forecast_rows(split.train_end, split.valid_end, steps)
    chosen = result.chosen
    made = next(c.validation_pred for c in result.candidates if c.model is chosen.model)
    return score_sums(result.ctx, chosen.model, rows, steps, chosen.calibration, pred=made)


def candidate_sums(
    result: QuantityResult, split: Split, steps: Sequence[int]
) -> dict[str, ErrorSums]:
    """Every candidate's validation errors, by kind."""
    rows = forecast_rows(split.train_end, split.valid_end, steps)
    actual = np.stack([result.ctx.values[rows + h] for h in steps], axis=-1)
    return {c.kind: ErrorSums.of(actual, c.validation_pred, steps) for c in result.candidates}


@dataclass
class HeldOut:
    """One quantity's held-out errors: the chosen model's, and each baseline's."""

    chosen: ErrorSums
    baselines: dict[str, ErrorSums]

    def scores(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.chosen.scores())
        out["baselines"] = {kind: s.scores() for kind, s in self.baselines.items()}
        return out


def held_out_sums(
    results: Mapping[str, QuantityResult],
    split: Split,
    steps: Sequence[int],
    end: int,
    config: TrainConfig,
) -> dict[str, HeldOut]:
    """Errors on the held-out rows [split.valid_end, end): the chosen model with its bands
    adapting as they do live, and both baselines for comparison.

    Training read nothing from these rows; the feature context still covers them because
    it was built on the whole panel (features read history only, profiles the training rows).
    """
    rows = forecast_rows(split.valid_end, end, steps)
    if len(rows) == 0:
        raise TrainingError(
            f"the test slice ({end - split.valid_end} steps) is shorter than the longest "
            f"horizon ({max(steps)} steps)"
        )
    out: dict[str, HeldOut] = {}
    for quantity, result in results.items():
        chosen = result.chosen
        fitted = {c.kind: c.model for c in result.candidates}
        # Baselines learn nothing, so one that was not a candidate is scored unfitted.
        out[quantity] = HeldOut(
            score_sums(result.ctx, chosen.model, rows, steps, chosen.calibration, adaptive=True),
            {
                kind: score_sums(
                    result.ctx, fitted.get(kind) or make_model(kind, config), rows, steps
                )
                for kind in BASELINES
            },
        )
    return out


def held_out_scores(
    results: Mapping[str, QuantityResult],
    split: Split,
    steps: Sequence[int],
    end: int,
    config: TrainConfig,
) -> dict[str, Any]:
    """Scores on the held-out rows (see held_out_sums), as the model's metadata keeps them."""
    return {q: h.scores() for q, h in held_out_sums(results, split, steps, end, config).items()}


def _chosen_gbm(model: TrainedModel) -> GradientBoosting | None:
    for q in model.quantities.values():
        if isinstance(q.model, GradientBoosting):
            return q.model
    return None


def strict_json(manifest: dict[str, Any]) -> dict[str, Any]:
    # The registry checks metadata before write() runs, so the manifest made inside it
    # is checked here, to fail as a RegistryError naming the cause rather than deep in json.
    try:
        json.dumps(manifest, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"the model's manifest is not strict JSON: {exc}") from exc
    return manifest


def build_metadata(
    model: TrainedModel,
    results: Mapping[str, QuantityResult],
    *,
    source: str,
    panel: Panel,
    split: Split,
    seed: int,
    train_seconds: float,
    test: dict[str, Any] | None,
) -> dict[str, Any]:
    """Everything register_trained records except the artifacts manifest."""
    steps = model.steps
    gbm = _chosen_gbm(model)
    metadata: dict[str, Any] = {
        "features": [FEATURES[i] for i in gbm.params.columns()] if gbm is not None else [],
        "horizons_minutes": horizons_minutes(steps),
        "quantities": list(model.quantities),
        # What the model learned from: training and validation rows; test rows come after.
        "training_window": {
            "start": iso(panel.start_ms),
            "end": iso(panel.start_ms + split.valid_end * STEP_MS),
            "steps": split.valid_end,
            "segments": panel.size,
        },
        "source": source,
        "seed": seed,
        "validation": {q: validation_sums(r, split, steps).scores() for q, r in results.items()},
        "candidates": {
            q: {c.kind: {"mae": by_horizon(c.validation_mae)} for c in r.candidates}
            for q, r in results.items()
        },
        "train_seconds": round(float(train_seconds), 3),
    }
    if gbm is not None:
        metadata["params"] = asdict(gbm.params)
    if test is not None:
        metadata["test"] = test
    return metadata


def register_trained(
    registry: ModelRegistry,
    model: TrainedModel,
    results: Mapping[str, QuantityResult],
    *,
    source: str,
    panel: Panel,
    split: Split,
    config: TrainConfig,
    seed: int,
    train_seconds: float,
    test: dict[str, Any] | None,
    promote: bool,
) -> ModelRecord:
    """Save `model` as a new registry version with its metadata; promote it if asked."""
    if tuple(config.steps) != tuple(model.steps):
        raise RegistryError(
            f"the model forecasts steps {model.steps}, the config says {config.steps}"
        )
    metadata = build_metadata(
        model,
        results,
        source=source,
        panel=panel,
        split=split,
        seed=seed,
        train_seconds=train_seconds,
        test=test,
    )

    def write(folder: Path) -> None:
        # The registry writes model.json after this returns, so the manifest still gets in.
        metadata["artifacts"] = strict_json(model.save(folder))

    return registry.register(model.kind, metadata, write, promote=promote)
