"""The Kafka bus: durable, partitioned event log between sources and processors.

Producers (the ingest API, replay, the simulator) write each batch as records
keyed by segment id (event_codec) and return only once the broker has
acknowledged them all (acks=all, idempotent producer): an event answered with
201 is on disk in Kafka. Processors read as one consumer group; each poll is
decoded and validated as one columnar batch. A processor reports back, through
commit(), the position whose results are durably in the store, and only that
is committed to Kafka, so a crash replays at most what was not yet written;
the store's keyed writes and the processor's duplicate index make the replay
harmless. Records that fail decoding or validation go to the dead-letter topic
with their reasons and original bytes before their offsets can be committed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from confluent_kafka import (
    OFFSET_INVALID,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from trafficcast.bus import topics
from trafficcast.bus.base import BusFull, BusUnavailable
from trafficcast.bus.event_codec import CONTENT_TYPE, FORMAT_OF, Format, decode, encode
from trafficcast.bus.partitioning import owned
from trafficcast.domain.events import Limits
from trafficcast.stream.windowing import NO_WATERMARK

log = logging.getLogger(__name__)

Position = dict[tuple[str, int], int]  # (topic, partition) -> next offset to read
FLOOR_HEADER = "event-time-floor"  # epoch ms; see _advance_partition_clocks
# Segment ids -> the owned ones, grouped by the partition their events arrive on.
Ownership = Callable[[Sequence[str]], dict[int, list[str]]]


@dataclass(frozen=True)
class KafkaBusConfig:
    bootstrap: str
    value_format: Format = "json"
    partitions: int = 4
    group: str = "trafficcast-processors"
    # Larger records are refused as poison (our producers write at most ~250 kB).
    max_record_bytes: int = 524_288
    producer_buffer_kb: int = 262_144  # bounds memory when the broker is away
    # Where a new group starts: a processor group must read what was written before it.
    offset_reset: str = "earliest"
    # A partition silent this long no longer holds the stream clock back (event_time_limit).
    idle_partition_s: float = 3.0

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> KafkaBusConfig:
        """kafka://HOST:PORT[,HOST:PORT...][?format=json|avro&partitions=N&group=NAME]"""
        parts = urlsplit(url)
        if parts.scheme != "kafka" or not parts.netloc:
            raise ValueError(f"bus: expected kafka://HOST:PORT, got {url!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        unknown = set(query) - {"format", "partitions", "group"}
        if unknown:
            raise ValueError(f"bus: unknown option(s) {', '.join(sorted(unknown))} in {url!r}")
        fmt = query.get("format", "json")
        if fmt not in ("json", "avro"):
            raise ValueError(f"bus: format must be json or avro, got {fmt!r}")
        try:
            partitions = int(query.get("partitions", "4"))
        except ValueError:
            raise ValueError("bus: partitions must be a whole number") from None
        if not 1 <= partitions <= 1024:
            raise ValueError(f"bus: partitions must be between 1 and 1024, got {partitions}")
        config = cls(
            bootstrap=parts.netloc,
            value_format=cast(Format, fmt),
            partitions=partitions,
            group=query.get("group", cls.group),
        )
        return replace(config, **overrides)


class _Acks:
    """Counts broker acknowledgements of one publish."""

    def __init__(self, n: int) -> None:
        self.waiting = n
        self.errors: list[str] = []
        self.done = threading.Event()
        self._lock = threading.Lock()
        if n == 0:
            self.done.set()

    def __call__(self, err: KafkaError | None, _msg: Message) -> None:
        with self._lock:
            if err is not None:
                self.errors.append(str(err))
            self.waiting -= 1
            if self.waiting <= 0:
                self.done.set()


class KafkaBus:
    """Bus adapter over Kafka. Publishing needs no consumer; poll() joins the group."""

    def __init__(self, config: KafkaBusConfig, *, limits: Limits | None = None) -> None:
        self.config = config
        self.limits = limits or Limits()
        try:
            topics.ensure_topics(config.bootstrap, config.partitions, timeout_s=30.0)
        except KafkaException as exc:
            raise BusUnavailable(
                f"cannot reach Kafka at {config.bootstrap} within 30 s: {exc.args[0].str()}"
            ) from exc
        self._producer = Producer(
            {
                "bootstrap.servers": config.bootstrap,
                "logger": topics.CLIENT_LOG,
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 5,
                "compression.type": "lz4",
                # The Java client's default, so other producers' records land where ours do.
                "partitioner": "murmur2_random",
                "queue.buffering.max.kbytes": config.producer_buffer_kb,
                "message.timeout.ms": 120_000,
            }
        )
        self._consumer: Consumer | None = None
        self._assigned: set[int] = set()
        self._read: Position = {}
        self._durable: Position = {}
        self._committed: Position = {}
        self._lock = threading.Lock()
        self._on_revoked: Callable[[], None] | None = None
        self._on_assigned: Callable[[Ownership], None] | None = None
        self._partition_clock: dict[int, int] = {}  # see _advance_partition_clocks
        self._delivered_at: dict[int, float] = {}  # monotonic time of a partition's last events
        self.published_events = 0
        self.dead_letters = 0
        self.last_error: str | None = None
        self._closed = False
        self._poller = threading.Thread(target=self._serve_acks, name="kafka-acks", daemon=True)
        self._poller.start()

    # producing ---------------------------------------------------------------
    @property
    def depth(self) -> int:
        """Records produced but not yet acknowledged by the broker."""
        return len(self._producer)

    @property
    def capacity(self) -> int:
        return self.config.producer_buffer_kb * 1024

    @property
    def closed(self) -> bool:
        return self._closed

    def _serve_acks(self) -> None:
        while not self._closed:
            self._producer.poll(0.1)

    def publish(self, batch: pa.Table, timeout: float | None = None) -> None:
        """Write a batch of validated events; return once the broker holds all of it."""
        if batch.num_rows == 0:
            return
        if self._closed:
            raise BusFull("bus is closed")
        keys, values = encode(batch, self.config.value_format)
        floor = pc.min(batch.column("timestamp")).cast(pa.int64()).as_py()
        self._produce_all(topics.EVENTS, keys, values, timeout, floor_ms=int(floor))
        with self._lock:
            self.published_events += batch.num_rows

    def _produce_all(
        self,
        topic: str,
        keys: list[str],
        values: list[bytes],
        timeout: float | None,
        headers: list[list[tuple[str, str | bytes | None]]] | None = None,
        floor_ms: int | None = None,
    ) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        acks = _Acks(len(values))
        content: list[tuple[str, str | bytes | None]] = [
            ("content-type", CONTENT_TYPE[self.config.value_format])
        ]
        if floor_ms is not None:
            # The batch's earliest event: every record of it, and of later batches, starts
            # there or after, which is what a consumer's partition clock needs (decision 0011).
            content.append((FLOOR_HEADER, str(floor_ms).encode()))
        for i, (key, value) in enumerate(zip(keys, values, strict=True)):
            while True:
                try:
                    self._producer.produce(
                        topic,
                        value=value,
                        key=key.encode(),
                        headers=headers[i] if headers else content,
                        on_delivery=acks,
                    )
                    break
                except BufferError:  # the local queue is full: the broker is slow or away
                    if deadline is not None and time.monotonic() > deadline:
                        raise BusFull(
                            "bus full: the Kafka producer queue is full; the broker is not "
                            "keeping up or cannot be reached"
                        ) from None
                    time.sleep(0.01)
        remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not acks.done.wait(remaining):
            # The records stay queued and may still arrive; their event ids make a retry harmless.
            raise BusFull(
                f"Kafka did not acknowledge {acks.waiting} of {len(values)} records within "
                f"{timeout:.1f} s"
            )
        if acks.errors:
            self.last_error = acks.errors[0]
            raise BusFull(f"Kafka refused {len(acks.errors)} records: {acks.errors[0]}")

    def publish_messages(self, kind: str, messages: list[tuple[str, str]]) -> None:
        """Window results, forecasts, alerts and live readings for the API processes;
        fire and forget (they are in the store already, and a lost update is re-sent by the
        next one)."""
        topic = topics.LIVE_TOPICS[kind]
        for segment_id, text in messages:
            try:
                self._producer.produce(topic, value=text.encode(), key=segment_id.encode())
            except BufferError:
                self._producer.poll(0.05)
                self.last_error = "producer queue full; a live update was dropped"

    # consuming ---------------------------------------------------------------
    def set_rebalance_listener(
        self, revoked: Callable[[], None], assigned: Callable[[Ownership], None]
    ) -> None:
        """revoked(): finish and report durable positions before partitions move away;
        assigned(owns): rebuild state for the segments `owns` keeps of those it is given."""
        self._on_revoked, self._on_assigned = revoked, assigned

    @property
    def assigned(self) -> set[int]:
        return set(self._assigned)

    def _consumer_or_join(self) -> Consumer:
        if self._consumer is None:
            self._consumer = Consumer(
                {
                    "bootstrap.servers": self.config.bootstrap,
                    "logger": topics.CLIENT_LOG,
                    "group.id": self.config.group,
                    "enable.auto.commit": False,
                    "auto.offset.reset": self.config.offset_reset,
                    "session.timeout.ms": 6000,
                    "heartbeat.interval.ms": 1000,
                    "max.poll.interval.ms": 300_000,
                    "partition.assignment.strategy": "range",
                }
            )
            self._consumer.subscribe(
                [topics.EVENTS],
                on_assign=self._assign,
                on_revoke=self._revoke,
                on_lost=self._lose,
            )
        return self._consumer

    def _assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned = {p.partition for p in partitions}
        log.info("assigned partitions %s", sorted(self._assigned))
        # Where each partition resumes, so a partition's lag is known before it delivers.
        start: Position = {}
        for tp in consumer.committed(partitions, timeout=30):
            offset = tp.offset
            if offset is None or offset < 0:
                offset, _high = consumer.get_watermark_offsets(tp, timeout=30)
            start[(str(tp.topic), int(tp.partition or 0))] = int(offset)
        with self._lock:
            self._read.update(start)
        self._partition_clock = {}
        meta = consumer.list_topics(topics.EVENTS, timeout=30)
        count = len(meta.topics[topics.EVENTS].partitions)
        assigned = set(self._assigned)
        if self._on_assigned is not None:
            self._on_assigned(lambda segment_ids: owned(segment_ids, count, assigned))

    def _revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        log.info("partitions %s revoked", sorted(p.partition for p in partitions))
        if self._on_revoked is not None:
            self._on_revoked()  # the processor writes what it holds and reports its position
        self._commit_durable(consumer, asynchronous=False)
        self._forget()

    def _lose(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member owns them already: committing now could move its offsets backwards.
        log.warning("partitions %s lost", sorted(p.partition for p in partitions))
        self._forget()

    def _forget(self) -> None:
        self._assigned = set()
        self._partition_clock = {}
        with self._lock:
            self._read.clear()
            self._durable.clear()

    def poll(self, max_events: int, timeout: float) -> list[pa.Table]:
        """Read up to about max_events events (records hold many), decoded and validated."""
        if self._closed:
            return []
        consumer = self._consumer_or_join()
        self._commit_durable(consumer, asynchronous=True)
        records = max(1, min(10_000, max_events // 50))
        # consume() waits out its timeout unless the batch fills: wait for the first record
        # only, then take what has arrived, so a lone reading is not held back.
        messages = consumer.consume(num_messages=1, timeout=timeout)
        if messages:
            messages += consumer.consume(num_messages=records - 1, timeout=0) if records > 1 else []
        keep: list[Message] = []
        for m in messages:
            err = m.error()
            if err is not None:
                if err.code() != KafkaError._PARTITION_EOF:
                    self.last_error = str(err)
                    log.warning("kafka consumer: %s", err)
                continue
            if m.partition() in self._assigned:  # not a straggler of a revoked partition
                keep.append(m)
        if not keep:
            return []
        values = [m.value() for m in keep]
        formats, floors = zip(*(self._headers_of(m) for m in keep), strict=True)
        decoded = decode(
            values,
            list(formats),
            now_ms=int(time.time() * 1000),
            limits=self.limits,
            max_record_bytes=self.config.max_record_bytes,
        )
        if decoded.dead:
            self._dead_letters([(keep[d.index], d.reasons) for d in decoded.dead])
        with self._lock:
            for m in keep:
                self._read[(str(m.topic()), int(m.partition() or 0))] = int(m.offset() or 0) + 1
        events = decoded.events
        if not events.num_rows:
            return []
        ts = np.asarray(events.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        self._advance_partition_clocks(keep, list(floors), decoded.record, ts)
        # Records are grouped by segment, which interleaves time across segments; event
        # time order again (stable: a segment's own order stays) before windowing.
        order = np.argsort(ts, kind="stable")
        return [events.take(pa.array(order))]

    def _advance_partition_clocks(
        self,
        records: list[Message],
        floors: list[int | None],
        record: npt.NDArray[np.int64],
        ts: npt.NDArray[np.int64],
    ) -> None:
        """Per partition, the earliest event time still to come. Our producers stamp each
        record with its batch's earliest event (the partition's later records, of this batch
        or later ones, start no earlier); a record without the stamp counts from its own
        earliest event."""
        first = np.full(len(records), np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(first, record, ts)
        has_events = first != np.iinfo(np.int64).max
        stamped = np.array([f is not None for f in floors], dtype=bool)
        if stamped.any():
            first[stamped] = [f for f in floors if f is not None]
        partition = np.array([m.partition() or 0 for m in records], dtype=np.int64)
        now = time.monotonic()
        for p in np.unique(partition[has_events]).tolist():
            start = int(first[has_events & (partition == p)].max())
            self._partition_clock[p] = max(self._partition_clock.get(p, start), start)
            self._delivered_at[p] = now

    def partition_clocks(self) -> dict[int, int]:
        """Each owned partition's clock as of position(), saved with the results so a new
        owner resumes the partition's clock where the committed records leave it."""
        return dict(self._partition_clock)

    def event_time_limit(self) -> int | None:
        """How far the stream clock may go: the clock of the slowest partition that may
        still deliver older events, so the faster ones do not make its events late.

        A partition counts while it is behind its end (a backlog, a rebalance) or has
        delivered within the last `idle_partition_s` (a producer may be midway through
        a batch whose records span minutes). None when no partition counts: everything
        read is then final, and the clock may go to the newest event.
        """
        consumer = self._consumer
        if consumer is None:
            return None
        limits: list[int] = []
        with self._lock:
            read = dict(self._read)
        recent = time.monotonic() - self.config.idle_partition_s
        for p in self._assigned:
            _low, high = consumer.get_watermark_offsets(
                TopicPartition(topics.EVENTS, p), cached=True
            )
            behind = high is None or high < 0 or high > read.get((topics.EVENTS, p), 0)
            if behind:
                limits.append(self._partition_clock.get(p, NO_WATERMARK))
            elif p in self._partition_clock and self._delivered_at.get(p, 0.0) > recent:
                limits.append(self._partition_clock[p])
        return min(limits) if limits else None

    def _headers_of(self, m: Message) -> tuple[Format, int | None]:
        """The record's format (content-type, else the bus's) and event-time floor, if any."""
        fmt: Format = self.config.value_format
        floor: int | None = None
        headers = m.headers() or []
        for name, value in headers if isinstance(headers, list) else []:
            if not isinstance(value, bytes):
                continue
            if name == "content-type" and value in FORMAT_OF:
                fmt = cast(Format, FORMAT_OF[value])
            elif name == FLOOR_HEADER and value.isdigit():
                floor = int(value)
        return fmt, floor

    def _dead_letters(self, refused: list[tuple[Message, list[str]]]) -> None:
        """Park refused records with their reasons; durable before their offsets commit."""
        keys: list[str] = []
        values: list[bytes] = []
        headers: list[list[tuple[str, str | bytes | None]]] = []
        for m, reasons in refused:
            keys.append((m.key() or b"").decode("utf-8", "replace"))
            values.append(m.value() or b"")
            headers.append(
                [
                    ("error", "; ".join(reasons)[:4000].encode()),
                    ("source-topic", str(m.topic()).encode()),
                    ("source-partition", str(m.partition()).encode()),
                    ("source-offset", str(m.offset()).encode()),
                ]
            )
        while True:
            try:
                self._produce_all(topics.DEAD_LETTERS, keys, values, 30.0, headers)
                break
            except BusFull as exc:  # never commit past a record we could not park
                log.warning("dead-letter write failed; retrying: %s", exc)
        self.dead_letters += len(refused)
        log.warning("%d record(s) sent to %s", len(refused), topics.DEAD_LETTERS)

    def position(self) -> Position:
        """Where this consumer has read to; pass it to commit() once its results are stored."""
        with self._lock:
            return dict(self._read)

    def commit(self, position: object) -> None:
        """Mark results up to `position` durable; committed to Kafka on the next poll."""
        if not isinstance(position, dict):
            return
        with self._lock:
            for tp, offset in position.items():
                if tp[1] in self._assigned and offset > self._durable.get(tp, -1):
                    self._durable[tp] = offset

    def _commit_durable(self, consumer: Consumer, *, asynchronous: bool) -> None:
        with self._lock:
            todo = {tp: o for tp, o in self._durable.items() if self._committed.get(tp) != o}
        if not todo:
            return
        offsets = [TopicPartition(t, p, o) for (t, p), o in todo.items()]
        try:
            if asynchronous:
                consumer.commit(offsets=offsets, asynchronous=True)
            else:
                consumer.commit(offsets=offsets, asynchronous=False)
            self._committed.update(todo)
        except Exception as exc:  # retried at the next poll; a replay is harmless
            self.last_error = str(exc)
            log.warning("offset commit failed: %s", exc)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._consumer is not None:
            self._commit_durable(self._consumer, asynchronous=False)
            self._consumer.close()  # leaves the group now: the others take over at once
            self._consumer = None
        self._producer.flush(10)
        self._poller.join(2)


class LagProbe:
    """Consumer-group lag per partition: newest offset minus the group's committed offset."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self._consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "enable.auto.commit": False,
                "logger": topics.CLIENT_LOG,
            }
        )
        self._lock = threading.Lock()

    def lag(self, timeout: float = 2.0) -> dict[int, int]:
        with self._lock:
            meta = self._consumer.list_topics(topics.EVENTS, timeout=timeout)
            parts = [
                TopicPartition(topics.EVENTS, p)
                for p in sorted(meta.topics[topics.EVENTS].partitions)
            ]
            committed = self._consumer.committed(parts, timeout=timeout)
            out: dict[int, int] = {}
            for tp in committed:
                low, high = self._consumer.get_watermark_offsets(
                    TopicPartition(topics.EVENTS, tp.partition), timeout=timeout
                )
                start = low if tp.offset == OFFSET_INVALID or tp.offset < 0 else tp.offset
                out[tp.partition] = max(0, high - start)
            return out

    def close(self) -> None:
        self._consumer.close()
