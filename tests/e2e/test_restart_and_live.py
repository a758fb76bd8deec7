"""Restarts lose nothing and double count nothing; the live hub never lets a
slow client hold up the others."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trafficcast.config import Settings
from trafficcast.live.hub import LiveHub, Subscriber
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

HOUR = 3_600_000
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR  # a whole hour in January 2026


def simulated(hours: float, seed: int = 3) -> Dataset:
    sim = Simulator(SimulatorConfig(n_segments=40, seed=seed, dropout_probability=0.0))
    events = sim.events(T0, T0 + int(hours * HOUR))
    return Dataset("sim", events, sim.segments, sim.links)


def run(runtime: Runtime, dataset: Dataset, flush: bool) -> None:
    feed = ReplayFeed(runtime.bus, dataset, speed=0)
    runtime.add_feed(feed)
    runtime.start()
    assert feed.finished.wait(60)
    if flush:
        runtime.processor.request_flush()
    assert runtime.processor.wait_idle(60)


def windows(runtime: Runtime, minutes: int) -> dict[tuple[str, int], tuple[int, float]]:
    table = runtime.store.windows_between(minutes, T0 - HOUR, T0 + 10 * HOUR)
    starts = table.column("window_start").cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    return {
        (s, t): (c, m)
        for s, t, c, m in zip(
            table.column("segment_id").to_pylist(),
            starts.to_pylist(),
            table.column("count").to_pylist(),
            table.column("mean_speed").to_pylist(),
            strict=True,
        )
    }


@pytest.mark.slow
def test_restart_mid_stream_with_overlapping_resend(tmp_path: Path) -> None:
    data = simulated(2.0)
    ts = data.events.column("timestamp").cast(pa.int64())
    cut = T0 + 75 * 60_000
    first = data.events.filter(pc.less(ts, cut))
    # The sender resends the last 10 minutes before the cut after the restart.
    second = data.events.filter(pc.greater_equal(ts, cut - 10 * 60_000))

    reference = Runtime(Settings(data_dir=tmp_path / "reference"))
    reference.register_segments(data.segments, data.links)
    run(reference, data, flush=True)
    expected = {m: windows(reference, m) for m in (1, 5)}
    expected_events = reference.store.count_events()
    reference.stop()

    settings = Settings(data_dir=tmp_path / "restarted")
    before = Runtime(settings)
    before.register_segments(data.segments, data.links)
    run(before, Dataset("a", first, data.segments, data.links), flush=False)
    before.stop()  # windows still open are lost with the process

    after = Runtime(settings)
    run(after, Dataset("b", second, data.segments, data.links), flush=True)
    assert after.processor.stats.duplicates > 0
    assert after.store.count_events() == expected_events == data.events.num_rows
    for minutes in (1, 5):
        got = windows(after, minutes)
        assert got.keys() == expected[minutes].keys()
        for key, (count, mean) in expected[minutes].items():
            assert got[key][0] == count, key
            assert got[key][1] == pytest.approx(mean, rel=1e-9), key
    assert after.store.latest_predictions(None, 10_000).num_rows == 40 * 12
    after.stop()


async def test_slow_client_is_dropped_and_others_keep_receiving() -> None:
    hub = LiveHub(queue_size=10)
    hub.bind(asyncio.get_running_loop())
    received: list[str] = []
    closed: list[tuple[int, str]] = []
    never = asyncio.Event()

    async def slow_send(text: str) -> None:
        await never.wait()  # a client that stopped reading

    async def fast_send(text: str) -> None:
        received.append(text)

    async def close(code: int, reason: str) -> None:
        closed.append((code, reason))

    slow = Subscriber(send=slow_send, close=close, queue_size=10)
    fast = Subscriber(send=fast_send, close=close, queue_size=10)
    for sub in (slow, fast):
        hub.add(sub)
        hub.subscribe(sub, ["*"])
    writers = [asyncio.create_task(hub.writer(s)) for s in (slow, fast)]
    started = time.monotonic()
    for i in range(50):
        hub.deliver([("S1", f"m{i}")])
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)
    assert time.monotonic() - started < 1.0
    assert slow.dropped
    assert not fast.dropped
    assert closed == [(1013, "client too slow; reconnect")]
    assert received == [f"m{i}" for i in range(50)]
    assert hub.connections == 1
    assert hub.dropped_clients == 1
    for w in writers:
        w.cancel()


async def test_subscriptions_filter_segments() -> None:
    hub = LiveHub()
    hub.bind(asyncio.get_running_loop())
    got: list[str] = []

    async def send(text: str) -> None:
        got.append(text)

    async def close(code: int, reason: str) -> None:
        return None

    sub = Subscriber(send=send, close=close)
    hub.add(sub)
    hub.subscribe(sub, ["A", "B"])
    assert hub.wants("A")
    assert not hub.wants("C")
    hub.unsubscribe(sub, ["B"])
    hub.deliver([("A", "a"), ("B", "b"), ("C", "c")])
    assert [sub.queue.get_nowait() for _ in range(sub.queue.qsize())] == ["a"]
    hub.remove(sub)
    assert not hub.has_subscribers
    assert np.all(~np.array([hub.wants(x) for x in "ABC"]))


async def test_batch_format_sends_one_frame_per_delivery() -> None:
    hub = LiveHub()
    hub.bind(asyncio.get_running_loop())

    async def noop(*_: object) -> None:
        return None

    sub = Subscriber(send=noop, close=noop, batch=True)
    hub.add(sub)
    hub.subscribe(sub, ["*"])
    hub.deliver([("A", '{"n":1}'), ("B", '{"n":2}')])
    hub.deliver([("C", '{"n":3}')])
    frames = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert [json.loads(f) for f in frames] == [[{"n": 1}, {"n": 2}], [{"n": 3}]]
    assert hub.sent_messages == 3


def test_congestion_alert_is_stored_and_pushed(tmp_path: Path) -> None:
    """A segment slowed to a crawl for 20 minutes gets one alert, stored and pushed live."""
    runtime = Runtime(Settings(data_dir=tmp_path))
    sent: list[tuple[str, str]] = []
    runtime.processor.publish = lambda _kind, messages: sent.extend(messages)
    runtime.processor.live_interest = lambda: (True, frozenset())
    n = 60  # one reading a minute for an hour; minutes 20-40 at 12 mph
    speeds = [12.0 if 20 <= i < 40 else 62.0 for i in range(n)]
    table = pa.table(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "segment_id": ["S1"] * n,
            "timestamp": pa.array([T0 + i * 60_000 for i in range(n)]).cast(
                pa.timestamp("ms", tz="UTC")
            ),
            "speed": speeds,
            "volume": [None] * n,
            "occupancy": [None] * n,
            "latitude": [None] * n,
            "longitude": [None] * n,
            "source": ["t"] * n,
            "quality_score": [1.0] * n,
        }
    )
    from trafficcast.domain.schema import EVENT_SCHEMA

    runtime.processor.process(table.cast(EVENT_SCHEMA))
    runtime.processor.flush()
    # The forecasts saw the crawl coming too: one predicted_congestion alert, resolved
    # when the congestion alert opened (alerts/predicted.py).
    alerts = runtime.store.alerts(None, 10).to_pylist()
    assert sorted(a["alert_type"] for a in alerts) == ["congestion", "predicted_congestion"]
    alert = next(a for a in alerts if a["alert_type"] == "congestion")
    assert alert["segment_id"] == "S1"
    assert alert["alert_type"] == "congestion"
    assert alert["state"] == "resolved"
    assert int(alert["opened_at"].timestamp() * 1000) == T0 + 20 * 60_000
    kinds = [json.loads(text) for _, text in sent]
    pushed = [m for m in kinds if m["type"] == "alert" and m["data"]["alert_type"] == "congestion"]
    assert [m["data"]["state"] for m in pushed] == ["open", "resolved"]
    runtime.stop()


def test_resend_of_a_long_batch_is_not_counted_twice(tmp_path: Path) -> None:
    """One batch spanning 40 minutes of event time, then its tail resent.

    The tail is still inside the allowed lateness of its windows, so its ids
    must be remembered from the end of the batch, not its start.
    """
    data = simulated(40 / 60)
    runtime = Runtime(Settings(data_dir=tmp_path))
    runtime.register_segments(data.segments, data.links)
    runtime.processor.process(data.events)
    tail = data.events.slice(data.events.num_rows - 200)
    runtime.processor.process(tail)
    runtime.processor.flush()
    assert runtime.processor.stats.duplicates == 200
    counted = pc.sum(runtime.store.windows_between(1, T0, T0 + HOUR).column("count")).as_py()
    assert counted == data.events.num_rows
    runtime.stop()
