"""The notification worker: alert changes in, webhook and e-mail deliveries out.

The stream processor hands over each cycle's alert changes after they are
committed (`submit`, which never blocks: a full queue drops the batch and counts
it). One background thread delivers them to the rule's targets in order, retrying
with backoff and recording every attempt in the store, and checks now and then
for alerts left open past the rule's escalation time. Deliveries run one at a
time: alerts are few, and one slow target delays the others rather than piling
up threads.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pyarrow as pa

from trafficcast.alerts.follow import RuleBook
from trafficcast.alerts.notify import email, payload, webhook
from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.alerts.notify.retry import Job, Outcome, RetryPolicy, deliver
from trafficcast.alerts.registry import RULES
from trafficcast.alerts.rules import RuleConfig
from trafficcast.store.base import AlertQuery, Store

log = logging.getLogger(__name__)
MIN_MS = 60_000


@dataclass(frozen=True)
class NotifyConfig:
    webhook_secret: str = ""
    timeout_s: float = 5.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    smtp: email.SmtpConfig = field(default_factory=lambda: email.SmtpConfig(host=""))
    queue_size: int = 1000
    escalation_check_s: float = 30.0
    # Scaled out, the processors escalate; an API process only sends what it raised itself
    # (system alerts), so fewer processes race to escalate one alert.
    escalate: bool = True


class DispatchStats:
    def __init__(self) -> None:
        self.dropped = 0  # alert changes not queued: the queue was full
        self.delivered = 0  # notifications delivered (after however many attempts)
        self.failed = 0  # notifications given up on
        self.attempts = 0
        self.escalations = 0


def delivery_targets(targets: tuple[str, ...]) -> list[str]:
    """The targets this worker delivers: the dashboard gets alerts over the WebSocket."""
    return [t for t in targets if t.startswith(("webhook:", "email:"))]


def escalation_due(opened_ms: int, now_ms: int, after_minutes: int) -> bool:
    return now_ms - opened_ms >= after_minutes * MIN_MS


class Dispatcher:
    def __init__(
        self,
        store: Store,
        read_state: Callable[[str], str | None],
        config: NotifyConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock
        # Each alert's rule, by its type (alerts/registry.py), read by state key.
        self.rules = RuleBook(RULES, read_state, interval_s=1.0)
        self.stats = DispatchStats()
        self._queue: queue.Queue[tuple[pa.Table, str | None]] = queue.Queue(
            maxsize=config.queue_size
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._escalated: set[str] = set()
        self._warned_unsigned = False
        self._client = httpx.Client(timeout=config.timeout_s, follow_redirects=False)

    # the hot path's side ------------------------------------------------------
    def submit(self, records: pa.Table, event: str | None = None) -> None:
        """Queue committed alert changes (ALERT_RECORD_SCHEMA rows); never waits. `event`
        names an operator's action (acknowledged, resolved); else each record's state
        says whether it opened or resolved."""
        if records.num_rows == 0:
            return
        try:
            self._queue.put_nowait((records, event))
        except queue.Full:
            self.stats.dropped += records.num_rows
            log.warning("notification queue full; dropped %d alert changes", records.num_rows)

    # lifecycle ----------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="notify", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self._client.close()

    def wait_idle(self, timeout: float) -> bool:
        """Whether everything queued so far was handled within timeout (tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def _run(self) -> None:
        check_s = self.config.escalation_check_s
        next_check = time.monotonic() + check_s
        while not self._stop.is_set():
            try:
                queued = self._queue.get(timeout=max(0.0, next_check - time.monotonic()))
            except queue.Empty:
                queued = None
            if queued is not None:
                try:
                    self._changes(*queued)
                except Exception:  # one bad batch must not stop notifications
                    log.exception("could not notify alert changes")
                finally:
                    self._queue.task_done()
            if self.config.escalate and time.monotonic() >= next_check:
                try:
                    self.escalate()
                except Exception as exc:  # the store may be down; checked again later
                    log.warning("escalation check failed: %s", exc)
                next_check = time.monotonic() + check_s

    # delivery -------------------------------------------------------------------
    def _changes(self, records: pa.Table, event: str | None = None) -> None:
        for record in records.to_pylist():
            rule = self.rules.for_alert_type(str(record.get("alert_type")))
            if rule is None:
                continue  # a type no rule raises: nowhere to send it but the dashboard
            for target in delivery_targets(rule.notify):
                self.send(record, rule.rule_id, event or payload.event_of(record), target)

    def escalate(self) -> None:
        """Send alerts still open past their rule's escalate_after_minutes to its
        escalate_to, once."""
        for rule_id in RULES:
            self._escalate(self.rules.rule(rule_id))

    def _escalate(self, rule: RuleConfig) -> None:
        after = rule.escalate_after_minutes
        targets = delivery_targets(rule.escalate_to)
        if after is None or not targets:
            return
        now_ms = int(self.clock() * 1000)
        due = self.store.query_alerts(
            AlertQuery(
                states=("open",),
                alert_type=rule.alert_type,
                until_ms=now_ms - after * MIN_MS + 1,
                limit=10_000,
            )
        )
        for record in due.to_pylist():
            alert_id = str(record["alert_id"])
            if alert_id in self._escalated:
                continue
            # Another process (or this one before a restart) may have escalated it.
            if any(a.event == "escalated" for a in self.store.notification_attempts(alert_id)):
                self._escalated.add(alert_id)
                continue
            self._escalated.add(alert_id)
            self.stats.escalations += 1
            for target in targets:
                self.send(record, rule.rule_id, "escalated", target)

    def send(self, record: dict[str, Any], rule_id: str, event: str, target: str) -> bool:
        """Deliver one notification to one target with retries; True when delivered."""
        job = Job(str(record["alert_id"]), rule_id, event, target)
        kind, _, address = target.partition(":")
        if kind == "webhook":
            body = payload.body(record, rule_id, event, int(self.clock() * 1000))
            secret = self.config.webhook_secret
            if not secret and not self._warned_unsigned:
                log.warning("TRAFFICCAST_WEBHOOK_SECRET is empty: webhooks are sent unsigned")
                self._warned_unsigned = True

            def try_once() -> Outcome:
                return webhook.post(self._client, address, body, secret, event, int(self.clock()))

        else:
            subject, text = payload.email_text(record, rule_id, event)
            msg = email.message(self.config.smtp.sender, address, subject, text)

            def try_once() -> Outcome:
                return email.send(self.config.smtp, msg)

        attempts = deliver(job, try_once, self.config.policy, self._record, self._stop)
        delivered = bool(attempts) and attempts[-1].delivered
        if delivered:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1
            log.warning(
                "notification %s of %s to %s failed after %d attempts",
                event,
                job.alert_id[:200],
                target[:200],
                len(attempts),
            )
        return delivered

    def _record(self, attempt: NotificationAttempt) -> None:
        self.stats.attempts += 1
        try:
            self.store.add_notification_attempts([attempt])
        except Exception as exc:  # delivery matters more than its record
            log.warning("could not record a notification attempt: %s", exc)
