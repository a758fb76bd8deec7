"""The recent 5-minute history of every segment, as the live forecaster reads it.

A fixed block of rows (a week and an hour: the features look back that far)
by segments, advanced as windows close. Late corrections of a window still in
the block overwrite it; windows older than the block are ignored.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.features import INPUT_STEPS, WEEK_STEPS
from trafficcast.forecast.panel import STEP_MS

HISTORY_STEPS = WEEK_STEPS + INPUT_STEPS


class RecentHistory:
    def __init__(self, steps: int = HISTORY_STEPS) -> None:
        self.steps = steps
        self.speed = np.full((steps, 0), np.nan, dtype=np.float32)
        self.volume = np.full((steps, 0), np.nan, dtype=np.float32)
        self.last_start_ms = -1  # start of the newest row's window; -1 = empty

    @property
    def size(self) -> int:
        return int(self.speed.shape[1])

    @property
    def first_start_ms(self) -> int:
        return self.last_start_ms - (self.steps - 1) * STEP_MS

    def _grow(self, size: int) -> None:
        extra = size - self.size
        if extra > 0:
            pad = np.full((self.steps, extra), np.nan, dtype=np.float32)
            self.speed = np.concatenate([self.speed, pad], axis=1)
            self.volume = np.concatenate([self.volume, pad.copy()], axis=1)

    def _advance(self, newest_start_ms: int) -> None:
        if self.last_start_ms < 0:
            self.last_start_ms = newest_start_ms
            return
        shift = (newest_start_ms - self.last_start_ms) // STEP_MS
        if shift <= 0:
            return
        if shift >= self.steps:
            self.speed[:] = np.nan
            self.volume[:] = np.nan
        else:
            self.speed[:-shift] = self.speed[shift:]
            self.volume[:-shift] = self.volume[shift:]
            self.speed[-shift:] = np.nan
            self.volume[-shift:] = np.nan
        self.last_start_ms = newest_start_ms

    def observe(
        self,
        segment: npt.NDArray[np.int64],
        window_start_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
    ) -> None:
        """Record closed 5-minute windows (first emissions and corrections alike)."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        self._advance(int(window_start_ms.max()))
        row = (window_start_ms - self.first_start_ms) // STEP_MS
        inside = row >= 0
        r, s = row[inside], segment[inside]
        self.speed[r, s] = np.where(speed[inside] > 0, speed[inside], np.nan)
        self.volume[r, s] = np.where(volume[inside] > 0, volume[inside], np.nan)

    def row_of(self, window_start_ms: int) -> int:
        """Row index of the window starting at `window_start_ms` (may be out of the block)."""
        return (window_start_ms - self.first_start_ms) // STEP_MS

    def select(self, columns: npt.NDArray[np.int64]) -> RecentHistory:
        """A copy holding only `columns` (in that order), on the same rows."""
        out = RecentHistory(self.steps)
        out.speed = self.speed[:, columns]
        out.volume = self.volume[:, columns]
        out.last_start_ms = self.last_start_ms
        return out
