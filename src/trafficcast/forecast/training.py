"""Train forecasters on a panel: fit every candidate, choose on validation, calibrate bands.

The panel's rows before `train_end` teach; rows [train_end, valid_end) choose
the model and calibrate its intervals; nothing after `valid_end` is read (the
evaluation's test rows live there). Training targets never reach into the
validation rows, so validation scores are honest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trafficcast.forecast import metrics
from trafficcast.forecast.bundle import QuantityModel, TrainedModel
from trafficcast.forecast.features import BASE_FEATURES, FeatureContext
from trafficcast.forecast.intervals import SCALE_FEATURE, IntervalCalibration
from trafficcast.forecast.models.base import PointModel
from trafficcast.forecast.models.baselines import HistoricalProfile, Persistence
from trafficcast.forecast.models.gbm import GbmParams, GradientBoosting
from trafficcast.forecast.panel import STEP_MINUTES, Panel
from trafficcast.forecast.profiles import Profiles

StageProgress = Callable[[str, int, int], None]  # (stage, done, total)
ALL_STEPS = tuple(range(1, 13))  # 5 ... 60 minutes
BASELINES = ("persistence", "profile")


class TrainingError(ValueError):
    """Training cannot run on this input; the message says why."""


@dataclass(frozen=True)
class TrainConfig:
    steps: tuple[int, ...] = ALL_STEPS
    candidates: tuple[str, ...] = ("persistence", "profile", "gbm")
    gbm: GbmParams = field(default_factory=GbmParams)
    validation_fraction: float = 0.125


@dataclass(frozen=True)
class Split:
    train_end: int  # rows [0, train_end) train
    valid_end: int  # rows [train_end, valid_end) validate

    @classmethod
    def tail(cls, steps: int, fraction: float) -> Split:
        valid = max(round(steps * fraction), 1)
        return cls(steps - valid, steps)

    @classmethod
    def fractions(cls, steps: int, test_fraction: float, validation_fraction: float) -> Split:
        """The last `test_fraction` of the rows held out, `validation_fraction` before it."""
        valid_end = steps - round(steps * test_fraction)
        return cls(valid_end - max(round(steps * validation_fraction), 1), valid_end)


@dataclass
class CandidateResult:
    kind: str
    model: PointModel
    validation_mae: dict[int, float]  # by step
    fit_seconds: float
    validation_pred: npt.NDArray[np.float32]  # (rows, N, steps) forecasts on validation

    @property
    def mean_mae(self) -> float:
        values = [v for v in self.validation_mae.values() if np.isfinite(v)]
        return float(np.mean(values)) if values else float("inf")


@dataclass
class QuantityResult:
    chosen: QuantityModel
    candidates: list[CandidateResult]
    ctx: FeatureContext


def check_test_slice(split: Split, steps: int, config: TrainConfig) -> None:
    """Refuse a held-out slice too short for one forecast, before any training is spent."""
    if split.valid_end < steps and steps - split.valid_end <= max(config.steps):
        raise TrainingError(
            f"the test slice ({steps - split.valid_end} of {steps} steps) is "
            f"shorter than the longest horizon ({max(config.steps)} steps): raise "
            "--test-fraction, or use --test-fraction 0"
        )


def make_model(kind: str, config: TrainConfig) -> PointModel:
    if kind == "gbm":
        return GradientBoosting(config.gbm)
    if kind == "persistence":
        return Persistence()
    if kind == "profile":
        return HistoricalProfile()
    raise TrainingError(f"unknown model kind {kind!r}; known: gbm, persistence, profile")


def context(panel: Panel, quantity: str, train_end: int) -> FeatureContext:
    """Features over the whole panel, with profiles learned from rows before `train_end` only."""
    values = panel.target(quantity)
    slot, day = panel.calendar()
    profiles = Profiles.fit(values[:train_end], slot[:train_end], day[:train_end])
    return FeatureContext(values, slot, day, profiles, panel.graph, fit_end=train_end)


def fit_quantity(
    panel: Panel,
    quantity: str,
    split: Split,
    config: TrainConfig,
    progress: StageProgress | None = None,
) -> QuantityResult:
    steps = config.steps
    longest = max(steps)
    if split.train_end - longest < 2:
        raise TrainingError(
            f"too little history to train: {split.train_end} steps of 5 minutes before "
            f"validation, need more than {longest + 2}"
        )
    ctx = context(panel, quantity, split.train_end)
    train_t = np.arange(11, split.train_end - longest, dtype=np.int64)
    valid_t = np.arange(split.train_end, split.valid_end - longest, dtype=np.int64)
    if len(valid_t) == 0:
        raise TrainingError(
            f"the validation slice ({split.valid_end - split.train_end} steps) is shorter than "
            f"the longest horizon ({longest} steps)"
        )
    actual = np.stack([ctx.values[valid_t + h] for h in steps], axis=-1)
    results: list[CandidateResult] = []
    for kind in config.candidates:
        model = make_model(kind, config)
        started = time.perf_counter()

        def report(done: int, total: int, kind: str = kind) -> None:
            if progress is not None:
                progress(f"{quantity}: {kind}", done, total)

        model.fit(ctx, train_t, valid_t, steps, report)
        fitted = time.perf_counter() - started
        pred = model.predict(ctx, valid_t, steps)
        results.append(
            CandidateResult(
                kind,
                model,
                {h: metrics.mae(actual[..., j], pred[..., j]) for j, h in enumerate(steps)},
                fitted,
                pred,
            )
        )
    best = min(results, key=lambda r: r.mean_mae)
    x, _ = ctx.base_features(valid_t)
    feature = SCALE_FEATURE[quantity]
    calibration = IntervalCalibration.fit(
        actual, best.validation_pred, np.abs(x[..., BASE_FEATURES.index(feature)]), feature
    )
    return QuantityResult(QuantityModel(best.model, calibration, ctx.profiles), results, ctx)


def train(
    panel: Panel,
    config: TrainConfig | None = None,
    split: Split | None = None,
    progress: StageProgress | None = None,
) -> tuple[TrainedModel, dict[str, QuantityResult]]:
    """Train a forecaster for speed, and for volume where the panel has it."""
    config = config or TrainConfig()
    split = split or Split.tail(panel.steps, config.validation_fraction)
    quantities = ["speed"] + (["volume"] if panel.volume is not None else [])
    results = {q: fit_quantity(panel, q, split, config, progress) for q in quantities}
    kind = results["speed"].chosen.model.kind
    model = TrainedModel(
        kind,
        config.steps,
        panel.segment_ids,
        {q: r.chosen for q, r in results.items()},
    )
    return model, results


def horizons_minutes(steps: tuple[int, ...]) -> list[int]:
    return [h * STEP_MINUTES for h in steps]
