"""Scaled-out faults against real services: processes killed, joining and leaving, the
database and the broker stopped mid-stream, poison records. Each replays a known input
and compares every closed window exactly with an independent computation, and counts
every event once."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pyarrow as pa
import pytest
from confluent_kafka import Consumer, Producer

from tests.integration.cluster import Cluster, assert_exact, by_minute, simulated
from tests.services import Service, start_service
from trafficcast.config import Settings
from trafficcast.runtime import open_store

pytestmark = pytest.mark.slow


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


def publish(cluster: Cluster, batches: list[pa.Table], pause_s: float = 0.05) -> None:
    bus = cluster.producer()
    try:
        for batch in batches:
            bus.publish(batch, timeout=30)
            time.sleep(pause_s)
    finally:
        bus.close()


@pytest.mark.parametrize("batch_minutes", [1, 10])
def test_kill_9_of_a_processor_mid_stream_then_restart(
    cluster: Cluster, batch_minutes: int
) -> None:
    # 10-minute batches make records that span 10 minutes, twice the allowed lateness; with
    # sensor dropouts, a batch's records start at different times.
    _, events = simulated(minutes=60, dropouts=0.0 if batch_minutes == 1 else 0.2)
    batches = by_minute(events, batch_minutes)
    half = len(batches) // 2
    first = cluster.processor()
    publish(cluster, batches[:half])
    cluster.wait_for("the processor to store events", lambda: cluster.stored_event_ids()[0] > 0)
    first.send_signal(signal.SIGKILL)  # mid-stream: results of the last batches may be unwritten
    first.wait(10)
    publish(cluster, batches[half:])
    cluster.processor()
    assert_exact(cluster, events)


def test_a_processor_joining_and_one_leaving_mid_stream(cluster: Cluster) -> None:
    _, events = simulated(minutes=45)
    batches = by_minute(events)
    first = cluster.processor()
    publish(cluster, batches[:15])
    second = cluster.processor()  # joins: the partitions are split between the two
    cluster.wait_for_log(first, "assigned partitions", times=2)
    publish(cluster, batches[15:30])
    first.send_signal(signal.SIGTERM)  # leaves cleanly: the second takes everything
    assert first.wait(30) == 0
    cluster.wait_for_log(second, "assigned partitions", times=2)
    publish(cluster, batches[30:])
    assert_exact(cluster, events)
    assert second.poll() is None
    assignments = [line for line in cluster.log_of(second).splitlines() if "assigned" in line]
    assert "[0, 1, 2, 3]" in assignments[-1]  # it owns everything after the other left
    assert "[0, 1, 2, 3]" not in assignments[0]  # and shared the partitions when it joined


def test_broker_restarted_mid_stream(cluster: Cluster, kafka: Service) -> None:
    _, events = simulated(minutes=40)
    batches = by_minute(events)
    cluster.processor()
    cluster.processor()
    publish(cluster, batches[:20])
    kafka.restart()
    publish(cluster, batches[20:])
    assert_exact(cluster, events)


def body(events: pa.Table) -> bytes:
    """The input as a client posts it."""
    times = pa.compute.strftime(events.column("timestamp"), format="%Y-%m-%dT%H:%M:%SZ")
    rows = events.drop_columns(["timestamp", "latitude", "longitude"]).to_pylist()
    for row, t in zip(rows, times.to_pylist(), strict=True):
        row["timestamp"] = t
    return orjson.dumps({"events": rows})


def test_database_stopped_for_10_s_during_ingest(tmp_path: Path, kafka: Service) -> None:
    postgres = start_service("postgres", tmp_path / "pg")
    cluster = Cluster(tmp_path, kafka.url, postgres.url)
    try:
        _, events = simulated(minutes=40)
        batches = by_minute(events)
        cluster.processor()
        _, api = cluster.api()
        for batch in batches[:15]:
            assert (
                httpx.post(
                    f"{api}/api/traffic/events/batch", content=body(batch), timeout=30
                ).status_code
                == 201
            )
        postgres.stop()
        stopped = time.monotonic()
        accepted = 0
        reads: list[httpx.Response] = []
        for batch in batches[15:20]:
            # Ingest goes to Kafka, which is up: accepted. Reads need the database: 503.
            r = httpx.post(f"{api}/api/traffic/events/batch", content=body(batch), timeout=30)
            assert r.status_code == 201, r.text
            accepted += batch.num_rows
            t = time.monotonic()
            reads.append(httpx.get(f"{api}/api/traffic/events", params={"limit": 1}, timeout=30))
            assert time.monotonic() - t < 10, "a read hung while the database was down"
        while time.monotonic() - stopped < 10:
            time.sleep(0.2)
        assert [r.status_code for r in reads] == [503] * len(reads)
        envelope = reads[0].json()
        assert envelope["error"]["code"] == "unavailable"
        assert envelope["request_id"] == reads[0].headers["X-Request-ID"]
        health = httpx.get(f"{api}/health", timeout=30)
        assert health.status_code == 503
        assert health.json()["checks"]["database"]["status"] == "unhealthy"
        postgres.start()
        for batch in batches[20:]:
            assert (
                httpx.post(
                    f"{api}/api/traffic/events/batch", content=body(batch), timeout=30
                ).status_code
                == 201
            )
        assert_exact(cluster, events)
        # The API's pool recovers by itself, but on psycopg_pool's reconnect backoff
        # (doubling from 1 s while the server was away), so the first reads after the
        # restart may still be 503 for up to ~30 s.
        deadline = time.monotonic() + 60
        while True:
            r = httpx.get(f"{api}/api/traffic/events", params={"limit": 1}, timeout=30)
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert r.status_code == 200, r.text
    finally:
        cluster.stop()
        postgres.destroy()


def test_poison_records_go_to_the_dead_letter_topic(cluster: Cluster, kafka: Service) -> None:
    _, events = simulated(minutes=30)
    batches = by_minute(events)
    cluster.processor()
    publish(cluster, batches[:10])
    poison = {
        b"malformed": b'{"segment_id": "s1", "timestamp": ',
        b"oversized": b'{"segment_id": "s1", "pad": "' + b"x" * 600_000 + b'"}',
        b"wrong-types": b'{"segment_id": 7, "timestamp": "yesterday", "speed": "fast"}',
    }
    producer = Producer({"bootstrap.servers": kafka.url})
    for key, value in poison.items():
        producer.produce("traffic-events", key=key, value=value)
    assert producer.flush(30) == 0
    publish(cluster, batches[10:])
    assert_exact(cluster, events)

    dlq = Consumer(
        {"bootstrap.servers": kafka.url, "group.id": "dlq-reader", "auto.offset.reset": "earliest"}
    )
    dlq.subscribe(["traffic-events-dlq"])
    parked: dict[bytes, tuple[bytes, str]] = {}
    deadline = time.monotonic() + 30
    while len(parked) < len(poison) and time.monotonic() < deadline:
        m = dlq.poll(1.0)
        if m is not None and m.error() is None:
            headers = dict(m.headers() or [])
            parked[m.key() or b""] = (m.value() or b"", (headers.get("error") or b"").decode())
    dlq.close()
    assert set(parked) == set(poison)
    for key, value in poison.items():
        assert parked[key][0] == value  # the original bytes
    assert "malformed JSON" in parked[b"malformed"][1]
    assert "exceeds the limit" in parked[b"oversized"][1]
    assert "segment_id" in parked[b"wrong-types"][1]
