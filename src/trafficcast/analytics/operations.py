"""The operations parts of the performance report: alerts opened (incidents and the other
types), forecast accuracy over time and by horizon, and how the system itself did.

Each part reads what the store already keeps (alerts, Store.forecast_accuracy, detector
readings per day, forecast issues) over the report's local periods; nothing is estimated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.alerts.types import ALERT_TYPES
from trafficcast.analytics.forecast_accuracy import SCORES, all_horizons, by_horizon
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.quality.detector_health import GOOD, HealthRules, assess
from trafficcast.store.base import AccuracyQuery, AlertQuery, Store

SEVERITIES = ("minor", "major")
# Alerts read for one report; a range holding more is refused rather than cut short.
MAX_ALERTS = 1_000_000
MINUTE_MS = 60_000


class TooManyAlerts(ValueError):
    """The range holds more alerts than one report reads."""


def _ms(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    """A time column as epoch ms, NaN where null."""
    column = table.column(name).cast(TIMESTAMP).cast(pa.int64())
    out: npt.NDArray[np.float64] = column.to_numpy(zero_copy_only=False).astype(np.float64)
    return out


def _median_minutes(values: npt.NDArray[np.float64]) -> float | None:
    known = values[~np.isnan(values)]
    return float(np.median(known)) / MINUTE_MS if len(known) else None


def incidents(
    store: Store, edges: Sequence[int], segment_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """Alerts opened in each period [edges[i], edges[i + 1]), by type and severity, with the
    median minutes from opening to acknowledgement and to resolution (of those that were).

    With segment_ids, only alerts of those segments (system alerts name no segment)."""
    table = store.query_alerts(AlertQuery(since_ms=edges[0], until_ms=edges[-1], limit=MAX_ALERTS))
    if table.num_rows >= MAX_ALERTS:
        raise TooManyAlerts(f"more than {MAX_ALERTS - 1:,} alerts in the range")
    if segment_ids:
        table = table.filter(pc.is_in(table.column("segment_id"), pa.array(list(segment_ids))))
    opened = _ms(table, "opened_at")
    to_ack = _ms(table, "acknowledged_at") - opened
    to_resolve = _ms(table, "resolved_at") - opened
    types = np.asarray(table.column("alert_type").to_pylist(), dtype=object)
    severity = np.asarray(table.column("severity").to_pylist(), dtype=object)
    type_names = [*ALERT_TYPES, *sorted(set(types.tolist()) - set(ALERT_TYPES))]
    severity_names = [*SEVERITIES, *sorted(set(severity.tolist()) - set(SEVERITIES))]
    bucket = np.searchsorted(np.asarray(edges, np.float64), opened, side="right") - 1

    def part(mask: npt.NDArray[np.bool_]) -> dict[str, Any]:
        return {
            "opened": int(mask.sum()),
            "by_type": {t: int((types[mask] == t).sum()) for t in type_names},
            "by_severity": {s: int((severity[mask] == s).sum()) for s in severity_names},
            "acknowledged": int((~np.isnan(to_ack[mask])).sum()),
            "resolved": int((~np.isnan(to_resolve[mask])).sum()),
            "median_minutes_to_acknowledge": _median_minutes(to_ack[mask]),
            "median_minutes_to_resolve": _median_minutes(to_resolve[mask]),
        }

    return {
        "types": type_names,
        "severities": severity_names,
        "totals": part(np.ones(len(bucket), bool)),
        "periods": [part(bucket == b) for b in range(len(edges) - 1)],
    }


def _scores(row: dict[str, Any]) -> dict[str, Any]:
    return {"horizon_minutes": row["horizon_minutes"], "n": row["n"]} | {k: row[k] for k in SCORES}


def accuracy(store: Store, edges: Sequence[int], segment_ids: Sequence[str] = ()) -> dict[str, Any]:
    """Stored forecasts scored against the windows that closed at their target times
    (Store.forecast_accuracy, as GET /api/predictions/accuracy), per period on target time
    and per horizon, every model version together."""
    # The longest store bucket that every local period edge falls on: periods are then
    # unions of whole buckets (today's time zone offsets are whole multiples of 15 minutes).
    # Old local mean times are offset by seconds: 1-minute buckets still hold each target
    # (a window end, on a whole minute) apart.
    minutes = next((b for b in (60, 30, 15, 5) if all(e % (b * MINUTE_MS) == 0 for e in edges)), 1)
    table = store.forecast_accuracy(
        AccuracyQuery(
            edges[0], edges[-1], minutes, segment_ids=tuple(segment_ids) if segment_ids else None
        )
    )
    starts = table.column("bucket_start").cast(pa.int64()).to_numpy(zero_copy_only=False)
    periods = []
    for b in range(len(edges) - 1):
        mask = (starts >= edges[b]) & (starts < edges[b + 1])
        horizons = [_scores(h) for h in by_horizon(table.filter(pa.array(mask)))]
        periods.append({**all_horizons(horizons), "by_horizon": horizons})
    horizons = [_scores(h) for h in by_horizon(table)]
    return {
        "bucket_minutes": minutes,
        "totals": all_horizons(horizons),
        "by_horizon": horizons,
        "periods": periods,
    }


@dataclass
class SystemSums:
    """What the system did, summed per period over local days (see system_json)."""

    windows_closed: npt.NDArray[np.int64]
    detector_days: npt.NDArray[np.int64] = field(init=False)
    healthy_detector_days: npt.NDArray[np.int64] = field(init=False)
    samples_received: npt.NDArray[np.int64] = field(init=False)
    samples_expected: npt.NDArray[np.int64] = field(init=False)
    samples_counted: npt.NDArray[np.int64] = field(init=False)  # at most expected per detector
    forecast_issues: npt.NDArray[np.int64] = field(init=False)

    def __post_init__(self) -> None:
        for name in (
            "detector_days",
            "healthy_detector_days",
            "samples_received",
            "samples_expected",
            "samples_counted",
            "forecast_issues",
        ):
            setattr(self, name, np.zeros_like(self.windows_closed))

    @classmethod
    def zeros(cls, n_buckets: int) -> SystemSums:
        return cls(np.zeros(n_buckets, np.int64))

    def add_day(
        self,
        store: Store,
        bucket: int,
        day: tuple[int, int],
        ids: list[str],
        segment_ids: Sequence[str],
        rules: HealthRules,
        now_ms: int,
    ) -> None:
        """One local day's detector health and forecast issues; the part of a day after
        now_ms is not expected to have readings yet, and a day wholly after it is skipped."""
        start, end = day[0], min(day[1], now_ms)
        if end <= start:
            return
        stats = store.detector_day_stats(start, end, rules.max_plausible_mph)
        health = assess(ids, stats, start, end, rules)
        self.detector_days[bucket] += len(ids)
        self.healthy_detector_days[bucket] += int((health.status == GOOD).sum())
        self.samples_received[bucket] += int(health.samples.sum())
        self.samples_expected[bucket] += health.expected * len(ids)
        self.samples_counted[bucket] += int(np.minimum(health.samples, health.expected).sum())
        only = list(segment_ids) if segment_ids else None
        self.forecast_issues[bucket] += store.count_forecast_issues(start, end, only)


def _system_part(s: SystemSums, at: slice | int) -> dict[str, Any]:
    def total(a: npt.NDArray[np.int64]) -> int:
        return int(np.sum(a[at]))

    expected, days = total(s.samples_expected), total(s.detector_days)
    return {
        "windows_closed": total(s.windows_closed),
        "detector_days": days,
        "healthy_detector_days": total(s.healthy_detector_days),
        "healthy_share": total(s.healthy_detector_days) / days if days else None,
        "samples_received": total(s.samples_received),
        "samples_expected": expected,
        "sample_share": total(s.samples_counted) / expected if expected else None,
        "forecast_issues": total(s.forecast_issues),
    }


def system_json(sums: SystemSums, rules: HealthRules) -> dict[str, Any]:
    return {
        "detector_interval_s": rules.expected_interval_s,
        "totals": _system_part(sums, slice(None)),
        "periods": [_system_part(sums, b) for b in range(len(sums.windows_closed))],
    }
