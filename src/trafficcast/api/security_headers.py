"""Security headers on every HTTP response, as plain ASGI middleware (see middleware.py).

The Content-Security-Policy is the dashboard's: everything from our own origin,
plus what MapLibre needs (its worker is started from a blob: URL in some
browsers; it draws images from data:/blob: URLs; it fetches tiles, so the
configured base map's origin is allowed for connect-src and img-src) and the
live WebSocket of the same host. React and MapLibre set inline style attributes,
hence style-src 'unsafe-inline' (style, not script: no inline script is allowed).

/docs and /redoc are FastAPI's Swagger UI and ReDoc pages: they load their
scripts, styles and fonts from public CDNs (cdn.jsdelivr.net, fonts.googleapis.com)
and start with an inline <script>. They get their own, wider policy, limited to
those paths, so the dashboard's stays strict.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

# Origins FastAPI's documentation pages load from (fastapi/openapi/docs.py), and
# the Swagger validator badge image.
_DOCS_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
        "font-src 'self' data: https://fonts.gstatic.com",
        "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net "
        "https://validator.swagger.io",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
    )
)

# A Host header is echoed into connect-src only when it is a plain host[:port]:
# anything else could smuggle extra directives into the policy.
_HOST = re.compile(r"^(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?$")
_MAX_CACHED_HOSTS = 64


def tiles_origin(map_tiles_url: str) -> str | None:
    """The scheme://host[:port] the dashboard fetches base-map tiles from, if any.

    settings.map_tiles_url is validated in config.py (http(s), or pmtiles://
    wrapping an http(s) URL, host of [A-Za-z0-9.:-]), so the origin is safe to
    place in a header.
    """
    inner = map_tiles_url.strip().removeprefix("pmtiles://")
    if not inner:
        return None
    parts = urlsplit(inner)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def dashboard_csp(tiles: str | None, host: str | None) -> str:
    extra = f" {tiles}" if tiles else ""
    # CSP3 browsers match ws(s) of the same host with 'self'; older Safari does not.
    live = f" ws://{host} wss://{host}" if host else ""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "worker-src 'self' blob:",
            "child-src 'self' blob:",
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: blob:{extra}",
            "font-src 'self' data:",
            f"connect-src 'self'{live}{extra}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


_STATIC_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    # Only features browsers know: an unknown one is a console error in Chrome.
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, map_tiles_url: str = "") -> None:
        self.app = app
        self.tiles = tiles_origin(map_tiles_url)
        self._by_host: dict[str, bytes] = {}
        self._no_host = dashboard_csp(self.tiles, None).encode()

    def _csp(self, scope: Scope) -> bytes:
        if scope["path"] in DOCS_PATHS:
            return _DOCS_CSP.encode()
        host = None
        for key, value in scope.get("headers", ()):
            if key == b"host":
                host = value.decode("latin-1")
                break
        if host is None or not _HOST.match(host):
            return self._no_host
        csp = self._by_host.get(host)
        if csp is None:
            if len(self._by_host) >= _MAX_CACHED_HOSTS:  # clients choose Host: stay bounded
                self._by_host.clear()
            csp = self._by_host[host] = dashboard_csp(self.tiles, host).encode()
        return csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = self._csp(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                # A response that set its own value keeps it.
                headers.extend(h for h in _STATIC_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
