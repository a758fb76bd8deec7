"""The two baselines every learned model must beat: persistence and the usual profile."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.features import FeatureContext
from trafficcast.forecast.models.base import Progress


class _Untrained:
    """Baselines learn nothing: fitting is a no-op and there is nothing to save."""

    def fit(
        self,
        ctx: FeatureContext,
        train_t: npt.NDArray[np.int64],
        valid_t: npt.NDArray[np.int64],
        steps: Sequence[int],
        progress: Progress | None = None,
    ) -> None:
        if progress is not None:
            progress(1, 1)

    def save(self, folder: Path, prefix: str) -> dict[str, Any]:
        return {}


class Persistence(_Untrained):
    """Tomorrow is today: the newest reading of the last hour, for every horizon."""

    kind = "persistence"

    def predict(
        self, ctx: FeatureContext, t_idx: npt.NDArray[np.int64], steps: Sequence[int]
    ) -> npt.NDArray[np.float32]:
        _, base = ctx.base_features(t_idx)
        # No reading in the last hour: the usual value now stands in for the last one.
        base = np.where(np.isfinite(base), base, ctx.usual(t_idx))
        out: npt.NDArray[np.float32] = np.repeat(base[..., None], len(steps), axis=-1)
        return out


class HistoricalProfile(_Untrained):
    """The segment's usual value for the target's day type and time; persistence without one."""

    kind = "profile"

    def predict(
        self, ctx: FeatureContext, t_idx: npt.NDArray[np.int64], steps: Sequence[int]
    ) -> npt.NDArray[np.float32]:
        _, base = ctx.base_features(t_idx)
        out = np.empty((*base.shape, len(steps)), dtype=np.float32)
        for j, h in enumerate(steps):
            usual = ctx.profiles.at(ctx.day[t_idx + h], ctx.slot[t_idx + h])
            out[..., j] = np.where(np.isfinite(usual), usual, base)
        return out
