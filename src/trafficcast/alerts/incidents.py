"""Incident alerts: a sudden speed drop on one segment that its usual profile and its
neighbours do not share. Closed 5-minute windows in, alert changes out, with hysteresis.

Each window's speed is first taken relative to the segment's usual speed for that
time of day (the forecaster's profile, or free flow while the profile is young), so
a rush hour that comes every day is not a drop. The *drop* is how far that relative
speed falls below the segment's recent level (an exponentially weighted mean of the
relative speed over the last windows), as a share of that level: rush hours build
over an hour, an incident within minutes, and the recent level follows the former.

A window counts towards an incident when its drop reaches `pending_ratio` and the
weighted mean drop of its upstream and downstream neighbours in the same window is
below `neighbour_share` of it (weather, a network-wide feed problem or a wide jam
slows the neighbours too; the queue behind a crash grows upstream only, and later).
The alert opens after `open_windows` such windows in a row of which the last drops
by at least `drop_ratio`, and resolves after
`clear_windows` in a row with the drop below `clear_ratio`. While a run is pending
or an alert is open, the recent level is held where it was before the drop, so a
long incident does not become the new normal and resolve itself. One alert per
segment episode; an alert open for `max_open_windows` resolves and the level the
segment has then becomes its normal (a sensor recalibrated, a lane closed for weeks).

Pure state, like alerts/congestion.py: callers store and publish the changes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import sparse

from trafficcast.alerts.congestion import WINDOW_MINUTES, WINDOW_MS, AlertChanges
from trafficcast.alerts.records import ChangeRows
from trafficcast.alerts.types import INCIDENT


@dataclass(frozen=True)
class IncidentRule:
    drop_ratio: float = 0.25  # speed falls by this share of its recent level (vs its profile)
    # One window: the simulator's incidents then alert within 1.3 windows (median); two
    # would miss the delay target (2.3), since the window an incident starts in is
    # only partly slowed. Flapping is held off by the clearing side of the hysteresis.
    open_windows: int = 1
    # A segment whose speed jumps about (stop-and-go waves, a flaky sensor) needs a
    # drop this many times its usual window-to-window change (an average kept with
    # weight `spread_alpha` for the newest window), if that is more than drop_ratio.
    spread_factor: float = 6.0
    spread_alpha: float = 0.05
    neighbour_share: float = 0.5  # neighbours' mean drop must stay below this share of it
    clear_ratio: float = 0.12  # resolved once the drop is below this share again...
    clear_windows: int = 2  # ...for this many windows in a row
    major_ratio: float = 0.5  # a drop of at least this share opens a major alert
    level_alpha: float = 0.3  # weight of the newest window in the recent level
    min_profile_days: float = 3.0  # a younger profile is replaced by free flow
    min_quality: float = 0.6  # windows of a noisier sensor are not judged
    max_open_windows: int = 48  # 4 hours
    # Without a neighbour's window to compare with, a drop cannot be told from a wider
    # slowdown: no incident (False: such a segment is judged on its own drop).
    need_neighbours: bool = True
    enabled: bool = True  # disabled: no new alerts; open ones still resolve


class IncidentAlerts:
    def __init__(self, rule: IncidentRule | None = None) -> None:
        self.rule = rule or IncidentRule()
        self.level = np.zeros(0)  # recent speed relative to the usual; NaN = not seen yet
        self.spread = np.zeros(0)  # mean |change| from window to window; NaN = unknown
        self.low_run = np.zeros(0, dtype=np.int64)
        self.clear_run = np.zeros(0, dtype=np.int64)
        self.open_since_ms = np.zeros(0, dtype=np.int64)  # 0 = no open alert
        self.open_windows = np.zeros(0, dtype=np.int64)
        self.open_major = np.zeros(0, dtype=bool)
        self.drop = np.zeros(0)  # each segment's drop in its latest window
        self.drop_at_ms = np.zeros(0, dtype=np.int64)
        self.neighbours: sparse.csr_matrix | None = None

    def set_rule(self, rule: IncidentRule) -> None:
        self.rule = rule

    def set_neighbours(self, matrix: sparse.csr_matrix | None) -> None:
        """Row n holds the link weights of segment n's neighbours (see neighbour_matrix)."""
        self.neighbours = matrix

    def _grow(self, size: int) -> None:
        extra = size - len(self.level)
        if extra > 0:
            self.level = np.concatenate([self.level, np.full(extra, np.nan)])
            self.spread = np.concatenate([self.spread, np.full(extra, np.nan)])
            self.low_run = np.concatenate([self.low_run, np.zeros(extra, np.int64)])
            self.clear_run = np.concatenate([self.clear_run, np.zeros(extra, np.int64)])
            self.open_since_ms = np.concatenate([self.open_since_ms, np.zeros(extra, np.int64)])
            self.open_windows = np.concatenate([self.open_windows, np.zeros(extra, np.int64)])
            self.open_major = np.concatenate([self.open_major, np.zeros(extra, bool)])
            self.drop = np.concatenate([self.drop, np.zeros(extra)])
            self.drop_at_ms = np.concatenate([self.drop_at_ms, np.zeros(extra, np.int64)])

    def adopt_open(
        self,
        segment: npt.NDArray[np.int64],
        opened_at_ms: npt.NDArray[np.int64],
        major: npt.NDArray[np.bool_],
    ) -> None:
        """Take over alerts already open (stored before a restart). The level before the
        drop is not stored: the usual profile stands in for it, so the alert resolves
        once the segment is back to its usual speed."""
        if len(segment) == 0:
            return
        self._grow(int(segment.max()) + 1)
        self.open_since_ms[segment] = opened_at_ms
        self.open_major[segment] = major
        self.level[segment] = 1.0

    def _neighbour_drop(
        self, seg: npt.NDArray[np.int64], end: npt.NDArray[np.int64]
    ) -> npt.NDArray[np.float64]:
        """Weighted mean drop of each segment's neighbours in the same window (NaN if none
        has one). A neighbour speeding up counts as no drop, not as a negative one."""
        out = np.full(len(seg), np.nan)
        m = self.neighbours
        if m is None or m.shape[0] == 0 or len(seg) == 0:
            return out
        size = m.shape[0]
        now = self.drop_at_ms[:size] == int(end.max())
        known = np.zeros(size)
        known[: len(now)] = now
        value = np.zeros(size)
        value[: len(now)] = np.where(now, np.maximum(self.drop[:size], 0.0), 0.0)
        inside = seg < size
        rows = m[seg[inside]]
        weight = rows @ known
        with np.errstate(invalid="ignore", divide="ignore"):
            out[inside] = np.where(weight > 0, (rows @ value) / weight, np.nan)
        return out

    def observe(
        self,
        segment: npt.NDArray[np.int64],
        window_end_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        usual: npt.NDArray[np.float64],
        usual_days: npt.NDArray[np.float64],
        free_flow: npt.NDArray[np.float64],
        quality: npt.NDArray[np.float64] | None = None,
        eligible: npt.NDArray[np.bool_] | None = None,
    ) -> AlertChanges:
        """Fold in the windows of one close (every segment's window ending at the same
        time; at most one per segment), closes in time order across calls.

        `usual` is the profile's speed for the window's time of day, backed by
        `usual_days` days of history; `quality` the window's mean reading quality.
        """
        r = self.rule
        self._grow(int(segment.max()) + 1 if len(segment) else 0)
        base = np.where(
            np.isfinite(usual) & (usual > 0) & (usual_days >= r.min_profile_days),
            usual,
            free_flow,
        )
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = speed / np.where(base > 0, base, np.nan)
        valid = np.isfinite(rel) & (rel >= 0)
        if quality is not None:
            valid &= ~(quality < r.min_quality)
        may_open = np.full(len(segment), r.enabled) if eligible is None else eligible & r.enabled
        seg, end, rel, may_open = segment[valid], window_end_ms[valid], rel[valid], may_open[valid]

        level = self.level[seg]
        first = ~np.isfinite(level)
        level = np.where(first, rel, level)
        with np.errstate(invalid="ignore", divide="ignore"):
            drop = np.where(level > 0, (level - rel) / level, 0.0)
        self.drop[seg] = drop
        self.drop_at_ms[seg] = end
        neighbour = self._neighbour_drop(seg, end)
        spread = self.spread[seg]
        threshold = np.where(
            np.isfinite(spread), np.maximum(r.drop_ratio, r.spread_factor * spread), r.drop_ratio
        )
        apart = neighbour < r.neighbour_share * drop
        if not r.need_neighbours:
            apart |= np.isnan(neighbour)
        low = (drop >= threshold) & apart
        clear = drop < r.clear_ratio
        self.low_run[seg] = np.where(low, self.low_run[seg] + 1, 0)
        self.clear_run[seg] = np.where(clear, self.clear_run[seg] + 1, 0)

        is_open = self.open_since_ms[seg] > 0
        self.open_windows[seg] = np.where(is_open, self.open_windows[seg] + 1, 0)
        opening = ~is_open & may_open & (self.low_run[seg] >= r.open_windows)
        expired = is_open & (self.open_windows[seg] >= r.max_open_windows)
        resolving = is_open & ((self.clear_run[seg] >= r.clear_windows) | expired)

        # The level follows the segment only while nothing is pending or open.
        held = (self.low_run[seg] > 0) | (is_open & ~resolving) | opening
        followed = level + r.level_alpha * (rel - level)
        self.level[seg] = np.where(first, rel, np.where(held, level, followed))
        change = np.abs(drop)
        self.spread[seg] = np.where(
            held,
            spread,
            np.where(np.isfinite(spread), spread + r.spread_alpha * (change - spread), change),
        )
        self.level[seg[expired]] = rel[expired]

        run = self.low_run[seg[opening]]
        opened_at = end[opening] - run * WINDOW_MS
        major = drop[opening] >= r.major_ratio
        resolved_opened = self.open_since_ms[seg[resolving]].copy()
        resolved_major = self.open_major[seg[resolving]].copy()
        self.open_since_ms[seg[opening]] = opened_at
        self.open_major[seg[opening]] = major
        self.open_windows[seg[opening]] = 0
        self.open_since_ms[seg[resolving]] = 0
        self.open_major[seg[resolving]] = False
        self.clear_run[seg[opening]] = 0
        return AlertChanges(
            opened=seg[opening],
            opened_at_ms=opened_at,
            severity=_severity(major),
            ratio=drop[opening],
            low_minutes=run * WINDOW_MINUTES,
            resolved=seg[resolving],
            resolved_at_ms=end[resolving],
            resolved_opened_at_ms=resolved_opened,
            resolved_severity=_severity(resolved_major),
        )


def neighbour_matrix(
    upstream: sparse.csr_matrix, downstream: sparse.csr_matrix
) -> sparse.csr_matrix:
    """Both directions of the road graph (forecast.panel.Graph.upstream/downstream) as one
    matrix whose row n weighs segment n's neighbours."""
    both: sparse.csr_matrix = (upstream + downstream).tocsr()
    return both


def incident_rows(changes: AlertChanges, segment_ids: list[str | None]) -> pa.Table:
    """ALERT_SCHEMA rows (opened, then resolved) for changes; `segment_ids` is indexed by
    segment index. The alert id names the segment and the episode's first window."""
    rows = ChangeRows(INCIDENT)
    for seg, at, sev, drop, minutes in zip(
        changes.opened.tolist(),
        changes.opened_at_ms.tolist(),
        changes.severity.tolist(),
        changes.ratio.tolist(),
        changes.low_minutes.tolist(),
        strict=True,
    ):
        sid = segment_ids[seg]
        rows.add(
            f"{INCIDENT}:{sid}:{at}",
            sid,
            at,
            None,
            sev,
            f"sudden drop: speed {drop:.0%} below its recent level for {minutes} min, "
            "not shared by its neighbours",
        )
    for seg, at, first, sev in zip(
        changes.resolved.tolist(),
        changes.resolved_at_ms.tolist(),
        changes.resolved_opened_at_ms.tolist(),
        changes.resolved_severity.tolist(),
        strict=True,
    ):
        sid = segment_ids[seg]
        rows.add(
            f"{INCIDENT}:{sid}:{first}",
            sid,
            first,
            at,
            sev,
            "speed back to its level before the drop",
        )
    return rows.table()


def _severity(major: npt.NDArray[np.bool_]) -> npt.NDArray[np.str_]:
    return np.where(major, "major", "minor").astype(np.str_)
