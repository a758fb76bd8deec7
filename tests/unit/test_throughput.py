"""The throughput sampler on a fake clock: rates over the last minute and per interval."""

from __future__ import annotations

import asyncio

import pytest

from trafficcast.api.throughput import ThroughputSampler


class Clock:
    def __init__(self) -> None:
        self.mono = 1000.0
        self.wall = 1_767_600_000.0
        self.count = 0

    def advance(self, seconds: float, events: int) -> None:
        self.mono += seconds
        self.wall += seconds
        self.count += events


def sampler(clock: Clock, **kwargs: float) -> ThroughputSampler:
    return ThroughputSampler(
        lambda: clock.count, wall=lambda: clock.wall, monotonic=lambda: clock.mono, **kwargs
    )


def test_a_fresh_process_reports_its_rate_since_start() -> None:
    clock = Clock()
    s = sampler(clock)
    assert s.rate() == 0.0
    assert s.history() == []
    clock.advance(0.5, 100)
    assert s.rate() == 100.0  # a burst in the first half second counts over a whole one
    clock.advance(4.5, 400)
    assert s.rate() == pytest.approx(100.0)  # 500 events in 5 s, before any tick


def test_rate_covers_the_last_minute_from_the_sample_nearest_it() -> None:
    clock = Clock()
    s = sampler(clock)
    # 10 events/s for two minutes, then 50/s for 30 s.
    for _ in range(12):
        clock.advance(10, 100)
        s.sample()
    for _ in range(3):
        clock.advance(10, 500)
        s.sample()
    clock.advance(5, 250)
    # Base: the sample at 150 - 60 = 90 s; 90..155 s holds 30 s at 10/s, 35 s at 50/s.
    assert s.rate() == pytest.approx((300 + 1750) / 65)
    assert s.rate(over_s=15) == pytest.approx(50.0)


def test_history_is_the_rate_of_each_interval_and_keeps_fifteen_minutes() -> None:
    clock = Clock()
    s = sampler(clock)
    start = clock.wall
    for i in range(100):
        clock.advance(10, 10 * i)
        s.sample()
    history = s.history()
    assert len(history) == 90  # 15 min of 10-s intervals
    assert history[-1].wall_s == start + 1000
    assert history[-1].per_second == pytest.approx(99.0)
    assert history[0].per_second == pytest.approx(10.0)
    assert [p.wall_s for p in history] == sorted(p.wall_s for p in history)


def test_a_counter_that_goes_back_is_no_negative_rate() -> None:
    clock = Clock()
    clock.count = 1000
    s = sampler(clock)
    clock.advance(10, -1000)
    s.sample()
    assert s.rate() == 0.0
    assert [p.per_second for p in s.history()] == [0.0]


def test_bad_intervals_are_refused() -> None:
    clock = Clock()
    with pytest.raises(ValueError, match="interval_s"):
        sampler(clock, interval_s=0)
    with pytest.raises(ValueError, match="interval_s"):
        sampler(clock, interval_s=10, keep_s=5)


def test_run_samples_on_the_event_loop_until_cancelled() -> None:
    count = 0

    def read() -> int:
        nonlocal count
        count += 7
        return count

    s = ThroughputSampler(read, interval_s=0.02, keep_s=10)

    async def main() -> None:
        task = asyncio.create_task(s.run())
        await asyncio.sleep(0.15)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert len(s.history()) >= 3
    assert all(p.per_second > 0 for p in s.history())
