"""System alerts from periodic snapshots of trafficcast itself, with hysteresis.

Conditions (the rule's thresholds: alerts/system_rule.py), one alert per condition
and subject at a time, never one per check:
- ingest_stalled (subject "-"): events were accepted once but none for
  ingest_stall_seconds. Major.
- consumer_lag ("-"): more than max_consumer_lag events wait for the processors. Minor.
- component_unhealthy (the /health check's name): the check is unhealthy (or degraded,
  if the rule counts it). Major when the check is critical and unhealthy, else minor.
- detector_silent (the segment id): the segment's newest reading is more than
  silent_detector_minutes behind the newest reading of any segment. Measured in event
  time against the other detectors, so a replay of old data and a stop of every source
  (that is ingest_stalled) raise nothing here. Minor.

A condition opens its alert once it has held for open_after_seconds and resolves it
once it has been clear for resolve_after_seconds; held again meanwhile, the alert
stays open. Disabled, no alert opens; open ones still resolve.

Alert ids are "system:<condition>:<subject>:<anchor ms>". The anchor is the episode's
start as every process sees it where the data allows it (the stored last ingest time,
the segment's last reading time), so two monitors raising the same episode write the
same row (the store upserts by alert_id); for lag and component health it is when this
monitor first saw the condition (api/system_monitor.py lets one process raise those).
Pure state: callers store and publish the rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trafficcast.alerts.system_rule import SystemRuleConfig
from trafficcast.alerts.types import SYSTEM
from trafficcast.domain.schema import ALERT_SCHEMA

INGEST_STALLED = "ingest_stalled"
CONSUMER_LAG = "consumer_lag"
COMPONENT_UNHEALTHY = "component_unhealthy"
DETECTOR_SILENT = "detector_silent"
CONDITIONS = (INGEST_STALLED, CONSUMER_LAG, COMPONENT_UNHEALTHY, DETECTOR_SILENT)
NO_SUBJECT = "-"

Key = tuple[str, str]  # (condition, subject)


@dataclass(frozen=True)
class HealthCheck:
    status: str  # healthy / degraded / unhealthy
    critical: bool
    detail: str = ""


@dataclass(frozen=True)
class SystemSnapshot:
    now_ms: int
    # Wall time events were last accepted (by any process); None: never, so no source
    # is expected yet.
    last_ingest_ms: int | None
    consumer_lag: int | None  # events waiting for the processors; None: unknown
    health: Mapping[str, HealthCheck]
    segment_ids: npt.NDArray[np.str_]
    last_reading_ms: npt.NDArray[np.int64]  # per segment, event time of its newest reading


@dataclass
class _Episode:
    since_ms: int  # when the condition started to hold
    anchor_ms: int
    severity: str
    message: str
    alert_id: str | None = None  # set once open
    opened_at_ms: int = 0
    clear_since_ms: int | None = None


@dataclass(frozen=True)
class _Held:
    since_ms: int
    anchor_ms: int | None  # None: the episode's start
    severity: str
    message: str


def alert_id(condition: str, subject: str, anchor_ms: int) -> str:
    return f"system:{condition}:{subject}:{anchor_ms}"


def parse_alert_id(value: str) -> tuple[Key, int] | None:
    """(condition, subject) and anchor of a system alert id; None if it is not one."""
    kind, _, rest = value.partition(":")
    condition, _, rest = rest.partition(":")
    subject, _, anchor = rest.rpartition(":")
    if kind != SYSTEM or condition not in CONDITIONS or not subject or not anchor.isdigit():
        return None
    return (condition, subject), int(anchor)


class SystemAlerts:
    def __init__(self) -> None:
        self.episodes: dict[Key, _Episode] = {}

    def adopt_open(
        self, alert_ids: list[str], opened_at_ms: list[int], severity: list[str]
    ) -> None:
        """Carry on system alerts already active in the store (another process's, or from
        before a restart): they resolve when clear and none opens twice."""
        for aid, opened, sev in zip(alert_ids, opened_at_ms, severity, strict=True):
            parsed = parse_alert_id(aid)
            if parsed is None or parsed[0] in self.episodes:
                continue
            key, anchor = parsed
            self.episodes[key] = _Episode(opened, anchor, sev, "", aid, opened)

    def observe(self, snap: SystemSnapshot, rule: SystemRuleConfig) -> pa.Table:
        """Fold in one snapshot; the alerts opened and resolved, as ALERT_SCHEMA rows."""
        held = _conditions(snap, rule)
        now = snap.now_ms
        rows: list[dict[str, object]] = []
        for key, cond in held.items():
            ep = self.episodes.get(key)
            if ep is None:
                anchor = cond.since_ms if cond.anchor_ms is None else cond.anchor_ms
                ep = self.episodes[key] = _Episode(
                    cond.since_ms, anchor, cond.severity, cond.message
                )
            ep.clear_since_ms = None
            if ep.alert_id is None:
                ep.severity, ep.message = cond.severity, cond.message
                if rule.enabled and now - ep.since_ms >= rule.open_after_seconds * 1000:
                    ep.alert_id = alert_id(key[0], key[1], ep.anchor_ms)
                    ep.opened_at_ms = ep.since_ms
                    rows.append(_row(ep, key, None, cond.message))
        for key in [k for k in self.episodes if k not in held]:
            ep = self.episodes[key]
            if ep.alert_id is None:
                del self.episodes[key]  # cleared before it opened: nothing to resolve
                continue
            if ep.clear_since_ms is None:
                ep.clear_since_ms = now
            if now - ep.clear_since_ms >= rule.resolve_after_seconds * 1000:
                rows.append(_row(ep, key, ep.clear_since_ms, _cleared(key)))
                del self.episodes[key]
        return _table(rows)


def _conditions(snap: SystemSnapshot, rule: SystemRuleConfig) -> dict[Key, _Held]:
    """Every condition holding in this snapshot."""
    now = snap.now_ms
    held: dict[Key, _Held] = {}
    stall_ms = rule.ingest_stall_seconds * 1000
    last = snap.last_ingest_ms
    if last is not None and now - last > stall_ms:
        held[(INGEST_STALLED, NO_SUBJECT)] = _Held(
            last + stall_ms,
            last,
            "major",
            f"no events accepted for {(now - last) // 1000} s "
            f"(limit {rule.ingest_stall_seconds} s)",
        )
    lag = snap.consumer_lag
    if lag is not None and lag > rule.max_consumer_lag:
        held[(CONSUMER_LAG, NO_SUBJECT)] = _Held(
            now,
            None,
            "minor",
            f"{lag} events wait for the stream processors (limit {rule.max_consumer_lag})",
        )
    bad = ("unhealthy", "degraded") if rule.include_degraded else ("unhealthy",)
    wanted = None if rule.health_checks is None else set(rule.health_checks)
    for name, check in snap.health.items():
        if check.status in bad and (wanted is None or name in wanted):
            major = check.critical and check.status == "unhealthy"
            detail = f": {check.detail}" if check.detail else ""
            held[(COMPONENT_UNHEALTHY, name)] = _Held(
                now, None, "major" if major else "minor", f"{name} is {check.status}{detail}"
            )
    readings = snap.last_reading_ms
    if len(readings):
        newest = int(readings.max())
        silent_ms = rule.silent_detector_minutes * 60_000
        for i in np.flatnonzero(newest - readings > silent_ms).tolist():
            at = int(readings[i])
            held[(DETECTOR_SILENT, str(snap.segment_ids[i]))] = _Held(
                now,
                at,
                "minor",
                f"no reading for {(newest - at) // 60_000} min while other detectors report "
                f"(limit {rule.silent_detector_minutes} min)",
            )
    return held


def _cleared(key: Key) -> str:
    return {
        INGEST_STALLED: "events are accepted again",
        CONSUMER_LAG: "consumer lag back under the limit",
        COMPONENT_UNHEALTHY: f"{key[1]} is healthy again",
        DETECTOR_SILENT: "the detector reports again",
    }[key[0]]


def _row(ep: _Episode, key: Key, resolved_ms: int | None, message: str) -> dict[str, object]:
    return {
        "alert_id": ep.alert_id,
        "alert_type": SYSTEM,
        "severity": ep.severity,
        # A silent detector is one segment's alert; the others concern the whole system.
        "segment_id": key[1] if key[0] == DETECTOR_SILENT else None,
        "state": "open" if resolved_ms is None else "resolved",
        "opened_at": ep.opened_at_ms,
        "resolved_at": resolved_ms,
        "message": message,
    }


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ALERT_SCHEMA)
