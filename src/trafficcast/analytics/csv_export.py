"""The performance report as CSV, written in chunks for a streamed response.

Rows of every part of the JSON report in one table, told apart by `scope` (total, period,
segment, bottleneck); a cell a part does not have is empty. Text a spreadsheet would run as
a formula (=, +, -, @, tab, CR first) gets a leading apostrophe, as the dashboard's CSV does.
Numbers are written exactly (shortest round-trip form), so the CSV parses back to the JSON.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from trafficcast.domain.level_of_service import GRADES

CHUNK_ROWS = 1000
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def columns(reference_speeds: list[float]) -> list[str]:
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
    ]


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


def csv_chunks(report: dict[str, Any]) -> Iterator[str]:
    """The CSV text in pieces of CHUNK_ROWS rows: a header, then every row, CRLF-ended."""
    header = columns(report["reference_speeds"])
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
