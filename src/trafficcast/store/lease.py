"""A lease in the store's state table: which one of several processes does a job.

The value under `key` is "<holder>|<until ms>". A process takes the lease when it is
free, lapsed or already its own, by writing it and reading it back: of two processes
writing at once, the one read back holds it, the other sees it taken. Holding it means
renewing it before it lapses; a holder that stops (or dies) is replaced once `ttl_ms`
has passed, or at once when it releases the lease on a clean stop.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable


def process_name() -> str:
    """This process, distinguishable from every other one: host, pid and a random tag."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class StateLease:
    def __init__(
        self,
        get_state: Callable[[str], str | None],
        set_state: Callable[[str, str], None],
        key: str,
        holder: str,
        ttl_ms: int,
    ) -> None:
        self._get = get_state
        self._set = set_state
        self.key = key
        self.holder = holder
        self.ttl_ms = ttl_ms

    def hold(self, now_ms: int) -> bool:
        """Take or renew the lease; whether this process holds it (store errors raise)."""
        text = self._get(self.key)
        if text:
            holder, _, until = text.rpartition("|")
            if holder != self.holder and until.isdigit() and int(until) > now_ms:
                return False
        self._set(self.key, f"{self.holder}|{now_ms + self.ttl_ms}")
        confirmed = self._get(self.key)  # another process may have written after us
        return confirmed is not None and confirmed.rpartition("|")[0] == self.holder

    def release(self) -> None:
        """Give the lease up if this process holds it, so another takes it at once."""
        text = self._get(self.key)
        if text and text.rpartition("|")[0] == self.holder:
            self._set(self.key, "")
