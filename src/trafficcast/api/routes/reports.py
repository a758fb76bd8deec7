"""GET /api/reports/performance: traffic-engineering measures as JSON, CSV or PDF.

Reports are analyst work (PRODUCT §6): exports and reports need the analyst role.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from trafficcast.analytics.csv_export import csv_chunks
from trafficcast.analytics.measures import MeasureConfig
from trafficcast.analytics.operations import TooManyAlerts
from trafficcast.analytics.report import MAX_SPAN_DAYS, performance_report, report_json
from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.http_protocol import SEGMENT_IDS_NOTE
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.reports_models import PerformanceReportOut
from trafficcast.api.responses import JSON
from trafficcast.api.routes.analytics_trend import (
    MAX_MS,
    MAX_SEGMENT_IDS,
    MIN_MS,
    parse_segment_ids,
)
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import ANALYSTS
from trafficcast.domain.periods import DAY_MS, Period
from trafficcast.quality.detector_health import HealthRules
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/reports", tags=["reports"])

MAX_REFERENCE_SPEEDS = 4
MAX_REFERENCE_MPH = 200.0
ReportFormat = Literal["json", "csv", "pdf"]


def _invalid(field: str, reason: str) -> ApiError:
    return ApiError(422, f"{field}: {reason}", details=[{"field": field, "reason": reason}])


def _reference_speeds(raw: list[float] | None) -> tuple[float, ...]:
    if not raw:
        return MeasureConfig().reference_speeds
    if len(raw) > MAX_REFERENCE_SPEEDS:
        raise _invalid("reference_speeds", f"at most {MAX_REFERENCE_SPEEDS} values")
    if any(not (math.isfinite(r) and 0 < r <= MAX_REFERENCE_MPH) for r in raw):
        raise _invalid("reference_speeds", f"each must be in (0, {MAX_REFERENCE_MPH:g}] mph")
    if len({f"{r:g}" for r in raw}) != len(raw):
        raise _invalid("reference_speeds", "duplicate values")
    return tuple(raw)


def _filename(body: dict[str, Any], ext: str) -> str:
    return f"performance-{body['period']}-{body['start'][:10]}-{body['end'][:10]}.{ext}"


@router.get(
    "/performance",
    dependencies=[allow(ANALYSTS)],
    response_model=PerformanceReportOut,
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "The report as JSON, CSV (streamed) or PDF (with charts)",
            "content": {"text/csv": {}, "application/pdf": {}},
        },
    },
    summary="Performance report: VMT, VHT, delay, TTI, bottlenecks, incidents, accuracy, system",
    description=(
        "Measures from the 5-minute windows per local day, week (from Monday) or month of "
        "the network's time zone, over the whole periods covering [start, end): vehicle-miles "
        "and vehicle-hours travelled, delay in vehicle-hours against each reference speed "
        "(PeMS: VMT/speed - VMT/reference when slower), the VMT-weighted travel-time index "
        "(free-flow / speed), congestion hours (segment-hours below 35 mph), hours per level "
        "of service; every segment ranked by delay; recurring bottlenecks (upstream detector "
        "below 40 mph, the next downstream one at least 20 mph faster, for 3+ consecutive "
        "windows on 2+ days); alerts opened by type and severity with the median minutes to "
        "acknowledge and to resolve; forecast error (MAE, RMSE, MAPE) per period on target "
        "time and per horizon; system performance (windows closed, detector health and the "
        "share of expected readings received, forecast issues). format=csv streams every part as "
        "rows told apart by `scope` "
        "(text that could run as a spreadsheet formula gets a leading apostrophe); "
        f"format=pdf gives a printable report with charts. At most {MAX_SPAN_DAYS} days."
    ),
)
async def performance(
    start: Annotated[IsoDateTime, Query(description="inclusive; date or time (UTC when no zone)")],
    end: Annotated[IsoDateTime, Query(description="exclusive; date or time (UTC when no zone)")],
    runtime: Runtime = Depends(get_runtime),
    period: Annotated[Period, Query(description="period length")] = "day",
    format: Annotated[ReportFormat, Query(description="json, csv or pdf")] = "json",
    segment_ids: Annotated[
        list[str] | None, Query(description=SEGMENT_IDS_NOTE, max_length=MAX_SEGMENT_IDS)
    ] = None,
    reference_speeds: Annotated[
        list[float] | None,
        Query(description="reference speeds in mph for delay (default 35 and 60)", max_length=16),
    ] = None,
) -> Response:
    start_ms, end_ms = to_ms(start) or 0, to_ms(end) or 0
    # Widened to whole local months, a range must still name years 1-9999.
    for name, value in (("start", start_ms), ("end", end_ms)):
        if not MIN_MS + 32 * DAY_MS <= value < MAX_MS - 32 * DAY_MS:
            raise _invalid(name, "outside years 1-9999")
    if end_ms <= start_ms:
        raise _invalid("end", "not after start")
    if end_ms - start_ms > MAX_SPAN_DAYS * DAY_MS:
        raise _invalid("end", f"the range spans more than {MAX_SPAN_DAYS} days")
    ids = parse_segment_ids(segment_ids)
    config = MeasureConfig(reference_speeds=_reference_speeds(reference_speeds))
    timezone = runtime.settings.timezone

    rules = HealthRules(expected_interval_s=runtime.settings.detector_interval_s)

    def build() -> dict[str, Any]:
        try:
            report = performance_report(
                runtime.store, start_ms, end_ms, period, timezone, ids, config, health_rules=rules
            )
        except TooManyAlerts as exc:
            raise _invalid("end", f"{exc}: give a shorter range") from exc
        return report_json(report)

    body = await run_in_threadpool(build)
    if format == "csv":
        return StreamingResponse(
            csv_chunks(body),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{_filename(body, "csv")}"'},
        )
    if format == "pdf":
        # Imported on first use: matplotlib costs the server's start otherwise.
        from trafficcast.analytics.pdf import render_pdf

        pdf = await run_in_threadpool(render_pdf, body)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{_filename(body, "pdf")}"'},
        )
    return JSON(body)
