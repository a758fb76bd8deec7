"""The bus port's contract: ordered, lossless delivery of event batches, run against
every adapter in BUSES.

Adapters differ in what bounds them: the in-process bus holds a fixed number of
events and pushes back on producers (the `bounded` tests); Kafka holds a log on
disk, returns once the broker has acknowledged, and reads back in records, so
its polls are not cut along the published batches. What every adapter owes its
callers is the rest: nothing lost, a producer's events in order, a poll that
waits for data and wakes when it comes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pyarrow as pa
import pytest

from tests.services import Service, start_service
from trafficcast.bus.base import Bus, BusFull
from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig
from trafficcast.bus.memory import MemoryBus
from trafficcast.domain.schema import EVENT_SCHEMA, TIMESTAMP

T0 = 1_767_600_000_000
MakeBus = Callable[[int], Bus]


@pytest.fixture(scope="module")
def contract_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service("kafka", tmp_path_factory.mktemp("bus-contract"))
    try:
        yield service
    finally:
        service.destroy()


def kafka_factory(request: pytest.FixtureRequest) -> MakeBus:
    broker: Service = request.getfixturevalue("contract_broker")
    made: list[KafkaBus] = []
    request.addfinalizer(lambda: [b.close() for b in made])

    def make(_capacity: int) -> Bus:
        # A group of its own that starts at the end: earlier tests' records stay unseen.
        config = KafkaBusConfig.from_url(
            f"kafka://{broker.url}?group=contract-{uuid.uuid4().hex[:8]}",
            offset_reset="latest",
        )
        bus = KafkaBus(config)
        made.append(bus)
        deadline = time.monotonic() + 30
        while not bus.assigned and time.monotonic() < deadline:
            bus.poll(1, 0.2)  # joins the group; "latest" is fixed once assigned
        assert bus.assigned, "the contract consumer was never assigned partitions"
        bus.poll(1, 0.5)
        return bus

    return make


BUSES: dict[str, Callable[[pytest.FixtureRequest], MakeBus]] = {
    "memory": lambda _request: MemoryBus,
    "kafka": kafka_factory,
}
BOUNDED = {"memory"}


@pytest.fixture(params=sorted(BUSES))
def make_bus(request: pytest.FixtureRequest) -> MakeBus:
    return BUSES[request.param](request)


@pytest.fixture(params=sorted(BOUNDED))
def make_bounded(request: pytest.FixtureRequest) -> MakeBus:
    return BUSES[request.param](request)


def batch(start: int, n: int) -> pa.Table:
    """n valid events numbered from `start`, all of one segment (one Kafka partition)."""
    i = list(range(start, start + n))
    return pa.Table.from_arrays(
        [
            pa.array([f"e{v:09d}" for v in i]),
            pa.array(["contract-segment"] * n),
            pa.array([T0 + v * 1000 for v in i], pa.int64()).cast(TIMESTAMP),
            pa.array([50.0] * n),
            pa.array([10.0] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array(["test"] * n),
            pa.array([1.0] * n),
        ],
        schema=EVENT_SCHEMA,
    )


def values(batches: list[pa.Table]) -> list[int]:
    return [int(v[1:]) for b in batches for v in b.column("event_id").to_pylist()]


def take(bus: Bus, n: int, timeout: float = 15.0, max_events: int = 1000) -> list[int]:
    """Poll until n events arrived (Kafka hands records over as they are fetched)."""
    got: list[int] = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        got.extend(values(bus.poll(max_events, 0.2)))
    return got


def test_satisfies_the_bus_protocol(make_bus: MakeBus) -> None:
    bus: Bus = make_bus(10)
    assert bus.capacity > 0
    assert bus.depth == 0
    assert bus.published_events == 0


def test_delivers_everything_in_order(make_bus: MakeBus) -> None:
    bus = make_bus(100)
    bus.publish(batch(0, 3))
    bus.publish(batch(3, 2))
    bus.publish(batch(5, 4))
    assert bus.published_events == 9
    assert take(bus, 9) == list(range(9))
    assert bus.poll(100, timeout=0.3) == []


def test_empty_batch_is_ignored(make_bus: MakeBus) -> None:
    bus = make_bus(10)
    bus.publish(batch(0, 0))
    assert bus.published_events == 0
    assert bus.poll(10, timeout=0.2) == []


def test_poll_never_answers_empty_while_data_waits(make_bus: MakeBus) -> None:
    bus = make_bus(100)
    bus.publish(batch(0, 30))
    bus.publish(batch(30, 1))
    assert take(bus, 31, max_events=10) == list(range(31))


def test_poll_times_out_empty(make_bus: MakeBus) -> None:
    bus = make_bus(10)
    started = time.monotonic()
    assert bus.poll(10, timeout=0.05) == []
    assert time.monotonic() - started >= 0.04


def test_poll_wakes_when_a_batch_arrives(make_bus: MakeBus) -> None:
    bus = make_bus(10)
    timer = threading.Timer(0.05, bus.publish, args=(batch(0, 2),))
    timer.start()
    try:
        started = time.monotonic()
        got: list[int] = []
        while not got and time.monotonic() - started < 5.0:
            got = values(bus.poll(10, timeout=5.0))
        assert got == [0, 1]
        assert time.monotonic() - started < 2.0
    finally:
        timer.cancel()


def test_position_and_commit_are_safe_to_call(make_bus: MakeBus) -> None:
    bus = make_bus(10)
    bus.publish(batch(0, 3))
    assert take(bus, 3) == [0, 1, 2]
    bus.commit(bus.position())  # what a processor does once the results are stored
    bus.publish(batch(3, 1))
    assert take(bus, 1) == [3]


def test_closed_bus_refuses_publishing_and_polls_return_at_once(make_bus: MakeBus) -> None:
    bus = make_bus(10)
    bus.close()
    with pytest.raises(BusFull):
        bus.publish(batch(0, 1), timeout=0.5)
    started = time.monotonic()
    assert bus.poll(10, timeout=5.0) == []
    assert time.monotonic() - started < 1.0


def test_many_producers_and_a_consumer_lose_nothing(make_bus: MakeBus) -> None:
    bus = make_bus(50)
    producers = 4
    per_producer = 100

    def produce(p: int) -> None:
        for k in range(per_producer):
            bus.publish(batch(p * 10_000 + k * 3, 3), timeout=10.0)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    received = take(bus, producers * per_producer * 3, timeout=30.0, max_events=20)
    for t in threads:
        t.join(5.0)
    assert len(received) == producers * per_producer * 3
    assert len(set(received)) == len(received)
    # FIFO per producer.
    for p in range(producers):
        mine = [v for v in received if p * 10_000 <= v < (p + 1) * 10_000]
        assert mine == sorted(mine)


# The in-process bus: a fixed bound in events, and backpressure on producers. -----------


def test_bounded_fifo_keeps_batches_and_counts_depth(make_bounded: MakeBus) -> None:
    bus = make_bounded(100)
    assert bus.capacity == 100
    bus.publish(batch(0, 3))
    bus.publish(batch(3, 2))
    bus.publish(batch(5, 4))
    assert bus.depth == 9
    out = bus.poll(max_events=100, timeout=0.1)
    assert [b.num_rows for b in out] == [3, 2, 4]
    assert values(out) == list(range(9))
    assert bus.depth == 0


def test_bounded_poll_respects_max_events(make_bounded: MakeBus) -> None:
    bus = make_bounded(100)
    for i in range(5):
        bus.publish(batch(i * 4, 4))
    first = bus.poll(max_events=10, timeout=0.1)
    assert [b.num_rows for b in first] == [4, 4]  # a third batch would exceed 10
    assert bus.depth == 12
    second = bus.poll(max_events=8, timeout=0.1)
    assert [b.num_rows for b in second] == [4, 4]  # exactly max_events
    rest = bus.poll(max_events=100, timeout=0.1)
    assert values(first + second + rest) == list(range(20))


def test_bounded_poll_takes_one_batch_larger_than_max_events(make_bounded: MakeBus) -> None:
    bus = make_bounded(100)
    bus.publish(batch(0, 30))
    bus.publish(batch(30, 1))
    out = bus.poll(max_events=10, timeout=0.1)
    assert [b.num_rows for b in out] == [30]
    assert bus.depth == 1


def test_bounded_publish_with_timeout_raises_when_full(make_bounded: MakeBus) -> None:
    bus = make_bounded(10)
    bus.publish(batch(0, 6))
    bus.publish(batch(6, 4))  # exactly full
    assert bus.depth == 10
    started = time.monotonic()
    with pytest.raises(BusFull, match="bus full: 10 of 10"):
        bus.publish(batch(10, 1), timeout=0.05)
    assert time.monotonic() - started >= 0.04
    assert bus.depth == 10
    assert bus.published_events == 10
    with pytest.raises(BusFull):
        bus.publish(batch(10, 1), timeout=0)


def test_bounded_blocked_publisher_proceeds_when_consumer_polls(make_bounded: MakeBus) -> None:
    bus = make_bounded(10)
    bus.publish(batch(0, 8))
    done = threading.Event()
    errors: list[BaseException] = []

    def produce() -> None:
        try:
            bus.publish(batch(8, 5), timeout=5.0)  # 8 + 5 > 10: must wait
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=produce)
    thread.start()
    try:
        assert not done.wait(0.1)  # still blocked
        assert bus.depth == 8
        first = bus.poll(max_events=100, timeout=1.0)
        assert done.wait(2.0)
        assert errors == []
        second = bus.poll(max_events=100, timeout=1.0)
        assert values(first + second) == list(range(13))
    finally:
        thread.join(5.0)


def test_bounded_oversized_batch_admitted_alone_on_empty_bus(make_bounded: MakeBus) -> None:
    bus = make_bounded(10)
    bus.publish(batch(0, 25), timeout=0)  # larger than the capacity, bus empty: admitted
    assert bus.depth == 25
    with pytest.raises(BusFull):
        bus.publish(batch(25, 1), timeout=0.01)
    out = bus.poll(max_events=5, timeout=0.1)
    assert [b.num_rows for b in out] == [25]
    assert bus.depth == 0
    bus.publish(batch(25, 1), timeout=0)
    assert bus.depth == 1


def test_bounded_oversized_batch_waits_for_a_non_empty_bus(make_bounded: MakeBus) -> None:
    bus = make_bounded(10)
    bus.publish(batch(0, 1))
    with pytest.raises(BusFull):
        bus.publish(batch(1, 25), timeout=0.02)
    bus.poll(10, timeout=0.1)
    bus.publish(batch(1, 25), timeout=0)
    assert bus.depth == 25


def test_bounded_close_fails_blocked_publishers_and_drains(make_bounded: MakeBus) -> None:
    bus = make_bounded(5)
    bus.publish(batch(0, 5))
    outcome: list[str] = []

    def produce() -> None:
        try:
            bus.publish(batch(5, 1), timeout=5.0)
            outcome.append("published")
        except BusFull as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=produce)
    thread.start()
    time.sleep(0.05)
    bus.close()
    thread.join(2.0)
    assert outcome == ["bus is closed"]
    # Data already queued can still be drained, then poll returns at once.
    assert values(bus.poll(100, timeout=1.0)) == [0, 1, 2, 3, 4]
    started = time.monotonic()
    assert bus.poll(100, timeout=5.0) == []
    assert time.monotonic() - started < 1.0
