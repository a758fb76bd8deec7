"""Alerts raised by the pipeline (the alert engine itself grows in its own issue)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from trafficcast.api.deps import get_runtime
from trafficcast.api.models import AlertList
from trafficcast.api.responses import JSON
from trafficcast.encoding import arrow_rows
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/alerts", tags=["alerts"])


@router.get("", response_model=AlertList, summary="Alerts, newest first")
async def list_alerts(
    runtime: Runtime = Depends(get_runtime),
    state: Literal["open", "acknowledged", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> JSON:
    table = await run_in_threadpool(runtime.store.alerts, state, limit)
    return JSON({"alerts": arrow_rows(table)})
