"""Congestion alerts from closed 5-minute windows, with hysteresis.

A segment's alert opens when its mean speed stays below `open_ratio` of its
free-flow speed for `open_windows` windows in a row, and resolves only after
`resolve_windows` windows at or above `resolve_ratio`, so a speed hovering at
the threshold does not flap. One alert per segment at a time. Pure state:
callers store and publish the changes. (The full alert engine, with rules,
incidents and notifications, builds on this.)

The rule may change while running (`set_rule`): the runs of low and recovered
windows counted so far are kept, so a change applies from the next window
without forgetting a congestion already under way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

WINDOW_MINUTES = 5
WINDOW_MS = WINDOW_MINUTES * 60_000


@dataclass(frozen=True)
class CongestionRule:
    open_ratio: float = 0.5
    open_windows: int = 3
    resolve_ratio: float = 0.65
    resolve_windows: int = 2
    major_ratio: float = 0.3  # below this share of free flow the alert is major
    enabled: bool = True  # disabled: no new alerts; open ones still resolve


@dataclass
class AlertChanges:
    """Alerts opened and resolved by one batch of windows (segment indexes and times)."""

    opened: npt.NDArray[np.int64]
    opened_at_ms: npt.NDArray[np.int64]
    severity: npt.NDArray[np.str_]
    ratio: npt.NDArray[np.float64]
    low_minutes: npt.NDArray[np.int64]  # how long the speed has been low when it opens
    resolved: npt.NDArray[np.int64]
    resolved_at_ms: npt.NDArray[np.int64]
    resolved_opened_at_ms: npt.NDArray[np.int64]
    resolved_severity: npt.NDArray[np.str_]  # as it opened

    def __len__(self) -> int:
        return len(self.opened) + len(self.resolved)


class CongestionAlerts:
    def __init__(self, rule: CongestionRule | None = None) -> None:
        self.rule = rule or CongestionRule()
        self.low_run = np.zeros(0, dtype=np.int64)
        self.high_run = np.zeros(0, dtype=np.int64)
        self.open_since_ms = np.zeros(0, dtype=np.int64)  # 0 = no open alert
        self.open_major = np.zeros(0, dtype=bool)

    def set_rule(self, rule: CongestionRule) -> None:
        self.rule = rule

    def _grow(self, size: int) -> None:
        extra = size - len(self.low_run)
        if extra > 0:
            self.low_run = np.concatenate([self.low_run, np.zeros(extra, np.int64)])
            self.high_run = np.concatenate([self.high_run, np.zeros(extra, np.int64)])
            self.open_since_ms = np.concatenate([self.open_since_ms, np.zeros(extra, np.int64)])
            self.open_major = np.concatenate([self.open_major, np.zeros(extra, bool)])

    def adopt_open(
        self,
        segment: npt.NDArray[np.int64],
        opened_at_ms: npt.NDArray[np.int64],
        major: npt.NDArray[np.bool_],
    ) -> None:
        """Take over alerts already open (e.g. stored before a restart), so they resolve
        in time and no second alert opens for the same congestion."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        self.open_since_ms[segment] = opened_at_ms
        self.open_major[segment] = major

    def observe(
        self,
        segment: npt.NDArray[np.int64],
        window_end_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        free_flow: npt.NDArray[np.float64],
        eligible: npt.NDArray[np.bool_] | None = None,
    ) -> AlertChanges:
        """Fold in windows (at most one per segment per call, in time order across calls).

        `eligible` (per window) limits which segments may open an alert: the rule's scope.
        """
        r = self.rule
        self._grow(int(segment.max()) + 1 if len(segment) else 0)
        ratio = speed / np.where(free_flow > 0, free_flow, np.nan)
        valid = np.isfinite(ratio)
        may_open = np.full(len(segment), r.enabled) if eligible is None else eligible & r.enabled
        seg, end, ratio, may_open = (
            segment[valid],
            window_end_ms[valid],
            ratio[valid],
            may_open[valid],
        )
        low = ratio < r.open_ratio
        high = ratio >= r.resolve_ratio
        self.low_run[seg] = np.where(low, self.low_run[seg] + 1, 0)
        self.high_run[seg] = np.where(high, self.high_run[seg] + 1, 0)
        is_open = self.open_since_ms[seg] > 0
        opening = ~is_open & may_open & (self.low_run[seg] >= r.open_windows)
        resolving = is_open & (self.high_run[seg] >= r.resolve_windows)
        # An alert dates from the first low window of its run (which may be longer than
        # open_windows if the rule was disabled, narrower or stricter until now).
        run = self.low_run[seg[opening]]
        opened_at = end[opening] - run * WINDOW_MS
        major = ratio[opening] < r.major_ratio
        resolved_opened = self.open_since_ms[seg[resolving]].copy()
        resolved_major = self.open_major[seg[resolving]].copy()
        self.open_since_ms[seg[opening]] = opened_at
        self.open_major[seg[opening]] = major
        self.open_since_ms[seg[resolving]] = 0
        self.open_major[seg[resolving]] = False
        return AlertChanges(
            opened=seg[opening],
            opened_at_ms=opened_at,
            severity=_severity(major),
            ratio=ratio[opening],
            low_minutes=run * WINDOW_MINUTES,
            resolved=seg[resolving],
            resolved_at_ms=end[resolving],
            resolved_opened_at_ms=resolved_opened,
            resolved_severity=_severity(resolved_major),
        )


def _severity(major: npt.NDArray[np.bool_]) -> npt.NDArray[np.str_]:
    return np.where(major, "major", "minor").astype(np.str_)
