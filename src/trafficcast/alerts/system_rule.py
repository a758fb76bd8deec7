"""The system rule (rule_id "system"): alerts about trafficcast itself.

Four conditions, each with its own threshold (alerts/system.py evaluates them):
ingest stalled (no event accepted for ingest_stall_seconds once events have been
flowing), consumer lag (more than max_consumer_lag events waiting for the stream
processors), a component unhealthy (a /health check, of the ones named in
health_checks or all), and a detector gone silent (a segment's newest reading more
than silent_detector_minutes behind the newest reading of any segment). A condition
opens an alert once it has held for open_after_seconds and resolves it once it has
been clear for resolve_after_seconds. Stored as JSON under "alert_rule:system" like
the congestion rule (alerts/rules.py), with the same notification targets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import ClassVar, Final

from trafficcast.alerts.rules import FieldError, RuleBase, doc
from trafficcast.alerts.types import SYSTEM

MAX_SECONDS: Final = 86_400
MAX_LAG: Final = 10**12
MAX_CHECKS: Final = 50
# A /health check name: "database", "stream_processor", "feed:<name>", ...
_CHECK_NAME = re.compile(r"^[a-z_]{1,64}(:[A-Za-z0-9._-]{1,128})?$")


@dataclass(frozen=True)
class SystemRuleConfig(RuleBase):
    enabled: bool = doc(True, "false: no new alerts; open ones still resolve")
    ingest_stall_seconds: int = doc(
        300, "no event accepted this long, once events have flowed (1-86400)"
    )
    max_consumer_lag: int = doc(1_000_000, "more events than this waiting for the processors")
    silent_detector_minutes: int = doc(
        30, "a segment's newest reading this far behind the newest of any segment (1-1440)"
    )
    health_checks: tuple[str, ...] | None = doc(
        None, "the /health checks that raise alerts (e.g. database); null: every check"
    )
    include_degraded: bool = doc(False, "a degraded check alerts too, not only an unhealthy one")
    open_after_seconds: int = doc(60, "a condition opens its alert once it has held this long")
    resolve_after_seconds: int = doc(60, "... and resolves it once clear this long (0-86400)")
    notify: tuple[str, ...] = field(default=("dashboard",))
    escalate_after_minutes: int | None = None
    escalate_to: tuple[str, ...] = ()

    rule_id: ClassVar[str] = SYSTEM
    alert_type: ClassVar[str] = SYSTEM

    def _field_errors(self) -> list[FieldError]:
        return [*_range_errors(self), *_check_errors(self.health_checks)]


def _range_errors(rule: SystemRuleConfig) -> list[FieldError]:
    errors = []
    for name in ("ingest_stall_seconds", "open_after_seconds", "resolve_after_seconds"):
        low = 1 if name == "ingest_stall_seconds" else 0
        if not low <= getattr(rule, name) <= MAX_SECONDS:
            errors.append(FieldError(name, f"must be {low} to {MAX_SECONDS} seconds"))
    if not 1 <= rule.silent_detector_minutes <= MAX_SECONDS // 60:
        errors.append(
            FieldError("silent_detector_minutes", f"must be 1 to {MAX_SECONDS // 60} minutes")
        )
    if not 1 <= rule.max_consumer_lag <= MAX_LAG:
        errors.append(FieldError("max_consumer_lag", f"must be 1 to {MAX_LAG} events"))
    return errors


def _check_errors(checks: tuple[str, ...] | None) -> list[FieldError]:
    if checks is None:
        return []
    if not checks:
        return [FieldError("health_checks", "is empty; use null to count every check")]
    if len(checks) > MAX_CHECKS:
        return [FieldError("health_checks", f"more than {MAX_CHECKS} checks")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, name in enumerate(checks):
        if name in seen:
            errors.append(FieldError(f"health_checks.{i}", "duplicate check"))
        elif not _CHECK_NAME.match(name):
            errors.append(
                FieldError(f"health_checks.{i}", 'not a /health check name (e.g. "database")')
            )
        seen.add(name)
    return errors
