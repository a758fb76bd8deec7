"""Per-identity rate limits as plain ASGI middleware (see middleware.py for why plain ASGI).

Every limited response carries X-RateLimit-Limit, -Remaining and -Reset
(seconds until the full budget is back); past the limit the answer is a 429 in
the error envelope with Retry-After. Exempt paths (probes and scrapes) and
classes whose limit is 0 (unlimited) are not counted and get none of these
headers: there is no budget to describe.

Order in create_app: add this middleware before CORSMiddleware and
RequestContextMiddleware (add_middleware wraps outward), so that CORS answers
preflights without spending budget and puts its headers on 429s too, and the
request id is set before a 429 is built and is sent back on it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trafficcast.api.errors import request_id
from trafficcast.api.responses import JSON, error_body
from trafficcast.auth.roles import Principal
from trafficcast.ratelimit.base import Decision, RateLimiter

ANONYMOUS = "anonymous"
AUTHENTICATED = "authenticated"
PREMIUM = "premium"

Identity = Callable[[Scope], tuple[str, str]]
"""scope -> (budget key, identity class). The seam for API-key / JWT identities."""


def client_ip(scope: Scope) -> tuple[str, str]:
    """Every caller anonymous, counted by address (an app without AuthMiddleware).

    scope["client"] is the peer; behind a proxy, uvicorn's --proxy-headers with
    --forwarded-allow-ips puts the real client there (trusting X-Forwarded-For
    from anyone would let clients pick their own budget).
    """
    client = scope.get("client")
    host = client[0] if client else "unknown"
    return f"ip:{host}", ANONYMOUS


def principal_identity(scope: Scope) -> tuple[str, str]:
    """The budget of the principal AuthMiddleware resolved: per user, per key, or per
    address for anonymous callers."""
    p: Principal | None = scope.get("state", {}).get("principal")
    if p is None:
        return client_ip(scope)
    return p.rate_key, p.rate_class


class RateLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        limiter: RateLimiter,
        limits: Mapping[str, int],
        *,
        window_s: int = 3600,
        exempt_paths: tuple[str, ...] = ("/health", "/metrics"),
        limited_prefixes: tuple[str, ...] = ("/api/", "/auth/"),
        identity: Identity = client_ip,
        default_class: str = ANONYMOUS,
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        if default_class not in limits:
            raise ValueError(f"limits must include the default class {default_class!r}")
        if any(v < 0 for v in limits.values()) or window_s <= 0:
            raise ValueError("limits must be >= 0 (0 = unlimited) and window_s > 0")
        self.app = app
        self.limiter = limiter
        self.limits = dict(limits)
        self.window_s = window_s
        self.exempt_paths = frozenset(exempt_paths)
        self.limited_prefixes = limited_prefixes
        self.identity = identity
        self.default_class = default_class
        self.on_refused = on_refused  # called with the class of each 429 (metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The page shell and its static files are not counted: a browser fetches them
        # without credentials, and a few reloads would spend an anonymous budget.
        if (
            scope["type"] != "http"
            or scope["path"] in self.exempt_paths
            or not scope["path"].startswith(self.limited_prefixes)
        ):
            await self.app(scope, receive, send)
            return
        key, cls = self.identity(scope)
        # A class nobody configured (say, one added with auth but not to the settings)
        # gets the default class's budget, never an unlimited one by accident.
        limit = self.limits.get(cls, self.limits[self.default_class])
        if limit == 0:
            await self.app(scope, receive, send)
            return
        d = await self.limiter.hit(f"{cls}:{key}", limit, self.window_s)
        headers = _headers(d)
        if not d.allowed:
            if self.on_refused is not None:
                self.on_refused(cls)
            await self._refuse(scope, receive, send, d, headers)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_limits)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        d: Decision,
        headers: list[tuple[bytes, bytes]],
    ) -> None:
        response = JSON(
            error_body(
                "rate_limited",
                f"rate limit of {d.limit} requests per {self.window_s} s exceeded; "
                f"retry in {d.retry_after_s} s",
                request_id(Request(scope)),
                {"limit": d.limit, "window_s": self.window_s, "retry_after_s": d.retry_after_s},
            ),
            status_code=429,
            headers={"Retry-After": str(d.retry_after_s)},
        )
        response.raw_headers.extend(headers)
        await response(scope, receive, send)


def _headers(d: Decision) -> list[tuple[bytes, bytes]]:
    return [
        (b"x-ratelimit-limit", str(d.limit).encode()),
        (b"x-ratelimit-remaining", str(d.remaining).encode()),
        (b"x-ratelimit-reset", str(d.reset_s).encode()),
    ]
