"""The system monitor: raises system alerts (alerts/system.py) from an API process.

It runs in the API process because that process exists in both deployments (the
embedded demo, role "all", and scaled out, role "api") and already computes
everything the conditions read: the /health checks (api/routes/system.py), consumer
lag (the in-process bus's depth, or the Kafka group's lag the "consumers" check
reads), and the store's latest reading per segment. Stream processors (role
"processor") run no monitor.

Several API processes: every one notes in the store when it last accepted events
(state key "system:last_ingest_ms"; a process's own POSTs and feeds), so the stall is
judged on all of them. Only one raises alerts: the holder of a lease in the store
("system_monitor:lease", renewed every check, lapsing after 3 checks + 2 s). A new
holder (or a restarted one) adopts the system alerts still active in the store, so it
resolves them when clear and opens none twice; the ids of stall and silent-detector
episodes are the same in every process anyway. Component health is the holder's view
(database and consumer lag are shared; bus, fan-out and model checks are its own).

The rule is re-read from the store (key "alert_rule:system") every check; a rule that
cannot be read or is not valid keeps the one in force.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from trafficcast.alerts.records import pushed_records
from trafficcast.alerts.rules import state_key
from trafficcast.alerts.schema import ACTIVE_STATES, ALERT_RECORD_SCHEMA
from trafficcast.alerts.system import HealthCheck, SystemAlerts, SystemSnapshot
from trafficcast.alerts.system_rule import SystemRuleConfig
from trafficcast.alerts.types import SYSTEM
from trafficcast.api.alert_push import push_alerts
from trafficcast.api.routes.system import CRITICAL, checks
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP
from trafficcast.runtime import Runtime
from trafficcast.store.base import AlertQuery
from trafficcast.store.lease import StateLease, process_name

log = logging.getLogger(__name__)

LEASE_KEY = "system_monitor:lease"
INGEST_KEY = "system:last_ingest_ms"
_UNREAD = object()


class SystemMonitor:
    def __init__(
        self,
        runtime: Runtime,
        interval_s: float,
        clock: Callable[[], float] = time.time,
        holder: str | None = None,
    ) -> None:
        self.runtime = runtime
        self.interval_s = interval_s
        self.clock = clock
        self.holder = holder or process_name()
        # Lapsing after 3 missed checks + 2 s, so one slow round does not hand it over. The
        # store is looked up on each use: a runtime may replace it (reconnecting).
        self.lease = StateLease(
            lambda key: runtime.store.get_state(key),
            lambda key, value: runtime.store.set_state(key, value),
            LEASE_KEY,
            self.holder,
            int((3 * interval_s + 2) * 1000),
        )
        self.rule = SystemRuleConfig()
        self.engine: SystemAlerts | None = None  # while holding the lease
        self._rule_text: object = _UNREAD
        self._accepted = 0  # events this process had accepted at the last check
        self._last_ingest: int | None = None  # the newest last-ingest time known
        self._readings = (np.zeros(0, np.str_), np.zeros(0, np.int64))
        self._unwritten = ALERT_SCHEMA.empty_table()  # changes a failed write left
        self._failures: list[str] = []

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await asyncio.to_thread(self.check)
            except Exception as exc:  # the store may be down for a while: retried next check
                log.warning("system check failed: %s", exc)

    def check(self) -> pa.Table:
        self._failures = []
        try:
            return self._check()
        finally:
            if self._failures:  # one line per round, not one per failed read
                log.warning("system check: the store failed: %s", "; ".join(self._failures))

    def _failed(self, what: str, exc: Exception) -> None:
        self._failures.append(f"{what}: {exc}")

    def _check(self) -> pa.Table:
        """One round: note ingest, and if this process holds the lease evaluate, store and
        push the system alerts. The records pushed (ALERT_RECORD_SCHEMA; none: empty).

        A store that fails does not stop the round (the database being down is one of
        the conditions): the holder keeps holding, the last values read stand in, and
        alerts that could not be written are pushed live at once and written (and pushed
        again as stored) by a later round.
        """
        now_ms = int(self.clock() * 1000)
        try:
            last_ingest = self._note_ingest(now_ms)
        except Exception as exc:
            self._failed("the last ingest time", exc)
            last_ingest = self._last_ingest
        try:
            leading = self.lease.hold(now_ms)
        except Exception as exc:
            self._failed("the monitor lease", exc)
            leading = self.engine is not None
        if not leading:
            self.engine = None
            return ALERT_RECORD_SCHEMA.empty_table()
        if self.engine is None:
            self.engine = self._adopted()
        self._follow_rule()
        changes = self.engine.observe(self._snapshot(now_ms, last_ingest), self.rule)
        for row in changes.to_pylist():  # the same record as the processor's alert changes
            action = "open" if row["state"] == "open" else "resolve"
            log.info(
                "alert %s %s",
                row["alert_id"],
                "opened" if action == "open" else "resolved",
                extra={
                    "event": "alert",
                    "action": action,
                    "by": "system_monitor",
                    "alert_id": row["alert_id"],
                    "alert_type": row["alert_type"],
                    "segment_id": row["segment_id"],
                    "severity": row["severity"],
                    "detail": row["message"],
                },
            )
        if self._unwritten.num_rows:
            changes = pa.concat_tables([self._unwritten, changes])
        if changes.num_rows == 0:
            return ALERT_RECORD_SCHEMA.empty_table()
        try:
            stored = self.runtime.store.upsert_alerts(_last_per_alert(changes))
        except Exception as exc:
            self._failed(f"writing {changes.num_rows} alert changes (retried)", exc)
            fresh = changes.slice(self._unwritten.num_rows)
            self._unwritten = changes
            records = pushed_records(fresh, ALERT_RECORD_SCHEMA.empty_table(), now_ms)
            push_alerts(self.runtime, records)
            return records
        self._unwritten = ALERT_SCHEMA.empty_table()
        records = pushed_records(changes, stored, now_ms)
        push_alerts(self.runtime, records)
        self.runtime.notifier.submit(records)
        return records

    # pieces ------------------------------------------------------------------
    def _note_ingest(self, now_ms: int) -> int | None:
        """When events were last accepted by any process (None: never)."""
        rt = self.runtime
        accepted = rt.ingest_stats.accepted + sum(f.sent_events for f in rt.feeds)
        if accepted > self._accepted:
            self._accepted = accepted
            self._last_ingest = now_ms
            rt.store.set_state(INGEST_KEY, str(now_ms))
            return now_ms
        text = rt.store.get_state(INGEST_KEY)
        if text is not None and text.isdigit():
            self._last_ingest = max(int(text), self._last_ingest or 0)
        return self._last_ingest

    def _adopted(self) -> SystemAlerts:
        engine = SystemAlerts()
        active = self.runtime.store.query_alerts(
            AlertQuery(states=ACTIVE_STATES, alert_type=SYSTEM, limit=100_000)
        )
        engine.adopt_open(
            active.column("alert_id").to_pylist(),
            active.column("opened_at").cast(TIMESTAMP).cast(pa.int64()).to_pylist(),
            active.column("severity").to_pylist(),
        )
        return engine

    def _follow_rule(self) -> None:
        try:
            text = self.runtime.store.get_state(state_key(SYSTEM))
        except Exception as exc:
            self._failed("the rule (the current one stays)", exc)
            return
        if text == self._rule_text:
            return
        self._rule_text = text
        try:
            self.rule = SystemRuleConfig.loads(text)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("the stored system alert rule is not valid; keeping the current one: %s", exc)

    def _snapshot(self, now_ms: int, last_ingest: int | None) -> SystemSnapshot:
        result = checks(self.runtime)
        try:
            latest = self.runtime.store.latest_readings()
            self._readings = (
                np.asarray(latest.column("segment_id").to_pylist(), dtype=np.str_),
                np.asarray(
                    latest.column("timestamp").cast(TIMESTAMP).cast(pa.int64()).to_numpy(), np.int64
                ),
            )
        except Exception as exc:  # the last readings seen stand in
            self._failed("the latest readings", exc)
        return SystemSnapshot(
            now_ms=now_ms,
            last_ingest_ms=last_ingest,
            consumer_lag=_lag(result),
            health={
                name: HealthCheck(c["status"], name in CRITICAL, _detail(c))
                for name, c in result.items()
            },
            segment_ids=self._readings[0],
            last_reading_ms=self._readings[1],
        )


def _last_per_alert(changes: pa.Table) -> pa.Table:
    """One row per alert id, its latest change (a retried write may hold an open and its
    resolution)."""
    last = {aid: i for i, aid in enumerate(changes.column("alert_id").to_pylist())}
    return changes.take(pa.array(sorted(last.values()), pa.int64()))


def _lag(result: dict[str, dict[str, Any]]) -> int | None:
    """Events waiting for the processors, as /health measured them."""
    for name, field in (("consumers", "lag_records"), ("stream_processor", "lag_events")):
        value = result.get(name, {}).get(field)
        if isinstance(value, int):
            return value
    return None


def _detail(check: dict[str, Any]) -> str:
    for name in ("error", "last_error"):
        if check.get(name):
            return str(check[name])[:300]
    return ""
