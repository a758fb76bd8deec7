"""At most one `traffic_event` message per segment per interval.

The newest reading of each segment is kept in arrays; a segment not sent
within the interval is sent at once, otherwise its newest reading waits for
the next tick. So a subscriber sees fresh data within one tick, and a segment
reporting 100 times a second still costs one message a second.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

NEVER = np.iinfo(np.int64).min // 2


class ReadingCoalescer:
    def __init__(self, interval_ms: int = 1000) -> None:
        self.interval_ms = interval_ms
        self.ts_ms = np.zeros(0, dtype=np.int64)
        self.speed = np.zeros(0)
        self.volume = np.zeros(0)
        self.occupancy = np.zeros(0)
        self.last_sent_ms = np.zeros(0, dtype=np.int64)
        self.pending = np.zeros(0, dtype=bool)

    def _grow(self, size: int) -> None:
        extra = size - len(self.ts_ms)
        if extra > 0:
            self.ts_ms = np.concatenate([self.ts_ms, np.full(extra, NEVER, np.int64)])
            self.speed = np.concatenate([self.speed, np.full(extra, np.nan)])
            self.volume = np.concatenate([self.volume, np.full(extra, np.nan)])
            self.occupancy = np.concatenate([self.occupancy, np.full(extra, np.nan)])
            self.last_sent_ms = np.concatenate([self.last_sent_ms, np.full(extra, NEVER, np.int64)])
            self.pending = np.concatenate([self.pending, np.zeros(extra, bool)])

    def update(
        self,
        segment: npt.NDArray[np.int64],
        ts_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        occupancy: npt.NDArray[np.float64],
    ) -> None:
        """Remember the newest reading per segment (by event time) from a batch."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        # Sort by (segment, time) and take each segment's last row.
        order = np.lexsort((ts_ms, segment))
        seg_sorted = segment[order]
        last = order[np.r_[seg_sorted[1:] != seg_sorted[:-1], True]]
        seg = segment[last]
        newer = ts_ms[last] >= self.ts_ms[seg]
        seg, rows = seg[newer], last[newer]
        self.ts_ms[seg] = ts_ms[rows]
        self.speed[seg] = speed[rows]
        self.volume[seg] = volume[rows]
        self.occupancy[seg] = occupancy[rows]
        self.pending[seg] = True

    def due(
        self, now_ms: int, wanted: npt.NDArray[np.bool_] | None = None
    ) -> npt.NDArray[np.int64]:
        """Segments to send now; marks them sent. `wanted` masks segments with subscribers."""
        ready = self.pending & (now_ms - self.last_sent_ms >= self.interval_ms)
        if wanted is not None:
            ready &= wanted[: len(ready)]
        seg = np.flatnonzero(ready)
        self.pending[seg] = False
        self.last_sent_ms[seg] = now_ms
        return seg
