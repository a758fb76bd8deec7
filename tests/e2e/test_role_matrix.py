"""Every route against every role: the route table itself is the list of cases.

A route added without a role rule fails here (and create_app refuses it); a
rule that admits the wrong roles fails on the first role it gets wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from trafficcast.api.app import create_app
from trafficcast.api.authz import DOCUMENTATION_ROUTES, RoleRule, api_routes, rule_of
from trafficcast.auth import service
from trafficcast.auth.roles import Role, Tier
from trafficcast.config import Settings
from trafficcast.runtime import Runtime

PASSWORD = "matrix password 123"
IDENTITIES = ("anonymous", "viewer", "analyst", "admin", "api")
# Values for path parameters: well-formed, naming nothing that exists.
PATH_VALUES = {
    "segment_id": "no-such-segment",
    "version": "no-such-version",
    "alert_id": "no-such-alert",
    "job_id": "no-such-job",
    "rule_id": "congestion",
    "username": "no-such-user",
    "prefix": "AAAAAAAA",
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("matrix"),
        anonymous_role="",
        rate_limit_anonymous_per_hour=0,
        rate_limit_authenticated_per_hour=0,
        rate_limit_premium_per_hour=0,
    )
    runtime = Runtime(settings)
    for role in ("viewer", "analyst", "admin"):
        service.create_user(runtime.store, role, PASSWORD, Role(role))
    key, _ = service.create_key(runtime.store, "matrix", Role.API, Tier.STANDARD, "test")
    app = create_app(runtime)
    with TestClient(app) as client:
        headers: dict[str, dict[str, str]] = {"anonymous": {}, "api": {"X-API-Key": key}}
        for role in ("viewer", "analyst", "admin"):
            r = client.post("/auth/login", json={"username": role, "password": PASSWORD})
            assert r.status_code == 200, r.text
            headers[role] = {"Authorization": f"Bearer {r.json()['access_token']}"}
        yield client, {"headers": headers, "app": app}
    runtime.stop()


def concrete(path: str) -> str:
    def value(m: re.Match[str]) -> str:
        return PATH_VALUES[m.group(1)]

    return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


def test_every_route_declares_its_roles(served: tuple[TestClient, dict[str, Any]]) -> None:
    _, ctx = served
    routes = list(api_routes(ctx["app"].router.routes))
    assert len(routes) > 40
    missing = [
        r.path
        for r in routes
        if r.path not in DOCUMENTATION_ROUTES and rule_of(r.dependencies) is None
    ]
    assert missing == []


def test_a_route_without_a_rule_is_refused_at_start(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path))
    try:
        from trafficcast.api.routes import system

        @system.router.get("/api/forgotten")
        async def forgotten() -> dict[str, str]:
            return {}

        try:
            with pytest.raises(RuntimeError, match="/api/forgotten"):
                create_app(runtime)
        finally:
            system.router.routes.pop()
    finally:
        runtime.stop()


def test_each_role_against_each_route(served: tuple[TestClient, dict[str, Any]]) -> None:
    client, ctx = served
    headers: dict[str, dict[str, str]] = ctx["headers"]
    cases = 0
    wrong: list[str] = []
    routes = sorted(
        (r for r in api_routes(ctx["app"].router.routes) if r.path not in DOCUMENTATION_ROUTES),
        # Signing out ends the session the later cases use: last.
        key=lambda r: r.path == "/auth/logout",
    )
    for route in routes:
        rule = rule_of(route.dependencies)
        assert isinstance(rule, RoleRule)
        path = concrete(route.path)
        methods = sorted(route.methods - {"HEAD"}) if isinstance(route, APIRoute) else ["WS"]
        for method in methods:
            for who in IDENTITIES:
                admitted = rule.anonymous or (who != "anonymous" and Role(who) in rule.roles)
                status = call(client, method, path, headers[who])
                cases += 1
                if admitted and status in (401, 403):
                    wrong.append(f"{who} refused {status} on {method} {path}")
                if not admitted:
                    # A refused WebSocket handshake is always a 403 (close code 1008).
                    expected = 401 if who == "anonymous" and method != "WS" else 403
                    if status != expected:
                        wrong.append(f"{who} got {status} (not {expected}) on {method} {path}")
    assert wrong == []
    assert cases >= 40 * len(IDENTITIES)


def call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    if method == "WS":
        try:
            with client.websocket_connect(path, headers=headers) as ws:
                ws.close()
                return 101
        except WebSocketDisconnect as exc:
            return 403 if exc.code == 1008 else 500
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return client.request(method, path, json=body, headers=headers).status_code


def test_the_openapi_document_names_each_routes_roles(
    served: tuple[TestClient, dict[str, Any]],
) -> None:
    client, _ = served
    doc = client.get("/openapi.json").json()
    users = doc["paths"]["/api/users"]["post"]
    assert users["x-roles"] == ["admin"]
    assert {"401", "403", "429"} <= set(users["responses"])
    assert users["security"] == [{"bearer": []}, {"apiKey": []}]
    ingest = doc["paths"]["/api/traffic/events/batch"]["post"]
    assert ingest["x-roles"] == ["admin", "api"]
    health = doc["paths"]["/health"]["get"]
    assert health["x-roles"][0] == "anonymous"
    assert "security" not in health
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "apiKey"}
