"""Segments (the road catalog), their window history, and the current traffic picture."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.api.authz import allow
from trafficcast.api.deps import cached_json, get_runtime, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import (
    ERROR_RESPONSES,
    CurrentTraffic,
    SegmentDetail,
    SegmentList,
    WindowHistory,
)
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import READERS
from trafficcast.domain.level_of_service import level_of_service
from trafficcast.encoding import arrow_rows
from trafficcast.runtime import Runtime

router = APIRouter(tags=["segments"])
SegmentId = Annotated[str, Path(min_length=1, max_length=128)]


def segment_rows(table: pa.Table) -> list[dict[str, Any]]:
    rows = arrow_rows(table)
    for row in rows:
        geometry = row.get("geometry")
        # Stored as JSON text; passed through without re-parsing.
        row["geometry"] = orjson.Fragment(geometry) if geometry else None
    return rows


@router.get(
    "/api/segments",
    dependencies=[allow(READERS)],
    response_model=SegmentList,
    summary="Every segment with its geometry",
)
async def list_segments(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    async def build() -> dict[str, Any]:
        table = await run_in_threadpool(runtime.store.segments)
        return {"segments": segment_rows(table), "total": table.num_rows}

    return await cached_json(request, "segments", runtime.processor.versions.segments, build)


@router.get(
    "/api/segments/{segment_id}",
    dependencies=[allow(READERS)],
    response_model=SegmentDetail,
    responses=ERROR_RESPONSES,
    summary="One segment with its upstream and downstream neighbours",
)
async def get_segment(segment_id: SegmentId, runtime: Runtime = Depends(get_runtime)) -> JSON:
    def load() -> tuple[pa.Table, pa.Table]:
        return runtime.store.segment(segment_id), runtime.store.links()

    table, links = await run_in_threadpool(load)
    if table.num_rows == 0:
        raise ApiError(
            404,
            f"unknown segment {segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )
    row = segment_rows(table)[0]
    frm, to = links.column("from_segment"), links.column("to_segment")
    row["upstream"] = frm.filter(pc.equal(to, segment_id)).to_pylist()
    row["downstream"] = to.filter(pc.equal(frm, segment_id)).to_pylist()
    return JSON(row)


@router.get(
    "/api/segments/{segment_id}/history",
    dependencies=[allow(READERS)],
    response_model=WindowHistory,
    responses=ERROR_RESPONSES,
    summary="Closed windows of one segment, oldest first",
)
async def segment_history(
    segment_id: SegmentId,
    runtime: Runtime = Depends(get_runtime),
    window_minutes: Annotated[int, Query(ge=1, le=60)] = 5,
    start_time: IsoDateTime | None = None,
    end_time: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 288,
) -> JSON:
    if window_minutes not in runtime.settings.window_minutes:
        sizes = ", ".join(str(m) for m in runtime.settings.window_minutes)
        raise ApiError(
            422,
            f"window_minutes must be one of {sizes}",
            details=[{"field": "window_minutes", "reason": f"not one of {sizes}"}],
        )
    if not runtime.catalog.is_known(segment_id):
        raise ApiError(
            404,
            f"unknown segment {segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )
    table = await run_in_threadpool(
        runtime.store.window_history,
        segment_id,
        window_minutes,
        to_ms(start_time),
        to_ms(end_time),
        limit,
    )
    rows = arrow_rows(table.drop_columns(["segment_id", "window_minutes", "updated_at"]))
    return JSON({"segment_id": segment_id, "window_minutes": window_minutes, "windows": rows})


@router.get(
    "/api/traffic/current",
    dependencies=[allow(READERS)],
    response_model=CurrentTraffic,
    tags=["traffic"],
    summary="The newest reading of every segment",
)
async def current_traffic(request: Request, runtime: Runtime = Depends(get_runtime)) -> Response:
    async def build() -> dict[str, Any]:
        table = await run_in_threadpool(runtime.store.latest_readings)
        idx = runtime.catalog.lookup(table.column("segment_id"))
        speed = np.asarray(table.column("speed").to_numpy(zero_copy_only=False), dtype=float)
        los = level_of_service(speed, runtime.catalog.free_flow[idx])
        table = table.drop_columns(["source"]).append_column("level_of_service", pa.array(los))
        return {"segments": arrow_rows(table)}

    return await cached_json(request, "current", runtime.processor.versions.events, build)
