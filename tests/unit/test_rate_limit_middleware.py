"""The rate-limit middleware, wired the way create_app wires it (inside the request context)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator, Mapping

import pytest
from fastapi import FastAPI, WebSocket
from fastapi.testclient import TestClient
from prometheus_client import CollectorRegistry
from starlette.types import Scope

from trafficcast.api.errors import ApiError, install_error_handlers
from trafficcast.api.metrics import ApiMetrics
from trafficcast.api.middleware import RequestContextMiddleware
from trafficcast.api.rate_limit import RateLimitMiddleware, client_ip
from trafficcast.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

LIMITS = {"anonymous": 3, "authenticated": 5, "premium": 0}


def by_header(scope: Scope) -> tuple[str, str]:
    """Stands in for authentication: the client names its key and class."""
    headers = dict(scope["headers"])
    who = headers.get(b"x-test-client")
    if who is None:
        return client_ip(scope)
    return who.decode(), headers.get(b"x-test-class", b"anonymous").decode()


def build_app(
    limiter: RateLimiter,
    limits: Mapping[str, int] = LIMITS,
    exempt_paths: tuple[str, ...] = ("/health", "/metrics"),
) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/api/thing")
    async def thing() -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/api/broken")
    async def broken() -> None:
        raise ApiError(409, "conflicting")

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "healthy"}

    @app.get("/metrics")
    async def metrics() -> str:
        return ""

    @app.websocket("/ws/traffic")
    async def ws(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("hello")
        await socket.close()

    # The order create_app uses: the limiter inside the request context.
    app.add_middleware(
        RateLimitMiddleware,
        limiter=limiter,
        limits=limits,
        exempt_paths=exempt_paths,
        identity=by_header,
    )
    app.add_middleware(RequestContextMiddleware, metrics=ApiMetrics(CollectorRegistry()))
    return app


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(build_app(MemoryRateLimiter())) as c:
        yield c


def test_every_response_carries_the_headers(client: TestClient) -> None:
    ok = client.get("/api/thing")
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-limit"] == "3"
    assert ok.headers["x-ratelimit-remaining"] == "2"
    assert ok.headers["x-ratelimit-reset"] == "1200"  # one of 3 per hour: back in 20 min
    # Errors from the app and unknown paths are counted and labelled too.
    broken = client.get("/api/broken")
    assert broken.status_code == 409
    assert broken.headers["x-ratelimit-remaining"] == "1"
    missing = client.get("/api/nope")
    assert missing.status_code == 404
    assert missing.headers["x-ratelimit-remaining"] == "0"
    assert missing.headers["x-ratelimit-reset"] == "3600"
    # The page shell and static files are outside /api and /auth: never counted.
    page = client.get("/assets/app.js")
    assert page.status_code == 404
    assert "x-ratelimit-limit" not in page.headers


def test_past_the_limit_a_429_in_the_envelope(client: TestClient) -> None:
    for _ in range(3):
        assert client.get("/api/thing").status_code == 200
    refused = client.get("/api/thing", headers={"X-Request-ID": "req-42"})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/json"
    assert refused.headers["x-request-id"] == "req-42"
    assert 1 <= int(refused.headers["retry-after"]) <= 1200
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    body = refused.json()
    assert body["request_id"] == "req-42"
    assert body["error"]["code"] == "rate_limited"
    assert "3 requests per 3600 s" in body["error"]["message"]
    assert body["error"]["details"]["retry_after_s"] == int(refused.headers["retry-after"])
    # A generated request id is in the body and the header alike.
    again = client.get("/api/thing")
    assert again.status_code == 429
    assert again.json()["request_id"] == again.headers["x-request-id"] != ""


def test_exempt_paths_are_not_counted_or_labelled(client: TestClient) -> None:
    for _ in range(5):
        for path in ("/health", "/metrics"):
            response = client.get(path)
            assert response.status_code == 200
            assert "x-ratelimit-limit" not in response.headers
    assert client.get("/api/thing").headers["x-ratelimit-remaining"] == "2"


def test_exempt_paths_are_configurable() -> None:
    with TestClient(build_app(MemoryRateLimiter(), exempt_paths=("/api/broken",))) as c:
        assert c.get("/api/thing").headers["x-ratelimit-remaining"] == "2"
        assert "x-ratelimit-limit" not in c.get("/api/broken").headers


def test_each_identity_has_its_own_budget(client: TestClient) -> None:
    alice = {"X-Test-Client": "alice", "X-Test-Class": "authenticated"}
    bob = {"X-Test-Client": "bob", "X-Test-Class": "authenticated"}
    assert [client.get("/api/thing", headers=alice).status_code for _ in range(6)] == [200] * 5 + [
        429
    ]
    bob_first = client.get("/api/thing", headers=bob)
    assert bob_first.status_code == 200
    assert bob_first.headers["x-ratelimit-limit"] == "5"
    assert bob_first.headers["x-ratelimit-remaining"] == "4"


def test_a_zero_limit_is_unlimited_and_unlabelled(client: TestClient) -> None:
    vip = {"X-Test-Client": "vip", "X-Test-Class": "premium"}
    for _ in range(20):
        response = client.get("/api/thing", headers=vip)
        assert response.status_code == 200
        assert "x-ratelimit-limit" not in response.headers


def test_an_unconfigured_class_gets_the_default_budget(client: TestClient) -> None:
    odd = {"X-Test-Client": "odd", "X-Test-Class": "enterprise"}
    assert client.get("/api/thing", headers=odd).headers["x-ratelimit-limit"] == "3"


def test_websockets_pass_through(client: TestClient) -> None:
    for _ in range(10):
        with client.websocket_connect("/ws/traffic") as ws:
            assert ws.receive_text() == "hello"
    assert client.get("/api/thing").headers["x-ratelimit-remaining"] == "2"


def test_a_redis_outage_fails_open() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{port}/0")
    with TestClient(build_app(limiter)) as c:
        for _ in range(10):
            response = c.get("/api/thing")
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "3"
            assert response.headers["x-ratelimit-remaining"] == "3"  # nothing was counted
        assert "x-request-id" in response.headers
    assert limiter.failures == 10
    asyncio.run(limiter.aclose())


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="default class"):
        RateLimitMiddleware(FastAPI(), MemoryRateLimiter(), {"premium": 10})
    with pytest.raises(ValueError, match=">= 0"):
        RateLimitMiddleware(FastAPI(), MemoryRateLimiter(), {"anonymous": -1})
