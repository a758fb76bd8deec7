"""Per-client limits of the live WebSocket: concurrent connections and command rate.

Both live on the API's event loop (no locks) and are per process: behind N API
processes a client may hold N times the connections, which is still bounded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def client_key(scope: dict[str, Any]) -> str:
    """Who a connection belongs to: the signed-in principal, else the peer address.

    The auth middleware puts a principal (with .kind and .subject) in
    scope["state"]; an anonymous principal's subject is its address too.
    """
    principal = (scope.get("state") or {}).get("principal")
    kind = getattr(principal, "kind", None)
    subject = getattr(principal, "subject", None)
    if kind and subject and kind != "anonymous":
        return f"{kind}:{subject}"
    client = scope.get("client")
    return f"ip:{client[0] if client else 'unknown'}"


class ConnectionLimiter:
    """Counts open connections per client key; 0 = unlimited."""

    def __init__(self, max_per_client: int) -> None:
        self.max_per_client = max_per_client
        self._open: dict[str, int] = {}

    def acquire(self, key: str) -> bool:
        count = self._open.get(key, 0)
        if self.max_per_client and count >= self.max_per_client:
            return False
        self._open[key] = count + 1
        return True

    def release(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)  # keys of gone clients do not pile up

    def open(self, key: str) -> int:
        return self._open.get(key, 0)


class MessageRate:
    """Token bucket over one connection's inbound commands; rate 0 = unlimited.

    A burst of up to twice the per-second rate passes (a page subscribing to a
    few groups on connect), a sustained flood does not.
    """

    def __init__(self, per_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_s = per_s
        self.capacity = max(2.0 * per_s, 1.0)
        self._tokens = self.capacity
        self._clock = clock
        self._last = clock()

    def allow(self) -> bool:
        if self.per_s <= 0:
            return True
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.per_s)
        self._last = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True
