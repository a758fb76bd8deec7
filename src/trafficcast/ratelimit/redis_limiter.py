"""Rate limiting shared by every API process through Redis.

One EVALSHA per hit: the GCRA step (see base.py) runs as a Lua script, so the
read-decide-write is atomic however many processes hit the same key, and the
key carries a PX expiry at its TAT, so Redis forgets idle clients by itself.
"""

from __future__ import annotations

import logging
import time

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from trafficcast.ratelimit.base import Decision, decision, fail_open, interval_us

log = logging.getLogger(__name__)

# KEYS[1]: the client's key. ARGV[1]: emission interval (us). ARGV[2]: limit.
# Returns {allowed (0/1), kept TAT minus now (us)}; mirrors base.gcra.
_GCRA = """
if redis.replicate_commands then pcall(redis.replicate_commands) end
-- Redis's clock, not the callers': API processes with skewed clocks share one timeline.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat or tat < now then tat = now end
local new_tat = tat + interval
if new_tat - interval * tonumber(ARGV[2]) > now then
  return {0, tat - now}
end
-- '%.0f': tostring would print a 16-digit TAT in exponent form and lose precision.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
           'PX', math.ceil((new_tat - now) / 1000))
return {1, new_tat - now}
"""


class RedisRateLimiter:
    """GCRA state in Redis; fails open (and counts it) whenever Redis cannot answer.

    Rate limiting protects the API; it must never be the reason the API is
    down. So every Redis error lets the request through, `failures` counts
    those hits, a warning is logged at most once per `warn_every_s`, and after
    a failure Redis is not tried again for `cooldown_s`: a black-holed Redis
    would otherwise add a connect timeout to every request.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "trafficcast:rl:",
        timeout_s: float = 0.25,
        max_connections: int = 64,
        cooldown_s: float = 1.0,
        warn_every_s: float = 60.0,
    ) -> None:
        # Bounded pool: a burst of requests queues for a connection (up to
        # timeout_s) instead of opening thousands of sockets. No retries: a
        # retry would multiply the latency of a hit that fails open anyway.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout_s,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),
        )
        self._redis: Redis = Redis(connection_pool=pool)
        self._script = self._redis.register_script(_GCRA)
        self._prefix = prefix
        self._cooldown_s = cooldown_s
        self._warn_every_s = warn_every_s
        self._down_until = 0.0
        self._warned_at = -float("inf")
        self._failures = 0

    @property
    def failures(self) -> int:
        return self._failures

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        interval = interval_us(limit, window_s)
        if self._down_until and time.monotonic() < self._down_until:
            return self._failed(limit, None)
        try:
            allowed, ahead = await self._script(keys=[self._prefix + key], args=[interval, limit])
        except (RedisError, OSError) as exc:
            return self._failed(limit, exc)
        if self._down_until:
            self._down_until = 0.0
            log.info("rate limiting: redis answers again (%d hits went unchecked)", self._failures)
        return decision(bool(allowed), int(ahead), interval, limit)

    async def aclose(self) -> None:
        await self._redis.aclose()
        await self._redis.connection_pool.disconnect()

    def _failed(self, limit: int, exc: BaseException | None) -> Decision:
        self._failures += 1
        now = time.monotonic()
        if exc is not None:
            self._down_until = now + self._cooldown_s
        if now - self._warned_at >= self._warn_every_s:
            self._warned_at = now
            log.warning(
                "rate limiting fails open: redis is unavailable (%s); %d hits let through "
                "unchecked so far",
                exc or "still in cooldown",
                self._failures,
            )
        return fail_open(limit)
