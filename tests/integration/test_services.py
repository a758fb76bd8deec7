"""The real services of scripts/services/ work as the tests rely on them to.

PostgreSQL answers queries and keeps its URL and data across a stop+start; Redis stores and
returns values; Kafka carries messages and a broker restart keeps topics and messages; a
second start of a running service changes nothing (same URL, same PID).
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from tests.services import Service, start_service

pytestmark = pytest.mark.slow


def _assert_idempotent_start(service: Service) -> None:
    url, pid = service.url, service.pid()
    assert pid is not None
    assert service.start() == url
    assert service.pid() == pid
    assert service.running()


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_accepts_a_query(postgres_database: str) -> None:
    with psycopg.connect(postgres_database) as conn:
        row = conn.execute("SELECT current_database(), 6 * 7").fetchone()
    assert row is not None
    assert row[1] == 42
    assert postgres_database.endswith(f"/{row[0]}")


def test_postgres_service_url_names_trafficcast(postgres_service: Service) -> None:
    assert postgres_service.url.startswith("postgresql://postgres@127.0.0.1:")
    assert postgres_service.url.endswith("/trafficcast")
    with psycopg.connect(postgres_service.url) as conn:
        row = conn.execute("SHOW max_connections").fetchone()
    assert row == ("200",)


def test_postgres_start_is_idempotent(postgres_service: Service) -> None:
    _assert_idempotent_start(postgres_service)


def test_postgres_stop_start_keeps_url_and_data(tmp_path: Path) -> None:
    service = start_service("postgres", tmp_path)
    try:
        url = service.url
        with psycopg.connect(url) as conn:
            conn.execute("CREATE TABLE kept (id int PRIMARY KEY, note text)")
            conn.execute("INSERT INTO kept VALUES (1, 'survives a restart')")
        service.stop()
        assert not service.running()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2).close()
        assert service.start() == url
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT id, note FROM kept").fetchall()
        assert rows == [(1, "survives a restart")]
    finally:
        service.destroy()


# --- Redis --------------------------------------------------------------------------------


def test_redis_set_get(redis_service: Service) -> None:
    assert redis_service.url.startswith("redis://127.0.0.1:")
    client = redis.Redis.from_url(redis_service.url)
    try:
        key = f"test:{uuid.uuid4().hex}"
        assert client.set(key, "hello", ex=60)
        assert client.get(key) == b"hello"
    finally:
        client.close()


def test_redis_start_is_idempotent(redis_service: Service) -> None:
    _assert_idempotent_start(redis_service)


# --- Kafka --------------------------------------------------------------------------------


def _create_topic(bootstrap: str, partitions: int = 2) -> str:
    topic = f"test-{uuid.uuid4().hex[:12]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=partitions, replication_factor=1)],
        operation_timeout=30,
    )
    futures[topic].result(timeout=60)
    return topic


def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0})
    for i, value in enumerate(values):
        producer.produce(topic, key=str(i).encode(), value=value)
    assert producer.flush(30) == 0


def _consume(bootstrap: str, topic: str, count: int, timeout_s: float = 60.0) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"test-{uuid.uuid4().hex[:12]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    received: list[bytes] = []
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + timeout_s
        while len(received) < count and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            error = msg.error()
            if error is not None:
                assert error.code() == KafkaError._PARTITION_EOF, error
                continue
            value = msg.value()
            assert value is not None
            received.append(value)
    finally:
        consumer.close()
    return received


def test_kafka_produce_and_consume(kafka_service: Service) -> None:
    bootstrap = kafka_service.url
    assert bootstrap.startswith("127.0.0.1:")
    topic = _create_topic(bootstrap)
    values = [f"reading-{i}".encode() for i in range(5)]
    _produce(bootstrap, topic, values)
    assert sorted(_consume(bootstrap, topic, len(values))) == sorted(values)


def test_kafka_start_is_idempotent(kafka_service: Service) -> None:
    _assert_idempotent_start(kafka_service)


def test_kafka_broker_restart_keeps_topic_and_messages(tmp_path: Path) -> None:
    service = start_service("kafka", tmp_path)
    try:
        bootstrap = service.url
        topic = _create_topic(bootstrap, partitions=3)
        values = [f"event-{i}".encode() for i in range(20)]
        _produce(bootstrap, topic, values)
        pid_before = service.pid()

        assert service.restart() == bootstrap
        assert service.pid() != pid_before

        admin = AdminClient({"bootstrap.servers": bootstrap})
        metadata = admin.list_topics(timeout=30)
        assert topic in metadata.topics
        assert len(metadata.topics[topic].partitions) == 3
        assert sorted(_consume(bootstrap, topic, len(values))) == sorted(values)
    finally:
        service.destroy()
    assert not service.running()
