"""One delivery attempt of one notification to one target, as it is stored."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Event = Literal["opened", "resolved", "escalated"]
EVENTS: Final[tuple[Event, ...]] = ("opened", "resolved", "escalated")
# A stored error is for people reading it: long bodies or tracebacks are cut.
MAX_ERROR_CHARS: Final = 500


@dataclass(frozen=True)
class NotificationAttempt:
    alert_id: str
    rule_id: str
    event: str  # one of EVENTS
    target: str  # "webhook:<url>" or "email:<address>", as the rule names it
    attempt: int  # 1 for the first try of this notification to this target
    at_ms: int  # when the attempt started (epoch ms)
    duration_ms: int
    status_code: int | None  # HTTP status, or the SMTP reply code; None without a reply
    error: str | None  # why it failed; None when delivered
    delivered: bool


def cut(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
