"""Rate limiting: in-process by default, shared through Redis when a URL is given."""

from __future__ import annotations

from trafficcast.ratelimit.base import Decision, RateLimiter
from trafficcast.ratelimit.memory import MemoryRateLimiter
from trafficcast.ratelimit.redis_limiter import RedisRateLimiter

__all__ = ["Decision", "MemoryRateLimiter", "RateLimiter", "RedisRateLimiter", "make_limiter"]


def make_limiter(redis_url: str | None) -> RateLimiter:
    """A Redis limiter for a redis:// / rediss:// / unix:// URL; in-process for None or ""."""
    if not redis_url or redis_url == "memory://":
        return MemoryRateLimiter()
    return RedisRateLimiter(redis_url)
