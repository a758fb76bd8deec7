"""Forecast features, computed for many (time, segment) pairs at once.

Everything is expressed relative to the segment's *base*: its newest reading
in the last hour (the forecast is the base plus a predicted change). That makes
one model fit fast and slow roads alike and lets it learn from every segment.

Missing readings stay NaN all the way through: lags, window statistics and
neighbour means skip them, `age` says how old the base is, and a segment with
no reading in the last hour has no base and gets no learned forecast. Features
at time t read rows t-11..t only; nothing here can see the future (a test
shuffles the future and checks).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

from trafficcast.domain.time_of_day import SLOTS_PER_DAY
from trafficcast.forecast.panel import Graph
from trafficcast.forecast.profiles import Profiles

INPUT_STEPS = 12  # one hour of 5-minute readings, as the published protocols use
DAY_STEPS = 288
WEEK_STEPS = 7 * DAY_STEPS

LAG_NAMES = [f"lag{k}" for k in range(1, INPUT_STEPS)]
BASE_FEATURES = [
    *LAG_NAMES,
    "base",
    "age",
    "valid",
    "mean3",
    "std",
    "min",
    "max",
    "up_level",
    "up_change1",
    "up_change3",
    "up_vs_usual",
    "down_level",
    "down_change1",
    "down_change3",
    "down_vs_usual",
    "slot",
    "usual_now",
    "typical",
    "vs_yesterday",
    "vs_last_week",
    "segment",
    "dev_mean",
    "vs_weeks",
]
HORIZON_FEATURES = ["usual_then", "yesterday_then", "last_week_then", "weeks_then"]
FEATURES = [*BASE_FEATURES, *HORIZON_FEATURES]
# Hidden at random during training so the model learns to forecast segments without history.
PROFILE_FEATURES = (
    "up_vs_usual",
    "down_vs_usual",
    "usual_now",
    "typical",
    "usual_then",
)


def _row_normalised(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    total = np.asarray(matrix.sum(axis=1)).ravel()
    scale = np.divide(1.0, total, out=np.zeros_like(total), where=total > 0)
    return sparse.csr_matrix(sparse.diags(scale) @ matrix)


def _nan_mean(arrays: list[npt.NDArray[np.float32]]) -> npt.NDArray[np.float32]:
    """Element-wise mean of same-shape arrays, skipping NaN; NaN where all are."""
    total = np.zeros(arrays[0].shape)
    count = np.zeros(arrays[0].shape)
    for a in arrays:
        ok = np.isfinite(a)
        total += np.where(ok, a, 0.0)
        count += ok
    with np.errstate(invalid="ignore", divide="ignore"):
        out: npt.NDArray[np.float32] = np.where(count > 0, total / count, np.nan).astype(np.float32)
    return out


@dataclass
class FeatureContext:
    """What features are computed from: history of one quantity, calendar, graph and profiles."""

    values: npt.NDArray[np.float32]  # (T, N) NaN = missing
    slot: npt.NDArray[np.int64]  # (>= T + horizons,) local slot of each row
    day: npt.NDArray[np.int64]  # day type of each row
    profiles: Profiles
    graph: Graph
    # Each column's identity as the model knows it (its column at training); NaN = never seen.
    codes: npt.NDArray[np.float32] | None = None
    # Rows before this one were used to fit the profiles. A profile looked up at such a row
    # leaves that row's own day out: otherwise, with a few days of history, the profile
    # holds a fifth of the very value a training target is (target leakage), the model
    # learns to trust it, and is let down on new days.
    fit_end: int = 0

    def __post_init__(self) -> None:
        if self.codes is None:
            self.codes = np.arange(self.values.shape[1], dtype=np.float32)
        self._up = _row_normalised(self.graph.upstream())
        self._down = _row_normalised(self.graph.downstream())
        self._typical = self.profiles.segment_level()

    @property
    def size(self) -> int:
        return int(self.values.shape[1])

    def _window(self, t_idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """(INPUT_STEPS, len(t_idx), N): row k is the reading k steps before t (NaN before 0)."""
        rows = t_idx[None, :] - np.arange(INPUT_STEPS)[:, None]
        out: npt.NDArray[np.float32] = self.values[np.maximum(rows, 0)]
        out[rows < 0] = np.nan
        return out

    def _profile(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The usual value at each row's time (R, N), its own day left out (see fit_end)."""
        value = self.profiles.at(self.day[rows], self.slot[rows])
        p = self.profiles
        inside = rows < self.fit_end
        if p.total is None or p.count is None or not inside.any():
            return value
        r = rows[inside]
        s = self.slot[r]
        d = self.day[r]
        own_total = np.zeros((len(r), self.size))
        own_count = np.zeros_like(own_total)
        for k in range(-p.smooth, p.smooth + 1):
            # Bin s holds the same day's readings of slots s-k (wrapping within the day).
            src = r - s + (s - k) % SLOTS_PER_DAY
            ok_row = (src >= 0) & (src < self.fit_end)
            v = self.values[np.clip(src, 0, len(self.values) - 1)]
            ok = ok_row[:, None] & np.isfinite(v)
            own_total += np.where(ok, v, 0.0)
            own_count += ok
        total = p.total[d, s] - own_total
        count = p.count[d, s] - own_count
        pooled_total = p.total[:, s].sum(axis=0) - own_total
        pooled_count = p.count[:, s].sum(axis=0) - own_count
        with np.errstate(invalid="ignore", divide="ignore"):
            loo = np.where(
                count > 0.5,
                total / count,
                np.where(pooled_count > 0.5, pooled_total / pooled_count, np.nan),
            )
        out = value.copy()
        out[inside] = loo.astype(np.float32)
        return out

    def _rows(self, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """values[idx] (R, N), NaN for rows before the start of the history."""
        out = self.values[np.maximum(idx, 0)]
        out[idx < 0] = np.nan
        return out

    def _neighbour_mean(
        self, matrix: sparse.csr_matrix, x: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Weighted mean over each segment's neighbours of x (R, N), skipping NaN."""
        ok = np.isfinite(x)
        total = (matrix @ np.where(ok, x, 0.0).T).T
        weight = (matrix @ ok.T.astype(np.float64)).T
        with np.errstate(invalid="ignore", divide="ignore"):
            mean: npt.NDArray[np.float32] = np.where(weight > 0, total / weight, np.nan).astype(
                np.float32
            )
        return mean

    def _same_time_past_weeks(
        self, rows: npt.NDArray[np.int64], weeks: int = 4
    ) -> npt.NDArray[np.float32]:
        """Mean of the readings at the same time of week over the last `weeks` weeks (±5 min).

        A profile that follows the season and knows Monday from Friday, where
        enough history exists; NaN where none of it does.
        """
        return _nan_mean(
            [self._rows(rows - k * WEEK_STEPS + d) for k in range(1, weeks + 1) for d in (-1, 0, 1)]
        )

    def _deviation(
        self, w: npt.NDArray[np.float32], t_idx: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float32]:
        """Mean departure from the usual over the last hour (R, N): how unusual today is."""
        return _nan_mean(
            [w[k] - self._profile(np.maximum(t_idx - k, 0)) for k in range(INPUT_STEPS)]
        )

    def base_features(
        self, t_idx: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """(features (R, N, len(BASE_FEATURES)), base (R, N)) for the rows t_idx."""
        w = self._window(t_idx)
        ok = np.isfinite(w)
        newest = np.argmax(ok, axis=0)
        any_ok = ok.any(axis=0)
        base = np.take_along_axis(w, newest[None], axis=0)[0]
        base = np.where(any_ok, base, np.nan).astype(np.float32)
        rel = w - base[None]
        count = ok.sum(axis=0)
        clean = np.where(ok, w, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = clean.sum(axis=0) / count
            var = np.where(ok, (w - mean[None]) ** 2, 0.0).sum(axis=0) / count
            c3 = ok[:3].sum(axis=0)
            mean3 = np.where(c3 > 0, clean[:3].sum(axis=0) / c3, np.nan) - base
        lo = np.where(ok, w, np.inf).min(axis=0)
        hi = np.where(ok, w, -np.inf).max(axis=0)

        slot = self.slot[t_idx]
        usual_now = self._profile(t_idx)
        cols: list[npt.NDArray[np.floating]] = [rel[k] for k in range(1, INPUT_STEPS)]
        cols += [
            base,
            np.where(any_ok, newest, INPUT_STEPS).astype(np.float32),
            count.astype(np.float32),
            mean3,
            np.sqrt(var),
            np.where(any_ok, lo - base, np.nan),
            np.where(any_ok, hi - base, np.nan),
        ]
        for matrix in (self._up, self._down):
            now = self._neighbour_mean(matrix, w[0])
            cols += [
                now - base,
                now - self._neighbour_mean(matrix, w[1]),
                now - self._neighbour_mean(matrix, w[3]),
                now - self._neighbour_mean(matrix, usual_now),
            ]
        shape = base.shape
        cols += [
            np.broadcast_to(slot[:, None], shape),
            usual_now - base,
            self._typical[None, :] - base,
            w[0] - self._rows(t_idx - DAY_STEPS),
            w[0] - self._rows(t_idx - WEEK_STEPS),
            np.broadcast_to(np.asarray(self.codes)[None, :], shape),
            self._deviation(w, t_idx),
            w[0] - self._same_time_past_weeks(t_idx),
        ]
        out = np.empty((*shape, len(cols)), dtype=np.float32)
        for i, c in enumerate(cols):
            out[..., i] = c
        return out, base

    def usual(self, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
        """The profile at each row's time (R, N), the segment's typical value where unknown."""
        value = self._profile(rows)
        out: npt.NDArray[np.float32] = np.where(np.isfinite(value), value, self._typical[None, :])
        return out

    def horizon_features(
        self, t_idx: npt.NDArray[np.int64], steps: int, base: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """(R, N, len(HORIZON_FEATURES)): the usual value at the target time."""
        target = t_idx + steps
        then = self._profile(target)
        return np.stack(
            [
                then - base,
                self._rows(target - DAY_STEPS) - base,
                self._rows(target - WEEK_STEPS) - base,
                self._same_time_past_weeks(target) - base,
            ],
            axis=-1,
        ).astype(np.float32)
