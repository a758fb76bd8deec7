"""Put each route's role rule, credentials, and the auth, limit and transport errors every
route can answer, into the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from starlette.routing import BaseRoute

from trafficcast.api.authz import api_routes, rule_of

_ENVELOPE = {"$ref": "#/components/schemas/ErrorEnvelope"}
SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}
_LIMITED = ("/api/", "/auth/")


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ENVELOPE}}}


def document_security(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> None:
    schema.setdefault("components", {})["securitySchemes"] = SCHEMES
    paths = schema.get("paths", {})
    for route in api_routes(routes):
        rule = rule_of(route.dependencies)
        item = paths.get(route.path)
        if rule is None or item is None:
            continue
        for method in getattr(route, "methods", ()) or ():
            op = item.get(method.lower())
            if op is None:
                continue
            roles = sorted(str(r) for r in rule.roles if r is not None)
            op["x-roles"] = ["anonymous", *roles] if rule.anonymous else roles
            responses = op.setdefault("responses", {})
            # The HTTP layer refuses oversized requests on every route (api/http_protocol.py).
            responses.setdefault("414", _error("URL longer than the server accepts"))
            responses.setdefault("431", _error("Request headers too large or too many"))
            # Bad credentials are refused on every route, public ones included.
            responses.setdefault("401", _error("Missing, invalid, expired or revoked credentials"))
            if route.path.startswith(_LIMITED):
                responses.setdefault("429", _error("Rate limit exceeded; see Retry-After"))
            if not rule.anonymous:
                op["security"] = [{"bearer": []}, {"apiKey": []}]
                responses.setdefault("403", _error(f"Allowed roles: {', '.join(roles)}"))
