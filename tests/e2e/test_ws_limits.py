"""Per-connection limits of WS /ws/traffic on a real server: message size, subscribed
segments, command rate and concurrent connections per client."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from trafficcast.api.app import create_app
from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.live.limits import ConnectionLimiter, MessageRate, client_key
from trafficcast.runtime import Runtime

MAX_BYTES = 4096
MAX_SEGMENTS = 50
PER_S = 5.0
MAX_CONNECTIONS = 3


def limited(data_dir: Any) -> Settings:
    return Settings(
        data_dir=data_dir,
        ws_max_message_bytes=MAX_BYTES,
        ws_max_segments=MAX_SEGMENTS,
        ws_max_messages_per_s=PER_S,
        ws_max_connections_per_client=MAX_CONNECTIONS,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    with BackgroundServer(Runtime(limited(tmp_path_factory.mktemp("ws")))) as srv:
        yield srv


def command(ws: ClientConnection, body: dict[str, Any]) -> dict[str, Any]:
    ws.send(json.dumps(body))
    reply: dict[str, Any] = json.loads(ws.recv(timeout=5))
    return reply


def closed_with(ws: ClientConnection) -> tuple[int | None, str | None, list[dict[str, Any]]]:
    """Read until the server closes; the messages seen on the way, and the close frame."""
    seen: list[dict[str, Any]] = []
    with pytest.raises(ConnectionClosed):
        _read_forever(ws, seen)
    return ws.close_code, ws.close_reason, seen


def _read_forever(ws: ClientConnection, into: list[dict[str, Any]]) -> None:
    while True:
        into.append(json.loads(ws.recv(timeout=5)))


def subscribe(ids: list[str]) -> dict[str, Any]:
    return {"action": "subscribe", "segment_ids": ids}


def test_oversized_message_closes_with_1009(server: BackgroundServer) -> None:
    with connect(server.ws_url, max_size=None) as ws:
        # Exactly at the limit is an ordinary (if padded) command.
        text = json.dumps(subscribe([f"s{i:05d}" for i in range(40)]))
        at_limit = text + " " * (MAX_BYTES - len(text))
        ws.send(at_limit)
        assert json.loads(ws.recv(timeout=5))["type"] == "subscribed"
        ws.send(at_limit + " ")  # one byte over
        code, _, _ = closed_with(ws)
    assert code == 1009


def test_oversized_message_is_refused_by_the_app_too(tmp_path: Any) -> None:
    # Behind a server without a frame-size limit (here the test client) the route
    # itself refuses, saying why.
    runtime = Runtime(limited(tmp_path))
    with TestClient(create_app(runtime)) as client, client.websocket_connect("/ws/traffic") as ws:
        ws.send_text(json.dumps(subscribe(["x" * 100] * 100)))
        reply = ws.receive_json()
        assert reply["error"]["code"] == "payload_too_large"
        assert str(MAX_BYTES) in reply["error"]["message"]
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 1009


def test_subscribed_segments_are_capped_per_connection(server: BackgroundServer) -> None:
    with connect(server.ws_url) as ws:
        too_many = [f"a{i}" for i in range(MAX_SEGMENTS + 1)]
        err = command(ws, subscribe(too_many))
        assert err["type"] == "error"
        assert err["error"]["code"] == "validation_error"
        assert err["error"]["message"].startswith("segment_ids:")
        assert str(MAX_SEGMENTS) in err["error"]["message"]
        # In two steps: the second is refused whole, the first stays.
        first = [f"b{i}" for i in range(30)]
        assert command(ws, subscribe(first))["segment_ids"] == sorted(first)
        err = command(ws, subscribe([f"c{i}" for i in range(30)]))
        assert "60 segments" in err["error"]["message"]
        # Ids already held do not count twice, and the limit is reachable exactly.
        again = first + [f"c{i}" for i in range(MAX_SEGMENTS - 30)]
        assert len(command(ws, subscribe(again))["segment_ids"]) == MAX_SEGMENTS
        # After unsubscribing there is room again, and "*" (everything) is one entry.
        assert command(ws, {"action": "unsubscribe", "segment_ids": first})["type"] == (
            "subscribed"
        )
        assert command(ws, subscribe(["*"]))["segment_ids"] == ["*"]


def test_command_flood_closes_with_1008(server: BackgroundServer) -> None:
    with connect(server.ws_url) as ws:
        # A burst of twice the per-second rate passes...
        for i in range(int(2 * PER_S)):
            assert command(ws, subscribe([f"f{i}"]))["type"] == "subscribed"
        # ...a flood does not.
        for i in range(int(PER_S * 8)):
            try:
                ws.send(json.dumps(subscribe([f"g{i}"])))
            except ConnectionClosed:
                break
        code, reason, seen = closed_with(ws)
    assert code == 1008
    assert reason is not None
    assert "per second" in reason
    # The last thing said is why; nothing was subscribed past the limit.
    assert seen[-1] == {
        "type": "error",
        "error": {"code": "rate_limited", "message": f"more than {PER_S:g} messages per second"},
    }
    assert all(m["type"] == "subscribed" for m in seen[:-1])
    assert len(seen) <= 2


def test_a_steady_client_under_the_rate_is_never_cut(server: BackgroundServer) -> None:
    with connect(server.ws_url) as ws:
        for i in range(int(PER_S * 3)):  # 3 s at 80 % of the rate: past the burst
            assert command(ws, subscribe([f"g{i}"]))["type"] == "subscribed"
            time.sleep(1 / (PER_S * 0.8))


def test_connections_per_client_are_capped(server: BackgroundServer) -> None:
    with contextlib.ExitStack() as stack:
        held = [stack.enter_context(connect(server.ws_url)) for _ in range(MAX_CONNECTIONS)]
        for ws in held:
            assert command(ws, subscribe(["h"]))["type"] == "subscribed"
        with connect(server.ws_url) as extra:
            code, reason, seen = closed_with(extra)
        assert code == 1008
        assert reason is not None
        assert str(MAX_CONNECTIONS) in reason
        assert seen == [
            {"type": "error", "error": {"code": "too_many_connections", "message": reason}}
        ]
        # The held ones still work; closing one frees its place.
        assert command(held[0], subscribe(["i"]))["type"] == "subscribed"
        held[-1].close()
        deadline = time.monotonic() + 5
        while not reconnects(server):
            assert time.monotonic() < deadline, "a closed connection's place was not freed"
            time.sleep(0.05)


def reconnects(server: BackgroundServer) -> bool:
    with connect(server.ws_url) as ws:
        try:
            return command(ws, subscribe(["j"]))["type"] == "subscribed"
        except ConnectionClosed:
            return False  # the server had not yet seen the earlier close


# -- the pieces ------------------------------------------------------------------------


@dataclass
class FakePrincipal:
    kind: str
    subject: str


def test_client_key_prefers_the_principal() -> None:
    peer = {"client": ("10.0.0.7", 5555)}
    assert client_key(peer) == "ip:10.0.0.7"
    assert client_key(peer | {"state": {"principal": FakePrincipal("user", "ana")}}) == "user:ana"
    assert client_key(peer | {"state": {"principal": FakePrincipal("api_key", "ab12cd34")}}) == (
        "api_key:ab12cd34"
    )
    # An anonymous principal is counted by its address like any anonymous peer.
    anonymous = peer | {"state": {"principal": FakePrincipal("anonymous", "10.0.0.7")}}
    assert client_key(anonymous) == "ip:10.0.0.7"
    assert client_key({}) == "ip:unknown"


def test_connection_limiter_counts_and_forgets() -> None:
    limiter = ConnectionLimiter(2)
    assert limiter.acquire("a")
    assert limiter.acquire("a")
    assert not limiter.acquire("a")
    assert limiter.acquire("b")
    limiter.release("a")
    assert limiter.acquire("a")
    for _ in range(3):
        limiter.release("a")
    assert limiter.open("a") == 0
    assert "a" not in limiter._open  # no key left behind per departed client
    unlimited = ConnectionLimiter(0)
    assert all(unlimited.acquire("x") for _ in range(1000))


def test_message_rate_bucket() -> None:
    now = [0.0]
    rate = MessageRate(2.0, clock=lambda: now[0])
    assert [rate.allow() for _ in range(5)] == [True, True, True, True, False]
    now[0] += 0.5  # one token back
    assert rate.allow()
    assert not rate.allow()
    now[0] += 100  # refills only up to the burst
    assert sum(rate.allow() for _ in range(10)) == 4
    assert all(MessageRate(0).allow() for _ in range(1000))
