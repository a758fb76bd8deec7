"""Forecast-accuracy alerts: the live error of a horizon's forecasts above a bound for
a while. Network-level (no segment): one alert per horizon at a time.

The input is the live scorer's rolling speed MAE per horizon (forecast/live_scoring.py),
judged at each 5-minute close in event time. The bound is `reference_ratio` times the
model's validation MAE for that horizon when known, else `mae_mph`. An alert opens once
the MAE has stayed above the bound for `hold_minutes`, and resolves once it has stayed
at or below `resolve_share` of the bound for `resolve_minutes` (hysteresis: an error
hovering at the bound does not flap). Major when the MAE reaches `major_factor` times
the bound. An unknown MAE (a horizon not scored yet, or scored in fewer than
MIN_SCORED_CLOSES closes) changes nothing.

Pure state: callers store and publish the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trafficcast.alerts.records import ChangeRows
from trafficcast.alerts.types import FORECAST_ACCURACY

MIN_MS = 60_000
# A horizon's live MAE is judged once this many closes have been scored for it (an
# hour): the rolling MAE starts as the first close's error, too few to judge a network.
MIN_SCORED_CLOSES = 12


@dataclass(frozen=True)
class AccuracyRule:
    mae_mph: float = 8.0
    reference_ratio: float | None = 2.0
    hold_minutes: int = 30
    resolve_share: float = 0.8
    resolve_minutes: int = 15
    major_factor: float = 1.5
    enabled: bool = True  # disabled: no new alerts; open ones still resolve


@dataclass
class AccuracyChanges:
    opened: npt.NDArray[np.int64]  # horizon indexes
    opened_at_ms: npt.NDArray[np.int64]
    severity: npt.NDArray[np.str_]
    mae: npt.NDArray[np.float64]
    bound: npt.NDArray[np.float64]
    resolved: npt.NDArray[np.int64]
    resolved_at_ms: npt.NDArray[np.int64]
    resolved_opened_at_ms: npt.NDArray[np.int64]
    resolved_severity: npt.NDArray[np.str_]

    def __len__(self) -> int:
        return len(self.opened) + len(self.resolved)


class AccuracyAlerts:
    def __init__(self, horizons_min: npt.NDArray[np.int64], rule: AccuracyRule | None = None):
        self.horizons_min = np.asarray(horizons_min, dtype=np.int64)
        self.rule = rule or AccuracyRule()
        h = len(self.horizons_min)
        self.above_since_ms = np.zeros(h, np.int64)  # 0: not above
        self.below_since_ms = np.zeros(h, np.int64)  # 0: not below the resolve level
        self.open_since_ms = np.zeros(h, np.int64)  # 0: no open alert
        self.open_major = np.zeros(h, bool)

    def set_rule(self, rule: AccuracyRule) -> None:
        self.rule = rule

    def bounds(self, reference_mae: npt.NDArray[np.float64] | None) -> npt.NDArray[np.float64]:
        r = self.rule
        fixed = np.full(len(self.horizons_min), r.mae_mph)
        if reference_mae is None or r.reference_ratio is None:
            return fixed
        ok = np.isfinite(reference_mae) & (reference_mae > 0)
        return np.where(ok, reference_mae * r.reference_ratio, fixed)

    def adopt_open(self, horizon_min: int, opened_at_ms: int, major: bool) -> None:
        at = np.flatnonzero(self.horizons_min == horizon_min)
        self.open_since_ms[at] = opened_at_ms
        self.open_major[at] = major

    def observe(
        self,
        at_ms: int,
        mae: npt.NDArray[np.float64],
        reference_mae: npt.NDArray[np.float64] | None = None,
    ) -> AccuracyChanges:
        r = self.rule
        bound = self.bounds(reference_mae)
        known = np.isfinite(mae)
        above = known & (mae > bound)
        below = known & (mae <= r.resolve_share * bound)
        # Unknown keeps the clocks as they were; known but not above (below) stops them.
        self.above_since_ms = np.where(
            above,
            np.where(self.above_since_ms > 0, self.above_since_ms, at_ms),
            np.where(known, 0, self.above_since_ms),
        )
        self.below_since_ms = np.where(
            below,
            np.where(self.below_since_ms > 0, self.below_since_ms, at_ms),
            np.where(known, 0, self.below_since_ms),
        )
        is_open = self.open_since_ms > 0
        opening = (
            ~is_open & r.enabled & above & (at_ms - self.above_since_ms >= r.hold_minutes * MIN_MS)
        )
        resolving = is_open & below & (at_ms - self.below_since_ms >= r.resolve_minutes * MIN_MS)
        opened = np.flatnonzero(opening)
        resolved = np.flatnonzero(resolving)
        major = mae[opened] >= r.major_factor * bound[opened]
        resolved_opened = self.open_since_ms[resolved].copy()
        resolved_major = self.open_major[resolved].copy()
        self.open_since_ms[opened] = self.above_since_ms[opened]
        self.open_major[opened] = major
        self.open_since_ms[resolved] = 0
        self.open_major[resolved] = False
        return AccuracyChanges(
            opened=opened.astype(np.int64),
            opened_at_ms=self.open_since_ms[opened].copy(),
            severity=np.where(major, "major", "minor").astype(np.str_),
            mae=mae[opened].astype(np.float64),
            bound=bound[opened],
            resolved=resolved.astype(np.int64),
            resolved_at_ms=np.full(len(resolved), at_ms, np.int64),
            resolved_opened_at_ms=resolved_opened,
            resolved_severity=np.where(resolved_major, "major", "minor").astype(np.str_),
        )


def alert_id(horizon_min: int, opened_at_ms: int) -> str:
    return f"{FORECAST_ACCURACY}:{horizon_min}min:{opened_at_ms}"


def horizon_of(alert_id: str) -> int | None:
    """The horizon an accuracy alert's id names (None if it names none)."""
    parts = alert_id.split(":")
    if len(parts) != 3 or not parts[1].endswith("min") or not parts[1][:-3].isdigit():
        return None
    return int(parts[1][:-3])


def accuracy_rows(changes: AccuracyChanges, horizons_min: npt.NDArray[np.int64]) -> pa.Table:
    """ALERT_SCHEMA rows (opened, then resolved), segment_id null."""
    rows = ChangeRows(FORECAST_ACCURACY)
    hs = horizons_min.tolist()
    for j, first, sev, mae, bound in zip(
        changes.opened.tolist(),
        changes.opened_at_ms.tolist(),
        changes.severity.tolist(),
        changes.mae.tolist(),
        changes.bound.tolist(),
        strict=True,
    ):
        text = f"{hs[j]}-min forecasts: live MAE {mae:.1f} mph above the bound {bound:.1f} mph"
        rows.add(alert_id(hs[j], first), None, first, None, sev, text)
    for j, at, first, sev in zip(
        changes.resolved.tolist(),
        changes.resolved_at_ms.tolist(),
        changes.resolved_opened_at_ms.tolist(),
        changes.resolved_severity.tolist(),
        strict=True,
    ):
        text = f"{hs[j]}-min forecasts: live MAE back below the resolve level"
        rows.add(alert_id(hs[j], first), None, first, at, sev, text)
    return rows.table()


def reference_mae(
    metadata: dict[str, object], horizons_min: npt.NDArray[np.int64]
) -> npt.NDArray[np.float64]:
    """A registered model's validation speed MAE per horizon (model.json's
    validation.speed.mae, keyed by minutes as text); NaN where it has none."""
    out = np.full(len(horizons_min), np.nan)
    validation = metadata.get("validation")
    speed = validation.get("speed") if isinstance(validation, dict) else None
    mae = speed.get("mae") if isinstance(speed, dict) else None
    if isinstance(mae, dict):
        for j, h in enumerate(horizons_min.tolist()):
            value = mae.get(str(h))
            if isinstance(value, int | float):
                out[j] = float(value)
    return out
