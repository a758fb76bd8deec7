"""Forecast accuracy over time: stored forecasts scored against the windows that closed later.

A sustained rise of live forecast error shows as a `trend` above 1: the error of
the newest bucket against the error over the whole range.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.analytics.forecast_accuracy import by_horizon
from trafficcast.api.authz import allow
from trafficcast.api.deps import cached_json, get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import READERS
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.encoding import arrow_rows
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.store.base import AccuracyQuery, Store
from trafficcast.stream.processor import FORECAST_WINDOW_MINUTES

router = APIRouter(prefix="/api/predictions", tags=["predictions"])

MINUTE_MS = 60_000
DAY_MINUTES = 1440
DEFAULT_RANGE_MS = DAY_MINUTES * MINUTE_MS
# Bounds the response and the scan behind it (35 days of 5-minute buckets).
MAX_BUCKETS = 10_080
FORECAST_WINDOW_MS = FORECAST_WINDOW_MINUTES * MINUTE_MS


class AccuracyBucket(BaseModel):
    bucket_start: datetime
    model_version: str
    horizon_minutes: int
    n: int = Field(description="forecasts scored (predicted and actual speed both known)")
    speed_mae: float | None = Field(description="mean absolute error, mph")
    speed_rmse: float | None = Field(description="root mean squared error, mph")
    speed_mape: float | None = Field(description="mean absolute percentage error over actual > 0")
    speed_bias: float | None = Field(description="mean of predicted - actual, mph")
    speed_coverage: float | None = Field(
        description="share of actuals within [speed_lower, speed_upper]"
    )
    volume_mae: float | None = Field(description="null where no volume was forecast or measured")


class HorizonAccuracy(BaseModel):
    horizon_minutes: int
    n: int
    speed_mae: float | None = Field(description="over the whole range (buckets weighted by n)")
    speed_rmse: float | None
    speed_mape: float | None
    speed_coverage: float | None
    recent_mae: float | None = Field(description="MAE of the newest bucket holding this horizon")
    trend: float | None = Field(
        description="recent_mae / speed_mae; above 1 means the error is rising"
    )


class ForecastAccuracy(BaseModel):
    start_time: datetime = Field(description="inclusive, on target_time")
    end_time: datetime = Field(description="exclusive, on target_time")
    bucket_minutes: int
    buckets: list[AccuracyBucket]
    by_horizon: list[HorizonAccuracy]


@router.get(
    "/accuracy",
    dependencies=[allow(READERS)],
    response_model=ForecastAccuracy,
    responses=ERROR_RESPONSES,
    summary="Forecast error over time, per bucket, model version and horizon",
)
async def accuracy(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    start_time: Annotated[
        IsoDateTime | None,
        Query(description="inclusive target time; default: end_time minus 24 h"),
    ] = None,
    end_time: Annotated[
        IsoDateTime | None,
        Query(
            description="exclusive target time; default: the end of the bucket holding the "
            "newest stored window end (replayed history works, the wall clock is not used)"
        ),
    ] = None,
    bucket_minutes: Annotated[
        int, Query(ge=5, le=DAY_MINUTES, description="must divide 1440; buckets align to UTC")
    ] = 60,
    model_version: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    segment_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
) -> Response:
    if DAY_MINUTES % bucket_minutes:
        raise ApiError(
            422,
            f"bucket_minutes must divide 1440 (a day), got {bucket_minutes}",
            details=[{"field": "bucket_minutes", "reason": "does not divide 1440"}],
        )
    start, end = to_ms(start_time), to_ms(end_time)
    if start is not None and end is not None and end <= start:
        raise ApiError(
            422,
            "end_time is not after start_time",
            details=[{"field": "end_time", "reason": "not after start_time"}],
        )
    if segment_id is not None and not runtime.catalog.is_known(segment_id):
        raise ApiError(
            404,
            f"unknown segment {segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )
    probe_ms = runtime.settings.watermark_delay_s * 1000 + 60 * MINUTE_MS

    def load() -> dict[str, Any]:
        lo, hi = _resolve_range(runtime.store, start, end, bucket_minutes, probe_ms)
        table = runtime.store.forecast_accuracy(
            AccuracyQuery(lo, hi, bucket_minutes, model_version, segment_id)
        )
        return {
            "start_time": iso(lo),
            "end_time": iso(hi),
            "bucket_minutes": bucket_minutes,
            "buckets": arrow_rows(table),
            "by_horizon": by_horizon(table),
        }

    async def build() -> dict[str, Any]:
        return await run_in_threadpool(load)

    # Unset times stay None in the key: their defaults move with the data,
    # and the data version already does.
    key = ("accuracy", start, end, bucket_minutes, model_version, segment_id)
    return await cached_json(request, key, runtime.processor.versions.predictions, build)


def _resolve_range(
    store: Store, start: int | None, end: int | None, bucket_minutes: int, probe_ms: int
) -> tuple[int, int]:
    """Fill in the defaults and refuse ranges with too many buckets."""
    bucket_ms = bucket_minutes * MINUTE_MS
    if end is None:
        newest = newest_window_end(store, probe_ms)
        # An empty store has nothing to score; the clock only names a range.
        anchor = newest if newest is not None else int(time.time() * 1000)
        # The newest window's target is the range's last instant, and a whole
        # last bucket keeps it comparable with the others.
        end = anchor - anchor % bucket_ms + bucket_ms
        if start is not None:
            end = max(end, start)
    if start is None:
        start = end - DEFAULT_RANGE_MS
    buckets = -(-(end - start) // bucket_ms)
    if buckets > MAX_BUCKETS:
        raise ApiError(
            422,
            f"the range spans {buckets} buckets of {bucket_minutes} min; at most {MAX_BUCKETS}",
            details=[{"field": "start_time", "reason": f"more than {MAX_BUCKETS} buckets"}],
        )
    return start, end


def newest_window_end(store: Store, probe_ms: int) -> int | None:
    """End of the newest stored 5-minute window, found near the newest stored event.

    The newest closed window ends within the watermark delay plus a window of
    the newest event, so a short range read finds it without a full scan of
    the windows.
    """
    newest_event = store.max_event_ms()
    if newest_event is None:
        return None
    recent = store.windows_between(
        FORECAST_WINDOW_MINUTES, newest_event - probe_ms, newest_event + 1
    )
    if recent.num_rows == 0:
        return newest_event - newest_event % FORECAST_WINDOW_MS
    ends = recent.column("window_end").cast(TIMESTAMP).cast(pa.int64())
    return int(pc.max(ends).as_py())
