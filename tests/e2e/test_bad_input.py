"""Hostile and malformed input on every endpoint: the right status, the error
envelope with a precise message, and nothing already accepted is lost."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.sync.client import connect

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

BODY_LIMIT = 4 * 1024 * 1024
SQLISH = "x'; DROP TABLE events; --"


def good_event(segment_id: str = "S1", minute: int = 0, **extra: Any) -> dict[str, Any]:
    return {
        "segment_id": segment_id,
        "timestamp": f"2026-01-05T08:{minute:02d}:00Z",
        "speed": 55.5,
        "volume": 12,
        "occupancy": 7.5,
        **extra,
    }


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("bad"), max_body_bytes=BODY_LIMIT, max_batch_events=5_000
    )
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=20))
    runtime.register_segments(sim.segments, sim.links)
    with BackgroundServer(runtime) as srv:
        yield srv


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def envelope(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "request_id"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return dict(body["error"])


def settle(server: BackgroundServer) -> None:
    assert server.runtime.processor.wait_idle(30)


def test_malformed_json_is_400(client: httpx.Client) -> None:
    for path in ("/api/traffic/events", "/api/traffic/events/batch"):
        err = envelope(client.post(path, content=b'{"segment_id": "S1", "speed": '), 400)
        assert err["code"] == "bad_request"
        assert "malformed JSON" in err["message"]


def test_empty_body_is_400(client: httpx.Client) -> None:
    err = envelope(client.post("/api/traffic/events", content=b""), 400)
    assert "empty" in err["message"]


def test_wrong_type_names_field(client: httpx.Client) -> None:
    err = envelope(client.post("/api/traffic/events", json=good_event(speed="fast")), 422)
    assert err["details"] == [{"index": 0, "field": "speed", "reason": "expected float, got str"}]


def test_out_of_range_and_missing_fields(client: httpx.Client) -> None:
    cases = {
        "speed": good_event(speed=-3),
        "occupancy": good_event(occupancy=140),
        "timestamp": good_event(timestamp="2026-01-05 08:00:00"),
        "segment_id": {"timestamp": "2026-01-05T08:00:00Z", "speed": 50},
        "quality_score": good_event(quality_score=2),
        "coordinates.latitude": good_event(coordinates={"latitude": 123, "longitude": 0}),
    }
    for field, event in cases.items():
        err = envelope(client.post("/api/traffic/events", json=event), 422)
        assert err["details"][0]["field"] == field, (field, err)


def test_far_future_timestamp_rejected(client: httpx.Client) -> None:
    err = envelope(
        client.post("/api/traffic/events", json=good_event(timestamp="9999-12-31T23:59:59Z")), 422
    )
    assert err["details"][0]["field"] == "timestamp"
    assert "ahead of the server clock" in err["details"][0]["reason"]


def test_batch_keeps_good_rows_and_lists_bad_ones(
    client: httpx.Client, server: BackgroundServer
) -> None:
    before = server.runtime.store.count_events()
    events = [
        good_event("S-mixed", 1),
        good_event("S-mixed", 2, speed="x"),
        good_event("S-mixed", 3),
        good_event("S-mixed", 4, occupancy=-1),
    ]
    r = client.post("/api/traffic/events/batch", json={"events": events})
    assert r.status_code == 201
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, "speed"), (3, "occupancy")]
    settle(server)
    assert server.runtime.store.count_events() == before + 2


def test_all_bad_batch_is_422(client: httpx.Client) -> None:
    err = envelope(
        client.post("/api/traffic/events/batch", json={"events": [good_event(speed=None)]}), 422
    )
    assert err["details"][0]["field"] == "speed"


def test_wrong_shape_batch_is_400(client: httpx.Client) -> None:
    err = envelope(client.post("/api/traffic/events/batch", json={"events": "many"}), 400)
    assert err["details"][0]["field"] == "events"


def test_ten_megabyte_bodies(client: httpx.Client, server: BackgroundServer) -> None:
    before = server.runtime.store.count_events()
    big = b"x" * (10 * 1024 * 1024)
    err = envelope(client.post("/api/traffic/events/batch", content=big), 413)
    assert "exceeds the limit" in err["message"]
    # A huge field inside a body under the limit: the field is named.
    r = client.post("/api/traffic/events", json=good_event(segment_id="s" * (3 * 1024 * 1024)))
    assert envelope(r, 422)["details"][0]["field"] == "segment_id"
    settle(server)
    assert server.runtime.store.count_events() == before


def test_too_many_events_is_413(client: httpx.Client) -> None:
    events = [good_event("S-many", i % 60) for i in range(5_001)]
    err = envelope(client.post("/api/traffic/events/batch", json={"events": events}), 413)
    assert "5001" in err["message"]


def test_deeply_nested_json_is_rejected(client: httpx.Client) -> None:
    nested = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/api/traffic/events/batch", content=nested)
    assert r.status_code in (400, 422)
    envelope(r, r.status_code)


def test_sql_looking_and_unicode_ids_are_data(
    client: httpx.Client, server: BackgroundServer
) -> None:
    for sid in (SQLISH, "Straße-北-🚗"):
        r = client.post("/api/traffic/events", json=good_event(sid, 5))
        assert r.status_code == 201, r.text
    settle(server)
    for sid in (SQLISH, "Straße-北-🚗"):
        page = client.get("/api/traffic/events", params={"segment_id": sid}).json()
        assert page["total"] == 1
        assert page["events"][0]["segment_id"] == sid
    assert server.runtime.store.count_events() > 0  # the table is still there


def test_unknown_segment_is_404(client: httpx.Client) -> None:
    for path in (
        "/api/segments/nope",
        "/api/segments/nope/history",
        "/api/predictions/latest?segment_id=nope",
    ):
        err = envelope(client.get(path), 404)
        assert "nope" in err["message"]
    err = envelope(
        client.post(
            "/api/predictions/generate", json={"segment_id": "nope", "horizon_minutes": 15}
        ),
        404,
    )
    assert err["details"][0]["field"] == "segment_id"


def test_query_parameter_errors(client: httpx.Client) -> None:
    err = envelope(client.get("/api/traffic/events", params={"limit": 0}), 422)
    assert err["details"][0]["field"] == "limit"
    err = envelope(client.get("/api/traffic/events", params={"start_time": "yesterday"}), 422)
    assert err["details"][0]["field"] == "start_time"
    err = envelope(
        client.get(
            "/api/traffic/events",
            params={"start_time": "2026-01-02T00:00:00Z", "end_time": "2026-01-01T00:00:00Z"},
        ),
        422,
    )
    assert err["details"][0]["field"] == "end_time"
    err = envelope(client.get("/api/analytics/summary", params={"start_date": "not-a-date"}), 422)
    assert err["details"][0]["field"] == "start_date"


def test_generate_validation(client: httpx.Client, server: BackgroundServer) -> None:
    seg = server.runtime.store.segments().column("segment_id")[0].as_py()
    err = envelope(
        client.post("/api/predictions/generate", json={"segment_id": seg, "horizon_minutes": 7}),
        422,
    )
    assert err["details"][0]["field"] == "horizon_minutes"
    err = envelope(
        client.post(
            "/api/predictions/generate", json={"segment_id": seg, "horizon_minutes": 15, "extra": 1}
        ),
        422,
    )
    assert err["details"][0]["field"] == "extra"
    err = envelope(
        client.post("/api/predictions/generate", json={"segment_id": seg, "model_version": "v999"}),
        404,
    )
    assert err["details"][0]["field"] == "model_version"
    err = envelope(client.post("/api/predictions/generate", json={"segment_id": seg}), 409)
    assert err["code"] == "insufficient_data"


def test_conflicts_are_documented(client: httpx.Client) -> None:
    # Found by the OpenAPI fuzzer: these 409s were answered but not in the schema.
    err = envelope(client.post("/api/models/rollback"), 409)
    assert err["details"][0]["field"] == "version"
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/predictions/generate",
        "/api/models/{version}/promote",
        "/api/models/rollback",
    ):
        responses = paths[path]["post"]["responses"]
        assert responses["409"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ErrorEnvelope"
        }, path


def test_unknown_path_and_method(client: httpx.Client) -> None:
    assert envelope(client.get("/api/nothing-here"), 404)["code"] == "not_found"
    assert envelope(client.delete("/api/traffic/events"), 405)["code"] == "method_not_allowed"


def test_request_id_round_trip_and_injection(client: httpx.Client) -> None:
    r = client.get("/api/segments/nope", headers={"X-Request-ID": "abc-123"})
    assert envelope(r, 404)
    assert r.json()["request_id"] == "abc-123"
    r = client.get("/api/segments/nope", headers={"X-Request-ID": "evil\tvalue; injected=1"})
    rid = r.json()["request_id"]
    assert rid != "evil\tvalue; injected=1"
    assert rid.isalnum()


def test_websocket_bad_commands(server: BackgroundServer) -> None:
    with connect(server.ws_url) as ws:
        ws.send("{not json")
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == "bad_request"
        ws.send(json.dumps({"action": "explode"}))
        msg = json.loads(ws.recv(timeout=5))
        assert msg["type"] == "error"
        assert "action" in msg["error"]["message"]
        ws.send(json.dumps({"action": "subscribe", "segment_ids": ["ok", "x" * 200]}))
        assert "segment_ids" in json.loads(ws.recv(timeout=5))["error"]["message"]
        ws.send(json.dumps({"action": "subscribe", "segment_ids": ["a", "b"], "format": "xml"}))
        assert "format" in json.loads(ws.recv(timeout=5))["error"]["message"]
        ws.send(json.dumps({"action": "subscribe", "segment_ids": ["a", "b"]}))
        assert json.loads(ws.recv(timeout=5)) == {"type": "subscribed", "segment_ids": ["a", "b"]}
        ws.send(json.dumps({"action": "subscribe", "segment_ids": ["c"], "format": "batch"}))
        assert json.loads(ws.recv(timeout=5)) == {
            "type": "subscribed",
            "segment_ids": ["a", "b", "c"],
            "format": "batch",
        }


def test_health_and_metrics(client: httpx.Client) -> None:
    health = client.get("/health").json()
    assert health["status"] == "healthy"
    assert {"database", "bus", "stream_processor", "model"} <= set(health["checks"])
    text = client.get("/metrics").text
    for name in (
        "trafficcast_events_ingested_total",
        "trafficcast_events_rejected_total",
        "trafficcast_http_requests_total",
        "trafficcast_websocket_connections",
    ):
        assert name in text


def test_openapi_docs(client: httpx.Client) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert "/api/traffic/events/batch" in schema["paths"]
    assert "EventIn" in schema["components"]["schemas"]


def test_unknown_store_and_bus_are_refused_by_name(tmp_path: Path) -> None:
    # Settings reject an unsupported store or bus rather than silently using another.
    with pytest.raises(ValueError, match="database_url"):
        Settings(data_dir=tmp_path, database_url="mysql://x")
    with pytest.raises(ValueError, match="bus"):
        Settings(data_dir=tmp_path, bus="rabbitmq://x")
    with pytest.raises(ValueError, match="not a DuckDB file"):
        _ = Settings(data_dir=tmp_path, database_url="postgresql://x").database_path


def test_websocket_commands_as_binary_frames(server: BackgroundServer) -> None:
    with connect(server.ws_url) as ws:
        ws.send(json.dumps({"action": "subscribe", "segment_ids": ["z"]}).encode())
        assert json.loads(ws.recv(timeout=5)) == {"type": "subscribed", "segment_ids": ["z"]}
        ws.send(b"\xff\xfe")
        assert json.loads(ws.recv(timeout=5))["error"]["code"] == "bad_request"


def test_ndjson_batch_keeps_good_lines_and_names_bad_ones(
    client: httpx.Client, server: BackgroundServer
) -> None:
    before = server.runtime.store.count_events()
    lines = [
        json.dumps(good_event("S-nd", 1)),
        "",
        json.dumps(good_event("S-nd", 2, speed="fast")),
        json.dumps(good_event("S-nd", 3, coordinates={"latitude": 34.0, "longitude": -118.0})),
        "{broken",
    ]
    r = client.post(
        "/api/traffic/events/batch",
        content="\n".join(lines).encode(),
        headers={"Content-Type": "application/x-ndjson"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["accepted"] == 2
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, "speed"), (3, "event")]
    settle(server)
    assert server.runtime.store.count_events() == before + 2
    page = client.get("/api/traffic/events", params={"segment_id": "S-nd"}).json()
    coords = [e["coordinates"] for e in page["events"]]
    assert coords == [None, {"latitude": 34.0, "longitude": -118.0}]


# -- issue 6: the hostile-input proof list ----------------------------------------------


def raw_request(server: BackgroundServer, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send bytes exactly as given (no client library tidies them) and parse the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head_part.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        assert name.lower() not in headers, f"{name} twice"
        headers[name.lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def raw_envelope(answer: tuple[int, dict[str, str], bytes], status: int) -> dict[str, Any]:
    got, headers, body = answer
    assert got == status, body[:300]
    assert headers["content-type"] == "application/json"
    parsed = json.loads(body)
    assert set(parsed) == {"error", "request_id"}
    assert set(parsed["error"]) == {"code", "message", "details"}
    assert parsed["request_id"] == headers["x-request-id"]
    return dict(parsed["error"])


@pytest.fixture(scope="module")
def default_limits(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    """A server with the shipped body and batch limits (32 MiB, 100 000 events)."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("limits"))
    assert settings.max_batch_events == 100_000
    with BackgroundServer(Runtime(settings)) as srv:
        yield srv


def compact_batch(n: int) -> bytes:
    # Written by hand: 100 000 dicts through json.dumps is slow and the body is ~9 MB.
    # 1 000 segments x distinct seconds: every event is new (the store drops repeats).
    rows = b",".join(
        b'{"segment_id":"B%d","timestamp":"2026-01-05T08:%02d:%02dZ","speed":50}'
        % (i % 1000, i // 1000 // 60, i // 1000 % 60)
        for i in range(n)
    )
    return b'{"events":[' + rows + b"]}"


def test_batch_of_exactly_the_limit_is_accepted_and_one_more_is_413(
    default_limits: BackgroundServer,
) -> None:
    with httpx.Client(base_url=default_limits.url, timeout=120) as c:
        body = compact_batch(100_000)
        assert len(body) < default_limits.runtime.settings.max_body_bytes
        r = c.post("/api/traffic/events/batch", content=body)
        assert r.status_code == 201, r.text[:300]
        assert r.json()["accepted"] == 100_000
        assert r.json()["rejected"] == []
        err = envelope(c.post("/api/traffic/events/batch", content=compact_batch(100_001)), 413)
        assert err["details"][0]["field"] == "events"
        assert "100001" in err["message"]
        assert "100000" in err["message"]
    settle(default_limits)
    assert default_limits.runtime.store.count_events() == 100_000


def test_deeply_nested_json_everywhere_is_a_clean_4xx(client: httpx.Client) -> None:
    deep_array = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    for path in (
        "/api/traffic/events",
        "/api/traffic/events/batch",
        "/api/predictions/generate",  # parsed by FastAPI (json.loads), not msgspec
        "/api/alerts/rules/congestion",
    ):
        for body in (deep_array, deep_object):
            method = "PUT" if path.startswith("/api/alerts") else "POST"
            r = client.request(
                method, path, content=body, headers={"Content-Type": "application/json"}
            )
            assert r.status_code in (400, 422), (path, r.status_code, r.text[:200])
            err = envelope(r, r.status_code)
            assert "Recursion" not in err["message"]
    assert client.get("/health").status_code == 200  # the server is fine


def plain_segment(client: httpx.Client) -> str:
    """A simulator segment (other tests add hostile ids to the catalog)."""
    ids = [s["segment_id"] for s in client.get("/api/segments").json()["segments"]]
    return next(i for i in ids if i.replace("-", "").isalnum() and i.isascii())


HOSTILE_IDS = [
    SQLISH,
    "' OR '1'='1",
    'x"); DELETE FROM segments; --',
    "Robert'); DROP TABLE windows;--",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "%00%27",
    "😀" * 32,
    "\u202etxt.exe",
]


def test_hostile_ids_are_data_stored_and_echoed_exactly(
    client: httpx.Client, server: BackgroundServer
) -> None:
    before = server.runtime.store.count_events()
    segments_before = server.runtime.store.segments().num_rows
    for sid in HOSTILE_IDS:
        r = client.post("/api/traffic/events", json=good_event(sid, 7))
        assert r.status_code == 201, (sid, r.text)
    settle(server)
    for sid in HOSTILE_IDS:
        page = client.get(
            "/api/traffic/events",
            params={"segment_id": sid, "start_time": "2026-01-05T08:07:00Z"},
        ).json()
        assert [e["segment_id"] for e in page["events"]] == [sid]
        r = client.get("/api/analytics/summary", params={"segment_ids": sid})
        assert r.status_code == 200, r.text
    # Every table is still there and holds what it held, plus exactly these.
    assert server.runtime.store.count_events() == before + len(HOSTILE_IDS)
    assert server.runtime.store.segments().num_rows >= segments_before
    assert client.get("/api/segments").status_code == 200
    assert client.get("/health").json()["checks"]["database"]["status"] == "healthy"


def test_control_characters_in_ids_are_refused_by_field(client: httpx.Client) -> None:
    for sid in ("a\u0000b", "a\nb", "a\rb", "tab\there"):
        err = envelope(client.post("/api/traffic/events", json=good_event(sid)), 422)
        assert err["details"][0]["field"] == "segment_id", sid
    # In a path or a query they are looked up as data and simply not found.
    err = envelope(client.get("/api/segments/a%00b"), 404)
    assert err["details"][0]["field"] == "segment_id"


def test_negative_nan_and_infinite_numbers(client: httpx.Client) -> None:
    head = b'{"segment_id": "S-num", "timestamp": "2026-01-05T08:00:00Z", "speed": '
    # NaN and Infinity are not JSON: the body is malformed.
    for literal in (b"NaN", b"Infinity", b"-Infinity"):
        err = envelope(client.post("/api/traffic/events", content=head + literal + b"}"), 400)
        assert "malformed JSON" in err["message"]
    # A number too large for a float, or as text, is refused by field.
    for literal in (b"1e999", b"-1e999", b"1" + b"0" * 5000, b'"NaN"', b'"-5"'):
        err = envelope(client.post("/api/traffic/events", content=head + literal + b"}"), 422)
        assert err["details"][0]["field"] == "speed", literal
    for field in ("speed", "volume", "occupancy"):
        err = envelope(client.post("/api/traffic/events", json=good_event(**{field: -1})), 422)
        assert err["details"][0]["field"] == field
    seg = plain_segment(client)
    for horizon in (-15, 0, "NaN"):
        r = client.post(
            "/api/predictions/generate", json={"segment_id": seg, "horizon_minutes": horizon}
        )
        assert envelope(r, 422)["details"][0]["field"] == "horizon_minutes"
    r = client.post(
        "/api/predictions/generate",
        content=b'{"segment_id": "x", "horizon_minutes": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422)
    envelope(r, r.status_code)
    for params in ({"page": -1}, {"limit": -5}, {"limit": "NaN"}, {"page": "1e3"}):
        err = envelope(client.get("/api/traffic/events", params=params), 422)
        assert err["details"][0]["field"] in params


def test_year_9999_in_queries(client: httpx.Client, server: BackgroundServer) -> None:
    seg = plain_segment(client)
    late = "9999-12-31T23:59:59Z"
    # The last representable instant is a valid (empty) range everywhere...
    for path, params in (
        ("/api/traffic/events", {"start_time": late}),
        (f"/api/segments/{seg}/history", {"start_time": late}),
        ("/api/alerts", {"since": late}),
        ("/api/analytics/summary", {"start_date": "9999-12-31"}),
        ("/api/predictions/accuracy", {"start_time": "9999-12-30T00:00:00Z", "end_time": late}),
        (f"/api/segments/{seg}/forecasts", {"start_time": late}),
    ):
        r = client.get(path, params=params)
        assert r.status_code in (200, 422), (path, r.text[:300])
        if r.status_code == 422:
            envelope(r, 422)
        else:
            assert "10000-" not in r.text, path  # never an instant past year 9999
    # ...past it (year 10 000, or 9999 with a west offset, which is 10 000 in UTC) is a 422.
    for value in (
        "10000-01-01T00:00:00Z",
        "9999-12-31T23:59:59-23:59",
        "0001-01-01T00:00:00+01:00",
    ):
        err = envelope(client.get("/api/traffic/events", params={"start_time": value}), 422)
        assert err["details"][0]["field"] == "start_time", value
        err = envelope(client.get("/api/analytics/summary", params={"end_date": value}), 422)
        assert err["details"][0]["field"] == "end_date", value


def test_epoch_numbers_are_refused_for_time_parameters(client: httpx.Client) -> None:
    cases = {
        "/api/traffic/events": "start_time",
        "/api/analytics/summary": "start_date",
        "/api/alerts": "since",
    }
    for path, field in cases.items():
        for value in ("1700000000", "1700000000000", "-1", "1.7e9"):
            err = envelope(client.get(path, params={field: value}), 422)
            assert err["details"][0]["field"] == field
            assert "ISO 8601" in err["details"][0]["reason"]
    # ISO dates and times (zone or not) still work.
    for value in ("2026-01-05", "2026-01-05T08:00:00", "2026-01-05T08:00:00+02:00"):
        assert client.get("/api/traffic/events", params={"start_time": value}).status_code == 200
    # And the schema says so: a date-time string, nothing numeric.
    params = client.get("/openapi.json").json()["paths"]["/api/traffic/events"]["get"]["parameters"]
    start = next(p for p in params if p["name"] == "start_time")
    variants = start["schema"].get("anyOf", [start["schema"]])
    assert {"type": "string", "format": "date-time"} in variants
    assert not any(v.get("type") in ("integer", "number") for v in variants)


def test_header_injection_is_never_echoed(server: BackgroundServer) -> None:
    base = b"GET /api/segments/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    # A bare LF or CR inside a value, or a NUL: refused before the app, in the envelope.
    for evil in (b"abc\nSet-Cookie: evil=1", b"abc\rSet-Cookie: evil=1", b"abc\x00def"):
        answer = raw_request(server, base + b"X-Request-ID: " + evil + b"\r\n\r\n")
        err = raw_envelope(answer, 400)
        assert "invalid HTTP request" in err["message"]
        assert "set-cookie" not in answer[1]
        assert b"evil" not in answer[2]
    # CRLF just ends the header: the "injected" line is another request header,
    # which nothing copies into the response.
    answer = raw_request(
        server, base + b"X-Request-ID: abc\r\nSet-Cookie: evil=1\r\nX-Injected: 1\r\n\r\n"
    )
    assert answer[0] == 404
    assert "set-cookie" not in answer[1]
    assert "x-injected" not in answer[1]
    assert answer[1]["x-request-id"] == "abc"
    # Ids that are not plain tokens are replaced, not echoed, in header and body alike.
    for rid in ("a" * 65, "semi;colon", "sp ace", "ünï"):
        answer = raw_request(server, base + b"X-Request-ID: " + rid.encode() + b"\r\n\r\n")
        err_rid = json.loads(answer[2])["request_id"]
        assert err_rid == answer[1]["x-request-id"] != rid
        assert err_rid.isalnum()


def test_oversized_headers_are_431(server: BackgroundServer) -> None:
    base = b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    err = raw_envelope(raw_request(server, base + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n"), 431)
    assert err["code"] == "headers_too_large"
    many = b"".join(b"X-H%d: 1\r\n" % i for i in range(200))
    assert raw_envelope(raw_request(server, base + many + b"\r\n"), 431)["code"] == (
        "headers_too_large"
    )
    # Ordinary large headers (a long JWT) are fine.
    answer = raw_request(server, base + b"Cookie: session=" + b"a" * 8000 + b"\r\n\r\n")
    assert answer[0] == 200


def test_very_long_urls_are_414_with_the_documented_limit(
    client: httpx.Client, server: BackgroundServer
) -> None:
    ids = [f"segment-{i:05d}" for i in range(10_000)]
    # httpx refuses such URLs itself; other clients send them.
    for query in (
        "segment_ids=" + ",".join(ids),
        "&".join(f"segment_ids={i}" for i in ids),
    ):
        head = f"GET /api/analytics/summary?{query} HTTP/1.1\r\nHost: x\r\n\r\n"
        err = raw_envelope(raw_request(server, head.encode()), 414)
        assert err["code"] == "uri_too_long"
        assert "32768 bytes" in err["message"]
    # Under the limit, many ids work.
    r = client.get("/api/analytics/summary", params={"segment_ids": ",".join(ids[:2_000])})
    assert r.status_code == 200, r.text[:300]
    # The parameter's documentation names the limit.
    params = client.get("/openapi.json").json()["paths"]["/api/analytics/summary"]["get"][
        "parameters"
    ]
    described = next(p for p in params if p["name"] == "segment_ids")["description"]
    assert "32 KiB" in described
    assert "414" in described
    # A malformed request line is the envelope too, and the server keeps serving.
    raw_envelope(raw_request(server, b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n"), 400)
    assert client.get("/health").status_code == 200
