"""Forecasts for many segments and horizons, as the pipeline stores and sends them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass
class Forecasts:
    """Forecasts for n segments x H horizons."""

    segment: npt.NDArray[np.int64]
    issued_ms: int
    horizons_min: npt.NDArray[np.int64]
    target_ms: npt.NDArray[np.int64]  # end of the 5-minute window each forecast is for
    speed: npt.NDArray[np.float64]
    speed_lower: npt.NDArray[np.float64]
    speed_upper: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    volume_lower: npt.NDArray[np.float64]
    volume_upper: npt.NDArray[np.float64]
    confidence: npt.NDArray[np.float64]
    model_version: str
