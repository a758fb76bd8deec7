"""The predicted-congestion rule as operators configure it (engine: alerts/predicted.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from trafficcast.alerts.predicted import PredictedRule
from trafficcast.alerts.rules import (
    FieldError,
    RuleBase,
    _minutes_errors,
    _ratio_errors,
    doc,
)
from trafficcast.alerts.types import PREDICTED_CONGESTION

MAX_CYCLES = 12


@dataclass(frozen=True)
class PredictedRuleConfig(RuleBase):
    enabled: bool = doc(True, "false: no new alerts; open ones still resolve")
    open_ratio: float = doc(
        0.5, "opens when a forecast up to max_horizon_minutes is below this share of free flow"
    )
    open_cycles: int = doc(2, "... in this many forecast issues in a row (1-12)")
    resolve_ratio: float = doc(0.65, "resolves when no such forecast is below this share...")
    resolve_cycles: int = doc(2, "... in this many issues in a row (1-12)")
    major_ratio: float = doc(0.3, "major when the forecast is below this share, else minor")
    max_horizon_minutes: int = doc(60, "the furthest horizon judged (5-1440, by 5)")
    segment_ids: tuple[str, ...] | None = None  # None: every segment
    notify: tuple[str, ...] = field(default=("dashboard",))
    escalate_after_minutes: int | None = None
    escalate_to: tuple[str, ...] = ()

    rule_id: ClassVar[str] = PREDICTED_CONGESTION
    alert_type: ClassVar[str] = PREDICTED_CONGESTION

    def engine_rule(self) -> PredictedRule:
        return PredictedRule(
            open_ratio=self.open_ratio,
            resolve_ratio=self.resolve_ratio,
            major_ratio=self.major_ratio,
            max_horizon_min=self.max_horizon_minutes,
            open_cycles=self.open_cycles,
            resolve_cycles=self.resolve_cycles,
            enabled=self.enabled,
        )

    def _field_errors(self) -> list[FieldError]:
        errors = [*_ratio_errors(self), *_minutes_errors(self, ("max_horizon_minutes",))]
        for name in ("open_cycles", "resolve_cycles"):
            if not 1 <= getattr(self, name) <= MAX_CYCLES:
                errors.append(FieldError(name, f"must be 1 to {MAX_CYCLES} forecast issues"))
        return errors
