"""Traffic events: ingest one or a batch, and read them back with filters and paging."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.api.authz import allow
from trafficcast.api.deps import cached_json, get_runtime, read_body, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES, EventPage, IngestResult
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import INGESTERS, READERS
from trafficcast.bus.base import BusFull
from trafficcast.domain.event_json import (
    MalformedBody,
    TooManyEvents,
    decode_batch,
    decode_ndjson,
    decode_one,
)
from trafficcast.domain.events import Rejection, ValidatedBatch
from trafficcast.encoding import arrow_columns
from trafficcast.runtime import Runtime
from trafficcast.store.base import EventQuery

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/traffic", tags=["traffic"])
_INLINE_DECODE_BYTES = 64 * 1024  # bigger bodies are decoded off the event loop
NDJSON_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/ndjson"})


def _event_body(ref: str, ndjson: bool = False) -> dict[str, Any]:
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}
    }
    if ndjson:
        content["application/x-ndjson"] = {
            "schema": {"type": "string", "description": "one EventIn object per line"}
        }
    return {"requestBody": {"required": True, "content": content}}


def _strict_segments(runtime: Runtime, batch: ValidatedBatch) -> ValidatedBatch:
    """Without auto-registration, events for unknown segments are rejected per row."""
    if runtime.settings.auto_register_segments or batch.events.num_rows == 0:
        return batch
    known = runtime.catalog.known_mask(batch.events.column("segment_id").combine_chunks())
    if known.all():
        return batch
    unknown = np.flatnonzero(~known)
    extra = [
        Rejection(int(batch.accepted_index[i]), "segment_id", "unknown segment") for i in unknown
    ]
    return ValidatedBatch(
        batch.events.filter(pa.array(known)),
        sorted(batch.rejections + extra, key=lambda r: r.index),
        batch.accepted_index[known],
    )


def _result(batch: ValidatedBatch) -> dict[str, Any]:
    return {
        "accepted": batch.events.num_rows,
        "rejected": [r.as_dict() for r in batch.rejections],
        "event_ids": batch.events.column("event_id").to_pylist(),
    }


def _log_ingest(batch: ValidatedBatch, level: int, refused: bool = False) -> None:
    """One record per ingest request (request_id added by logging_setup); DEBUG when every
    event was accepted, since at high request rates a line each is costly."""
    if log.isEnabledFor(level):
        log.log(
            level,
            "ingest: %d accepted, %d rejected%s",
            0 if refused else batch.events.num_rows,
            batch.rejected_rows,
            ", refused: the bus is full" if refused else "",
            extra={
                "event": "ingest",
                "accepted": 0 if refused else batch.events.num_rows,
                "rejected": batch.rejected_rows,
                "refused": batch.events.num_rows if refused else 0,
                # Which fields failed (bounded by the event schema), not every row's reason.
                "rejected_fields": sorted({r.field for r in batch.rejections}),
            },
        )


async def _ingest(runtime: Runtime, batch: ValidatedBatch) -> JSON:
    batch = _strict_segments(runtime, batch)
    if batch.events.num_rows == 0:
        _log_ingest(batch, logging.INFO)
        runtime.ingest_stats.rejected += batch.rejected_rows
        first = batch.rejections[0] if batch.rejections else None
        message = (
            f"no valid events: row {first.index} {first.field}: {first.reason}"
            if first
            else "no events in the request"
        )
        raise ApiError(422, message, details=[r.as_dict() for r in batch.rejections])
    try:
        await run_in_threadpool(runtime.ingest, batch)
    except BusFull:
        _log_ingest(batch, logging.WARNING, refused=True)
        raise
    _log_ingest(batch, logging.INFO if batch.rejected_rows else logging.DEBUG)
    return JSON(_result(batch), status_code=201)


@router.post(
    "/events",
    dependencies=[allow(INGESTERS)],
    status_code=201,
    response_model=IngestResult,
    responses=ERROR_RESPONSES,
    openapi_extra=_event_body("EventIn"),
    summary="Ingest one event",
)
async def post_event(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSON:
    body = await read_body(request, runtime.settings.max_body_bytes)
    try:
        batch = decode_one(body, now_ms=int(time.time() * 1000), limits=runtime.limits)
    except MalformedBody as exc:
        raise ApiError(400, str(exc), details=[{"field": exc.field, "reason": str(exc)}]) from exc
    return await _ingest(runtime, batch)


@router.post(
    "/events/batch",
    dependencies=[allow(INGESTERS)],
    status_code=201,
    response_model=IngestResult,
    responses=ERROR_RESPONSES,
    openapi_extra=_event_body("EventBatchIn", ndjson=True),
    summary="Ingest a batch of events; good rows are accepted, bad rows listed with reasons",
    description='`{"events": [...]}` as application/json, or one event object per line as '
    "application/x-ndjson.",
)
async def post_batch(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSON:
    s = runtime.settings
    body = await read_body(request, s.max_body_bytes)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    decoder = decode_ndjson if content_type in NDJSON_TYPES else decode_batch

    def decode() -> ValidatedBatch:
        return decoder(
            body,
            now_ms=int(time.time() * 1000),
            limits=runtime.limits,
            max_events=s.max_batch_events,
        )

    try:
        batch = decode() if len(body) <= _INLINE_DECODE_BYTES else await run_in_threadpool(decode)
    except MalformedBody as exc:
        status = 413 if isinstance(exc, TooManyEvents) else 400
        raise ApiError(
            status, str(exc), details=[{"field": exc.field, "reason": str(exc)}]
        ) from exc
    return await _ingest(runtime, batch)


@router.get(
    "/events",
    dependencies=[allow(READERS)],
    response_model=EventPage,
    responses=ERROR_RESPONSES,
    summary="Stored events, filtered and paged",
)
async def get_events(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    segment_id: Annotated[str | None, Query(max_length=128)] = None,
    start_time: Annotated[IsoDateTime | None, Query(description="inclusive, ISO 8601")] = None,
    end_time: Annotated[IsoDateTime | None, Query(description="exclusive, ISO 8601")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    start, end = to_ms(start_time), to_ms(end_time)
    if start is not None and end is not None and end < start:
        raise ApiError(
            422,
            "end_time is before start_time",
            details=[{"field": "end_time", "reason": "before start_time"}],
        )
    query = EventQuery(segment_id, start, end, limit, (page - 1) * limit)

    async def build() -> dict[str, Any]:
        table, total = await run_in_threadpool(runtime.store.query_events, query)
        cols = arrow_columns(table)
        lat, lon = cols.pop("latitude"), cols.pop("longitude")
        names = list(cols)
        events = []
        for row, la, lo in zip(zip(*cols.values(), strict=True), lat, lon, strict=True):
            event = dict(zip(names, row, strict=True))
            event["coordinates"] = None if la is None else {"latitude": la, "longitude": lo}
            events.append(event)
        return {"events": events, "total": total, "page": page, "page_size": limit}

    return await cached_json(request, ("events", query), runtime.processor.versions.events, build)
