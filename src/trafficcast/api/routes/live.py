"""WS /ws/traffic: subscribe to segments and receive live messages.

Per-connection limits (settings ws_*): a command larger than
ws_max_message_bytes closes the connection with 1009; more than
ws_max_messages_per_s commands a second (sustained) closes it with 1008; a
subscription past ws_max_segments ids is refused with an error message and the
connection stays; a client past ws_max_connections_per_client open connections
is told why and closed with 1008. Every refusal names its limit.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import msgspec
from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

from trafficcast.api.authz import allow, principal_of
from trafficcast.auth.credentials import Authenticator
from trafficcast.auth.roles import READERS
from trafficcast.config import Settings
from trafficcast.live.hub import ALL, LiveHub, Subscriber
from trafficcast.live.limits import ConnectionLimiter, MessageRate, client_key
from trafficcast.runtime import Runtime

router = APIRouter()
MAX_ID_CHARS = 128
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009


class Command(msgspec.Struct, forbid_unknown_fields=False):
    action: str
    segment_ids: list[str] | None = None
    format: str | None = None  # "batch": frames carry JSON arrays of messages


_decoder = msgspec.json.Decoder(Command)
_encoder = msgspec.json.Encoder()


def _error(code: str, message: str) -> str:
    return _encoder.encode({"type": "error", "error": {"code": code, "message": message}}).decode()


def _connections(app: FastAPI, settings: Settings) -> ConnectionLimiter:
    # Made on first use, on the event loop: one per app, no lock needed.
    limiter: ConnectionLimiter | None = getattr(app.state, "ws_connections", None)
    if limiter is None:
        limiter = ConnectionLimiter(settings.ws_max_connections_per_client)
        app.state.ws_connections = limiter
    return limiter


async def _refuse(websocket: WebSocket, close_code: int, code: str, message: str) -> None:
    """Say why in an error message, then close with the code (reason ≤ 123 bytes)."""
    with contextlib.suppress(Exception):
        await websocket.send_text(_error(code, message))
        await websocket.close(close_code, message.encode()[:123].decode(errors="ignore"))


@router.websocket("/ws/traffic", dependencies=[allow(READERS)])
async def traffic_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    hub = runtime.hub
    connections = _connections(websocket.app, settings)
    key = client_key(dict(websocket.scope))
    await websocket.accept()
    if not connections.acquire(key):
        await _refuse(
            websocket,
            POLICY_VIOLATION,
            "too_many_connections",
            f"more than {connections.max_per_client} open connections for this client; "
            "close one first",
        )
        return
    try:
        await _serve(websocket, hub, settings, _still_valid(websocket))
    finally:
        connections.release(key)


def _still_valid(websocket: WebSocket) -> Callable[[], bool]:
    principal = principal_of(websocket)
    authenticator: Authenticator | None = getattr(websocket.app.state, "authenticator", None)
    if principal is None or authenticator is None:
        return lambda: True
    return lambda: authenticator.still_valid(principal)


async def _watch_credentials(
    websocket: WebSocket,
    writer: asyncio.Task[None],
    still_valid: Callable[[], bool],
    interval_s: float,
) -> None:
    """Close the stream once its credentials are revoked (sign-out, disable, new password,
    revoked key): a socket opened before must not outlive them."""
    while still_valid():
        await asyncio.sleep(interval_s)
    writer.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await writer  # the writer is stopped: this task is the only one sending now
    await _refuse(websocket, POLICY_VIOLATION, "unauthorized", "credentials revoked or signed out")


async def _serve(
    websocket: WebSocket, hub: LiveHub, settings: Settings, still_valid: Callable[[], bool]
) -> None:
    sub = Subscriber(send=websocket.send_text, close=websocket.close, queue_size=hub.queue_size)
    rate = MessageRate(settings.ws_max_messages_per_s)
    max_bytes = settings.ws_max_message_bytes
    violation: tuple[int, str, str] | None = None
    hub.add(sub)
    writer = asyncio.create_task(hub.writer(sub))
    watcher = asyncio.create_task(
        _watch_credentials(websocket, writer, still_valid, settings.accounts_refresh_s)
    )
    try:
        while not sub.dropped:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            # Commands are JSON text; a client library that sends them as
            # binary frames is served too.
            text = frame.get("text")
            data = frame.get("bytes") or b""
            if len(text or data) > max_bytes:
                violation = (
                    MESSAGE_TOO_BIG,
                    "payload_too_large",
                    f"message over the limit of {max_bytes} bytes",
                )
                break
            if not rate.allow():
                violation = (
                    POLICY_VIOLATION,
                    "rate_limited",
                    f"more than {settings.ws_max_messages_per_s:g} messages per second",
                )
                break
            if text is None:
                text = data.decode("utf-8", errors="replace")
            reply = _handle(hub, sub, text, settings.ws_max_segments)
            if reply is not None and not sub.queue.full():
                sub.queue.put_nowait(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.remove(sub)
        watcher.cancel()
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
    # The writer is stopped, so this is the only task sending on the socket.
    if violation is not None:
        await _refuse(websocket, *violation)


def _handle(hub: LiveHub, sub: Subscriber, text: str, max_segments: int) -> str | None:
    try:
        command = _decoder.decode(text)
    except msgspec.DecodeError as exc:
        return _error("bad_request", f"malformed JSON: {exc}")
    except msgspec.ValidationError as exc:
        return _error("validation_error", f"invalid command: {exc}")
    ids = command.segment_ids if command.segment_ids is not None else [ALL]
    if len(ids) > max_segments:
        return _error(
            "validation_error",
            f"segment_ids: {len(ids)} ids, more than the limit of {max_segments} per connection; "
            'subscribe to "*" for all',
        )
    if any(not s or len(s) > MAX_ID_CHARS for s in ids):
        return _error(
            "validation_error", f"segment_ids: each id must be 1-{MAX_ID_CHARS} characters"
        )
    if command.format not in (None, "batch", "single"):
        return _error("validation_error", "format: use batch or single")
    if command.action == "subscribe":
        wanted = set(ids)
        wanted.discard(ALL)
        total = len(sub.segments) + len(wanted - sub.segments)
        if total > max_segments:
            return _error(
                "validation_error",
                f"segment_ids: this would subscribe the connection to {total} segments, more "
                f'than the limit of {max_segments}; unsubscribe some or subscribe to "*" for all',
            )
        hub.subscribe(sub, ids)
    elif command.action == "unsubscribe":
        hub.unsubscribe(sub, ids)
    else:
        return _error(
            "validation_error",
            f"action: unknown action {command.action[:40]!r}; use subscribe or unsubscribe",
        )
    if command.format is not None:
        sub.batch = command.format == "batch"
    current = [ALL] if sub.everything else sorted(sub.segments)
    reply: dict[str, object] = {"type": "subscribed", "segment_ids": current}
    if sub.batch:
        reply["format"] = "batch"
    return _encoder.encode(reply).decode()
