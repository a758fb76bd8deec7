"""Health and Prometheus metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.health_models import HEALTH_RULES, HealthReport
from trafficcast.api.responses import JSON
from trafficcast.auth.roles import EVERYONE
from trafficcast.bus.kafka import KafkaBus
from trafficcast.forecast.blend import MODEL_VERSION as BLEND_VERSION
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime

router = APIRouter(tags=["system"])
# Checks whose failure makes the process unable to do its job (503); any other check
# that is not healthy makes it degraded (rules: api/health_models.py HEALTH_RULES).
CRITICAL = frozenset({"database", "stream_processor", "consumers", "live_fanout"})
STALL_SECONDS = 60.0  # a busy bus with no batch processed for this long is a stall
# Recent live error this many times its long-run level is listed as rising.
MAE_RISE_RATIO = 1.5


def _database(runtime: Runtime) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        runtime.store.ping()
    except Exception as exc:
        return {"status": "unhealthy", "error": str(exc)}
    return {"status": "healthy", "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _live_mae(runtime: Runtime) -> dict[str, float | None]:
    scorer = runtime.processor.scorer
    return {
        str(h): (None if v != v else round(v, 3))
        for h, v in zip(scorer.horizons_min.tolist(), scorer.speed_mae.tolist(), strict=True)
    }


def _redis(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """Redis holds the shared rate limits when configured."""
    url = runtime.settings.redis_url
    if not url:
        return {}
    import redis

    started = time.perf_counter()
    try:
        with redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0) as client:
            client.ping()
    except redis.RedisError as exc:
        # Rate limits fail open without Redis, so the API still serves: degraded, not down.
        return {"redis": {"status": "degraded", "error": str(exc)}}
    return {
        "redis": {
            "status": "healthy",
            "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        }
    }


def _model(runtime: Runtime, mae: dict[str, float | None]) -> dict[str, Any]:
    live = runtime.processor.model
    trend = runtime.processor.scorer.trend()
    # Error rises every rush hour, so a rise alone does not make the model unhealthy; it is
    # reported here and in /metrics for alert rules that know the time of day.
    rising = [h for h, r in trend.items() if r is not None and r > MAE_RISE_RATIO]
    status = "degraded" if runtime.model_error is not None else "healthy"
    return {
        "status": status,
        "model_version": live.version if live is not None else BLEND_VERSION,
        "model_kind": live.model.kind if live is not None else "blend",
        **({"error": runtime.model_error} if runtime.model_error else {}),
        "segments_forecast": int((runtime.processor.forecaster.last_end_ms > 0).sum()),
        "live_mae_mph": mae,
        "mae_trend": {str(h): r for h, r in trend.items()},
        "mae_rising_horizons": rising,
    }


def _consumers(runtime: Runtime) -> dict[str, Any]:
    """The processors' consumer group, seen from Kafka: lag per partition."""
    assert runtime.lag_probe is not None
    try:
        lag = runtime.lag_probe.lag()
    except Exception as exc:
        return {"status": "unhealthy", "error": f"cannot reach Kafka: {exc}"}
    total = sum(lag.values())
    return {
        "status": "degraded" if total > runtime.settings.max_consumer_lag_events else "healthy",
        "group": runtime.settings.consumer_group,
        "lag_records": total,
        "lag_by_partition": {str(p): n for p, n in sorted(lag.items())},
    }


def _scaled_out(runtime: Runtime) -> dict[str, dict[str, Any]]:
    """An API process in front of Kafka: its own parts, and the processors' progress."""
    fanout = runtime.fanout
    assert fanout is not None
    bus = runtime.bus
    assert isinstance(bus, KafkaBus)
    return {
        "bus": {
            "status": "healthy",
            "kind": "kafka",
            "unacknowledged_records": bus.depth,
            "dead_letters": bus.dead_letters,
            **({"last_error": bus.last_error} if bus.last_error else {}),
        },
        "consumers": _consumers(runtime),
        "live_fanout": {
            "status": "healthy" if fanout.alive else "unhealthy",
            "group": fanout.group,
            "updates_received": fanout.received,
            **({"last_error": fanout.last_error} if fanout.last_error else {}),
        },
    }


def checks(runtime: Runtime) -> dict[str, dict[str, Any]]:
    if runtime.role == "api":
        return {
            "database": _database(runtime),
            **_scaled_out(runtime),
            "model": _model(runtime, _live_mae(runtime)),
            **_redis(runtime),
        }
    proc, bus = runtime.processor, runtime.bus
    stats = proc.stats
    fill = bus.depth / bus.capacity
    since_batch = time.time() - stats.last_batch_at if stats.last_batch_at else None
    stalled = bus.depth > 0 and since_batch is not None and since_batch > STALL_SECONDS
    if not proc.alive:
        proc_status = "unhealthy"
    elif stalled or (proc.failure is not None and stats.errors and since_batch is None):
        proc_status = "degraded"
    else:
        proc_status = "healthy"
    wm = proc.watermark_ms
    mae = _live_mae(runtime)
    feeds = {
        f.name: {
            "status": "unhealthy" if f.failure else "healthy",
            "running": f.alive,
            "events_sent": f.sent_events,
            **({"error": str(f.failure)} if f.failure else {}),
        }
        for f in runtime.feeds
    }
    result: dict[str, dict[str, Any]] = {
        "database": _database(runtime),
        "bus": {
            "status": "degraded" if fill > 0.8 else "healthy",
            "depth_events": bus.depth,
            "capacity_events": bus.capacity,
        },
        "stream_processor": {
            "status": proc_status,
            "running": proc.alive,
            "lag_events": bus.depth,
            "seconds_since_last_batch": None if since_batch is None else round(since_batch, 3),
            "watermark": iso(wm) if wm > 0 else None,
            "open_windows": sum(w.open_windows for w in proc.windows.values()),
            "errors": stats.errors,
            **({"last_error": str(proc.failure)} if proc.failure else {}),
        },
        "model": _model(runtime, mae),
        **_redis(runtime),
    }
    result.update({f"feed:{k}": v for k, v in feeds.items()})
    return result


def overall_status(result: dict[str, dict[str, Any]]) -> str:
    """Mark each check critical or not, and fold them into the overall status."""
    for name, check in result.items():
        check["critical"] = name in CRITICAL
    if any(c["critical"] and c["status"] == "unhealthy" for c in result.values()):
        return "unhealthy"
    if any(c["status"] != "healthy" for c in result.values()):
        return "degraded"
    return "healthy"


@router.get(
    "/health",
    dependencies=[allow(EVERYONE)],
    response_model=HealthReport,
    responses={503: {"model": HealthReport, "description": "A critical component is unhealthy"}},
    summary="Overall and per-component health",
    description=HEALTH_RULES,
)
async def health(runtime: Runtime = Depends(get_runtime)) -> JSON:
    result = await run_in_threadpool(checks, runtime)
    overall = overall_status(result)
    body = {
        "status": overall,
        "timestamp": iso(int(time.time() * 1000)),
        "version": runtime.version,
        "checks": result,
    }
    return JSON(body, status_code=503 if overall == "unhealthy" else 200)


@router.get(
    "/metrics",
    dependencies=[allow(EVERYONE)],
    include_in_schema=True,
    response_class=Response,
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
