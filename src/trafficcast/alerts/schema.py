"""The stored alert record and its lifecycle: open -> acknowledged -> resolved.

Pipelines write ALERT_SCHEMA rows (what they detect); the store keeps
ALERT_RECORD_SCHEMA rows, which add what operators did to the alert. A pipeline
write never touches the operator's columns and never moves an alert backwards
(states only move forward), so a processor resolving an acknowledged alert keeps the
acknowledgement, and one re-writing a manually resolved alert changes nothing.
"""

from __future__ import annotations

from typing import Final, Literal

import pyarrow as pa

from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP

AlertState = Literal["open", "acknowledged", "resolved"]
STATES: Final[tuple[AlertState, ...]] = ("open", "acknowledged", "resolved")
# The filter value meaning "still needs attention".
ACTIVE: Final = "active"
ACTIVE_STATES: Final[tuple[AlertState, ...]] = ("open", "acknowledged")
NOTE_MAX_CHARS: Final = 500

OPERATOR_FIELDS = [
    pa.field("acknowledged_at", TIMESTAMP),
    # Null until users exist (the security issue): no identity to record yet.
    pa.field("acknowledged_by", pa.string()),
    pa.field("note", pa.string()),
]
ALERT_RECORD_SCHEMA = pa.schema(
    [*ALERT_SCHEMA, *OPERATOR_FIELDS, pa.field("updated_at", TIMESTAMP, nullable=False)]
)
# What a pipeline write stages: its rows plus the time of the write.
ALERT_WRITE_SCHEMA = pa.schema([*ALERT_SCHEMA, pa.field("updated_at", TIMESTAMP)])


class TransitionRefused(ValueError):
    """An operator action the alert's state does not allow (HTTP 409)."""


def check_transition(current: str, action: Literal["acknowledge", "resolve"]) -> None:
    """Raise TransitionRefused unless `action` may be applied to an alert in `current`.

    Acknowledging an acknowledged alert is allowed (it may add a note); nothing
    may be done to a resolved alert: a new episode raises a new alert.
    """
    if current == "resolved":
        raise TransitionRefused(f"the alert is already resolved; it cannot be {action}d")
    if current not in ACTIVE_STATES:
        raise TransitionRefused(f"the alert is in an unknown state {current!r}")
