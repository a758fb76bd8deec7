"""Hostile and malformed input on every endpoint: the right status, the error
envelope with a precise message, and nothing already accepted is lost."""

from __future__ import annotations

import json
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
