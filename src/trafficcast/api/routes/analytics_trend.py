"""The analytics summary's totals per calendar bucket (UTC days, Monday weeks, months).

The store gives the totals as additive parts per UTC day in one grouped scan;
every bucket is made of whole days, so the parts add up to what
/api/analytics/summary answers for that bucket's range.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.http_protocol import SEGMENT_IDS_NOTE
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.api.trend_models import AnalyticsTrend
from trafficcast.auth.roles import READERS
from trafficcast.domain.periods import Period, TooManyBuckets, bucket_edges, bucket_start, shift
from trafficcast.live.messages import iso_times
from trafficcast.runtime import Runtime
from trafficcast.store.base import SummaryQuery

router = APIRouter(prefix="/api/analytics", tags=["analytics"])

# Bounds the response; a grouped scan of the whole range answers any count.
MAX_BUCKETS = 400
DEFAULT_BUCKETS: dict[Period, int] = {"day": 14, "week": 12, "month": 12}
MAX_SEGMENT_IDS = 10_000
MAX_ID_LENGTH = 128
# Bucket edges must stay inside years 1-9999, which ISO 8601 answers can name.
MIN_MS = -62_135_596_800_000  # 0001-01-01T00:00:00Z
MAX_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z


def _invalid(field: str, reason: str, message: str) -> ApiError:
    return ApiError(422, message, details=[{"field": field, "reason": reason}])


def parse_segment_ids(raw: list[str] | None) -> tuple[str, ...]:
    """Ids from repeated and comma-separated values, blanks and duplicates dropped."""
    ids = tuple(
        dict.fromkeys(s for value in raw or [] for s in (p.strip() for p in value.split(",")) if s)
    )
    if len(ids) > MAX_SEGMENT_IDS:
        raise _invalid(
            "segment_ids",
            f"more than {MAX_SEGMENT_IDS} ids",
            f"segment_ids: {len(ids)} ids; at most {MAX_SEGMENT_IDS}",
        )
    if any(len(s) > MAX_ID_LENGTH for s in ids):
        raise _invalid(
            "segment_ids",
            "id too long",
            f"segment_ids: an id is longer than {MAX_ID_LENGTH} characters",
        )
    return ids


def resolve_edges(
    period: Period, start: int | None, end: int | None, newest: int | None, now: int
) -> list[int]:
    """Bucket edges for the request: unset bounds default to the newest data, the range is
    widened to whole buckets, and more than MAX_BUCKETS is refused."""
    given_start, given_end = start, end
    if start is not None and end is not None and end <= start:
        raise _invalid("end_date", "not after start_date", "end_date is not after start_date")
    for name, value in (("start_date", start), ("end_date", end)):
        if value is not None and not MIN_MS <= value < MAX_MS:
            raise _invalid(name, "out of range", f"{name} is outside years 1-9999")
    try:
        if end is None:
            # The bucket holding the newest data closes the default range.
            anchor = newest if newest is not None else now
            end = shift(bucket_start(anchor, period), period, 1)
            if start is not None:
                end = max(end, shift(bucket_start(start, period), period, 1))
        if start is None:
            last = shift(bucket_start(end - 1, period), period, 1)
            start = max(shift(last, period, -DEFAULT_BUCKETS[period]), bucket_start(MIN_MS, period))
        edges = bucket_edges(start, end, period, MAX_BUCKETS)
    except TooManyBuckets as exc:
        raise _invalid(
            "start_date",
            f"more than {MAX_BUCKETS} buckets",
            f"{exc}; narrow the range or choose a longer period",
        ) from exc
    if edges[0] < MIN_MS or edges[-1] >= MAX_MS:
        # Named after the bound the caller set that took the range there.
        field = "end_date" if given_end is not None or given_start is None else "start_date"
        raise _invalid(field, "out of range", "the range's buckets reach past years 1-9999")
    return edges


def bucket_totals(days: pa.Table, edges: list[int]) -> list[dict[str, Any]]:
    """Adds the per-day parts (DAILY_SUMMARY_SCHEMA) into the buckets between edges."""
    n = len(edges) - 1
    day = days.column("day").cast(pa.int64()).to_numpy()
    index = np.searchsorted(np.asarray(edges, dtype=np.int64), day, side="right") - 1
    inside = (index >= 0) & (index < n)
    index = index[inside]

    def add(name: str, dtype: type[np.generic]) -> np.ndarray[Any, Any]:
        values = days.column(name).fill_null(0).to_numpy()[inside].astype(dtype)
        out = np.zeros(n, dtype=dtype)
        np.add.at(out, index, values)
        return out

    events, incidents = add("total_events", np.int64), add("incident_count", np.int64)
    congestion = add("congestion_hours", np.float64)
    speed_sum, speed_n = add("speed_sum", np.float64), add("speed_count", np.int64)
    volume_sum, volume_n = add("volume_sum", np.float64), add("volume_count", np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(speed_n > 0, speed_sum / np.maximum(speed_n, 1), np.nan)
        volume = np.where(volume_n > 0, volume_sum / np.maximum(volume_n, 1), np.nan)
    names = iso_times(np.asarray(edges, dtype=np.int64))
    return [
        {
            "start": names[i],
            "end": names[i + 1],
            "total_events": int(events[i]),
            "avg_speed": _finite(speed[i]),
            "avg_volume": _finite(volume[i]),
            "congestion_hours": float(congestion[i]),
            "incident_count": int(incidents[i]),
        }
        for i in range(n)
    ]


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


@router.get(
    "/trend",
    dependencies=[allow(READERS)],
    response_model=AnalyticsTrend,
    responses=ERROR_RESPONSES,
    summary="The summary's totals per calendar day, week or month",
    description=(
        "One bucket per UTC calendar day, week (starting Monday) or month over "
        "[start_date, end_date), widened to whole buckets; each bucket's figures equal "
        "/api/analytics/summary over the bucket's range. Unset, the range is the last "
        f"{DEFAULT_BUCKETS['day']} days / {DEFAULT_BUCKETS['week']} weeks / "
        f"{DEFAULT_BUCKETS['month']} months ending with the bucket of the newest stored "
        f"event. At most {MAX_BUCKETS} buckets."
    ),
)
async def trend(
    runtime: Runtime = Depends(get_runtime),
    period: Annotated[Period, Query(description="bucket length")] = "day",
    start_date: Annotated[
        IsoDateTime | None, Query(description="inclusive; date or time (UTC when no zone)")
    ] = None,
    end_date: Annotated[
        IsoDateTime | None, Query(description="exclusive; date or time (UTC when no zone)")
    ] = None,
    segment_ids: Annotated[
        list[str] | None, Query(description=SEGMENT_IDS_NOTE, max_length=MAX_SEGMENT_IDS)
    ] = None,
) -> JSON:
    start, end = to_ms(start_date), to_ms(end_date)
    ids = parse_segment_ids(segment_ids)

    def load() -> dict[str, Any]:
        newest = runtime.store.max_event_ms() if end is None else None
        edges = resolve_edges(period, start, end, newest, int(time.time() * 1000))
        days = runtime.store.summary_by_day(SummaryQuery(edges[0], edges[-1], ids))
        names = iso_times(np.asarray([edges[0], edges[-1]], dtype=np.int64))
        return {
            "period": period,
            "start_date": names[0],
            "end_date": names[1],
            "buckets": bucket_totals(days, edges),
        }

    return JSON(await run_in_threadpool(load))
