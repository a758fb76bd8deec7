"""The incident rule as operators configure it: the thresholds of alerts/incidents.py
that make sense to an operator (the rest, such as the level's smoothing, stay as the
processor's configuration has them)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import ClassVar

from trafficcast.alerts.incidents import IncidentRule
from trafficcast.alerts.rules import FieldError, RuleBase, doc, finite_errors
from trafficcast.alerts.types import INCIDENT

_D = IncidentRule()
MAX_OPEN_WINDOWS = 12
MAX_CLEAR_WINDOWS = 288


@dataclass(frozen=True)
class IncidentRuleConfig(RuleBase):
    enabled: bool = doc(True, "false: no new alerts; open ones still resolve")
    drop_ratio: float = doc(
        _D.drop_ratio,
        "a window counts when its speed (against the usual profile) falls by this share "
        "of its recent level, and its neighbours' do not (0-1)",
    )
    major_ratio: float = doc(_D.major_ratio, "a drop of at least this share is major (<= 1)")
    clear_ratio: float = doc(_D.clear_ratio, "resolves when the drop is below this share...")
    clear_windows: int = doc(_D.clear_windows, "... for this many 5-minute windows (1-288)")
    open_windows: int = doc(_D.open_windows, "windows in a row that open an alert (1-12)")
    segment_ids: tuple[str, ...] | None = None  # None: every segment
    notify: tuple[str, ...] = field(default=("dashboard",))
    escalate_after_minutes: int | None = None
    escalate_to: tuple[str, ...] = ()

    rule_id: ClassVar[str] = INCIDENT
    alert_type: ClassVar[str] = INCIDENT

    def engine_rule(self, base: IncidentRule) -> IncidentRule:
        """`base` (the processor's configuration) with this rule's thresholds."""
        return replace(
            base,
            enabled=self.enabled,
            drop_ratio=self.drop_ratio,
            major_ratio=self.major_ratio,
            clear_ratio=self.clear_ratio,
            clear_windows=self.clear_windows,
            open_windows=self.open_windows,
        )

    def _field_errors(self) -> list[FieldError]:
        errors = finite_errors(self, ("drop_ratio", "major_ratio", "clear_ratio"))
        drop = f"drop_ratio ({self.drop_ratio:g})"
        if not errors:
            if not 0 < self.drop_ratio < 1:
                errors.append(FieldError("drop_ratio", "must be above 0 and below 1"))
            if not self.drop_ratio < self.major_ratio <= 1:
                errors.append(
                    FieldError(
                        "major_ratio",
                        f"must be above {drop} and at most 1",
                    )
                )
            if not 0 < self.clear_ratio < self.drop_ratio:
                errors.append(FieldError("clear_ratio", f"must be above 0 and below {drop}"))
        for name, top in (("open_windows", MAX_OPEN_WINDOWS), ("clear_windows", MAX_CLEAR_WINDOWS)):
            if not 1 <= getattr(self, name) <= top:
                errors.append(FieldError(name, f"must be 1 to {top} windows"))
        return errors
