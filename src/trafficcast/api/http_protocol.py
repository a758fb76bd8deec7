"""uvicorn's httptools HTTP/1.1 protocol with request-head limits, answered in the envelope.

Stock uvicorn (httptools) takes headers of any size and count (a 10 MB header
is buffered whole), refuses URLs past ~64 KiB only because the URL parser's
offsets are 16-bit, and answers every malformed request (CR or LF inside a
header value, a NUL, a bad request line) with a bare text/plain 400. Here the
request line and headers are bounded while they arrive, and those refusals
leave in the project's error envelope: 414 for a long URL, 431 for oversized
headers, 400 for a malformed request.

This hooks uvicorn's parser callbacks (on_url, on_header) and send_400_response;
tests/e2e/test_bad_input.py pins the behaviour, so a uvicorn upgrade that moves
them fails there rather than silently dropping the limits.
"""

from __future__ import annotations

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from trafficcast.api.middleware import _new_request_id

MAX_URL_BYTES = 32 * 1024
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 128
# After a refusal the rest of what the client sends is read and dropped for this
# long before closing: closing with unread data sends a TCP reset, which can
# destroy the refusal before the client reads it.
LINGER_S = 2.0
# For query parameters that take many ids: the URL limit, not the id count, binds first.
SEGMENT_IDS_NOTE = (
    "repeat or comma-separate; the whole URL may be at most "
    f"{MAX_URL_BYTES // 1024} KiB (about 2 000 ids of 12 characters), a longer one is "
    "refused with 414 uri_too_long"
)


class _Refused(Exception):
    """Raised in a parser callback to stop parsing; httptools wraps it in HttpParserError."""


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _refusal: tuple[int, str, str] | None = None
    _head_bytes = 0
    _refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._refusal = None
        self._head_bytes = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > MAX_URL_BYTES:
            self._refuse(
                414,
                "uri_too_long",
                f"the URL is longer than {MAX_URL_BYTES} bytes; send fewer query values",
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_bytes += len(name) + len(value)
        if self._head_bytes > MAX_HEADER_BYTES or len(self.headers) > MAX_HEADERS:
            self._refuse(
                431,
                "headers_too_large",
                f"request headers exceed {MAX_HEADER_BYTES} bytes or {MAX_HEADERS} fields",
            )

    def _refuse(self, status: int, code: str, message: str) -> None:
        self._refusal = (status, code, message)
        raise _Refused(message)

    def data_received(self, data: bytes) -> None:
        # uvicorn's own data_received, but parse errors get the envelope.
        if self._refused:
            return  # lingering after a refusal: drop the rest
        self._unset_keepalive_if_required()
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
        except httptools.HttpParserError as exc:
            status, code, message = self._refusal or (
                400,
                "bad_request",
                f"invalid HTTP request: {_reason(exc)}",
            )
            self.logger.warning("refused HTTP request: %s", message)
            self._send_envelope(status, code, message)

    def send_400_response(self, msg: str) -> None:
        self._send_envelope(400, "bad_request", f"invalid HTTP request: {msg}")

    def _send_envelope(self, status: int, code: str, message: str) -> None:
        rid = _new_request_id()
        body = orjson.dumps(
            {"error": {"code": code, "message": message, "details": None}, "request_id": rid}
        )
        head = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            head.extend([name, b": ", value, b"\r\n"])
        head.extend(
            [
                b"content-type: application/json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-request-id: " + rid.encode("ascii") + b"\r\n",
                b"x-content-type-options: nosniff\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(head))
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(LINGER_S, self.transport.close)


def _reason(exc: Exception) -> str:
    # httptools' messages are short ASCII phrases (e.g. "Invalid header value char");
    # anything else is not echoed.
    text = str(exc.args[0] if exc.args else exc)
    if text.isascii() and text.isprintable() and len(text) <= 120:
        return text
    return "malformed request line or headers"
