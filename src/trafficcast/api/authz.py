"""Role rules: every route declares the roles it admits (`dependencies=[allow(READERS)]`).

tests/e2e/test_role_matrix.py walks the route table, fails on a route without
a rule, and checks every role against every route. create_app also refuses to
build an app with an unruled route, so a forgotten rule fails closed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import Depends, WebSocketException
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, APIWebSocketRoute
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from trafficcast.api.errors import ApiError
from trafficcast.auth.roles import Principal, Role


class RoleRule:
    def __init__(self, roles: Iterable[Role | None]) -> None:
        self.roles = frozenset(roles)
        self.anonymous = None in self.roles

    # async: a plain def would cost a thread-pool hop on every request (no I/O here).
    async def __call__(self, conn: HTTPConnection) -> Principal:
        state = conn.scope.get("state", {})
        p: Principal | None = state.get("principal")
        if p is None:  # no auth middleware in front: refuse rather than guess
            raise ApiError(401, "authentication required")
        error = state.get("auth_error")
        if error is not None:  # bad credentials: refused on public routes too
            if conn.scope["type"] == "websocket":
                raise WebSocketException(1008, f"not authenticated: {error}"[:120])
            raise ApiError(
                401,
                f"not authenticated: {error}",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        if self.anonymous or p.role in self.roles:
            return p
        if conn.scope["type"] == "websocket":
            # Refused before accepting: the client's handshake fails with HTTP 403.
            raise WebSocketException(1008, f"role {p.role} may not open this stream")
        if p.role is None:
            raise ApiError(
                401,
                "authentication required: sign in (POST /auth/login) or send X-API-Key",
                headers={"WWW-Authenticate": "Bearer"},
            )
        needed = ", ".join(sorted(str(r) for r in self.roles if r is not None))
        raise ApiError(
            403,
            f"role {p.role} may not do this; it needs one of: {needed}",
            details={"role": str(p.role), "allowed_roles": needed.split(", ")},
        )


def allow(roles: Iterable[Role | None]) -> DependsParam:
    """The dependency a route lists to admit `roles` (None = anonymous callers too)."""
    rule: DependsParam = Depends(RoleRule(roles))
    return rule


def rule_of(dependencies: Iterable[DependsParam]) -> RoleRule | None:
    for d in dependencies:
        if isinstance(d.dependency, RoleRule):
            return d.dependency
    return None


def principal_of(conn: HTTPConnection) -> Principal | None:
    p: Principal | None = conn.scope.get("state", {}).get("principal")
    return p


# FastAPI's own documentation routes: public by design, and not ours to annotate.
DOCUMENTATION_ROUTES = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute | APIWebSocketRoute]:
    """Every endpoint of the app, through included routers."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from api_routes(inner.routes)
        elif isinstance(route, APIRoute | APIWebSocketRoute):
            yield route


def unruled(routes: Iterable[BaseRoute]) -> list[str]:
    """The endpoints that declare no role rule."""
    return [
        r.path
        for r in api_routes(routes)
        if r.path not in DOCUMENTATION_ROUTES and rule_of(r.dependencies) is None
    ]
