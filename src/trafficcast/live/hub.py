"""Fan-out of live messages to WebSocket subscribers.

Runs on the API's event loop. Producers on other threads hand over ready
JSON texts with `publish_threadsafe`; each connection has a bounded queue
drained by its own writer task, so a slow client fills only its own queue and
is dropped when it overflows, never holding up the others.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

ALL = "*"


@dataclass(eq=False)
class Subscriber:
    send: Callable[[str], Awaitable[None]]
    close: Callable[[int, str], Awaitable[None]]
    queue_size: int = 1000
    segments: set[str] = field(default_factory=set)
    everything: bool = False
    # Batch mode: each delivery is one frame holding a JSON array of messages,
    # which keeps a subscriber to thousands of segments to a few frames a second.
    batch: bool = False
    queue: asyncio.Queue[str] = field(init=False)
    dropped: bool = False

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.queue_size)

    def wants(self, segment_id: str) -> bool:
        return self.everything or segment_id in self.segments


class LiveHub:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._subscribers: set[Subscriber] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sent_messages = 0
        self.dropped_clients = 0
        # Read from other threads without a lock: replaced, never mutated.
        self._interest: frozenset[str] = frozenset()
        self._interest_all = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    @property
    def connections(self) -> int:
        return len(self._subscribers)

    def wants(self, segment_id: str) -> bool:
        """Whether any subscriber wants this segment (safe from any thread)."""
        return self._interest_all or segment_id in self._interest

    @property
    def has_subscribers(self) -> bool:
        return self._interest_all or bool(self._interest)

    def interest(self) -> tuple[bool, frozenset[str]]:
        return self._interest_all, self._interest

    def add(self, subscriber: Subscriber) -> None:
        self._subscribers.add(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        self._subscribers.discard(subscriber)
        self._refresh_interest()

    def subscribe(self, subscriber: Subscriber, segment_ids: Iterable[str]) -> None:
        ids = set(segment_ids)
        if ALL in ids:
            subscriber.everything = True
            ids.discard(ALL)
        subscriber.segments |= ids
        self._refresh_interest()

    def unsubscribe(self, subscriber: Subscriber, segment_ids: Iterable[str]) -> None:
        ids = set(segment_ids)
        if ALL in ids:
            subscriber.everything = False
            subscriber.segments.clear()
        subscriber.segments -= ids
        self._refresh_interest()

    def _refresh_interest(self) -> None:
        self._interest_all = any(s.everything for s in self._subscribers)
        self._interest = frozenset().union(*(s.segments for s in self._subscribers))

    def publish_threadsafe(self, messages: list[tuple[str, str]]) -> None:
        """Queue (segment_id, json_text) pairs for delivery from any thread."""
        if messages and self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop shutting down
                self._loop.call_soon_threadsafe(self.deliver, messages)

    def deliver(self, messages: list[tuple[str, str]]) -> None:
        for sub in list(self._subscribers):
            if sub.dropped:
                continue
            texts = [t for s, t in messages if sub.wants(s)]
            if not texts:
                continue
            try:
                if sub.batch:
                    sub.queue.put_nowait("[" + ",".join(texts) + "]")
                else:
                    for text in texts:
                        sub.queue.put_nowait(text)
                self.sent_messages += len(texts)
            except asyncio.QueueFull:
                self._drop(sub)

    def _drop(self, sub: Subscriber) -> None:
        sub.dropped = True
        self.dropped_clients += 1
        self.remove(sub)
        if self._loop is not None:
            self._loop.create_task(self._close_slow(sub))

    @staticmethod
    async def _close_slow(sub: Subscriber) -> None:
        with contextlib.suppress(Exception):
            # 1013 "try again later": the client fell too far behind.
            await sub.close(1013, "client too slow; reconnect")

    async def writer(self, sub: Subscriber) -> None:
        """Drain one subscriber's queue to its socket until it is dropped or fails."""
        while not sub.dropped:
            text = await sub.queue.get()
            await sub.send(text)
