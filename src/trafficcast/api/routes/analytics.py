"""Network and per-segment traffic summaries over a period."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.http_protocol import SEGMENT_IDS_NOTE
from trafficcast.api.models import ERROR_RESPONSES, AnalyticsSummary
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import READERS
from trafficcast.encoding import arrow_rows
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.store.base import SummaryQuery

router = APIRouter(prefix="/api/analytics", tags=["analytics"])


@router.get(
    "/summary",
    dependencies=[allow(READERS)],
    response_model=AnalyticsSummary,
    responses=ERROR_RESPONSES,
    summary="Totals and per-segment performance from 5-minute windows",
)
async def summary(
    runtime: Runtime = Depends(get_runtime),
    start_date: Annotated[IsoDateTime | None, Query(description="inclusive; date or time")] = None,
    end_date: Annotated[IsoDateTime | None, Query(description="exclusive; date or time")] = None,
    segment_ids: Annotated[
        list[str] | None, Query(description=SEGMENT_IDS_NOTE, max_length=10_000)
    ] = None,
    by_segment: Annotated[
        bool, Query(description="false: the totals only (by_segment is empty)")
    ] = True,
) -> JSON:
    start, end = to_ms(start_date), to_ms(end_date)
    if start is not None and end is not None and end < start:
        raise ApiError(
            422,
            "end_date is before start_date",
            details=[{"field": "end_date", "reason": "before start_date"}],
        )
    ids = tuple(s for raw in (segment_ids or []) for s in (p.strip() for p in raw.split(",")) if s)
    if any(len(s) > 128 for s in ids):
        raise ApiError(
            422,
            "segment_ids: an id is longer than 128 characters",
            details=[{"field": "segment_ids", "reason": "id too long"}],
        )
    totals, segments = await run_in_threadpool(runtime.store.summary, SummaryQuery(start, end, ids))
    return JSON(
        {
            "summary": {
                "total_events": int(totals["total_events"] or 0),
                "avg_speed": totals["avg_speed"],
                "avg_volume": totals["avg_volume"],
                "congestion_hours": float(totals["congestion_hours"] or 0.0),
                "incident_count": int(totals["incident_count"]),
            },
            "by_segment": arrow_rows(segments) if by_segment else [],
            "start_date": None if start is None else iso(start),
            "end_date": None if end is None else iso(end),
        }
    )
