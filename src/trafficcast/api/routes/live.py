"""WS /ws/traffic: subscribe to segments and receive live messages."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from trafficcast.live.hub import ALL, LiveHub, Subscriber
from trafficcast.runtime import Runtime

router = APIRouter()
MAX_IDS_PER_MESSAGE = 100_000
MAX_MESSAGE_BYTES = 4 * 1024 * 1024


class Command(msgspec.Struct, forbid_unknown_fields=False):
    action: str
    segment_ids: list[str] | None = None
    format: str | None = None  # "batch": frames carry JSON arrays of messages


_decoder = msgspec.json.Decoder(Command)
_encoder = msgspec.json.Encoder()


def _error(code: str, message: str) -> str:
    return _encoder.encode({"type": "error", "error": {"code": code, "message": message}}).decode()


@router.websocket("/ws/traffic")
async def traffic_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    hub = runtime.hub
    await websocket.accept()
    sub = Subscriber(send=websocket.send_text, close=websocket.close, queue_size=hub.queue_size)
    hub.add(sub)
    writer = asyncio.create_task(hub.writer(sub))
    try:
        while not sub.dropped:
            frame = await websocket.receive()
            if frame["type"] == "websocket.disconnect":
                break
            # Commands are JSON text; a client library that sends them as
            # binary frames is served too.
            text = frame.get("text")
            if text is None:
                text = (frame.get("bytes") or b"").decode("utf-8", errors="replace")
            reply = _handle(hub, sub, text)
            if reply is not None and not sub.queue.full():
                sub.queue.put_nowait(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        hub.remove(sub)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def _handle(hub: LiveHub, sub: Subscriber, text: str) -> str | None:
    if len(text) > MAX_MESSAGE_BYTES:
        return _error("payload_too_large", f"message over {MAX_MESSAGE_BYTES} bytes")
    try:
        command = _decoder.decode(text)
    except msgspec.DecodeError as exc:
        return _error("bad_request", f"malformed JSON: {exc}")
    except msgspec.ValidationError as exc:
        return _error("validation_error", f"invalid command: {exc}")
    ids = command.segment_ids if command.segment_ids is not None else [ALL]
    if len(ids) > MAX_IDS_PER_MESSAGE:
        return _error("validation_error", f"segment_ids: more than {MAX_IDS_PER_MESSAGE} ids")
    if any(not s or len(s) > 128 for s in ids):
        return _error("validation_error", "segment_ids: each id must be 1-128 characters")
    if command.format not in (None, "batch", "single"):
        return _error("validation_error", "format: use batch or single")
    if command.format is not None:
        sub.batch = command.format == "batch"
    if command.action == "subscribe":
        hub.subscribe(sub, ids)
    elif command.action == "unsubscribe":
        hub.unsubscribe(sub, ids)
    else:
        return _error(
            "validation_error",
            f"action: unknown action {command.action[:40]!r}; use subscribe or unsubscribe",
        )
    current = [ALL] if sub.everything else sorted(sub.segments)
    reply: dict[str, object] = {"type": "subscribed", "segment_ids": current}
    if sub.batch:
        reply["format"] = "batch"
    return _encoder.encode(reply).decode()
