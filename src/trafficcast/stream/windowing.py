"""Event-time tumbling windows per segment, with a watermark and allowed lateness.

State is a set of numpy arrays of partial sums keyed by (window, segment), so a
batch of any size is folded in with a few sorts and `bincount`s. Sums commute,
so out-of-order input within the lateness gives the same windows as sorted
input.

Timeline of one window [start, end):
- it is emitted once the watermark reaches `end`;
- until the watermark reaches `end + allowed_lateness`, late events still
  update it and it is emitted again (consumers upsert by key);
- after that it is dropped from state, and events for it are "too late": they
  are counted and handed back to the caller to record.
The watermark is the highest event time seen minus `watermark_delay_ms`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

_SEGMENT_BITS = 24  # up to 16.7 M segments per processor
_SEGMENT_MASK = (1 << _SEGMENT_BITS) - 1
_SUMS = (
    "count",
    "speed_sum",
    "inv_speed_sum",
    "inv_speed_n",
    "volume_sum",
    "volume_n",
    "occupancy_sum",
    "occupancy_n",
    "quality_sum",
)

NO_WATERMARK = np.iinfo(np.int64).min


@dataclass
class WindowResults:
    """Closed (or re-closed) windows as columns; one row per (segment, window)."""

    segment: npt.NDArray[np.int64]
    window_start_ms: npt.NDArray[np.int64]
    window_ms: int
    count: npt.NDArray[np.int64]
    mean_speed: npt.NDArray[np.float64]
    harmonic_mean_speed: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    occupancy: npt.NDArray[np.float64]
    quality: npt.NDArray[np.float64]
    first_emission: npt.NDArray[np.bool_]  # False when a late event re-opened the window

    def __len__(self) -> int:
        return len(self.segment)

    @property
    def window_end_ms(self) -> npt.NDArray[np.int64]:
        return self.window_start_ms + self.window_ms


@dataclass
class FoldResult:
    results: WindowResults
    too_late: npt.NDArray[np.bool_]  # per input row: its window had already been dropped


class TumblingWindows:
    def __init__(self, window_ms: int, allowed_lateness_ms: int, watermark_delay_ms: int = 0):
        if window_ms <= 0:
            raise ValueError("window_ms must be positive")
        self.window_ms = window_ms
        self.allowed_lateness_ms = allowed_lateness_ms
        self.watermark_delay_ms = watermark_delay_ms
        self.max_event_ms = NO_WATERMARK  # the stream clock the watermark follows
        self.max_seen_ms = NO_WATERMARK  # the newest event seen (ahead of it when held back)
        self._keys = np.zeros(0, dtype=np.int64)
        self._sums = {name: np.zeros(0) for name in _SUMS}
        self._dirty = np.zeros(0, dtype=bool)
        self._emitted = np.zeros(0, dtype=bool)

    @property
    def watermark_ms(self) -> int:
        if self.max_event_ms == NO_WATERMARK:
            return int(NO_WATERMARK)
        return int(self.max_event_ms - self.watermark_delay_ms)

    @property
    def open_windows(self) -> int:
        return len(self._keys)

    def restore_watermark(self, max_event_ms: int) -> None:
        self.max_event_ms = max(self.max_event_ms, max_event_ms)
        self.max_seen_ms = max(self.max_seen_ms, max_event_ms)

    def fold(
        self,
        segment: npt.NDArray[np.int64],
        ts_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        occupancy: npt.NDArray[np.float64],
        quality: npt.NDArray[np.float64],
        limit_ms: int | None = None,
    ) -> FoldResult:
        """Add a batch (in arrival order) and return the windows it closed or changed.

        `limit_ms` holds the stream clock back (the slowest of several inputs, such
        as Kafka partitions read at different speeds): events past it still count,
        but the watermark does not move beyond it; advance() moves it on later.
        """
        n = len(ts_ms)
        too_late = np.zeros(n, dtype=bool)
        if n:
            self.max_seen_ms = max(self.max_seen_ms, int(ts_ms.max()))
            # Each event is judged against the watermark as it stood when that
            # event arrived, i.e. before the later events of the same batch.
            running_max = np.maximum.accumulate(ts_ms)
            if limit_ms is not None:
                np.minimum(running_max, max(limit_ms, self.max_event_ms), out=running_max)
            seen_before = np.empty(n, dtype=np.int64)
            seen_before[0] = self.max_event_ms
            np.maximum(running_max[:-1], self.max_event_ms, out=seen_before[1:])
            watermark_before = np.where(
                seen_before == NO_WATERMARK, NO_WATERMARK, seen_before - self.watermark_delay_ms
            )
            window_start = ts_ms - ts_ms % self.window_ms
            expiry = window_start + self.window_ms + self.allowed_lateness_ms
            too_late = expiry <= watermark_before
            self.max_event_ms = max(self.max_event_ms, int(running_max[-1]))
            ok = ~too_late
            if ok.any():
                self._merge(
                    segment[ok], window_start[ok], speed[ok], volume[ok], occupancy[ok], quality[ok]
                )
        return FoldResult(self._emit(self.watermark_ms), too_late)

    def advance(self, limit_ms: int | None) -> WindowResults:
        """Move the stream clock towards the newest event seen, up to `limit_ms` (None: all
        the way), and return the windows that closes."""
        target = self.max_seen_ms if limit_ms is None else min(self.max_seen_ms, limit_ms)
        if target <= self.max_event_ms:
            return self._results(np.zeros(len(self._keys), dtype=bool))
        self.max_event_ms = target
        return self._emit(self.watermark_ms)

    def flush(self) -> WindowResults:
        """Emit every open window now (end of a replay) and forget them.

        The watermark moves past them, as if the stream had gone on: an event
        for a flushed window arriving afterwards is too late, so a window is
        never emitted as new twice.
        """
        if len(self._keys):
            last_end = int((self._keys.max() >> _SEGMENT_BITS) * self.window_ms + self.window_ms)
            self.max_event_ms = max(
                self.max_event_ms, last_end + self.allowed_lateness_ms + self.watermark_delay_ms
            )
        self._dirty |= ~self._emitted
        return self._emit(np.iinfo(np.int64).max)

    def _merge(
        self,
        segment: npt.NDArray[np.int64],
        window_start: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        occupancy: npt.NDArray[np.float64],
        quality: npt.NDArray[np.float64],
    ) -> None:
        batch_keys = ((window_start // self.window_ms) << _SEGMENT_BITS) | segment
        all_keys = np.concatenate([self._keys, batch_keys])
        keys, inverse = np.unique(all_keys, return_inverse=True)
        m = len(keys)
        state_inv, batch_inv = inverse[: len(self._keys)], inverse[len(self._keys) :]

        positive = speed > 0
        has_volume = ~np.isnan(volume)
        has_occ = ~np.isnan(occupancy)
        batch_values = {
            "count": None,
            "speed_sum": speed,
            "inv_speed_sum": np.where(positive, 1.0 / np.where(positive, speed, 1.0), 0.0),
            "inv_speed_n": positive.astype(np.float64),
            "volume_sum": np.where(has_volume, volume, 0.0),
            "volume_n": has_volume.astype(np.float64),
            "occupancy_sum": np.where(has_occ, occupancy, 0.0),
            "occupancy_n": has_occ.astype(np.float64),
            "quality_sum": quality,
        }
        sums: dict[str, npt.NDArray[np.float64]] = {}
        for name in _SUMS:
            weights = batch_values[name]
            merged = np.bincount(batch_inv, weights=weights, minlength=m).astype(np.float64)
            if len(state_inv):
                merged[state_inv] += self._sums[name]
            sums[name] = merged
        dirty = np.zeros(m, dtype=bool)
        dirty[batch_inv] = True
        emitted = np.zeros(m, dtype=bool)
        if len(state_inv):
            dirty[state_inv] |= self._dirty
            emitted[state_inv] = self._emitted
        self._keys, self._sums, self._dirty, self._emitted = keys, sums, dirty, emitted

    def _emit(self, watermark_ms: int) -> WindowResults:
        starts = (self._keys >> _SEGMENT_BITS) * self.window_ms
        ends = starts + self.window_ms
        closed = ends <= watermark_ms
        out = self._dirty & closed
        results = self._results(out)
        self._dirty[out] = False
        self._emitted[out] = True
        expired = ends + self.allowed_lateness_ms <= watermark_ms
        if expired.any():
            keep = ~expired
            self._keys = self._keys[keep]
            self._dirty = self._dirty[keep]
            self._emitted = self._emitted[keep]
            self._sums = {k: v[keep] for k, v in self._sums.items()}
        return results

    def _results(self, mask: npt.NDArray[np.bool_]) -> WindowResults:
        keys = self._keys[mask]
        s = {k: v[mask] for k, v in self._sums.items()}
        count = s["count"]
        with np.errstate(divide="ignore", invalid="ignore"):
            return WindowResults(
                segment=keys & _SEGMENT_MASK,
                window_start_ms=(keys >> _SEGMENT_BITS) * self.window_ms,
                window_ms=self.window_ms,
                count=count.astype(np.int64),
                mean_speed=s["speed_sum"] / count,
                harmonic_mean_speed=np.where(
                    s["inv_speed_n"] > 0, s["inv_speed_n"] / s["inv_speed_sum"], 0.0
                ),
                volume=np.where(s["volume_n"] > 0, s["volume_sum"], np.nan),
                occupancy=np.where(
                    s["occupancy_n"] > 0, s["occupancy_sum"] / s["occupancy_n"], np.nan
                ),
                quality=s["quality_sum"] / count,
                first_emission=~self._emitted[mask],
            )
