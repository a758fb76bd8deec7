"""The FastAPI application: routes, error envelope, metrics, live hub and the web page."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from prometheus_client import CollectorRegistry
from pydantic.json_schema import models_json_schema
from starlette.responses import FileResponse, HTMLResponse
from starlette.staticfiles import StaticFiles

from trafficcast import __version__
from trafficcast.api.auth_middleware import AuthMiddleware
from trafficcast.api.authz import allow, unruled
from trafficcast.api.cache import ResponseCache
from trafficcast.api.errors import install_error_handlers
from trafficcast.api.http_protocol import LimitedHttpToolsProtocol
from trafficcast.api.metrics import ApiMetrics, PipelineCollector
from trafficcast.api.middleware import RequestContextMiddleware
from trafficcast.api.models import EventBatchIn, EventIn
from trafficcast.api.openapi_security import document_security
from trafficcast.api.rate_limit import RateLimitMiddleware, principal_identity
from trafficcast.api.routes import (
    accounts,
    accuracy,
    alerts,
    analytics,
    analytics_trend,
    auth,
    events,
    forecast_settings,
    live,
    models,
    predictions,
    quality,
    reports,
    segment_forecasts,
    segments,
    system,
    system_stats,
    traffic_layers,
    training,
)
from trafficcast.api.security_headers import SecurityHeadersMiddleware
from trafficcast.api.system_monitor import SystemMonitor
from trafficcast.api.throughput import ThroughputSampler
from trafficcast.auth import service as accounts_service
from trafficcast.auth.credentials import Authenticator
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import EVERYONE, Role
from trafficcast.auth.tokens import TokenIssuer
from trafficcast.ratelimit import make_limiter
from trafficcast.runtime import Runtime

# TRAFFICCAST_WEB_DIR serves another build of the dashboard (development only).
WEB_DIR = Path(
    os.environ.get("TRAFFICCAST_WEB_DIR") or Path(__file__).resolve().parent.parent / "web"
)

_NO_WEB = """<!doctype html><html><head><meta charset="utf-8"><title>trafficcast</title>
<link rel="icon" href="data:,"></head><body><h1>trafficcast API</h1>
<p>The web page is not built. Run <code>scripts/demo.sh</code> (or
<code>npm ci && npm run build</code> in <code>web/</code>).
The API is live: see <a href="/docs">/docs</a>.</p></body></html>"""


def create_app(runtime: Runtime, *, manage_runtime: bool = True) -> FastAPI:
    """Build the app around a runtime; with manage_runtime it starts and stops with the app."""
    s = runtime.settings
    # One budget per client across every API process when Redis is configured.
    limiter = make_limiter(s.redis_url or None)
    throughput = ThroughputSampler(lambda: system_stats.event_counter(runtime))
    directory = AccountDirectory(runtime.store)
    directory.reload()
    issuer = TokenIssuer(
        accounts_service.token_secret(runtime.store, s.jwt_secret),
        s.access_token_minutes * 60,
        s.refresh_token_hours * 3600,
    )
    authenticator = Authenticator(
        directory, issuer, Role(s.anonymous_role) if s.anonymous_role else None
    )

    async def refresh_accounts() -> None:
        while True:
            await asyncio.sleep(s.accounts_refresh_s)
            await asyncio.to_thread(directory.try_reload)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.hub.bind(asyncio.get_running_loop())
        if manage_runtime:
            runtime.start()
        sampling = asyncio.create_task(throughput.run())
        refreshing = asyncio.create_task(refresh_accounts())
        monitoring = asyncio.create_task(SystemMonitor(runtime, s.system_check_s).run())
        try:
            yield
        finally:
            sampling.cancel()
            refreshing.cancel()
            monitoring.cancel()
            if manage_runtime:
                runtime.stop()
            await limiter.aclose()

    app = FastAPI(
        title="trafficcast",
        version=__version__,
        description="Live road-sensor ingest, per-segment windows, forecasts and alerts.",
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    registry = CollectorRegistry()
    metrics = ApiMetrics(registry)
    registry.register(PipelineCollector(runtime, metrics))
    app.state.metrics = metrics
    app.state.cache = ResponseCache()
    app.state.throughput = throughput
    app.state.accounts = directory
    app.state.tokens = issuer
    app.state.authenticator = authenticator
    install_error_handlers(app)
    for module in (
        auth,
        accounts,
        events,
        segments,
        segment_forecasts,
        predictions,
        accuracy,
        training,  # before models: /api/models/jobs is not a version
        models,
        forecast_settings,
        analytics,
        analytics_trend,
        quality,
        reports,
        alerts,
        system,
        system_stats,
        traffic_layers,
        live,
    ):
        app.include_router(module.router)
    app.state.limiter = limiter
    # Added before CORS and the request context: preflights spend no budget, and a 429
    # carries the request id.
    app.add_middleware(
        RateLimitMiddleware,
        limiter=limiter,
        limits={
            "anonymous": s.rate_limit_anonymous_per_hour,
            "authenticated": s.rate_limit_authenticated_per_hour,
            "premium": s.rate_limit_premium_per_hour,
        },
        exempt_paths=s.rate_limit_exempt_paths,
        identity=principal_identity,
        on_refused=metrics.rate_limited,
    )
    # Outside the limiter, which counts per principal.
    app.add_middleware(AuthMiddleware, authenticator=authenticator, on_failure=metrics.auth_failed)
    if runtime.settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(runtime.settings.cors_origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Content-Type", "Authorization", "X-API-Key", "X-Request-ID"],
            # Readable by the calling page's script, not only by the browser.
            expose_headers=[
                "X-Request-ID",
                "X-RateLimit-Limit",
                "X-RateLimit-Remaining",
                "X-RateLimit-Reset",
                "Retry-After",
            ],
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    # Outermost: preflights, 429s and 404s carry the headers too.
    app.add_middleware(SecurityHeadersMiddleware, map_tiles_url=s.map_tiles_url)
    _document_raw_bodies(app)
    if (WEB_DIR / "index.html").exists():
        _serve_dashboard_pages(app)
        app.mount("/", StaticFiles(directory=WEB_DIR, html=True), name="web")
    else:

        @app.get("/", include_in_schema=False, dependencies=[allow(EVERYONE)])
        async def no_web() -> HTMLResponse:
            return HTMLResponse(_NO_WEB)

    if missing := unruled(app.router.routes):
        raise RuntimeError(f"routes without a role rule (api/authz.py): {missing}")
    return app


# The dashboard's client-side routes (web/src/routes.tsx): a reload or a shared
# link on one of them gets the page shell; anything else unknown stays a 404.
DASHBOARD_PAGES = (
    "/map",
    "/analytics",
    "/predictions",
    "/alerts",
    "/quality",
    "/reports",
    "/settings",
    "/segments/{segment_id}",
)


def _serve_dashboard_pages(app: FastAPI) -> None:
    async def page() -> FileResponse:
        return FileResponse(WEB_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    for path in DASHBOARD_PAGES:
        # The shell is public; the data it loads is not.
        app.add_api_route(
            path, page, methods=["GET"], include_in_schema=False, dependencies=[allow(EVERYONE)]
        )


def _document_raw_bodies(app: FastAPI) -> None:
    """Ingest routes read raw bytes for speed: publish their body schemas anyway; and
    each route's roles, credentials and auth errors."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        _, defs = models_json_schema(
            [(EventIn, "validation"), (EventBatchIn, "validation")],
            ref_template="#/components/schemas/{model}",
        )
        schema.setdefault("components", {}).setdefault("schemas", {}).update(defs.get("$defs", {}))
        document_security(schema, app.routes)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def server_config(runtime: Runtime, host: str, port: int, log_level: str) -> uvicorn.Config:
    """How every trafficcast API process is served."""
    return uvicorn.Config(
        create_app(runtime),
        host=host,
        port=port,
        log_level=log_level,
        access_log=False,  # requests are counted in /metrics; a log line each is too costly
        log_config=None,  # uvicorn's records go through our JSON handler (logging_setup.py)
        # httptools with bounded URL and headers, refused in the error envelope.
        http=LimitedHttpToolsProtocol,
        ws="websockets-sansio",
        # Oversized WebSocket commands are refused (1009) before they are buffered whole.
        ws_max_size=runtime.settings.ws_max_message_bytes,
        # Compressing each small message costs more CPU than it saves bandwidth.
        ws_per_message_deflate=False,
    )
