"""The forecast-accuracy rule as operators configure it (engine: alerts/accuracy.py).
Network-level: no scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from trafficcast.alerts.accuracy import AccuracyRule
from trafficcast.alerts.rules import FieldError, RuleBase, _minutes_errors, doc
from trafficcast.alerts.types import FORECAST_ACCURACY

MAX_MAE_MPH = 100.0
MAX_FACTOR = 10.0


@dataclass(frozen=True)
class AccuracyRuleConfig(RuleBase):
    enabled: bool = doc(True, "false: no new alerts; open ones still resolve")
    mae_mph: float = doc(
        8.0, "a horizon's live speed MAE above this bound (mph, 0.5-100) alerts..."
    )
    reference_ratio: float | None = doc(
        2.0,
        "... or, when the promoted model's validation MAE is known, above this many times "
        "it (1-10); null: always mae_mph",
    )
    hold_minutes: int = doc(30, "held this long (5-1440, by 5)")
    resolve_share: float = doc(0.8, "resolves at or below this share of the bound (0-1)...")
    resolve_minutes: int = doc(15, "... held this long (5-1440, by 5)")
    major_factor: float = doc(1.5, "major at this many times the bound or more (1-10)")
    notify: tuple[str, ...] = field(default=("dashboard",))
    escalate_after_minutes: int | None = None
    escalate_to: tuple[str, ...] = ()

    rule_id: ClassVar[str] = FORECAST_ACCURACY
    alert_type: ClassVar[str] = FORECAST_ACCURACY

    def engine_rule(self) -> AccuracyRule:
        return AccuracyRule(
            mae_mph=self.mae_mph,
            reference_ratio=self.reference_ratio,
            hold_minutes=self.hold_minutes,
            resolve_share=self.resolve_share,
            resolve_minutes=self.resolve_minutes,
            major_factor=self.major_factor,
            enabled=self.enabled,
        )

    def _field_errors(self) -> list[FieldError]:
        # Comparisons are False for NaN, so a non-finite number fails its range too.
        errors = []
        if not 0.5 <= self.mae_mph <= MAX_MAE_MPH:
            errors.append(FieldError("mae_mph", f"must be 0.5 to {MAX_MAE_MPH:g} mph"))
        ref = self.reference_ratio
        if ref is not None and not 1 <= ref <= MAX_FACTOR:
            errors.append(FieldError("reference_ratio", f"must be 1 to {MAX_FACTOR:g}, or null"))
        if not 0 < self.resolve_share < 1:
            errors.append(FieldError("resolve_share", "must be above 0 and below 1"))
        if not 1 < self.major_factor <= MAX_FACTOR:
            errors.append(FieldError("major_factor", f"must be above 1, at most {MAX_FACTOR:g}"))
        return errors + _minutes_errors(self, ("hold_minutes", "resolve_minutes"))
