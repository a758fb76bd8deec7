"""Predicted-congestion alerts: a segment's issued forecast falls below a share of its
free-flow speed at some horizon up to `max_horizon_min`.

Judged once per forecast issue (a *cycle*), over every segment at once. An alert opens
when the worst horizon's forecast is below `open_ratio` of free flow in `open_cycles`
issues in a row, and resolves when no horizon is below `resolve_ratio` for
`resolve_cycles` issues in a row, so a forecast hovering at the threshold does not
flap. It also resolves, and none opens, while the segment has an open congestion
alert: the prediction came true and the congestion alert takes over (one alert for one
slowdown). One alert per segment at a time; it dates from the first issue of its run.

Pure state, like alerts/congestion.py: callers store and publish the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trafficcast.alerts.congestion import AlertChanges
from trafficcast.alerts.records import ChangeRows
from trafficcast.alerts.types import PREDICTED_CONGESTION


@dataclass(frozen=True)
class PredictedRule:
    open_ratio: float = 0.5
    resolve_ratio: float = 0.65
    major_ratio: float = 0.3  # a forecast below this share of free flow: major
    max_horizon_min: int = 60
    open_cycles: int = 2
    resolve_cycles: int = 2
    enabled: bool = True  # disabled: no new alerts; open ones still resolve


@dataclass
class PredictedChanges(AlertChanges):
    """As AlertChanges (ratio: the worst horizon's share of free flow; low_minutes: how
    long the forecast has been low), plus what the opening forecast says."""

    horizon_min: npt.NDArray[np.int64]  # the worst horizon of each opened alert
    speed: npt.NDArray[np.float64]  # ... and its forecast speed
    resolved_by_congestion: npt.NDArray[np.bool_]  # per resolved: congestion arrived


class PredictedAlerts:
    def __init__(self, rule: PredictedRule | None = None) -> None:
        self.rule = rule or PredictedRule()
        self.low_run = np.zeros(0, dtype=np.int64)
        self.clear_run = np.zeros(0, dtype=np.int64)
        self.low_since_ms = np.zeros(0, dtype=np.int64)
        self.open_since_ms = np.zeros(0, dtype=np.int64)  # 0 = no open alert
        self.open_major = np.zeros(0, dtype=bool)

    def set_rule(self, rule: PredictedRule) -> None:
        self.rule = rule

    def _grow(self, size: int) -> None:
        extra = size - len(self.low_run)
        if extra > 0:
            z = np.zeros(extra, np.int64)
            self.low_run = np.concatenate([self.low_run, z])
            self.clear_run = np.concatenate([self.clear_run, z])
            self.low_since_ms = np.concatenate([self.low_since_ms, z])
            self.open_since_ms = np.concatenate([self.open_since_ms, z])
            self.open_major = np.concatenate([self.open_major, np.zeros(extra, bool)])

    def adopt_open(
        self,
        segment: npt.NDArray[np.int64],
        opened_at_ms: npt.NDArray[np.int64],
        major: npt.NDArray[np.bool_],
    ) -> None:
        """Take over alerts already open (stored before a restart)."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        self.open_since_ms[segment] = opened_at_ms
        self.open_major[segment] = major

    def observe(
        self,
        segment: npt.NDArray[np.int64],
        issued_ms: int,
        horizons_min: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        free_flow: npt.NDArray[np.float64],
        eligible: npt.NDArray[np.bool_] | None = None,
        congested: npt.NDArray[np.bool_] | None = None,
    ) -> PredictedChanges:
        """Fold in one issue: `speed` is (segments, horizons) as issued at `issued_ms`;
        `eligible` the rule's scope, `congested` segments with an open congestion alert."""
        r = self.rule
        n = len(segment)
        self._grow(int(segment.max()) + 1 if n else 0)
        use = np.flatnonzero(horizons_min <= r.max_horizon_min)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = speed[:, use] / np.where(free_flow > 0, free_flow, np.nan)[:, None]
        finite = np.isfinite(ratio)
        valid = finite.sum(axis=1) > 0
        masked = np.where(finite, ratio, np.inf)
        worst_col = masked.argmin(axis=1) if len(use) else np.zeros(n, np.int64)
        worst = masked[np.arange(n), worst_col] if len(use) else np.full(n, np.inf)
        came: npt.NDArray[np.bool_] = (
            np.zeros(n, bool) if congested is None else np.asarray(congested, bool)
        )
        allowed = np.full(n, r.enabled) if eligible is None else eligible & r.enabled
        may_open: npt.NDArray[np.bool_] = allowed & ~came

        keep = valid | came
        seg, worst, worst_col, may_open, came, valid = (
            segment[keep],
            worst[keep],
            worst_col[keep],
            may_open[keep],
            came[keep],
            valid[keep],
        )
        low = valid & (worst < r.open_ratio) & ~came  # a fresh run after the congestion
        clear = valid & (worst >= r.resolve_ratio)
        starts = low & (self.low_run[seg] == 0)
        self.low_since_ms[seg[starts]] = issued_ms
        self.low_run[seg] = np.where(low, self.low_run[seg] + 1, 0)
        self.clear_run[seg] = np.where(clear, self.clear_run[seg] + 1, 0)

        is_open = self.open_since_ms[seg] > 0
        opening = ~is_open & may_open & (self.low_run[seg] >= r.open_cycles)
        resolving = is_open & ((self.clear_run[seg] >= r.resolve_cycles) | came)
        opened_at = self.low_since_ms[seg[opening]]
        major = worst[opening] < r.major_ratio
        resolved_opened = self.open_since_ms[seg[resolving]].copy()
        resolved_major = self.open_major[seg[resolving]].copy()
        self.open_since_ms[seg[opening]] = opened_at
        self.open_major[seg[opening]] = major
        self.open_since_ms[seg[resolving]] = 0
        self.open_major[seg[resolving]] = False
        cols = use[worst_col[opening]] if len(use) else np.zeros(0, np.int64)
        rows = np.flatnonzero(keep)[opening]
        return PredictedChanges(
            opened=seg[opening],
            opened_at_ms=opened_at,
            severity=np.where(major, "major", "minor").astype(np.str_),
            ratio=worst[opening],
            low_minutes=(issued_ms - opened_at) // 60_000,
            resolved=seg[resolving],
            resolved_at_ms=np.full(int(resolving.sum()), issued_ms, np.int64),
            resolved_opened_at_ms=resolved_opened,
            resolved_severity=np.where(resolved_major, "major", "minor").astype(np.str_),
            horizon_min=horizons_min[cols].astype(np.int64),
            speed=speed[rows, cols].astype(np.float64),
            resolved_by_congestion=came[resolving],
        )


def predicted_rows(changes: PredictedChanges, segment_ids: list[str | None]) -> pa.Table:
    """ALERT_SCHEMA rows (opened, then resolved); `segment_ids` is indexed by segment."""
    rows = ChangeRows(PREDICTED_CONGESTION)

    def add(seg: int, first: int, at: int | None, sev: str, text: str) -> None:
        sid = segment_ids[seg]
        rows.add(f"{PREDICTED_CONGESTION}:{sid}:{first}", sid, first, at, sev, text)

    for seg, first, sev, ratio, h, mph in zip(
        changes.opened.tolist(),
        changes.opened_at_ms.tolist(),
        changes.severity.tolist(),
        changes.ratio.tolist(),
        changes.horizon_min.tolist(),
        changes.speed.tolist(),
        strict=True,
    ):
        add(seg, first, None, sev, f"forecast {mph:.0f} mph ({ratio:.0%} of free flow) in {h} min")
    for seg, at, first, sev, came in zip(
        changes.resolved.tolist(),
        changes.resolved_at_ms.tolist(),
        changes.resolved_opened_at_ms.tolist(),
        changes.resolved_severity.tolist(),
        changes.resolved_by_congestion.tolist(),
        strict=True,
    ):
        text = (
            "congestion arrived: see its congestion alert"
            if came
            else "forecasts back above the resolve threshold"
        )
        add(seg, first, at, sev, text)
    return rows.table()
