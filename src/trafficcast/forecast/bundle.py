"""A trained forecaster as the registry stores it: per quantity, a point model,
its interval calibration and the profiles it was trained with."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trafficcast.forecast.features import FeatureContext
from trafficcast.forecast.intervals import IntervalCalibration, confidence
from trafficcast.forecast.models.base import PointModel
from trafficcast.forecast.models.baselines import HistoricalProfile, Persistence
from trafficcast.forecast.models.gbm import GradientBoosting
from trafficcast.forecast.profiles import Profiles


@dataclass
class QuantityForecast:
    value: npt.NDArray[np.float32]  # (R, N, H)
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float64]


@dataclass
class QuantityModel:
    """The forecaster of one quantity (speed or volume)."""

    model: PointModel
    calibration: IntervalCalibration
    profiles: Profiles

    def forecast(
        self,
        ctx: FeatureContext,
        t_idx: npt.NDArray[np.int64],
        steps: tuple[int, ...],
        trained_steps: tuple[int, ...] | None = None,
    ) -> QuantityForecast:
        """Forecasts for `steps`, a subset of the `trained_steps` (default: all of them)."""
        value = self.model.predict(ctx, t_idx, steps)
        x, _ = ctx.base_features(t_idx)
        calibration = self.calibration
        if trained_steps is not None and tuple(steps) != tuple(trained_steps):
            calibration = calibration.select([trained_steps.index(h) for h in steps])
        lo, hi = calibration.apply(value, calibration.signal(x))
        return QuantityForecast(value, lo, hi, confidence(value, lo, hi))


@dataclass
class TrainedModel:
    kind: str
    steps: tuple[int, ...]  # horizons in 5-minute steps
    segment_ids: pa.Array  # columns the profiles belong to
    quantities: dict[str, QuantityModel]
    metadata: dict[str, Any] = field(default_factory=dict)

    def save(self, folder: Path) -> dict[str, Any]:
        """Write artifacts into `folder`; returns the manifest to keep in the metadata."""
        manifest: dict[str, Any] = {"steps": list(self.steps), "quantities": {}}
        np.save(folder / "segment_ids.npy", np.asarray(self.segment_ids.to_pylist(), dtype=str))
        for name, q in self.quantities.items():
            np.savez_compressed(
                folder / f"{name}-profiles.npz", mean=q.profiles.mean, days=q.profiles.days
            )
            manifest["quantities"][name] = {
                "model_kind": q.model.kind,
                "model": q.model.save(folder, name),
                "calibration": q.calibration.to_json(),
            }
        return manifest

    @classmethod
    def load(cls, folder: Path, kind: str, manifest: dict[str, Any]) -> TrainedModel:
        ids = pa.array(np.load(folder / "segment_ids.npy").tolist(), type=pa.string())
        quantities: dict[str, QuantityModel] = {}
        for name, saved in manifest["quantities"].items():
            with np.load(folder / f"{name}-profiles.npz") as z:
                profiles = Profiles(z["mean"], z["days"])
            quantities[name] = QuantityModel(
                _load_point(folder, saved["model_kind"], saved["model"]),
                IntervalCalibration.from_json(saved["calibration"]),
                profiles,
            )
        return cls(kind, tuple(manifest["steps"]), ids, quantities)

    @classmethod
    def from_registry_folder(cls, folder: Path) -> TrainedModel:
        meta = json.loads((folder / "model.json").read_text())
        model = cls.load(folder, meta["kind"], meta["artifacts"])
        model.metadata = meta
        return model


def _load_point(folder: Path, kind: str, saved: dict[str, Any]) -> PointModel:
    if kind == GradientBoosting.kind:
        return GradientBoosting.load(folder, saved)
    if kind == Persistence.kind:
        return Persistence()
    if kind == HistoricalProfile.kind:
        return HistoricalProfile()
    raise ValueError(f"unknown model kind {kind!r} in the registry")
