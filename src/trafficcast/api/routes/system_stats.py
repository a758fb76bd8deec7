"""Live figures of the running system, for the dashboard's overview and analytics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.responses import JSON
from trafficcast.api.system_stats_models import SystemStats
from trafficcast.api.throughput import ThroughputSampler
from trafficcast.auth.roles import READERS
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/system", tags=["system"])
# Counting more open alerts than this is not worth the scan; the figure is capped.
MAX_COUNTED_ALERTS = 100_000


def event_counter(runtime: Runtime) -> int:
    """What the sampler charts: events accepted onto the bus (any source) by this process."""
    return int(runtime.bus.published_events)


def _open_alerts(runtime: Runtime) -> int:
    return int(runtime.store.alerts("open", MAX_COUNTED_ALERTS).num_rows)


@router.get(
    "/stats",
    dependencies=[allow(READERS)],
    response_model=SystemStats,
    summary="Throughput, pipeline counters and connections of this process",
    description="Events per second over the last minute and, sampled every 10 s, over the "
    "last 15 minutes; running totals since the process started; open alerts; WebSocket "
    "clients. Scaled out, an API process reports the events it put onto Kafka and no "
    "pipeline counters (those live in the stream processors' /metrics).",
)
async def system_stats(request: Request, runtime: Runtime = Depends(get_runtime)) -> JSON:
    sampler: ThroughputSampler = request.app.state.throughput
    alerts_open = await run_in_threadpool(_open_alerts, runtime)
    pipeline = runtime.role == "all"
    stats = runtime.processor.stats
    now = time.time()
    body: dict[str, Any] = {
        "timestamp": iso(int(now * 1000)),
        "role": runtime.role,
        "uptime_seconds": round(max(0.0, now - runtime.started_at), 3),
        "events_per_second": round(sampler.rate(), 3),
        "events_total": event_counter(runtime),
        "late_events_total": stats.late if pipeline else None,
        "windows_total": stats.windows_emitted if pipeline else None,
        "predictions_total": stats.predictions if pipeline else None,
        "alerts_open": alerts_open,
        "websocket_clients": runtime.hub.connections,
        "history": [
            {"time": iso(int(p.wall_s * 1000)), "events_per_second": round(p.per_second, 3)}
            for p in sampler.history()
        ],
    }
    return JSON(body)
