"""The bus port: validated event batches from sources to stream processors."""

from __future__ import annotations

from typing import Protocol

import pyarrow as pa


class BusUnavailable(RuntimeError):
    """The bus cannot be reached at start (a broker that is down or misnamed)."""


class BusFull(RuntimeError):
    """The bus is at capacity; the producer should slow down or retry later."""


class Bus(Protocol):
    def publish(self, batch: pa.Table, timeout: float | None = None) -> None:
        """Append a batch; wait up to `timeout` s for room (None = forever), else BusFull."""
        ...

    def poll(self, max_events: int, timeout: float) -> list[pa.Table]:
        """Take queued batches, up to about `max_events` events; [] after `timeout` s idle."""
        ...

    @property
    def depth(self) -> int:
        """Events waiting."""
        ...

    @property
    def capacity(self) -> int: ...

    @property
    def published_events(self) -> int:
        """Events accepted since start."""
        ...

    def position(self) -> object:
        """How far this consumer has read (opaque); hand it to commit() once durable."""
        ...

    def commit(self, position: object) -> None:
        """Results of everything read up to `position` are durably stored."""
        ...

    def close(self) -> None: ...
