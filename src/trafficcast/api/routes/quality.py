"""Detector health per day (PRODUCT.md §7a): which detectors' data can be trusted, and why not."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.quality_models import (
    DetectorDay,
    DetectorHealthReport,
    HealthRulesOut,
    Status,
)
from trafficcast.auth.roles import READERS
from trafficcast.quality.detector_health import REASONS, HealthRules, assess
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/quality", tags=["quality"])

# Days before this are not asked about: no road network here has data from then.
EARLIEST = date(2000, 1, 1)


# The finest windows the stream stores: the first and the last mark the days with data.
DAY_WINDOW_MINUTES = 5


class QualityDays(BaseModel):
    """The days GET /api/quality/detectors can be asked about, and those with data."""

    timezone: str
    today: date = Field(description="the network's local today, the latest day that can be asked")
    earliest: date = Field(description="the earliest day that can be asked")
    first_day: date | None = Field(
        description="local day of the first stored 5-minute window; null without data"
    )
    last_day: date | None = Field(
        description="local day of the last stored 5-minute window; null without data"
    )


def _local_day(ms: int, tz: ZoneInfo, lo: date, hi: date) -> date:
    day = datetime.fromtimestamp(ms / 1000, tz).date()
    return min(max(day, lo), hi)


def _day_range(day: date, tz: ZoneInfo, now_ms: int) -> tuple[int, int]:
    start = datetime(day.year, day.month, day.day, tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    return int(start.timestamp() * 1000), min(int(end.timestamp() * 1000), now_ms)


@router.get(
    "/detectors",
    dependencies=[allow(READERS)],
    response_model=DetectorHealthReport,
    responses=ERROR_RESPONSES,
    summary="Health of every detector over one local day, with the reason when bad",
    description="Reasons, in the order checked: no_data, insufficient_data (under min_share "
    "of the readings expected at the detector interval), stuck (one speed all day), "
    "implausible (over max_implausible_share of speeds above max_plausible_mph, or 0 mph "
    "with vehicles counted), intermittent (a gap of max_gap_minutes or more). For today, "
    "readings are expected only for the part of the day that has passed.",
)
async def detectors(
    day: Annotated[
        date | None, Query(alias="date", description="YYYY-MM-DD, local; default today")
    ] = None,
    status: Annotated[Status | None, Query(description="only good or only bad")] = None,
    runtime: Runtime = Depends(get_runtime),
) -> DetectorHealthReport:
    settings = runtime.settings
    tz = ZoneInfo(settings.timezone)
    now_ms = int(time.time() * 1000)
    today = datetime.now(tz).date()
    day = day or today
    if day > today or day < EARLIEST:
        raise ApiError(
            422,
            f"date: {day.isoformat()} is outside {EARLIEST.isoformat()} to today "
            f"({today.isoformat()}, {settings.timezone})",
            details=[{"field": "date", "reason": "outside the days that can have data"}],
        )
    start_ms, end_ms = _day_range(day, tz, now_ms)
    rules = HealthRules(expected_interval_s=settings.detector_interval_s)
    stats = await run_in_threadpool(
        runtime.store.detector_day_stats, start_ms, end_ms, rules.max_plausible_mph
    )
    segments = await run_in_threadpool(runtime.store.segments)
    ids = segments.column("segment_id").to_pylist()
    names = segments.column("name").to_pylist()
    health = assess(ids, stats, start_ms, end_ms, rules)
    reasons = health.reason.tolist()
    rows = [
        DetectorDay(
            segment_id=sid,
            name=name,
            status=st,
            reason=reason,
            samples=int(n),
            expected=health.expected,
            share=round(float(share), 4),
        )
        for sid, name, st, reason, n, share in zip(
            ids, names, health.status.tolist(), reasons, health.samples, health.share, strict=True
        )
        if status is None or st == status
    ]
    bad = int((health.status == "bad").sum())
    by_reason: dict[str, int] = {r: 0 for r in REASONS}
    for r in reasons:
        by_reason[r] += 1
    return DetectorHealthReport(
        date=day,
        timezone=settings.timezone,
        start=datetime.fromtimestamp(start_ms / 1000, UTC),
        end=datetime.fromtimestamp(end_ms / 1000, UTC),
        rules=HealthRulesOut(
            **{k: v for k, v in asdict(rules).items() if k in HealthRulesOut.model_fields}
        ),
        good=len(ids) - bad,
        bad=bad,
        by_reason=by_reason,
        detectors=rows,
    )


@router.get(
    "/days",
    dependencies=[allow(READERS)],
    response_model=QualityDays,
    responses=ERROR_RESPONSES,
    summary="The local days detector health can be asked about, and the days with data",
    description="today and earliest bound the date of GET /api/quality/detectors; "
    "first_day and last_day are the local days of the first and the last stored "
    "5-minute window (null when there is none), so a replay of another year can be found.",
)
async def days(runtime: Runtime = Depends(get_runtime)) -> QualityDays:
    tz = ZoneInfo(runtime.settings.timezone)
    today = datetime.now(tz).date()
    span = await run_in_threadpool(runtime.store.window_start_range, DAY_WINDOW_MINUTES)
    first = last = None
    if span is not None:
        first = _local_day(span[0], tz, EARLIEST, today)
        last = _local_day(span[1], tz, EARLIEST, today)
    return QualityDays(
        timezone=runtime.settings.timezone,
        today=today,
        earliest=EARLIEST,
        first_day=first,
        last_day=last,
    )
