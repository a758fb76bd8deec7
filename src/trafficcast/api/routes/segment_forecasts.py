"""The forecasts one segment was given for one horizon, to draw against what happened."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.responses import JSON
from trafficcast.api.segment_forecasts_models import SegmentForecasts
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import READERS
from trafficcast.encoding import arrow_rows
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.stream.processor import FORECAST_WINDOW_MINUTES

router = APIRouter(tags=["segments"])

MINUTE_MS = 60_000
DEFAULT_RANGE_MS = 6 * 60 * MINUTE_MS
# A week of one horizon is ~2 000 issues per model: enough for any chart, and bounded.
MAX_RANGE_MS = 7 * 24 * 60 * MINUTE_MS
_DROPPED = ["prediction_id", "segment_id", "horizon_minutes", "confidence"]


def _invalid(field: str, reason: str, message: str) -> ApiError:
    return ApiError(422, message, details=[{"field": field, "reason": reason}])


def resolve_range(
    start: int | None, end: int | None, horizon_minutes: int, data_clock_ms: int
) -> tuple[int, int]:
    """Fill in the defaults and refuse empty, inverted or oversized ranges.

    Without an end, the range runs to the newest forecast of this horizon still in
    flight (the data clock plus the horizon and a window), so the line reaches
    past "now"; without a start, it starts 6 h before the given end, or else 6 h
    before the data clock.
    """
    if start is None:
        start = (data_clock_ms if end is None else end) - DEFAULT_RANGE_MS
    if end is None:
        end = data_clock_ms + (horizon_minutes + FORECAST_WINDOW_MINUTES) * MINUTE_MS
    if end <= start:
        raise _invalid("end_time", "not after start_time", "end_time is not after start_time")
    if end - start > MAX_RANGE_MS:
        raise _invalid(
            "start_time",
            "range longer than 7 days",
            f"the range spans {(end - start) / 3_600_000:.1f} h; at most 168 h (7 days)",
        )
    return start, end


@router.get(
    "/api/segments/{segment_id}/forecasts",
    dependencies=[allow(READERS)],
    response_model=SegmentForecasts,
    responses=ERROR_RESPONSES,
    summary="Stored forecasts of one segment and horizon, by target time",
    description="Every stored forecast of `horizon_minutes` whose target time lies in "
    "[start_time, end_time), oldest target first, to compare with the windows that closed "
    "at those times (GET /api/segments/{segment_id}/history). Default range: from 6 h before "
    "end_time, or before the newest stored event (replays work; the wall clock is not used), "
    "up to the forecasts still in flight. At most 7 days.",
)
async def segment_forecasts(
    segment_id: Annotated[str, Path(min_length=1, max_length=128)],
    runtime: Runtime = Depends(get_runtime),
    horizon_minutes: Annotated[
        int, Query(ge=5, le=60, multiple_of=5, description="5 to 60, a multiple of 5")
    ] = 15,
    start_time: Annotated[
        IsoDateTime | None, Query(description="inclusive target time; a time without zone is UTC")
    ] = None,
    end_time: Annotated[IsoDateTime | None, Query(description="exclusive target time")] = None,
) -> JSON:
    start, end = to_ms(start_time), to_ms(end_time)
    if start is not None and end is not None and end <= start:
        raise _invalid("end_time", "not after start_time", "end_time is not after start_time")
    if not runtime.catalog.is_known(segment_id):
        raise ApiError(
            404,
            f"unknown segment {segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )

    def load() -> dict[str, Any]:
        clock = None
        if start is None or end is None:
            clock = runtime.store.max_event_ms()
        lo, hi = resolve_range(
            start, end, horizon_minutes, clock if clock is not None else int(time.time() * 1000)
        )
        table = runtime.store.forecast_history(segment_id, horizon_minutes, lo, hi)
        return {
            "segment_id": segment_id,
            "horizon_minutes": horizon_minutes,
            "start_time": iso(lo),
            "end_time": iso(hi),
            "forecasts": arrow_rows(table.drop_columns(_DROPPED)),
        }

    return JSON(await run_in_threadpool(load))
