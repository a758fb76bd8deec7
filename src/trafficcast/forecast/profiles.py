"""Each segment's usual value by day type and time of day, learned from history.

Weekday and weekend traffic differ more than any two weekdays, and a week of
history holds only two weekend days, so the profile is split by day type only.
Each slot averages its neighbouring slots (±`smooth`) to steady the estimate
when few days are known. Where a day type has no history the other one
stands in; where a segment has none at all the profile is NaN, which the
models treat as "unknown" rather than as a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trafficcast.domain.time_of_day import SLOTS_PER_DAY


@dataclass
class Profiles:
    mean: npt.NDArray[np.float32]  # (2 day types, N, SLOTS_PER_DAY), NaN = unknown
    days: npt.NDArray[np.float32]  # (2, N, SLOTS_PER_DAY) how many readings back each mean
    # Sums and counts behind `mean` (2, SLOTS_PER_DAY, N), kept after fit (not saved) so
    # training can leave a day's own readings out of its profile; `smooth` as fitted.
    total: npt.NDArray[np.float64] | None = None
    count: npt.NDArray[np.float64] | None = None
    smooth: int = 2

    @classmethod
    def fit(
        cls,
        values: npt.NDArray[np.float32],
        slot: npt.NDArray[np.int64],
        day: npt.NDArray[np.int64],
        smooth: int = 2,
    ) -> Profiles:
        """`values` (T, N) with NaN gaps; `slot`/`day` (T,) of each row."""
        n = values.shape[1]
        total = np.zeros((2, SLOTS_PER_DAY, n))
        count = np.zeros((2, SLOTS_PER_DAY, n))
        ok = np.isfinite(values)
        clean = np.where(ok, values, 0.0)
        for d in (0, 1):
            rows = day == d
            if not rows.any():
                continue
            for k in range(-smooth, smooth + 1):
                s = (slot[rows] + k) % SLOTS_PER_DAY
                np.add.at(total[d], s, clean[rows])
                np.add.at(count[d], s, ok[rows])
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count > 0, total / count, np.nan)
            pooled = np.where(count.sum(0) > 0, total.sum(0) / np.maximum(count.sum(0), 1), np.nan)
        mean = np.where(np.isnan(mean), pooled[None], mean)
        days = count / (2 * smooth + 1)
        # Contiguous, so sums over a segment's slots add up in the same order after take().
        return cls(
            np.ascontiguousarray(mean.transpose(0, 2, 1), dtype=np.float32),
            np.ascontiguousarray(days.transpose(0, 2, 1), dtype=np.float32),
            total,
            count,
            smooth,
        )

    @property
    def size(self) -> int:
        return int(self.mean.shape[1])

    def at(
        self,
        day: npt.NDArray[np.int64],
        slot: npt.NDArray[np.int64],
        columns: npt.NDArray[np.int64] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Profile values for rows of (day, slot) (shape (R,)) x columns -> (R, n columns)."""
        cols = np.arange(self.size) if columns is None else columns
        out: npt.NDArray[np.float32] = self.mean[day[:, None], cols[None, :], slot[:, None]]
        return out

    def segment_level(self) -> npt.NDArray[np.float32]:
        """Each segment's overall weekday mean (NaN if unknown): its typical speed."""
        weekday = self.mean[0]
        known = np.isfinite(weekday)
        count = known.sum(axis=1)
        total = np.where(known, weekday, 0.0).sum(axis=1)
        level: npt.NDArray[np.float32] = np.where(
            count > 0, total / np.maximum(count, 1), np.nan
        ).astype(np.float32)
        return level

    def take(self, columns: npt.NDArray[np.int64]) -> Profiles:
        """Profiles for a subset/reordering of columns; -1 marks a segment with no profile."""
        known = columns >= 0
        safe = np.where(known, columns, 0)
        mean = np.where(known[None, :, None], self.mean[:, safe], np.nan).astype(np.float32)
        days = np.where(known[None, :, None], self.days[:, safe], 0).astype(np.float32)
        return Profiles(mean, days)
