"""What a notification says, and how a receiver can trust it (pure: no I/O).

The body is compact JSON of the alert record at the change, the rule and the
event. Webhooks carry two headers:

    X-Trafficcast-Timestamp: <unix seconds>
    X-Trafficcast-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body bytes>")>

The timestamp is inside the signed text, so a receiver that rejects timestamps
older than a few minutes also rejects a captured request replayed later; it must
compute the HMAC over the exact bytes received (not re-serialised JSON) and
compare with hmac.compare_digest. `verify` below is the reference.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any, Final

import orjson

SIGNATURE_HEADER: Final = "X-Trafficcast-Signature"
TIMESTAMP_HEADER: Final = "X-Trafficcast-Timestamp"
EVENT_HEADER: Final = "X-Trafficcast-Event"
SCHEME: Final = "sha256="
# Fields of the alert record a notification carries, in the order an e-mail lists them.
ALERT_FIELDS: Final = (
    "alert_id",
    "alert_type",
    "severity",
    "state",
    "segment_id",
    "opened_at",
    "resolved_at",
    "message",
    "acknowledged_at",
    "acknowledged_by",
    "note",
    "updated_at",
)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def alert_fields(record: dict[str, Any]) -> dict[str, Any]:
    """The record's fields as JSON values (times as ISO 8601 UTC), absent ones null."""
    return {name: _jsonable(record.get(name)) for name in ALERT_FIELDS}


def body(record: dict[str, Any], rule_id: str, event: str, sent_ms: int) -> bytes:
    """The JSON body of a notification, as bytes (what is signed is what is sent)."""
    doc = {
        "event": event,
        "rule_id": rule_id,
        "sent_at": _jsonable(datetime.fromtimestamp(sent_ms / 1000, UTC)),
        "alert": alert_fields(record),
    }
    return orjson.dumps(doc)


def signature(secret: str, timestamp: int, payload: bytes) -> str:
    """The X-Trafficcast-Signature value for a body sent at `timestamp` (unix seconds)."""
    signed = str(timestamp).encode() + b"." + payload
    return SCHEME + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def headers(secret: str, timestamp: int, payload: bytes, event: str) -> dict[str, str]:
    out = {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: str(timestamp),
        EVENT_HEADER: event,
    }
    if secret:
        out[SIGNATURE_HEADER] = signature(secret, timestamp, payload)
    return out


def verify(
    secret: str,
    header_timestamp: str,
    header_signature: str,
    payload: bytes,
    now_s: int,
    tolerance_s: int = 300,
) -> bool:
    """What a receiver checks: a fresh timestamp and a matching signature."""
    try:
        ts = int(header_timestamp)
    except ValueError:
        return False
    if abs(now_s - ts) > tolerance_s:
        return False
    return hmac.compare_digest(signature(secret, ts, payload), header_signature)


def event_of(record: dict[str, Any]) -> str:
    """The change a pipeline record reports: a resolution or an opening (the
    congestion rule only opens and resolves; escalation is the dispatcher's own)."""
    return "resolved" if record.get("state") == "resolved" else "opened"


def email_text(record: dict[str, Any], rule_id: str, event: str) -> tuple[str, str]:
    """(subject, plain-text body) of an alert e-mail."""
    fields = alert_fields(record)
    where = fields["segment_id"] or "system"
    subject = f"[trafficcast] {event}: {fields['severity']} {fields['alert_type']} on {where}"
    lines = [f"Alert {event} (rule {rule_id}).", ""]
    lines += [f"{name}: {'' if value is None else value}" for name, value in fields.items()]
    # Header injection: a subject is one line whatever a message or segment id holds.
    return " ".join(subject.split())[:200], "\n".join(lines) + "\n"
