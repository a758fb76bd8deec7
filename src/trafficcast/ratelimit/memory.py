"""In-process rate limiting: one API process, no shared state."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from trafficcast.ratelimit.base import Decision, decision, gcra, interval_us


def _monotonic_us() -> int:
    return time.monotonic_ns() // 1000


class MemoryRateLimiter:
    """GCRA over a dict of key -> TAT, safe to call from any thread or task.

    A key whose TAT has passed holds no information (a fresh key decides the
    same), so it is dropped by a sweep. Sweeps run when the dict has doubled
    since the last one, which keeps their cost O(1) per hit amortised and the
    memory within twice the live keys. `max_keys` is a hard bound against a
    flood of distinct clients (e.g. IPv6-rotated addresses): when a sweep finds
    more than half of it still live, the keys with the least budget spent are
    forgotten (those clients are forgiven a little), so the dict never grows
    past `max_keys` and sweeps stay amortised.
    """

    def __init__(
        self,
        *,
        max_keys: int = 1_000_000,
        min_sweep: int = 1024,
        clock: Callable[[], int] = _monotonic_us,
    ) -> None:
        if max_keys < 2 or min_sweep < 1:
            raise ValueError("max_keys must be at least 2 and min_sweep at least 1")
        self._tat: dict[str, int] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._max_keys = max_keys
        self._min_sweep = min_sweep
        self._sweep_at = min(max_keys, min_sweep)

    @property
    def failures(self) -> int:
        return 0

    def __len__(self) -> int:
        return len(self._tat)

    async def hit(self, key: str, limit: int, window_s: int) -> Decision:
        # Microseconds under a lock with no I/O: nothing here can stall the loop.
        return self.hit_sync(key, limit, window_s)

    def hit_sync(self, key: str, limit: int, window_s: int) -> Decision:
        interval = interval_us(limit, window_s)
        with self._lock:
            now = self._clock()
            allowed, tat = gcra(now, self._tat.get(key), interval, limit)
            if allowed:
                self._tat[key] = tat
                if len(self._tat) >= self._sweep_at:
                    self._sweep(now)
        return decision(allowed, tat - now, interval, limit)

    def sweep(self) -> int:
        """Drop expired keys now; returns how many are left."""
        with self._lock:
            self._sweep(self._clock())
            return len(self._tat)

    async def aclose(self) -> None:
        with self._lock:
            self._tat.clear()

    def _sweep(self, now: int) -> None:
        live = {k: t for k, t in self._tat.items() if t > now}
        keep = self._max_keys // 2
        if len(live) > keep:
            # The smallest TATs are the clients closest to a full budget anyway.
            live = dict(sorted(live.items(), key=lambda kv: kv[1])[len(live) - keep :])
        self._tat = live
        self._sweep_at = min(self._max_keys, max(self._min_sweep, 2 * len(live)))
