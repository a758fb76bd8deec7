"""Retries with exponential backoff, every attempt recorded.

A small loop rather than tenacity: each attempt must be recorded with its own
status and duration, the retry decision depends on the outcome (a 4xx or a
refused recipient is final, a 5xx or a network error is not), and the wait must
end at once when the process stops; tenacity would need as much glue as this.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from trafficcast.alerts.notify.attempts import NotificationAttempt, cut


@dataclass(frozen=True)
class Outcome:
    """One try's result; `retry` says whether another try may succeed."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_s: float = 1.0  # before the second attempt; doubled before each next one
    max_backoff_s: float = 60.0

    def delay(self, attempt: int) -> float:
        """The wait after failed attempt number `attempt` (1-based)."""
        return float(min(self.backoff_s * 2 ** (attempt - 1), self.max_backoff_s))


@dataclass(frozen=True)
class Job:
    alert_id: str
    rule_id: str
    event: str
    target: str


def deliver(
    job: Job,
    try_once: Callable[[], Outcome],
    policy: RetryPolicy,
    record: Callable[[NotificationAttempt], None],
    stop: threading.Event | None = None,
) -> list[NotificationAttempt]:
    """Try until delivered, refused for good, out of attempts, or stopping."""
    done: list[NotificationAttempt] = []
    for n in range(1, policy.max_attempts + 1):
        started = time.time()
        t0 = time.perf_counter()
        try:
            outcome = try_once()
        except Exception as exc:  # a bug or an unforeseen library error: recorded, retried
            outcome = Outcome(False, None, f"{type(exc).__name__}: {exc}", retry=True)
        attempt = NotificationAttempt(
            alert_id=job.alert_id,
            rule_id=job.rule_id,
            event=job.event,
            target=job.target,
            attempt=n,
            at_ms=int(started * 1000),
            duration_ms=round((time.perf_counter() - t0) * 1000),
            status_code=outcome.status_code,
            error=None if outcome.error is None else cut(outcome.error),
            delivered=outcome.delivered,
        )
        record(attempt)
        done.append(attempt)
        if outcome.delivered or not outcome.retry or n == policy.max_attempts:
            break
        if stop is not None and stop.wait(policy.delay(n)):
            break
        if stop is None:
            time.sleep(policy.delay(n))
    return done
