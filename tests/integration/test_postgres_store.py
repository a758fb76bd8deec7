"""The PostgreSQL store against a real server: outages and bulk writes."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from tests.services import start_service
from trafficcast.domain.schema import EVENT_SCHEMA, TIMESTAMP
from trafficcast.store.base import StoreUnavailable
from trafficcast.store.postgres_store import PostgresStore

T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
# The pool's timeout is 5 s: a call during an outage fails well within this.
OUTAGE_ANSWER_S = 10.0
RECOVERY_S = 60.0


def bulk_events(n: int, first: int = 0) -> pa.Table:
    i = np.arange(first, first + n)
    return pa.Table.from_arrays(
        [
            pa.array([f"bulk-{k:09d}" for k in i]),
            pa.array([f"seg-{k % 500}" for k in i]),
            pa.array(T0 + i * 37, pa.int64()).cast(TIMESTAMP),
            pa.array(np.linspace(5.0, 70.0, n)),
            pa.array(np.where(i % 10 == 0, np.nan, 4.0)),
            pa.nulls(n, pa.float64()),
            pa.array(np.full(n, 34.05)),
            pa.array(np.full(n, -118.25)),
            pa.array(["bulk"] * n),
            pa.array(np.ones(n)),
        ],
        schema=EVENT_SCHEMA,
    )


def fails_fast(call: Callable[[], object]) -> float:
    began = time.monotonic()
    with pytest.raises(StoreUnavailable):
        call()
    return time.monotonic() - began


@pytest.mark.slow
def test_pool_recovers_after_the_server_restarts(tmp_path: Path) -> None:
    service = start_service("postgres", tmp_path)
    store = PostgresStore(service.url, max_size=2)
    try:
        store.init_schema()
        store.write_events(bulk_events(100))
        store.ping()

        service.stop()
        # The pooled connections are dead now: every call answers StoreUnavailable, quickly.
        assert fails_fast(store.ping) < OUTAGE_ANSWER_S
        assert fails_fast(store.count_events) < OUTAGE_ANSWER_S
        assert fails_fast(lambda: store.write_events(bulk_events(10, 100))) < OUTAGE_ANSWER_S

        def cycle() -> None:
            with store.transaction():
                store.write_events(bulk_events(10, 100))

        assert fails_fast(cycle) < OUTAGE_ANSWER_S

        service.start()
        deadline = time.monotonic() + RECOVERY_S
        while True:
            try:
                store.ping()
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        # Same data, and writes work again (no half-written cycle from the outage).
        assert store.count_events() == 100
        store.write_events(bulk_events(10, 100))
        assert store.count_events() == 110
    finally:
        store.close()
        service.destroy()


@pytest.mark.slow
def test_bulk_copy_of_200k_events(postgres_database: str) -> None:
    n = 200_000
    store = PostgresStore(postgres_database)
    try:
        store.init_schema()
        batch = bulk_events(n)
        began = time.monotonic()
        store.write_events(batch)
        elapsed = time.monotonic() - began
        print(f"write_events: {n} rows in {elapsed:.2f} s ({n / elapsed:,.0f} rows/s)")
        assert store.count_events() == n
        store.write_events(batch.slice(0, 1000))  # a replayed slice adds nothing
        assert store.count_events() == n
        back = store.events_since(T0).sort_by("event_id")
        assert back.schema == EVENT_SCHEMA
        assert back.num_rows == n
        assert back.column("timestamp").equals(batch.column("timestamp"))
        assert back.column("speed").equals(batch.column("speed"))
        volume = back.column("volume").to_numpy(zero_copy_only=False)
        assert int(np.isnan(volume).sum()) == n // 10
        assert back.column("occupancy").null_count == n
        assert store.max_event_ms() == T0 + (n - 1) * 37
    finally:
        store.close()
