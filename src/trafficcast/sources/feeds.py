"""Sources that feed the bus on a clock: a recorded dataset replay and the live simulator.

Each runs on its own thread, publishes Arrow batches, and blocks when the bus
is full (backpressure) rather than dropping anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from trafficcast.bus.base import Bus, BusFull
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.simulator import Simulator

log = logging.getLogger(__name__)

TICK_S = 0.2
FAST_CHUNK_EVENTS = 50_000
Progress = Callable[[int, int], None]  # (events sent, events total)


class Feed:
    """A source that publishes to the bus on its own thread; subclasses implement run()."""

    name = "feed"

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self.sent_events = 0
        self.finished = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None
        self.on_finish: Callable[[], None] | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._guarded, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _guarded(self) -> None:
        try:
            self.run()
        except Exception as exc:
            self.failure = exc
            log.exception("%s failed", self.name)
        finally:
            self.finished.set()
            if self.on_finish is not None and self.failure is None and not self._stop.is_set():
                self.on_finish()

    def run(self) -> None:
        raise NotImplementedError

    def _publish(self, batch: pa.Table) -> None:
        while not self._stop.is_set():
            try:
                self.bus.publish(batch, timeout=1.0)
                self.sent_events += batch.num_rows
                return
            except BusFull:
                # Backpressure: wait for the processor rather than drop data.
                if getattr(self.bus, "closed", False):
                    raise


class ReplayFeed(Feed):
    """Replays a dataset's events in event-time order, `speed` times faster than recorded.

    speed <= 0 replays as fast as the pipeline takes it.
    """

    name = "replay"

    def __init__(
        self, bus: Bus, dataset: Dataset, speed: float = 60.0, progress: Progress | None = None
    ) -> None:
        super().__init__(bus)
        self.dataset = dataset
        self.speed = speed
        self.progress = progress
        self.data_time_ms = dataset.start_ms if dataset.events.num_rows else 0

    def run(self) -> None:
        events = self.dataset.events
        total = events.num_rows
        ts = np.asarray(events.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        if total == 0:
            return
        start_data, start_wall = int(ts[0]), time.monotonic()
        pos = 0
        while pos < total and not self._stop.is_set():
            if self.speed <= 0:
                end = min(pos + FAST_CHUNK_EVENTS, total)
            else:
                clock = start_data + (time.monotonic() - start_wall) * self.speed * 1000
                end = int(np.searchsorted(ts, clock, side="right"))
                if end <= pos:
                    wait = (ts[pos] - clock) / (self.speed * 1000)
                    self._stop.wait(min(max(wait, 0.001), TICK_S))
                    continue
            self._publish(events.slice(pos, end - pos))
            self.data_time_ms = int(ts[end - 1])
            pos = end
            if self.progress is not None:
                self.progress(pos, total)


class SimulatorFeed(Feed):
    """Runs the simulator as a live source.

    It first backfills `history_hours` of data at once (so windows, profiles and
    forecasts exist from the first minute), then produces readings as the data
    clock advances: real time at speed 1, `speed` times faster otherwise.
    """

    name = "simulator"

    def __init__(
        self,
        bus: Bus,
        simulator: Simulator,
        speed: float = 1.0,
        history_hours: float = 6.0,
        start_ms: int | None = None,
    ) -> None:
        super().__init__(bus)
        self.simulator = simulator
        self.speed = speed
        now_ms = int(time.time() * 1000) if start_ms is None else start_ms
        interval = simulator.config.reading_interval_s * 1000
        self.live_start_ms = now_ms - now_ms % interval
        self.history_start_ms = self.live_start_ms - int(history_hours * 3600_000)
        self.data_time_ms = self.history_start_ms

    def run(self) -> None:
        step = 15 * 60_000
        t = self.history_start_ms
        while t < self.live_start_ms and not self._stop.is_set():
            end = min(t + step, self.live_start_ms)
            self._publish(self.simulator.events(t, end))
            t = self.data_time_ms = end
        wall0 = time.monotonic()
        while not self._stop.is_set():
            clock = self.live_start_ms + int((time.monotonic() - wall0) * self.speed * 1000)
            if clock > t:
                self._publish(self.simulator.events(t, clock))
                t = self.data_time_ms = clock
            self._stop.wait(TICK_S)
