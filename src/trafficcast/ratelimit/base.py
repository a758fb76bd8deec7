"""The rate-limit port: one hit against a key's budget, and the decision.

Both backends run the same algorithm, GCRA (the generic cell rate algorithm),
whose arithmetic lives here so that the in-process and the Redis backend can
only differ in where the state is kept, never in what they decide.

Why GCRA rather than a fixed window: a fixed window lets a client spend its
whole budget just before the boundary and again just after it (twice the limit
in a moment); GCRA spreads the budget evenly (one request every window/limit
seconds, with a burst of up to `limit`), and still keeps one number per key
(the "theoretical arrival time", TAT), so it costs the same as a counter.
A sliding log would be exact too but stores one entry per request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

US = 1_000_000


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the whole budget is available again (0 = it is now)."""
    retry_after_s: int
    """Seconds until one more hit would be allowed (0 = now)."""


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        """Spend one unit of `key`'s budget of `limit` per `window_s` seconds, if any is left."""
        ...

    @property
    def failures(self) -> int:
        """Hits that could not be checked and were let through (fail open)."""
        ...

    async def aclose(self) -> None: ...


def interval_us(limit: int, window_s: int) -> int:
    """The emission interval: the budget refills one unit per interval."""
    if limit <= 0 or window_s <= 0:
        raise ValueError(f"limit and window_s must be positive, got {limit} and {window_s}")
    # Whole microseconds keep both backends' arithmetic exact (Lua numbers are
    # doubles); the rounding shortens the window by under 1 us per unit.
    return max(1, window_s * US // limit)


def gcra(now_us: int, tat_us: int | None, interval: int, limit: int) -> tuple[bool, int]:
    """One GCRA step: (allowed, the TAT to keep). Mirrored by the Redis Lua script."""
    tat = now_us if tat_us is None or tat_us < now_us else tat_us
    new_tat = tat + interval
    if new_tat - interval * limit > now_us:
        return False, tat
    return True, new_tat


def decision(allowed: bool, ahead_us: int, interval: int, limit: int) -> Decision:
    """Build the decision from how far the kept TAT is ahead of now."""
    burst = interval * limit
    return Decision(
        allowed=allowed,
        limit=limit,
        remaining=max(0, (burst - ahead_us) // interval),
        reset_s=_ceil_s(ahead_us),
        retry_after_s=_ceil_s(ahead_us + interval - burst),
    )


def fail_open(limit: int) -> Decision:
    """What a hit that could not be counted answers: allowed, nothing spent."""
    return Decision(allowed=True, limit=limit, remaining=limit, reset_s=0, retry_after_s=0)


def _ceil_s(us: int) -> int:
    return max(0, -(-us // US))
