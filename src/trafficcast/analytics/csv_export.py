"""The performance report as CSV, written in chunks for a streamed response.

Rows of every part of the JSON report in one table, told apart by `scope` (total, period,
segment, bottleneck; incidents_total, incidents_period; accuracy_total, accuracy_horizon,
accuracy_period, accuracy_period_horizon; system_total, system_period); a cell a part does
not have is empty. Text a spreadsheet would run as
a formula (=, +, -, @, tab, CR first) gets a leading apostrophe, as the dashboard's CSV does.
Numbers are written exactly (shortest round-trip form), so the CSV parses back to the JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from typing import Any

from trafficcast.domain.level_of_service import GRADES

CHUNK_ROWS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns(
    reference_speeds: Sequence[float],
    alert_types: Sequence[str] = (),
    severities: Sequence[str] = (),
) -> list[str]:
    return [
        "scope",
        "start",
        "end",
        "rank",
        "segment_id",
        "upstream_segment_id",
        "name",
        "level_of_service",
        "windows",
        "vmt",
        "vht",
        *(f"delay_{r:g}_vehicle_hours" for r in reference_speeds),
        "travel_time_index",
        "mean_speed",
        "congestion_hours",
        *(f"los_{g}_hours" for g in GRADES),
        "active_days",
        "active_hours",
        "mean_drop_mph",
        "alerts_opened",
        *(f"alerts_type_{t}" for t in alert_types),
        *(f"alerts_severity_{s}" for s in severities),
        "alerts_acknowledged",
        "alerts_resolved",
        "median_minutes_to_acknowledge",
        "median_minutes_to_resolve",
        "horizon_minutes",
        "forecasts_scored",
        "speed_mae",
        "speed_rmse",
        "speed_mape",
        "speed_coverage",
        *SYSTEM_COLUMNS,
    ]


SYSTEM_COLUMNS = (
    "windows_closed",
    "detector_days",
    "healthy_detector_days",
    "healthy_share",
    "samples_received",
    "samples_expected",
    "sample_share",
    "forecast_issues",
)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else ""
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _flat(scope: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("delay_vehicle_hours", "los_hours")}
    out["scope"] = scope
    for ref, value in row.get("delay_vehicle_hours", {}).items():
        out[f"delay_{ref}_vehicle_hours"] = value
    for grade, value in row.get("los_hours", {}).items():
        out[f"los_{grade}_hours"] = value
    return out


def rows(report: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield _flat("total", {"start": report["start"], "end": report["end"], **report["totals"]})
    for p in report["periods"]:
        yield _flat("period", p)
    for s in report["segments"]:
        yield _flat("segment", {"start": report["start"], "end": report["end"], **s})
    for b in report["bottlenecks"]:
        yield _flat("bottleneck", {"start": report["start"], "end": report["end"], **b})
    whole = {"start": report["start"], "end": report["end"]}
    if "incidents" in report:
        part = report["incidents"]
        yield _alerts("incidents_total", whole | part["totals"])
        for p in part["periods"]:
            yield _alerts("incidents_period", p)
    if "accuracy" in report:
        part = report["accuracy"]
        yield _scores("accuracy_total", whole | part["totals"])
        for h in part["by_horizon"]:
            yield _scores("accuracy_horizon", whole | h)
        for p in part["periods"]:
            yield _scores("accuracy_period", p)
            for h in p["by_horizon"]:
                yield _scores("accuracy_period_horizon", {"start": p["start"], "end": p["end"]} | h)
    if "system" in report:
        part = report["system"]
        yield {"scope": "system_total", **whole, **part["totals"]}
        for p in part["periods"]:
            yield {"scope": "system_period", **p}


def _alerts(scope: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {
        "scope": scope,
        "start": row["start"],
        "end": row["end"],
        "alerts_opened": row["opened"],
        "alerts_acknowledged": row["acknowledged"],
        "alerts_resolved": row["resolved"],
        "median_minutes_to_acknowledge": row["median_minutes_to_acknowledge"],
        "median_minutes_to_resolve": row["median_minutes_to_resolve"],
    }
    out |= {f"alerts_type_{t}": n for t, n in row["by_type"].items()}
    out |= {f"alerts_severity_{s}": n for s, n in row["by_severity"].items()}
    return out


def _scores(scope: str, row: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in row.items() if k not in ("by_horizon", "n")}
    return out | {"scope": scope, "forecasts_scored": row["n"]}


def csv_chunks(report: dict[str, Any]) -> Iterator[str]:
    """The CSV text in pieces of CHUNK_ROWS rows: a header, then every row, CRLF-ended."""
    incidents = report.get("incidents", {})
    header = columns(
        report["reference_speeds"], incidents.get("types", []), incidents.get("severities", [])
    )
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for n, row in enumerate(rows(report), start=1):
        writer.writerow([cell(row.get(name)) for name in header])
        if n % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
