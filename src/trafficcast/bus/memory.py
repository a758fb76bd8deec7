"""In-process bus: a bounded FIFO of Arrow batches, counted in events."""

from __future__ import annotations

import threading
import time
from collections import deque

import pyarrow as pa

from trafficcast.bus.base import BusFull


class MemoryBus:
    def __init__(self, capacity_events: int = 2_000_000) -> None:
        self._capacity = capacity_events
        self._queue: deque[pa.Table] = deque()
        self._depth = 0
        self._cond = threading.Condition()
        self._closed = False
        self.published_events = 0

    @property
    def depth(self) -> int:
        return self._depth

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def capacity(self) -> int:
        return self._capacity

    def publish(self, batch: pa.Table, timeout: float | None = None) -> None:
        n = batch.num_rows
        if n == 0:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            if self._closed:
                raise BusFull("bus is closed")
            # A batch larger than the whole capacity is let in alone on an empty
            # bus, or it could never be accepted.
            while self._depth > 0 and self._depth + n > self._capacity:
                if self._closed:
                    raise BusFull("bus is closed")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise BusFull(
                        f"bus full: {self._depth} of {self._capacity} events waiting for the "
                        "stream processor"
                    )
                self._cond.wait(remaining)
            self._queue.append(batch)
            self._depth += n
            self.published_events += n
            self._cond.notify_all()

    def poll(self, max_events: int, timeout: float) -> list[pa.Table]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._queue and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._cond.wait(remaining)
            out: list[pa.Table] = []
            taken = 0
            while self._queue and (not out or taken + self._queue[0].num_rows <= max_events):
                batch = self._queue.popleft()
                out.append(batch)
                taken += batch.num_rows
            self._depth -= taken
            self._cond.notify_all()
            return out

    def position(self) -> object:
        return None  # in memory: nothing survives a crash, so nothing to commit

    def commit(self, position: object) -> None:
        pass

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
