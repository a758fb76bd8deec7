"""Structured (JSON) logs to stderr, one object per line.

Each record is {"time", "level", "logger", "message", ...extra fields}; records
about something that happened carry an `event` field (request, ingest,
windows_closed, forecast_issued, alert, ...: docs/observability.md lists them).
A record logged while a request is being served carries that request's
`request_id` (the X-Request-ID response header) without the caller passing it.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any

import orjson

# color_message: uvicorn's ANSI-coloured copy of the message, noise in JSON.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}
LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# uvicorn's own loggers: they get the same level so TRAFFICCAST_LOG_LEVEL governs all output.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.asgi", "uvicorn.access")

# The id of the request being served (set by api/middleware.py); a ContextVar follows
# the request into run_in_threadpool, so store and domain code logs it too.
request_id_var: ContextVar[str | None] = ContextVar("trafficcast_request_id", default=None)


class JsonFormatter(logging.Formatter):
    # strftime is a sizable share of a record's cost; the text changes once a second.
    _second = -1
    _stamp = ""

    def _time(self, created: float, msecs: float) -> str:
        second = int(created)
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._second = second
        return f"{self._stamp}.{int(msecs):03d}Z"

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self._time(record.created, record.msecs),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if "request_id" not in entry:
            rid = request_id_var.get()
            if rid is not None:
                entry["request_id"] = rid
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def parse_level(level: str) -> int:
    """A level name (any case) as logging's number; ValueError names the choices."""
    name = level.strip().upper()
    if name not in LEVELS:
        raise ValueError(f"log level {level!r} is not one of {', '.join(LEVELS)}")
    return int(logging.getLevelName(name))


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a record is emitted, not when configured:
    test and CLI runners swap stderr and close the old one."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for every logger, at `level` (TRAFFICCAST_LOG_LEVEL)."""
    number = parse_level(level)
    handler = _CurrentStderr()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(number)
    # Our loggers (trafficcast.*) inherit the root's level. uvicorn's get theirs set by
    # uvicorn.Config from the same setting (api/app.py server_config), and are set here
    # too for processes that log before or without a server; they keep no handler of
    # their own, so their records reach this one.
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.setLevel(number)
        logger.handlers.clear()
        logger.propagate = True
