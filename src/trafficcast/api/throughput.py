"""Event throughput of this process over the last minutes, for the dashboard's charts.

The pipeline keeps plain running counters (decided in api/metrics.py so the hot
path takes no lock); rates need those counters at past instants, which nothing
keeps. This sampler reads one counter every few seconds into a short ring
buffer, on the API's event loop: reading an int costs nothing, and the buffer
is a fixed number of samples whatever the load.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SAMPLE_INTERVAL_S = 10.0
KEEP_S = 15 * 60.0
RATE_WINDOW_S = 60.0
# A freshly started process divides by at least this: a burst in its first
# milliseconds is not a rate of millions per second.
MIN_ELAPSED_S = 1.0


@dataclass(frozen=True)
class Sample:
    wall_s: float  # epoch seconds: what the chart's axis shows
    mono_s: float  # monotonic seconds: what rates are computed on (immune to clock steps)
    count: int


@dataclass(frozen=True)
class RatePoint:
    wall_s: float
    per_second: float


class ThroughputSampler:
    def __init__(
        self,
        read: Callable[[], int],
        *,
        interval_s: float = SAMPLE_INTERVAL_S,
        keep_s: float = KEEP_S,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval_s <= 0 or keep_s < interval_s:
            raise ValueError("need 0 < interval_s <= keep_s")
        self.read = read
        self.interval_s = interval_s
        self._wall = wall
        self._monotonic = monotonic
        # keep_s / interval_s rates need one sample more than that.
        self._samples: deque[Sample] = deque(maxlen=int(keep_s // interval_s) + 1)
        # The first sample is the start, so a rate exists before the first tick.
        self.sample()

    def sample(self) -> None:
        self._samples.append(Sample(self._wall(), self._monotonic(), self.read()))

    def rate(self, over_s: float = RATE_WINDOW_S) -> float:
        """Events per second from the sample nearest `over_s` ago (or the oldest) to now."""
        now, count = self._monotonic(), self.read()
        base = self._samples[0]
        for s in self._samples:
            if s.mono_s > now - over_s:
                break
            base = s
        elapsed = max(now - base.mono_s, MIN_ELAPSED_S)
        return max(0, count - base.count) / elapsed

    def history(self) -> list[RatePoint]:
        """The rate over each sampling interval, oldest first, stamped at its end."""
        samples = list(self._samples)
        return [
            RatePoint(b.wall_s, max(0, b.count - a.count) / (b.mono_s - a.mono_s))
            for a, b in itertools.pairwise(samples)
            if b.mono_s > a.mono_s
        ]

    async def run(self) -> None:
        """Sample every interval_s on the event loop's clock until cancelled."""
        loop = asyncio.get_running_loop()
        next_at = loop.time() + self.interval_s
        while True:
            await asyncio.sleep(max(0.0, next_at - loop.time()))
            self.sample()
            # Fixed-rate ticks: a slow loop skips samples instead of drifting.
            next_at += self.interval_s
            while next_at <= loop.time():
                next_at += self.interval_s
