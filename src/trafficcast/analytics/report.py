"""The performance report: measures per local period, per segment and recurring bottlenecks.

Windows are read one local day at a time (Store.windows_between), so memory stays at one
day of windows whatever the range; a bottleneck run is looked for within a local day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.analytics.calendar import local_bucket_edges, local_day_edges
from trafficcast.analytics.measures import (
    MeasureConfig,
    Measures,
    Sums,
    bottleneck_windows,
    free_flow_or_default,
    measures_at,
    rank_order,
    segment_grade,
    window_measures,
)
from trafficcast.analytics.operations import SystemSums, accuracy, incidents, system_json
from trafficcast.domain.periods import Period
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.live.messages import iso_times
from trafficcast.quality.detector_health import HealthRules
from trafficcast.store.base import Store

MAX_BUCKETS = 400
MAX_SPAN_DAYS = 366
Progress = Callable[[int, int], None]  # (days done, days in all)


@dataclass(frozen=True)
class PeriodRow:
    start_ms: int
    end_ms: int
    measures: Measures


@dataclass(frozen=True)
class SegmentRow:
    rank: int
    segment_id: str
    name: str | None
    level_of_service: str | None
    measures: Measures


@dataclass(frozen=True)
class Bottleneck:
    upstream_segment_id: str
    segment_id: str  # the downstream detector, where traffic speeds up again
    active_days: int
    active_hours: float
    mean_drop_mph: float


@dataclass(frozen=True)
class PerformanceReport:
    start_ms: int
    end_ms: int
    period: Period
    timezone: str
    config: MeasureConfig
    totals: Measures
    periods: list[PeriodRow]
    segments: list[SegmentRow]
    bottlenecks: list[Bottleneck]
    incidents: dict[str, Any]  # operations.incidents: alerts opened per period
    accuracy: dict[str, Any]  # operations.accuracy: forecast error per period and horizon
    system: dict[str, Any]  # operations.system_json: windows, detector health, forecasts


def performance_report(
    store: Store,
    start_ms: int,
    end_ms: int,
    period: Period,
    timezone: str,
    segment_ids: Sequence[str] = (),
    config: MeasureConfig = MeasureConfig(),
    progress: Progress | None = None,
    health_rules: HealthRules = HealthRules(),
    now_ms: int | None = None,
) -> PerformanceReport:
    """Measures over the whole local buckets covering [start_ms, end_ms).

    Detector health counts a day only up to now_ms (default: the clock), as the
    detector-health page does."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    edges = local_bucket_edges(start_ms, end_ms, period, timezone, MAX_BUCKETS)
    days = local_day_edges(edges[0], edges[-1], timezone)
    segments = store.segments()
    if segment_ids:
        segments = segments.filter(pc.is_in(segments.column("segment_id"), pa.array(segment_ids)))
    ids: list[str] = segments.column("segment_id").to_pylist()
    names: list[str | None] = segments.column("name").to_pylist()
    length = segments.column("length_miles").to_numpy(zero_copy_only=False).astype(np.float64)
    ff_raw = segments.column("free_flow_speed").to_numpy(zero_copy_only=False).astype(np.float64)
    free_flow = free_flow_or_default(ff_raw)
    id_array = pa.array(ids, pa.string())
    n_seg, n_buckets = len(ids), len(edges) - 1

    links = store.links()
    up = pc.index_in(links.column("from_segment"), value_set=id_array).to_numpy(
        zero_copy_only=False
    )
    down = pc.index_in(links.column("to_segment"), value_set=id_array).to_numpy(
        zero_copy_only=False
    )
    both = ~(np.isnan(up.astype(np.float64)) | np.isnan(down.astype(np.float64)))
    link_up = np.nan_to_num(up.astype(np.float64))[both].astype(np.int64)
    link_down = np.nan_to_num(down.astype(np.float64))[both].astype(np.int64)
    link_days = np.zeros(len(link_up), np.int64)
    link_windows = np.zeros(len(link_up), np.int64)
    link_drop = np.zeros(len(link_up))

    sums = Sums.zeros((n_buckets, n_seg), len(config.reference_speeds))
    system = SystemSums.zeros(n_buckets)
    window_ms = config.window_minutes * 60_000
    bucket_of_day = np.searchsorted(np.asarray(edges), np.asarray(days[:-1]), side="right") - 1
    for d in range(len(days) - 1):
        windows = store.windows_between(config.window_minutes, days[d], days[d + 1])
        seg = pc.index_in(windows.column("segment_id"), value_set=id_array)
        windows = windows.filter(pc.is_valid(seg))
        bucket = int(bucket_of_day[d])
        system.windows_closed[bucket] += windows.num_rows
        system.add_day(store, bucket, (days[d], days[d + 1]), ids, segment_ids, health_rules, now)
        if windows.num_rows:
            s = pc.index_in(windows.column("segment_id"), value_set=id_array).to_numpy()
            s = s.astype(np.int64)
            speed = windows.column("mean_speed").to_numpy(zero_copy_only=False)
            volume = windows.column("volume").to_numpy(zero_copy_only=False)
            m = window_measures(
                speed.astype(np.float64),
                volume.astype(np.float64),
                length[s],
                free_flow[s],
                config,
            )
            sums.add(bucket * n_seg + s, m)
            if len(link_up):
                starts = windows.column("window_start").cast(TIMESTAMP).cast(pa.int64()).to_numpy()
                slot = (starts - days[d]) // window_ms
                grid = np.full((n_seg, (days[d + 1] - days[d]) // window_ms), np.nan)
                grid[s, slot] = np.where(m.measured, speed, np.nan)
                count, drop = bottleneck_windows(grid, link_up, link_down, config)
                link_days += count > 0
                link_windows += count
                link_drop += drop
        if progress is not None:
            progress(d + 1, len(days) - 1)

    periods = [
        PeriodRow(edges[b], edges[b + 1], measures_at(sums.total(axis=1), (b,), config))
        for b in range(n_buckets)
    ]
    per_segment = sums.total(axis=0)
    order = rank_order(per_segment.delay[0], per_segment.vht, ids)
    ranked = []
    for rank, i in enumerate(order, start=1):
        seg_m = measures_at(per_segment, (i,), config)
        grade = segment_grade(seg_m.mean_speed, float(free_flow[i]))
        ranked.append(SegmentRow(rank, ids[i], names[i], grade, seg_m))
    hours = config.window_minutes / 60.0
    recurring = [
        Bottleneck(
            ids[link_up[k]],
            ids[link_down[k]],
            int(link_days[k]),
            int(link_windows[k]) * hours,
            float(link_drop[k] / link_windows[k]),
        )
        for k in np.flatnonzero(link_days >= config.bottleneck_min_days)
    ]
    recurring.sort(key=lambda b: (-b.active_days, -b.active_hours, b.segment_id))
    totals = measures_at(per_segment.total(axis=0), (), config)
    return PerformanceReport(
        edges[0],
        edges[-1],
        period,
        timezone,
        config,
        totals,
        periods,
        ranked,
        recurring,
        incidents(store, edges, segment_ids),
        accuracy(store, edges, segment_ids),
        system_json(system, health_rules),
    )


def _ref_key(ref: float) -> str:
    return f"{ref:g}"


def measures_json(m: Measures) -> dict[str, Any]:
    return {
        "windows": m.windows,
        "vmt": m.vmt,
        "vht": m.vht,
        "delay_vehicle_hours": {_ref_key(r): v for r, v in m.delay.items()},
        "travel_time_index": m.travel_time_index,
        "mean_speed": m.mean_speed,
        "congestion_hours": m.congestion_hours,
        "los_hours": m.los_hours,
    }


def report_json(report: PerformanceReport) -> dict[str, Any]:
    edges = [report.start_ms, report.end_ms] + [
        t for p in report.periods for t in (p.start_ms, p.end_ms)
    ]
    names = iso_times(np.asarray(edges, dtype=np.int64))
    return {
        "start": names[0],
        "end": names[1],
        "period": report.period,
        "timezone": report.timezone,
        "reference_speeds": list(report.config.reference_speeds),
        "congestion_mph": report.config.congestion_mph,
        "totals": measures_json(report.totals),
        "periods": [
            {"start": names[2 + 2 * i], "end": names[3 + 2 * i], **measures_json(p.measures)}
            for i, p in enumerate(report.periods)
        ],
        "segments": [
            {
                "rank": s.rank,
                "segment_id": s.segment_id,
                "name": s.name,
                "level_of_service": s.level_of_service,
                **measures_json(s.measures),
            }
            for s in report.segments
        ],
        "bottlenecks": [
            {
                "upstream_segment_id": b.upstream_segment_id,
                "segment_id": b.segment_id,
                "active_days": b.active_days,
                "active_hours": b.active_hours,
                "mean_drop_mph": b.mean_drop_mph,
            }
            for b in report.bottlenecks
        ],
        **{
            name: {**part, "periods": _with_times(part["periods"], names)}
            for name, part in (
                ("incidents", report.incidents),
                ("accuracy", report.accuracy),
                ("system", report.system),
            )
        },
    }


def _with_times(rows: list[dict[str, Any]], names: list[str]) -> list[dict[str, Any]]:
    """Each period's row with its start and end first (names as report_json lays them out)."""
    return [{"start": names[2 + 2 * i], "end": names[3 + 2 * i], **r} for i, r in enumerate(rows)]
