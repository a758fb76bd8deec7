"""WebSocket fan-out across API processes, through the Kafka topics processors write.

Each API process reads the window, prediction, alert and live-reading topics
as a consumer group of its own (a unique group id, starting at the newest
offset), so every process sees every update and hands it to its own
subscribers. Kafka is already the path the updates take, so this adds no
second broker, keeps updates in per-segment order (records are keyed by
segment), and a process that starts later simply joins at "now". See
docs/decisions/0011.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

from confluent_kafka import Consumer, KafkaError, Message, TopicPartition

from trafficcast.bus.topics import CLIENT_LOG, LIVE_TOPICS

log = logging.getLogger(__name__)

KIND_OF = {topic: kind for kind, topic in LIVE_TOPICS.items()}
Deliver = Callable[[str, list[tuple[str, str]]], None]


class KafkaFanout:
    def __init__(self, bootstrap: str, deliver: Deliver, *, max_records: int = 5000) -> None:
        self.deliver = deliver
        self.max_records = max_records
        self.group = f"trafficcast-api-{uuid.uuid4().hex[:12]}"
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "logger": CLIENT_LOG,
                "group.id": self.group,
                "enable.auto.commit": False,
                "auto.offset.reset": "latest",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
            }
        )
        self.ready = threading.Event()  # assigned: updates published from now on arrive
        self.received = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kafka-fanout", daemon=True)

    def start(self) -> None:
        self._consumer.subscribe(list(KIND_OF), on_assign=self._assigned)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Start at each partition's current end, looked up now, so a caller that waits for
        # `ready` misses nothing published afterwards.
        for tp in partitions:
            _low, high = consumer.get_watermark_offsets(tp, timeout=10)
            tp.offset = high
        consumer.assign(partitions)
        self.ready.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                # The first update wakes us; then whatever else has arrived (consume() would
                # otherwise wait out its timeout for a full batch).
                messages = self._consumer.consume(1, timeout=0.2)
                if messages:
                    messages += self._consumer.consume(self.max_records, timeout=0)
            except Exception as exc:  # keep serving; visible in /health
                self.last_error = str(exc)
                log.warning("live fan-out: %s", exc)
                self._stop.wait(1.0)
                continue
            self._hand_over(messages)
        self._consumer.close()

    def _hand_over(self, messages: list[Message]) -> None:
        by_kind: dict[str, list[tuple[str, str]]] = {}
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self.last_error = str(err)
                continue
            key, value = m.key(), m.value()
            if key is None or value is None:
                continue
            kind = KIND_OF.get(str(m.topic()))
            if kind is not None:
                by_kind.setdefault(kind, []).append((key.decode(), value.decode()))
        for kind, batch in by_kind.items():
            self.received += len(batch)
            self.deliver(kind, batch)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(5.0)
