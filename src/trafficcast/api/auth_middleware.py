"""Who is calling: resolve each request's credentials into a Principal, as plain ASGI.

It runs before rate limiting (which counts per principal) and routing (whose
role rules, api/authz.py, read the principal). Credentials that are presented
and bad never fall back to anonymous access: the request is marked, counted by
the limiter against the caller's address, and refused with a 401 by the role
rule every route has. A client with a mistyped key learns it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send

from trafficcast.auth.credentials import Authenticator, CredentialError
from trafficcast.auth.roles import Principal

_MAX_CREDENTIAL = 4096  # a JWT or key is far shorter; anything longer is not one


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.on_failure = on_failure  # called with the failure reason (metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        try:
            state["principal"] = self._resolve(scope)
        except CredentialError as exc:
            if self.on_failure is not None:
                self.on_failure(exc.reason)
            # Refused by the route's role rule (api/authz.py), after the rate limiter has
            # counted the request against the address: spraying tokens spends a budget.
            # The principal has no role, whatever anonymous callers may do.
            state["auth_error"] = exc.reason
            state["principal"] = Principal("anonymous", _client(scope), None)
        await self.app(scope, receive, send)

    def _resolve(self, scope: Scope) -> Principal:
        authorization = api_key = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                api_key = value
        if authorization is not None:
            scheme, _, token = _text(authorization).partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise CredentialError("Authorization must be 'Bearer <token>'")
            return self.authenticator.bearer(token.strip())
        if api_key is not None:
            return self.authenticator.api_key(_text(api_key).strip())
        if scope["type"] == "websocket":
            # Browsers cannot set headers on a WebSocket; the token comes in the query.
            tokens = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("access_token")
            if tokens:
                return self.authenticator.bearer(_bounded(tokens[0]))
        return self.authenticator.anonymous(_client(scope))


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _text(raw: bytes) -> str:
    if len(raw) > _MAX_CREDENTIAL:
        raise CredentialError("credential too long")
    return raw.decode("latin-1")


def _bounded(token: str) -> str:
    if len(token) > _MAX_CREDENTIAL:
        raise CredentialError("credential too long")
    return token
