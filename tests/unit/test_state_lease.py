"""One job, one process: the store lease (store/lease.py) and the forecast-accuracy judge
among stream processors sharing a store (stream/processor.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from trafficcast.bus.memory import MemoryBus
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.store.lease import StateLease, process_name
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.processor import ACCURACY_LEASE_KEY, ProcessorConfig, StreamProcessor

KEY = "job:lease"
T0 = 1_767_600_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "store.duckdb")
    s.init_schema()
    yield s
    s.close()


def lease(store: DuckDBStore, holder: str) -> StateLease:
    return StateLease(store.get_state, store.set_state, KEY, holder, ttl_ms=10_000)


def test_one_holder_at_a_time_until_it_lapses_or_is_released(store: DuckDBStore) -> None:
    a, b = lease(store, "a"), lease(store, "b")
    assert a.hold(T0)
    assert not b.hold(T0 + 1)
    assert a.hold(T0 + 9_000)  # renewed: now valid until T0 + 19 s
    assert not b.hold(T0 + 12_000)
    assert b.hold(T0 + 19_001)  # a stopped renewing: lapsed
    assert not a.hold(T0 + 19_002)
    b.release()
    assert store.get_state(KEY) == ""
    assert a.hold(T0 + 19_003)  # free at once after a release
    b.release()  # not b's: nothing changes
    assert store.get_state(KEY) == f"a|{T0 + 29_003}"


def test_a_garbled_lease_is_taken_over(store: DuckDBStore) -> None:
    store.set_state(KEY, "no-separator-or-time")
    assert lease(store, "a").hold(T0)


def test_process_names_differ() -> None:
    assert process_name() != process_name()


def processor(store: DuckDBStore) -> StreamProcessor:
    catalog = SegmentCatalog()
    catalog.load(store.segments())
    return StreamProcessor(MemoryBus(), store, catalog, ProcessorConfig(window_minutes=(5,)))


def test_one_processor_judges_accuracy_and_a_successor_adopts_its_open_alerts(
    store: DuckDBStore,
) -> None:
    first, second = processor(store), processor(store)
    assert first._leads_accuracy()
    assert not second._leads_accuracy()
    assert store.get_state(ACCURACY_LEASE_KEY).startswith(first.accuracy_lease.holder)
    # The judge opened an alert for 30 minutes ahead, then stopped (releasing the lease).
    opened = T0 + 5 * 60_000
    store.upsert_alerts(
        pa.Table.from_arrays(
            [
                pa.array([f"forecast_accuracy:30min:{opened}"]),
                pa.array(["forecast_accuracy"]),
                pa.array(["major"]),
                pa.nulls(1, pa.string()),
                pa.array(["open"]),
                pa.array([opened], pa.int64()).cast(TIMESTAMP),
                pa.nulls(1, TIMESTAMP),
                pa.array(["live MAE 9.0 mph above the bound 6.0 mph"]),
            ],
            schema=ALERT_SCHEMA,
        )
    )
    first.stop()
    second._accuracy_lease_check_ms = 0  # its next renewal is due (normally within 20 s)
    assert second._leads_accuracy()
    horizons = second.accuracy.horizons_min.tolist()
    assert second.accuracy.open_since_ms[horizons.index(30)] == opened  # carried on
    assert second.accuracy.open_since_ms.sum() == opened
    second.stop()
