"""The rate-limiter port's contract, run against every backend.

Redis runs against the real service (the `redis_service` fixture). Budgets use
long windows unless a test is about time passing: GCRA refills one unit per
window/limit, and a slow machine must not see a refill mid-test.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import pytest
import redis.asyncio as aioredis

from trafficcast.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    make_limiter,
)
from trafficcast.ratelimit.base import US

HOUR = 3600

Factory = Callable[[], RateLimiter]


class HasUrl(Protocol):
    url: str


@pytest.fixture(params=["memory", "redis"])
async def new_limiter(request: pytest.FixtureRequest) -> AsyncIterator[Factory]:
    """Makes limiters sharing one backing state (one process for memory, one Redis)."""
    made: list[RateLimiter] = []
    if request.param == "memory":
        shared = MemoryRateLimiter()

        def factory() -> RateLimiter:
            return shared

    else:
        url = request.getfixturevalue("redis_service").url
        prefix = f"test:{uuid.uuid4().hex}:"

        def factory() -> RateLimiter:
            # The contract is about the budget, not the 250 ms production deadline: on a
            # loaded machine a burst could time out connecting and fail open (its own tests).
            limiter = RedisRateLimiter(url, prefix=prefix, timeout_s=5.0)
            made.append(limiter)
            return limiter

    yield factory
    for limiter in made:
        await limiter.aclose()


@pytest.fixture
def limiter(new_limiter: Factory) -> RateLimiter:
    return new_limiter()


@pytest.fixture
def key() -> str:
    return f"client-{uuid.uuid4().hex[:8]}"


async def hits(limiter: RateLimiter, key: str, n: int, limit: int, window_s: int) -> list[bool]:
    return [(await limiter.hit(key, limit, window_s)).allowed for _ in range(n)]


async def test_allows_up_to_the_limit_then_refuses(limiter: RateLimiter, key: str) -> None:
    assert await hits(limiter, key, 7, 5, HOUR) == [True] * 5 + [False] * 2
    refused = await limiter.hit(key, 5, HOUR)
    assert not refused.allowed
    assert refused.limit == 5
    assert refused.remaining == 0
    assert limiter.failures == 0


async def test_remaining_counts_down(limiter: RateLimiter, key: str) -> None:
    remaining = [(await limiter.hit(key, 4, HOUR)).remaining for _ in range(6)]
    assert remaining == [3, 2, 1, 0, 0, 0]


async def test_reset_and_retry_after(limiter: RateLimiter, key: str) -> None:
    first = await limiter.hit(key, 10, 60)
    # One unit spent refills in window/limit = 6 s; nothing to wait for yet.
    assert (first.reset_s, first.retry_after_s) == (6, 0)
    for _ in range(9):
        last = await limiter.hit(key, 10, 60)
    assert last.allowed
    assert last.remaining == 0
    assert 59 <= last.reset_s <= 60
    assert 5 <= last.retry_after_s <= 6  # the next unit comes back in ~6 s
    refused = await limiter.hit(key, 10, 60)
    assert not refused.allowed
    assert 59 <= refused.reset_s <= 60
    assert 5 <= refused.retry_after_s <= 6
    # Refused hits spend nothing: hammering does not push the reset further out.
    again = await limiter.hit(key, 10, 60)
    assert again.reset_s <= refused.reset_s


async def test_separate_keys_are_independent(limiter: RateLimiter, key: str) -> None:
    assert await hits(limiter, key + "a", 4, 3, HOUR) == [True, True, True, False]
    assert await hits(limiter, key + "b", 4, 3, HOUR) == [True, True, True, False]
    # Another budget on a third key is not touched by the first two.
    assert (await limiter.hit(key + "c", 3, HOUR)).remaining == 2


async def test_the_budget_comes_back_after_the_window(limiter: RateLimiter, key: str) -> None:
    assert await hits(limiter, key, 4, 3, 2) == [True, True, True, False]
    refused = await limiter.hit(key, 3, 2)
    assert refused.retry_after_s == 1  # one unit back in 2/3 s, rounded up
    assert refused.reset_s == 2
    await asyncio.sleep(2.05)
    again = await limiter.hit(key, 3, 2)
    assert again.allowed
    assert again.remaining == 2
    assert await hits(limiter, key, 3, 3, 2) == [True, True, False]


async def test_budget_refills_gradually(limiter: RateLimiter, key: str) -> None:
    # GCRA: one unit back per window/limit (here 1 s), not all at the window's end.
    assert await hits(limiter, key, 3, 2, 2) == [True, True, False]
    await asyncio.sleep(1.05)
    assert await hits(limiter, key, 2, 2, 2) == [True, False]


async def test_concurrent_hits_never_exceed_the_limit(limiter: RateLimiter, key: str) -> None:
    decisions = await asyncio.gather(*(limiter.hit(key, 50, HOUR) for _ in range(300)))
    assert sum(d.allowed for d in decisions) == 50
    assert sorted(d.remaining for d in decisions if d.allowed) == list(range(50))


async def test_rejects_nonsense_budgets(limiter: RateLimiter, key: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        await limiter.hit(key, 0, HOUR)
    with pytest.raises(ValueError, match="positive"):
        await limiter.hit(key, 10, 0)


async def test_instances_share_one_budget(new_limiter: Factory, key: str) -> None:
    # Two API processes each build their own limiter on one backing state.
    a, b = new_limiter(), new_limiter()
    assert [(await x.hit(key, 4, HOUR)).remaining for x in (a, b, a, b)] == [3, 2, 1, 0]
    assert not (await a.hit(key, 4, HOUR)).allowed
    assert not (await b.hit(key, 4, HOUR)).allowed
    both = await asyncio.gather(*(x.hit(key + "x", 30, HOUR) for _ in range(60) for x in (a, b)))
    assert a.failures == b.failures == 0  # every hit was checked against the shared state
    assert sum(d.allowed for d in both) == 30


# --- backend specifics -------------------------------------------------------


async def test_redis_keys_expire_on_their_own(redis_service: HasUrl) -> None:
    url = redis_service.url
    prefix = f"test:{uuid.uuid4().hex}:"
    limiter = RedisRateLimiter(url, prefix=prefix)
    raw = aioredis.Redis.from_url(url)
    try:
        await limiter.hit("k", 10, 60)
        ttl_ms = await raw.pttl(prefix + "k")
        assert 0 < ttl_ms <= 6000  # the key lives until its TAT: one interval spent
        await limiter.hit("short", 2, 1)
        await asyncio.sleep(0.6)
        assert await raw.exists(prefix + "short") == 0
    finally:
        await raw.aclose()
        await limiter.aclose()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_redis_outage_fails_open_and_is_counted(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{_closed_port()}/0", warn_every_s=60)
    try:
        with caplog.at_level(logging.WARNING, logger="trafficcast.ratelimit.redis_limiter"):
            decisions = [await limiter.hit("k", 1, HOUR) for _ in range(20)]
        assert all(d.allowed for d in decisions)
        assert decisions[0].remaining == 1
        assert limiter.failures == 20
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1  # once per warn_every_s, not once per request
    finally:
        await limiter.aclose()


async def test_redis_recovers_after_the_cooldown(redis_service: HasUrl) -> None:
    url = redis_service.url
    limiter = RedisRateLimiter(url, prefix=f"test:{uuid.uuid4().hex}:", cooldown_s=0.2)
    try:
        limiter._down_until = time.monotonic() + 0.2  # as if a hit had just failed
        assert (await limiter.hit("k", 1, HOUR)).allowed  # skipped: in cooldown
        assert limiter.failures == 1
        await asyncio.sleep(0.25)
        assert (await limiter.hit("k", 1, HOUR)).allowed  # counted in Redis again
        assert not (await limiter.hit("k", 1, HOUR)).allowed
        assert limiter.failures == 1
    finally:
        await limiter.aclose()


def test_memory_is_thread_safe() -> None:
    limiter = MemoryRateLimiter()
    allowed: list[bool] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        mine = [limiter.hit_sync("k", 500, HOUR).allowed for _ in range(250)]
        with lock:
            allowed.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(allowed) == 500


def test_memory_evicts_expired_keys() -> None:
    now = [0]
    limiter = MemoryRateLimiter(min_sweep=100, clock=lambda: now[0])
    for i in range(99):
        limiter.hit_sync(f"old{i}", 10, 1)  # each key is ahead by 0.1 s
    assert len(limiter) == 99
    now[0] += US  # every old key's TAT has passed
    for i in range(10):
        limiter.hit_sync(f"new{i}", 10, 1)
    # The 100th key triggered a sweep: the old keys are gone, the new ones kept.
    assert len(limiter) == 10
    assert limiter.sweep() == 10
    now[0] += US
    assert limiter.sweep() == 0


def test_memory_never_grows_past_max_keys() -> None:
    now = [0]
    limiter = MemoryRateLimiter(max_keys=1000, min_sweep=10, clock=lambda: now[0])
    for i in range(10_000):
        limiter.hit_sync(f"k{i}", 10, HOUR)  # all live: a flood of distinct clients
        assert len(limiter) <= 1000
    # The most recent (most spent) clients are the ones still counted.
    assert limiter.hit_sync("k9999", 10, HOUR).remaining == 8


async def test_make_limiter_picks_the_backend(redis_service: HasUrl) -> None:
    assert isinstance(make_limiter(None), MemoryRateLimiter)
    assert isinstance(make_limiter(""), MemoryRateLimiter)
    redis_limiter = make_limiter(redis_service.url)
    assert isinstance(redis_limiter, RedisRateLimiter)
    await redis_limiter.aclose()
