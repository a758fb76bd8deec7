"""Filling the 5-minute windows of detectors that went silent, flagged, never silently.

A segment is *expected* in a window when it had an observed window within the last
`max_gap_ms`; an expected segment with no reading in a window gets a window anyway,
flagged with how it was filled (PRODUCT.md §7a):

- imputed_neighbours: its upstream/downstream neighbours reported in the same window.
  Their speed (volume) as a share of their usual for this time of day, weighted by the
  link weights, times this segment's usual; without a usual of its own, the neighbours'
  weighted mean speed (volume stays unknown: lanes differ).
- imputed_profile: no neighbour reported; its usual speed and volume for this time of day.
- missing: nothing to fill from; the window is emitted with no speed, so the gap shows.

After `max_gap_ms` of silence a segment is no longer expected: a detector that is gone
is the detector-health report's business, not a stream of invented windows.

Pure numpy over all segments of one window at once; the processor feeds it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse

OBSERVED_CODE, NEIGHBOURS_CODE, PROFILE_CODE, MISSING_CODE = range(4)  # domain/fill.FILL_KINDS

_NEVER = np.iinfo(np.int64).min


@dataclass
class Filled:
    """The filled windows of one window start, one row per silent expected segment."""

    segment: npt.NDArray[np.int64]
    speed: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    fill: npt.NDArray[np.int8]


def fill_silent(
    silent: npt.NDArray[np.int64],
    seen: npt.NDArray[np.int64],
    seen_speed: npt.NDArray[np.float64],
    seen_volume: npt.NDArray[np.float64],
    usual_speed: npt.NDArray[np.float64],
    usual_volume: npt.NDArray[np.float64],
    neighbours: sparse.csr_matrix | None,
) -> Filled:
    """Fill the windows of `silent` segments from those `seen` in the same window.

    `usual_speed`/`usual_volume` hold every segment's usual value for this window's time
    of day (NaN where unknown); `neighbours` row n weighs segment n's neighbours (None or
    too small: no road graph for them).
    """
    n = len(silent)
    size = len(usual_speed)
    speed = np.full(n, np.nan)
    volume = np.full(n, np.nan)
    fill = np.full(n, MISSING_CODE, dtype=np.int8)
    if n == 0:
        return Filled(silent, speed, volume, fill)
    own_speed = usual_speed[silent]
    own_volume = usual_volume[silent]
    has_own = np.isfinite(own_speed) & (own_speed > 0)
    from_neighbours = np.zeros(n, dtype=bool)
    if neighbours is not None and neighbours.shape[0] >= size and len(seen):
        rows = neighbours[silent][:, :size]

        def weighted(
            values: npt.NDArray[np.float64],
        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
            """The link-weighted mean of `values` (per segment, NaN = none) over each silent
            segment's neighbours, and whether any neighbour had one."""
            ok = np.isfinite(values)
            total = rows @ np.where(ok, values, 0.0)
            weight = rows @ ok.astype(np.float64)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(weight > 0, total / weight, np.nan)
            return np.asarray(mean, dtype=np.float64), np.asarray(weight > 0, dtype=bool)

        def ratios(
            values: npt.NDArray[np.float64], usual: npt.NDArray[np.float64]
        ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
            """Each seen segment's value as a share of its usual (NaN elsewhere)."""
            r = np.full(size, np.nan)
            u = usual[seen]
            ok = np.isfinite(values) & (values > 0) & np.isfinite(u) & (u > 0)
            r[seen[ok]] = values[ok] / u[ok]
            return weighted(r)

        speed_ratio, has_ratio = ratios(seen_speed, usual_speed)
        by_ratio = has_own & has_ratio
        speed[by_ratio] = own_speed[by_ratio] * speed_ratio[by_ratio]
        raw = np.full(size, np.nan)
        positive = np.isfinite(seen_speed) & (seen_speed > 0)
        raw[seen[positive]] = seen_speed[positive]
        mean_speed, has_mean = weighted(raw)
        by_mean = ~by_ratio & has_mean
        speed[by_mean] = mean_speed[by_mean]
        from_neighbours = by_ratio | by_mean
        volume_ratio, has_volume_ratio = ratios(seen_volume, usual_volume)
        by_volume = from_neighbours & has_volume_ratio & np.isfinite(own_volume)
        volume[by_volume] = own_volume[by_volume] * volume_ratio[by_volume]
        fill[from_neighbours] = NEIGHBOURS_CODE
    by_profile = ~from_neighbours & has_own
    speed[by_profile] = own_speed[by_profile]
    volume[by_profile] = own_volume[by_profile]
    fill[by_profile] = PROFILE_CODE
    return Filled(silent, speed, volume, fill)


class SilenceTracker:
    """Which segments are expected in each window, and which window starts are judged.

    `through_ms` is the end of the newest window judged (None before the first close): a
    reading for a window before it comes late, after that window may have been filled.
    """

    def __init__(self, window_ms: int, max_gap_ms: int) -> None:
        self.window_ms = window_ms
        self.max_gap_ms = max_gap_ms
        self.last_seen_ms = np.full(0, _NEVER, dtype=np.int64)  # start of the newest observed
        self.through_ms: int | None = None

    def _grow(self, size: int) -> None:
        extra = size - len(self.last_seen_ms)
        if extra > 0:
            self.last_seen_ms = np.concatenate(
                [self.last_seen_ms, np.full(extra, _NEVER, dtype=np.int64)]
            )

    def seed(self, segment: npt.NDArray[np.int64], start_ms: npt.NDArray[np.int64]) -> None:
        """Observed windows from before (a restart): who is expected from now on."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        np.maximum.at(self.last_seen_ms, segment, start_ms)

    def resume_at(self, watermark_ms: int) -> None:
        """After a restore: windows closed by this watermark were judged before."""
        self.through_ms = watermark_ms - watermark_ms % self.window_ms

    def starts_to_judge(self, new_starts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The window starts to judge now that windows starting at `new_starts` closed with
        readings: those not judged yet, in order. A window nobody reported in is not
        judged at all: every detector silent at once is a gap in the feed (an outage, the
        end of a replay, a replay that jumps ahead), not silent detectors."""
        known = np.unique(new_starts)
        if self.through_ms is not None:
            known = known[known >= self.through_ms]
        return known.astype(np.int64)

    def judge(self, start_ms: int, seen: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """The expected segments silent in the window at `start_ms` (given those `seen`
        in it), and the window marked judged and its readers seen."""
        if len(seen):
            self._grow(int(seen.max()) + 1)
        last = self.last_seen_ms
        expected = (last != _NEVER) & (last < start_ms) & (last >= start_ms - self.max_gap_ms)
        expected[seen] = False
        last[seen] = np.maximum(last[seen], start_ms)
        self.through_ms = start_ms + self.window_ms
        return np.flatnonzero(expected).astype(np.int64)
