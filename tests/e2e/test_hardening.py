"""Hardening on a real server: security headers on every response, CORS from the
settings, and no path traversal out of the dashboard's folder."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator

import httpx
import pytest

from trafficcast.api.app import WEB_DIR
from trafficcast.api.background import BackgroundServer
from trafficcast.api.security_headers import tiles_origin
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig

ALLOWED = "https://ops.example.org"
TILES = "https://tiles.example.org:8443/osm/{z}/{x}/{y}.png"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    if not (WEB_DIR / "index.html").exists():
        pytest.fail("the web page is not built: scripts/install.sh builds it")
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("hardening"),
        cors_origins=(ALLOWED,),
        map_tiles_url=TILES,
        # A budget, so responses carry X-RateLimit-* for CORS to expose.
        rate_limit_anonymous_per_hour=100_000,
        rate_limit_authenticated_per_hour=100_000,
        rate_limit_premium_per_hour=100_000,
    )
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=5))
    runtime.register_segments(sim.segments, sim.links)
    with BackgroundServer(runtime) as srv:
        yield srv


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def csp(response: httpx.Response) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for directive in response.headers["content-security-policy"].split(";"):
        name, *values = directive.split()
        assert name not in policy, f"{name} twice"
        policy[name] = values
    return policy


def refused(response: http.client.HTTPResponse, body: bytes, status: int) -> None:
    assert response.status == status, body[:200]
    parsed = json.loads(body)
    assert set(parsed) == {"error", "request_id"}
    assert parsed["error"]["code"] == {404: "not_found", 422: "validation_error"}[status]


# -- security headers -------------------------------------------------------------------


def test_every_kind_of_response_carries_the_headers(client: httpx.Client) -> None:
    script = next((WEB_DIR / "assets").glob("index-*.js")).name
    responses = [
        client.get("/"),  # dashboard shell
        client.get("/map"),  # a client-side route
        client.get(f"/assets/{script}"),  # a static file
        client.get("/api/segments"),  # JSON
        client.get("/api/nothing-here"),  # 404 envelope
        client.delete("/api/segments"),  # 405 envelope
        client.post("/api/traffic/events", content=b"{"),  # 400 envelope
        client.get("/health"),
        client.get("/metrics"),
        client.options(
            "/api/segments",
            headers={"Origin": ALLOWED, "Access-Control-Request-Method": "GET"},
        ),  # CORS preflight, answered before the app
    ]
    for r in responses:
        where = f"{r.request.method} {r.request.url.path} -> {r.status_code}"
        assert r.headers["x-content-type-options"] == "nosniff", where
        assert r.headers["referrer-policy"] == "no-referrer", where
        assert r.headers["x-frame-options"] == "DENY", where
        assert r.headers["cross-origin-opener-policy"] == "same-origin", where
        assert "geolocation=()" in r.headers["permissions-policy"], where
        assert csp(r)["frame-ancestors"] == ["'none'"], where
        # Each header once: nothing appended twice by nested middleware.
        assert len(r.headers.get_list("content-security-policy")) == 1, where


def test_dashboard_policy_allows_what_maplibre_needs_and_no_more(
    client: httpx.Client, server: BackgroundServer
) -> None:
    policy = csp(client.get("/map"))
    host = f"127.0.0.1:{server.port}"
    tiles = "https://tiles.example.org:8443"
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no inline script, no eval
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["img-src"] == ["'self'", "data:", "blob:", tiles]
    assert policy["connect-src"] == ["'self'", f"ws://{host}", f"wss://{host}", tiles]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


def test_hostile_host_header_is_not_copied_into_the_policy(client: httpx.Client) -> None:
    for host in (b"evil.example; script-src *", b"a b", "x\u00e9.org".encode(), b"[::1]:80 *"):
        r = client.get("/", headers={"Host": host})
        policy = csp(r)
        assert policy["script-src"] == ["'self'"], host
        assert policy["connect-src"] == ["'self'", "https://tiles.example.org:8443"], host
    # A plain host[:port] is fine, IPv6 included.
    r = client.get("/", headers={"Host": "[::1]:8000"})
    assert "ws://[::1]:8000" in csp(r)["connect-src"]


def test_docs_pages_get_their_own_wider_policy(client: httpx.Client) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    # FastAPI's Swagger UI page loads from this CDN and starts with an inline script.
    assert "https://cdn.jsdelivr.net/npm/swagger-ui-dist" in docs.text
    policy = csp(docs)
    assert "https://cdn.jsdelivr.net" in policy["script-src"]
    assert "'unsafe-inline'" in policy["script-src"]
    redoc = client.get("/redoc")
    assert "https://fonts.googleapis.com" in redoc.text
    assert "https://fonts.googleapis.com" in csp(redoc)["style-src"]
    assert "https://fonts.gstatic.com" in csp(redoc)["font-src"]
    # ...and only they: the dashboard and the API keep the strict one.
    for path in ("/", "/api/segments", "/docs/extra", "/openapi.json"):
        assert csp(client.get(path))["script-src"] == ["'self'"], path


def test_tiles_origin() -> None:
    assert tiles_origin("") is None
    assert tiles_origin("https://a.example/{z}/{x}/{y}.png") == "https://a.example"
    assert tiles_origin("http://a.example:81/style.json") == "http://a.example:81"
    assert tiles_origin("pmtiles://https://b.example/x.pmtiles") == "https://b.example"


# -- CORS -------------------------------------------------------------------------------


def test_cors_preflight_from_an_allowed_origin(client: httpx.Client) -> None:
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
        r = client.options(
            "/api/users/someone",
            headers={
                "Origin": ALLOWED,
                "Access-Control-Request-Method": method,
                "Access-Control-Request-Headers": "authorization, x-api-key, content-type",
            },
        )
        assert r.status_code == 200, (method, r.text)
        assert r.headers["access-control-allow-origin"] == ALLOWED
        assert method in r.headers["access-control-allow-methods"]
        allowed = r.headers["access-control-allow-headers"].lower()
        assert "authorization" in allowed
        assert "x-api-key" in allowed


def test_cors_simple_request_exposes_our_headers(client: httpx.Client) -> None:
    r = client.get("/api/segments", headers={"Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip().lower() for h in r.headers["access-control-expose-headers"].split(",")}
    assert {
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "retry-after",
    } <= exposed
    assert "x-ratelimit-remaining" in r.headers  # there is something to expose


def test_cors_disallowed_origin_gets_no_allow_origin(client: httpx.Client) -> None:
    for origin in (
        "https://evil.example",
        "null",
        ALLOWED + ".evil.example",
        "http://ops.example.org",
    ):
        pre = client.options(
            "/api/segments",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
        )
        assert pre.status_code == 400, origin
        assert "access-control-allow-origin" not in pre.headers, origin
        r = client.get("/api/segments", headers={"Origin": origin})
        assert r.status_code == 200
        assert "access-control-allow-origin" not in r.headers, origin


# -- path traversal ---------------------------------------------------------------------

OUTSIDE = WEB_DIR.parent / "config.py"  # a real file one level above the web folder

TRAVERSALS = [
    "/../config.py",
    "/..%2fconfig.py",
    "/%2e%2e/config.py",
    "/%2e%2e%2fconfig.py",
    "/assets/..%2f..%2fconfig.py",
    "/assets/%2e%2e/%2e%2e/config.py",
    "/%252e%252e%252fconfig.py",  # double-encoded
    "/assets/%252e%252e%252f%252e%252e%252fconfig.py",
    "/..%5cconfig.py",  # backslash
    "/....//config.py",
    "//etc/passwd",
    "/%2fetc%2fpasswd",
    "/assets//etc/passwd",
    "/assets/%2fetc%2fpasswd",
    "/segments/..%2f..%2fconfig.py/x",
    "/map/..%2f..%2fconfig.py",
    "/api/models/..%2f..%2fconfig.py",
    "/api/models/..",  # a version, refused by name (422) before any file is opened
    "/api/segments/..%2f..%2fetc%2fpasswd/history",
    "/%00/etc/passwd",
    "/assets/index.html%00.js",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_no_file_outside_the_web_folder(server: BackgroundServer, path: str) -> None:
    assert OUTSIDE.is_file()
    secret = OUTSIDE.read_bytes()[:200]
    # http.client sends the path exactly as written (httpx would normalise dot segments).
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    assert secret not in body
    assert b"root:x:0:0" not in body
    refused(response, body, 422 if path == "/api/models/.." else 404)
