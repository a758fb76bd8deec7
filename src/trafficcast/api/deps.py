"""Shared request helpers: the runtime, bounded body reads, time parameters."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, date, datetime
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response

from trafficcast.api.cache import ResponseCache
from trafficcast.api.errors import ApiError
from trafficcast.api.middleware import content_length
from trafficcast.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: a plain def dependency would cost a threadpool hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


async def read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) past `limit` bytes without reading it all."""
    declared = content_length(dict(request.scope))
    if declared is not None and declared > limit:
        raise ApiError(413, f"request body of {declared} bytes exceeds the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_body(request: Request, limit: int) -> bytes:
    """A non-empty request body of at most `limit` bytes."""
    body = await read_limited(request, limit)
    if not body.strip():
        raise ApiError(
            400, "request body is empty; send JSON", details=[{"field": "body", "reason": "empty"}]
        )
    return body


async def cached_json(
    request: Request, key: Hashable, version: int, build: Callable[[], Awaitable[Any]]
) -> Response:
    """Serve the encoded body built for this data version, building it on a miss."""
    cache: ResponseCache = request.app.state.cache
    body = cache.get(key, version)
    if body is None:
        body = orjson.dumps(await build(), option=orjson.OPT_SERIALIZE_NUMPY)
        cache.put(key, version, body)
    return Response(body, media_type="application/json")


def to_ms(value: datetime | date | None) -> int | None:
    """Epoch ms; a time without a zone is taken as UTC, a date as its UTC midnight."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day, tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)
