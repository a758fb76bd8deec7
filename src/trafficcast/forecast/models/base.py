"""What every point forecaster offers: fit on history, predict levels, save and load."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.features import FeatureContext

Progress = Callable[[int, int], None]  # (done, total)


class PointModel(Protocol):
    kind: str

    def fit(
        self,
        ctx: FeatureContext,
        train_t: npt.NDArray[np.int64],
        valid_t: npt.NDArray[np.int64],
        steps: Sequence[int],
        progress: Progress | None = None,
    ) -> None:
        """Learn from rows `train_t` (their targets lie before the validation rows)."""

    def predict(
        self, ctx: FeatureContext, t_idx: npt.NDArray[np.int64], steps: Sequence[int]
    ) -> npt.NDArray[np.float32]:
        """Levels (len(t_idx), N, len(steps)) forecast from rows t_idx; NaN where impossible."""

    def save(self, folder: Path, prefix: str) -> dict[str, Any]:
        """Write artifacts; return what `load` needs besides them (JSON-serialisable)."""


def no_forecast(t_idx: npt.NDArray[np.int64], n: int, h: int) -> npt.NDArray[np.float32]:
    return np.full((len(t_idx), n, h), np.nan, dtype=np.float32)
