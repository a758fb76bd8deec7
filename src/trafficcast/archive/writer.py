"""Continuous archive writing, off the stream processor's path.

The processor hands each committed cycle's events and windows to `submit`, which
only puts table references on a bounded queue (never blocks; a full queue drops
the cycle for the archive and counts it). A writer thread buffers per dataset and
writes one Parquet file per UTC date once a buffer holds `flush_bytes` or
`flush_rows`, or its oldest rows are `flush_age_s` old: files are neither tiny nor
unbounded. A failed write is logged, counted and retried with backoff, keeping
what it had not written yet; while it waits nothing more is taken off the queue,
so memory stays bounded and the queue's overflow is what is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import pyarrow as pa

from trafficcast.archive.location import DATASETS, ArchiveLocation, split_by_day

log = logging.getLogger(__name__)

# The writer thread's nice value (0 = as the process; 19 = only idle CPU).
NICE = 10


@dataclass(frozen=True)
class ArchiveConfig:
    flush_bytes: int = 64 * 1024 * 1024  # Arrow bytes in memory per dataset
    flush_rows: int = 4_000_000
    flush_age_s: float = 60.0
    queue_batches: int = 256  # committed cycles waiting for the writer thread
    retry_min_s: float = 1.0
    retry_max_s: float = 60.0


@dataclass
class ArchiveStats:
    files: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATASETS, 0))
    bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATASETS, 0))
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATASETS, 0))
    dropped_rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DATASETS, 0))
    errors: int = 0


class _Buffer:
    def __init__(self) -> None:
        self.tables: list[pa.Table] = []
        self.rows = 0
        self.nbytes = 0
        self.since = 0.0  # monotonic time of the oldest buffered table
        # Split by day and partly written when a write failed: finished first.
        self.pieces: list[tuple[date, pa.Table]] = []

    def add(self, table: pa.Table, now: float) -> None:
        if not self.tables and not self.pieces:
            self.since = now
        self.tables.append(table)
        self.rows += table.num_rows
        self.nbytes += table.nbytes

    @property
    def empty(self) -> bool:
        return not self.tables and not self.pieces


class ArchiveWriter:
    def __init__(
        self,
        location: ArchiveLocation,
        config: ArchiveConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.location = location
        self.config = config or ArchiveConfig()
        self.clock = clock
        self.stats = ArchiveStats()
        self._queue: queue.Queue[tuple[str, pa.Table] | None] = queue.Queue(
            self.config.queue_batches
        )
        self._buffers = {name: _Buffer() for name in DATASETS}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._retry_at = 0.0
        self._retry_delay = self.config.retry_min_s
        self.failure: str | None = None

    # the processor's side ------------------------------------------------------
    def submit(self, dataset: str, table: pa.Table | None) -> bool:
        """Queue rows for the archive; never blocks and never raises. False: dropped."""
        if table is None or table.num_rows == 0:
            return True
        try:
            self._queue.put_nowait((dataset, table))
            return True
        except queue.Full:
            self.stats.dropped_rows[dataset] = self.stats.dropped_rows.get(dataset, 0) + (
                table.num_rows
            )
            log.warning("archive queue full: %d %s rows not archived", table.num_rows, dataset)
            return False

    def on_commit(self, events: pa.Table | None, windows: list[pa.Table]) -> None:
        """The stream processor's hook after a successful commit."""
        try:
            self.submit("events", events)
            for table in windows:
                self.submit("windows", table)
        except Exception:  # never into the processor
            log.exception("archive submit failed")

    # lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="archive-writer", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued and buffered (trying for up to `timeout`), then stop."""
        if self._thread is None:
            return
        deadline = time.monotonic() + timeout
        with contextlib.suppress(queue.Full):  # full: the writer is backing off a failure
            self._queue.put(None, timeout=timeout)
        self._thread.join(max(0.0, deadline - time.monotonic()))
        self._stop.set()
        self._thread.join(5.0)
        self._thread = None

    # the writer thread ---------------------------------------------------------
    def _run(self) -> None:
        _lower_priority()
        stopping = False
        while True:
            if self._stop.is_set():  # stop() gave up waiting (storage down, or too slow)
                lost = sum(
                    b.rows + sum(p.num_rows for _, p in b.pieces) for b in self._buffers.values()
                )
                log.error("archive writer stopped with %d rows unwritten", lost)
                return
            wait = self._retry_at - self.clock()
            if wait > 0:  # backing off after a failed write: take nothing more meanwhile
                time.sleep(min(0.2, wait))
                continue
            try:
                if not stopping:
                    stopping = self._take(self._wait_s())
                self.flush_due(force=stopping)
            except Exception as exc:  # a bug, not storage: keep the thread, back off
                log.exception("archive writer failed")
                self._failed(exc)
            if stopping and all(b.empty for b in self._buffers.values()):
                return

    def _wait_s(self) -> float:
        ages = [self.clock() - b.since for b in self._buffers.values() if not b.empty]
        if not ages:
            return 1.0
        return max(0.01, min(1.0, self.config.flush_age_s - max(ages)))

    def _take(self, wait_s: float) -> bool:
        """Move queued tables into the buffers; True when asked to stop."""
        try:
            item = self._queue.get(timeout=wait_s)
        except queue.Empty:
            return False
        while True:
            if item is None:
                return True
            dataset, table = item
            self._buffers[dataset].add(table, self.clock())
            buffer = self._buffers[dataset]
            if buffer.nbytes >= self.config.flush_bytes or buffer.rows >= self.config.flush_rows:
                return False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return False

    def flush_due(self, force: bool = False) -> None:
        """Write every buffer that is full or old enough (all of them with `force`)."""
        c = self.config
        now = self.clock()
        for dataset, buffer in self._buffers.items():
            if buffer.empty:
                continue
            due = (
                force
                or buffer.pieces
                or buffer.nbytes >= c.flush_bytes
                or buffer.rows >= c.flush_rows
                or now - buffer.since >= c.flush_age_s
            )
            if due and not self._write(dataset, buffer):
                return

    def _write(self, dataset: str, buffer: _Buffer) -> bool:
        if buffer.tables:
            column = DATASETS[dataset]
            try:
                table = pa.concat_tables(buffer.tables, promote_options="permissive")
                buffer.pieces.extend(split_by_day(table, column))
            except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):
                # Batches that do not combine are written apart; one that cannot be
                # partitioned at all (a bug upstream) is dropped, not retried for ever.
                for t in buffer.tables:
                    try:
                        buffer.pieces.extend(split_by_day(t, column))
                    except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):
                        log.exception("archive: %d %s rows cannot be written", t.num_rows, dataset)
                        self.stats.errors += 1
                        self.stats.dropped_rows[dataset] += t.num_rows
            buffer.tables, buffer.rows, buffer.nbytes = [], 0, 0
        while buffer.pieces:
            day, piece = buffer.pieces[0]
            try:
                written = self.location.write_table(
                    self.location.partition_dir(dataset, day), piece
                )
            except Exception as exc:
                log.warning(
                    "archive write of %d %s rows failed; retrying in %.0f s: %s",
                    piece.num_rows,
                    dataset,
                    self._retry_delay,
                    exc,
                )
                self._failed(exc)
                return False
            buffer.pieces.pop(0)
            self.stats.files[dataset] += 1
            self.stats.bytes[dataset] += written.size
            self.stats.rows[dataset] += piece.num_rows
        buffer.since = self.clock()
        self.failure = None
        self._retry_delay = self.config.retry_min_s
        return True

    def _failed(self, exc: Exception) -> None:
        self.stats.errors += 1
        self.failure = f"{type(exc).__name__}: {exc}"
        self._retry_at = self.clock() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.config.retry_max_s)


def _lower_priority() -> None:
    """Let the stream processor have the CPU first (Linux: a thread has its own nice value).

    Encoding Parquet is CPU work; behind the processor it makes the archive lag a little
    at peaks instead of slowing ingest (decision 0020)."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
