"""Request id, request metrics and the request log, as plain ASGI middleware.

Plain ASGI (not BaseHTTPMiddleware) keeps per-request overhead to a few
microseconds, which matters at thousands of requests a second.

This is the outermost of our middleware (create_app adds it last), so what it
counts and logs includes what the auth and rate-limit layers refuse, and every
response, a 500 included, carries X-Request-ID.
"""

from __future__ import annotations

import itertools
import logging
import re
import secrets
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trafficcast.api.metrics import ApiMetrics
from trafficcast.api.responses import JSON, error_body
from trafficcast.logging_setup import request_id_var

log = logging.getLogger("trafficcast.api.request")

# A random per-process prefix and a counter: unique across processes and
# restarts, and a fraction of uuid4's cost on every request.
_ID_PREFIX = secrets.token_hex(6)
_ID_COUNTER = itertools.count(1)


def _new_request_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_COUNTER):010x}"


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Successful requests are logged at DEBUG: a JSON line costs ~10-20 us, which cut
# saturated throughput of a cached read by ~8 % in docs/observability.md's measurement,
# and /metrics counts every request by route and status anyway. 429s are DEBUG too
# (trafficcast_rate_limited_total counts them): a client flooding past its limit must
# not make each cheap refusal several times dearer. Other client errors at INFO,
# server errors at ERROR (with the traceback).
SUCCESS_LEVEL = logging.DEBUG
RATE_LIMITED_LEVEL = logging.DEBUG
CLIENT_ERROR_LEVEL = logging.INFO
SERVER_ERROR_LEVEL = logging.ERROR


def request_level(status: int) -> int:
    if status >= 500:
        return SERVER_ERROR_LEVEL
    if status == 429:
        return RATE_LIMITED_LEVEL
    if status >= 400:
        return CLIENT_ERROR_LEVEL
    return SUCCESS_LEVEL


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-request-id")
        # A client's id is kept only if harmless in logs and headers.
        rid = incoming if incoming and _CLIENT_ID.match(incoming) else _new_request_id()
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id_var.set(rid)
        if kind == "websocket":
            try:
                await self._websocket(scope, receive, send, rid)
            finally:
                request_id_var.reset(token)
            return
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            error = exc
            if response_started:
                raise  # too late for an envelope; the server closes the connection
            # Answered here rather than by Starlette's outermost error middleware, which
            # would send the 500 past this layer: without X-Request-ID, and with the
            # traceback logged twice (there and by the server).
            body = error_body("internal_error", "internal server error", rid)
            await JSON(body, status_code=500)(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "GET")
            # Label values stay bounded whatever clients send.
            method = method if method in _METHODS else "OTHER"
            self.metrics.observe_request(method, path, status, seconds)
            level = SERVER_ERROR_LEVEL if error is not None else request_level(status)
            if log.isEnabledFor(level):
                _log_request(scope, level, rid, method, path, status, seconds, error)
            request_id_var.reset(token)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send, rid: str) -> None:
        """One record when a WebSocket ends: how long it was open, or why it was refused."""
        started = time.perf_counter()
        outcome = "closed_before_accept"

        async def tracked(message: Message) -> None:
            nonlocal outcome
            kind = message["type"]
            if kind == "websocket.accept":
                outcome = "accepted"
            elif kind == "websocket.http.response.start":
                outcome = f"refused_{message.get('status', 0)}"
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            error = exc
            raise
        finally:
            if log.isEnabledFor(logging.INFO):
                path = getattr(scope.get("route"), "path", None) or "unmatched"
                log.log(
                    logging.ERROR if error is not None else logging.INFO,
                    "websocket %s %s",
                    path,
                    outcome,
                    exc_info=error,
                    extra={
                        "event": "websocket",
                        "request_id": rid,
                        "route": path,
                        "outcome": outcome,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                        "client": _client(scope),
                        **_principal(scope),
                    },
                )


def _log_request(
    scope: Scope,
    level: int,
    rid: str,
    method: str,
    route: str,
    status: int,
    seconds: float,
    error: BaseException | None,
) -> None:
    log.log(
        level,
        "%s %s %d",
        method,
        route,
        status,
        exc_info=error,
        extra={
            "event": "request",
            "request_id": rid,
            "method": method,
            "route": route,
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "client": _client(scope),
            **_principal(scope),
        },
    )


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _principal(scope: Scope) -> dict[str, Any]:
    """Who made the request, when the auth middleware resolved it (api/auth_middleware.py)."""
    state = scope.get("state")
    principal = state.get("principal") if isinstance(state, dict) else None
    if principal is None:
        return {}
    kind = getattr(principal, "kind", None)
    role = getattr(principal, "role", None)
    return {
        "principal": {
            "kind": None if kind is None else str(kind),
            "subject": getattr(principal, "subject", None),
            # Role may be an enum; its value is what a reader searches for.
            "role": None if role is None else str(getattr(role, "value", role)),
        }
    }


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return str(value.decode("latin-1"))
            except UnicodeDecodeError:
                return None
    return None


def content_length(scope: dict[str, Any]) -> int | None:
    raw = _header(scope, b"content-length")
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None
