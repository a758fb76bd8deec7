"""The bus port's contract: a bounded FIFO of Arrow batches, counted in events.

Run against every adapter in BUSES (the Kafka adapter joins when it lands).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pyarrow as pa
import pytest

from trafficcast.bus.base import Bus, BusFull
from trafficcast.bus.memory import MemoryBus

BUSES: dict[str, Callable[[int], Bus]] = {"memory": MemoryBus}


@pytest.fixture(params=sorted(BUSES))
def make_bus(request: pytest.FixtureRequest) -> Callable[[int], Bus]:
    return BUSES[request.param]


def batch(start: int, n: int) -> pa.Table:
    return pa.table({"i": pa.array(range(start, start + n), type=pa.int64())})


def values(batches: list[pa.Table]) -> list[int]:
    return [v for b in batches for v in b.column("i").to_pylist()]


def test_satisfies_the_bus_protocol(make_bus: Callable[[int], Bus]) -> None:
    bus: Bus = make_bus(10)
    assert bus.capacity == 10
    assert bus.depth == 0


def test_fifo_order_and_depth(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(100)
    bus.publish(batch(0, 3))
    bus.publish(batch(3, 2))
    bus.publish(batch(5, 4))
    assert bus.depth == 9
    assert bus.published_events == 9
    out = bus.poll(max_events=100, timeout=0.1)
    assert [b.num_rows for b in out] == [3, 2, 4]
    assert values(out) == list(range(9))
    assert bus.depth == 0
    assert bus.published_events == 9


def test_empty_batch_is_ignored(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
    bus.publish(batch(0, 0))
    assert bus.depth == 0
    assert bus.poll(10, timeout=0.01) == []


def test_poll_respects_max_events(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(100)
    for i in range(5):
        bus.publish(batch(i * 4, 4))
    first = bus.poll(max_events=10, timeout=0.1)
    assert [b.num_rows for b in first] == [4, 4]  # a third batch would exceed 10
    assert bus.depth == 12
    second = bus.poll(max_events=8, timeout=0.1)
    assert [b.num_rows for b in second] == [4, 4]  # exactly max_events
    rest = bus.poll(max_events=100, timeout=0.1)
    assert values(first + second + rest) == list(range(20))


def test_poll_takes_one_batch_larger_than_max_events(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(100)
    bus.publish(batch(0, 30))
    bus.publish(batch(30, 1))
    out = bus.poll(max_events=10, timeout=0.1)
    assert [b.num_rows for b in out] == [30]  # never an empty answer when data waits
    assert bus.depth == 1


def test_poll_times_out_empty(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
    started = time.monotonic()
    assert bus.poll(10, timeout=0.05) == []
    assert time.monotonic() - started >= 0.04


def test_poll_wakes_when_a_batch_arrives(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
    timer = threading.Timer(0.05, bus.publish, args=(batch(0, 2),))
    timer.start()
    try:
        started = time.monotonic()
        out = bus.poll(10, timeout=5.0)
        assert values(out) == [0, 1]
        assert time.monotonic() - started < 2.0
    finally:
        timer.cancel()


def test_publish_with_timeout_raises_when_full(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
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


def test_blocked_publisher_proceeds_when_consumer_polls(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
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


def test_oversized_batch_admitted_alone_on_empty_bus(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
    bus.publish(batch(0, 25), timeout=0)  # larger than the capacity, bus empty: admitted
    assert bus.depth == 25
    # While it waits nothing else fits.
    with pytest.raises(BusFull):
        bus.publish(batch(25, 1), timeout=0.01)
    out = bus.poll(max_events=5, timeout=0.1)
    assert [b.num_rows for b in out] == [25]
    assert bus.depth == 0
    bus.publish(batch(25, 1), timeout=0)
    assert bus.depth == 1


def test_oversized_batch_waits_for_a_non_empty_bus(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(10)
    bus.publish(batch(0, 1))
    with pytest.raises(BusFull):
        bus.publish(batch(1, 25), timeout=0.02)
    bus.poll(10, timeout=0.1)
    bus.publish(batch(1, 25), timeout=0)
    assert bus.depth == 25


def test_close_wakes_pollers_and_fails_blocked_publishers(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(5)
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
    assert bus.closed
    # Data already queued can still be drained, then poll returns at once.
    assert values(bus.poll(100, timeout=1.0)) == [0, 1, 2, 3, 4]
    started = time.monotonic()
    assert bus.poll(100, timeout=5.0) == []
    assert time.monotonic() - started < 1.0


def test_many_producers_and_a_consumer_lose_nothing(make_bus: Callable[[int], Bus]) -> None:
    bus = make_bus(50)
    producers = 4
    per_producer = 100

    def produce(p: int) -> None:
        for k in range(per_producer):
            bus.publish(batch(p * 10_000 + k * 3, 3), timeout=5.0)

    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for t in threads:
        t.start()
    received: list[int] = []
    deadline = time.monotonic() + 10
    while len(received) < producers * per_producer * 3 and time.monotonic() < deadline:
        out = bus.poll(max_events=20, timeout=0.5)
        assert sum(b.num_rows for b in out) <= 20
        received.extend(values(out))
    for t in threads:
        t.join(5.0)
    assert len(received) == producers * per_producer * 3
    assert len(set(received)) == len(received)
    # FIFO per producer.
    for p in range(producers):
        mine = [v for v in received if p * 10_000 <= v < (p + 1) * 10_000]
        assert mine == sorted(mine)
    assert bus.depth == 0
