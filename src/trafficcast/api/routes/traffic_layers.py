"""Network-wide layers of the traffic map: every segment's forecast at one horizon, every
segment's 5-minute window at a past time, and the map's own settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.api.authz import allow
from trafficcast.api.deps import cached_json, get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.api.traffic_layers_models import DashboardConfig, ForecastLayer, HistoryLayer
from trafficcast.auth.roles import READERS
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.encoding import arrow_rows
from trafficcast.runtime import Runtime
from trafficcast.stream.processor import FORECAST_WINDOW_MINUTES

router = APIRouter(tags=["traffic"])

WINDOW_MS = FORECAST_WINDOW_MINUTES * 60_000
FORECAST_COLUMNS = [
    "segment_id",
    "issued_at",
    "target_time",
    "predicted_speed",
    "speed_lower",
    "speed_upper",
    "confidence",
    "model_version",
    "input_fill",
]
HISTORY_COLUMNS = [
    "segment_id",
    "mean_speed",
    "volume",
    "occupancy",
    "level_of_service",
    "fill",
]
# Times outside this range are typing mistakes, not traffic data; refusing them
# also keeps window arithmetic clear of datetime's year-9999 edge.
EARLIEST_AT_MS = 0  # 1970-01-01
LATEST_AT_MS = 7_258_118_400_000  # 2200-01-01
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@router.get(
    "/api/traffic/forecast",
    dependencies=[allow(READERS)],
    response_model=ForecastLayer,
    responses=ERROR_RESPONSES,
    summary="Every segment's newest forecast at one horizon",
    description="For the map's forecast layer: one row per segment with the newest issued "
    "forecast at `horizon_minutes`. A horizon the server does not forecast gives no rows.",
)
async def forecast_layer(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    horizon_minutes: Annotated[
        int, Query(ge=5, le=60, multiple_of=5, description="5 to 60, a multiple of 5")
    ] = 15,
) -> Response:

    def load() -> dict[str, Any]:
        table = runtime.store.latest_predictions_at(horizon_minutes)
        return {
            "horizon_minutes": horizon_minutes,
            "segments": arrow_rows(table.select(FORECAST_COLUMNS)),
        }

    async def build() -> dict[str, Any]:
        return await run_in_threadpool(load)

    key = ("traffic-forecast", horizon_minutes)
    return await cached_json(request, key, runtime.processor.versions.predictions, build)


@router.get(
    "/api/traffic/history",
    dependencies=[allow(READERS)],
    response_model=HistoryLayer,
    responses=ERROR_RESPONSES,
    summary="Every segment's closed 5-minute window at a past time",
    description="For the map's time control: the window [window_start, window_end) holding "
    "`at` for every segment that has it stored, with the ends of the oldest and newest stored "
    "windows so the control can be bounded. `at` is ISO 8601; a time without a zone is taken "
    "as UTC. Without `at`, the newest stored window.",
)
async def history_layer(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    at: Annotated[
        IsoDateTime | None,
        Query(description="ISO 8601 time, e.g. 2026-01-05T08:02:00Z (no zone = UTC)"),
    ] = None,
) -> Response:
    at_ms = to_ms(at)
    if at_ms is not None and not EARLIEST_AT_MS <= at_ms < LATEST_AT_MS:
        raise ApiError(
            422,
            "at must be between 1970-01-01 and 2200-01-01",
            details=[{"field": "at", "reason": "out of range"}],
        )

    def load() -> dict[str, Any]:
        bounds = runtime.store.window_start_range(FORECAST_WINDOW_MINUTES)
        when = at_ms if at_ms is not None else (bounds[1] if bounds else None)
        body: dict[str, Any] = {
            "at": None if when is None else _iso(when),
            "window_start": None,
            "window_end": None,
            "earliest": None if bounds is None else _iso(bounds[0] + WINDOW_MS),
            "latest": None if bounds is None else _iso(bounds[1] + WINDOW_MS),
            "segments": [],
        }
        if when is None:
            return body
        start = when - when % WINDOW_MS
        body["window_start"], body["window_end"] = _iso(start), _iso(start + WINDOW_MS)
        if bounds is not None and bounds[0] <= start <= bounds[1]:
            windows = runtime.store.windows_between(FORECAST_WINDOW_MINUTES, start, start + 1)
            body["segments"] = arrow_rows(_newest_per_segment(windows).select(HISTORY_COLUMNS))
        return body

    async def build() -> dict[str, Any]:
        return await run_in_threadpool(load)

    key = ("traffic-history", at_ms)
    return await cached_json(request, key, runtime.processor.versions.windows, build)


@router.get(
    "/api/dashboard/config",
    dependencies=[allow(READERS)],
    response_model=DashboardConfig,
    summary="Settings the dashboard needs: the map's base layer",
    description="TRAFFICCAST_MAP_TILES_URL and TRAFFICCAST_MAP_ATTRIBUTION; without a tiles "
    "URL the map draws its segments on a plain background (no internet needed).",
)
async def dashboard_config(runtime: Runtime = Depends(get_runtime)) -> JSON:
    s = runtime.settings
    return JSON(
        {"map": {"tiles_url": s.map_tiles_url or None, "attribution": s.map_attribution or None}}
    )


def _newest_per_segment(windows: pa.Table) -> pa.Table:
    """One row per segment: an adapter may hold a re-emitted window twice (decision 0006),
    and the newest version is the one that counts."""
    if windows.num_rows == 0:
        return windows
    segments = windows.column("segment_id").combine_chunks()
    updated = windows.column("updated_at").cast(TIMESTAMP).cast(pa.int64()).fill_null(0)
    order = pc.sort_indices(
        pa.table({"s": segments, "u": updated}),
        sort_keys=[("s", "ascending"), ("u", "descending")],
    )
    ordered = windows.take(order)
    ids = ordered.column("segment_id").combine_chunks()
    changed = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1))
    return ordered.filter(pa.concat_arrays([pa.array([True]), changed]))


def _iso(ms: int) -> str:
    """ISO 8601 UTC, with milliseconds only when there are some."""
    when = EPOCH + timedelta(milliseconds=ms)
    text = when.isoformat(timespec="milliseconds" if ms % 1000 else "seconds")
    return text.removesuffix("+00:00") + "Z"
