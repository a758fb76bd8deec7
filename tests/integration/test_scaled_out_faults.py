"""Scaled-out faults against real services: processes killed, joining and leaving, the
database and the broker stopped mid-stream, poison records. Each replays a known input
and compares every closed window exactly with an independent computation, and counts
every event once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.cluster import Cluster, assert_exact, by_minute, simulated
from tests.services import Service, start_service
from trafficcast.config import Settings
from trafficcast.runtime import open_store

pytestmark = pytest.mark.slow


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[Service]:
    """A broker of this test's own: its topics start empty, and it may be restarted."""
    service = start_service("kafka", tmp_path / "services")
    try:
        yield service
    finally:
        service.destroy()


@pytest.fixture
def cluster(tmp_path: Path, kafka: Service, postgres_database: str) -> Iterator[Cluster]:
    store = open_store(Settings(database_url=postgres_database))
    store.init_schema()
    store.close()
    c = Cluster(tmp_path, kafka.url, postgres_database)
    try:
        yield c
    finally:
        c.stop()


def publish(cluster: Cluster, batches: list, pause_s: float = 0.05) -> None:  # type: ignore[type-arg]
    bus = cluster.producer()
    try:
        for batch in batches:
            bus.publish(batch, timeout=30)
            time.sleep(pause_s)
    finally:
        bus.close()


def test_kill_9_of_a_processor_mid_stream_then_restart(cluster: Cluster) -> None:
    _, events = simulated(minutes=40)
    batches = by_minute(events)
    first = cluster.processor()
    publish(cluster, batches[:20])
    cluster.wait_for("the processor to store events", lambda: cluster.stored_event_ids()[0] > 0)
    first.send_signal(signal.SIGKILL)  # mid-stream: results of the last batches may be unwritten
    first.wait(10)
    publish(cluster, batches[20:])
    cluster.processor()
    assert_exact(cluster, events)
