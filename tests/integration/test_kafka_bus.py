"""The Kafka bus adapter against a real broker: keyed records in per-segment order,
acknowledged before publish returns, refused with BusFull when the broker is away,
offsets committed only once results are durable, Avro as an option, and the
partition function processors use to know what they own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.integration.cluster import simulated
from tests.services import Service, start_service
from trafficcast.bus.base import BusFull
from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig
from trafficcast.bus.partitioning import partition_of
from trafficcast.bus.topics import EVENTS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service("kafka", tmp_path_factory.mktemp("kafka-bus"))
    try:
        yield service
    finally:
        service.destroy()


def bus(broker: Service, **options: str) -> KafkaBus:
    query = "&".join(
        f"{k}={v}" for k, v in {"group": f"g-{uuid.uuid4().hex[:8]}", **options}.items()
    )
    return KafkaBus(KafkaBusConfig.from_url(f"kafka://{broker.url}?{query}"))


def drain(b: KafkaBus, timeout: float = 5) -> None:
    """Read until the topic is exhausted for this consumer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not b.poll(1_000_000, 1.0) and b.position():
            return


def committed(broker: Service, group: str) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": broker.url, "group.id": group})
    try:
        parts = [TopicPartition(EVENTS, p) for p in range(4)]
        return {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    finally:
        c.close()


def test_url_options_are_checked() -> None:
    for url, reason in [
        ("kafka://", "HOST:PORT"),
        ("redis://x:1", "HOST:PORT"),
        ("kafka://h:1?format=xml", "format"),
        ("kafka://h:1?partitions=0", "partitions"),
        ("kafka://h:1?partitions=many", "partitions"),
        ("kafka://h:1?colour=blue", "unknown option"),
    ]:
        with pytest.raises(ValueError, match=reason):
            KafkaBusConfig.from_url(url)


@pytest.mark.parametrize("fmt", ["json", "avro"])
def test_round_trip_keeps_each_segments_order_and_every_value(broker: Service, fmt: str) -> None:
    _, events = simulated(minutes=20, segments=15)
    producer, consumer = bus(broker, format=fmt), bus(broker, format=fmt)
    try:
        drain(consumer)  # the topic is shared with the module's other tests: skip theirs
        producer.publish(events, timeout=30)
        wanted = events.column("event_id")
        got: list[pa.Table] = []
        deadline = time.monotonic() + 30
        while sum(t.num_rows for t in got) < events.num_rows and time.monotonic() < deadline:
            for t in consumer.poll(1_000_000, 0.5):
                got.append(t.filter(pa.compute.is_in(t.column("event_id"), wanted)))
        mine = pa.concat_tables(got)
        assert mine.num_rows == events.num_rows
        assert mine.sort_by("event_id").equals(events.sort_by("event_id").cast(mine.schema))
        for seg in events.column("segment_id").unique().to_pylist()[:5]:
            sent = events.filter(pa.compute.equal(events.column("segment_id"), seg))
            read = mine.filter(pa.compute.equal(mine.column("segment_id"), seg))
            assert read.column("event_id").to_pylist() == sent.column("event_id").to_pylist()
    finally:
        producer.close()
        consumer.close()


def test_offsets_are_committed_only_after_results_are_durable(broker: Service) -> None:
    _, events = simulated(minutes=5, segments=8)
    group = f"durable-{uuid.uuid4().hex[:8]}"
    producer = bus(broker)
    consumer = KafkaBus(KafkaBusConfig.from_url(f"kafka://{broker.url}?group={group}"))
    try:
        producer.publish(events, timeout=30)
        drain(consumer)
        position = consumer.position()
        consumer.poll(10, 1.0)  # a poll commits what was marked durable: nothing yet
        assert all(o < 0 for o in committed(broker, group).values())
        consumer.commit(position)
        consumer.poll(10, 1.0)
        time.sleep(1.0)
        assert {p: o for (_, p), o in position.items()} == {
            p: o for p, o in committed(broker, group).items() if o >= 0
        }
    finally:
        producer.close()
        consumer.close()


def test_records_land_where_processors_expect_their_segments(broker: Service) -> None:
    _, events = simulated(minutes=2, segments=30)
    producer = bus(broker)
    c = Consumer(
        {
            "bootstrap.servers": broker.url,
            "group.id": uuid.uuid4().hex,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        producer.publish(events, timeout=30)
        c.subscribe([EVENTS])
        seen: dict[str, int] = {}
        deadline = time.monotonic() + 30
        while len(seen) < 30 and time.monotonic() < deadline:
            for m in c.consume(1000, 1.0):
                if m.error() is None and m.key():
                    seen[m.key().decode()] = m.partition()  # type: ignore[union-attr]
        assert len(seen) >= 30
        assert all(partition_of(seg, 4) == p for seg, p in seen.items())
    finally:
        producer.close()
        c.close()


def test_publish_fails_with_bus_full_while_the_broker_is_away(tmp_path: Path) -> None:
    private = start_service("kafka", tmp_path)
    _, events = simulated(minutes=1, segments=5)
    producer = KafkaBus(KafkaBusConfig.from_url(f"kafka://{private.url}"))
    try:
        producer.publish(events, timeout=30)
        private.stop()
        started = time.monotonic()
        with pytest.raises(BusFull, match="did not acknowledge"):
            producer.publish(events, timeout=2)
        assert time.monotonic() - started < 10
    finally:
        producer.close()
        private.destroy()
